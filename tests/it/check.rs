//! `pgkeel check` against the real server, and every way a connection can fail.

use std::net::TcpListener;
use std::time::{Duration, Instant};

use crate::support::{pgkeel, run, temp_dir, TestDb};

#[test]
fn check_reports_server_facts_in_human_form() {
    let db = TestDb::new();
    let dir = temp_dir();
    let r = run(pgkeel(dir.path()).args(["check", "--database-url", &db.url()]));
    assert_eq!(r.code, 0, "{r:?}");
    assert!(
        r.stdout
            .contains("connected to postgres://postgres@127.0.0.1:"),
        "{r:?}"
    );
    assert!(r.stdout.contains("PostgreSQL 1"), "{r:?}");
    assert!(r.stdout.contains("server_version_num"), "{r:?}");
    assert!(r.stdout.contains("superuser"), "{r:?}");
    assert!(r.stdout.contains("public: owner"), "{r:?}");
    assert!(r.stdout.contains("round trip"), "{r:?}");
    assert!(
        !r.stdout.contains('\u{1b}'),
        "no colour when stdout is not a terminal: {r:?}"
    );
}

#[test]
fn check_json_is_a_versioned_document() {
    let db = TestDb::new();
    db.execute(
        "CREATE SCHEMA app; CREATE ROLE someone_else; ALTER SCHEMA app OWNER TO someone_else;",
    );
    let dir = temp_dir();
    let r = run(pgkeel(dir.path()).args([
        "check",
        "--format",
        "json",
        "--database-url",
        &db.url(),
        "--schema",
        "public",
        "--schema",
        "app",
    ]));
    assert_eq!(r.code, 0, "{r:?}");
    let doc = r.json();
    assert_eq!(doc["version"], 1);
    assert_eq!(doc["command"], "check");
    assert_eq!(doc["database"], db.name.as_str());
    assert_eq!(doc["user"]["name"], "postgres");
    assert_eq!(doc["user"]["superuser"], true);
    assert!(doc["server"]["version_num"].as_u64().unwrap() >= 140000);
    assert_eq!(
        doc["server"]["major"].as_u64().unwrap(),
        doc["server"]["version_num"].as_u64().unwrap() / 10000
    );
    assert_eq!(doc["tls"]["in_use"], false);
    assert_eq!(doc["schemas"][0]["name"], "public");
    assert_eq!(doc["schemas"][1]["name"], "app");
    assert_eq!(doc["schemas"][1]["owner"], "someone_else");
    // A superuser is a member of every role.
    assert_eq!(doc["schemas"][1]["owned_by_you"], true);
    assert!(doc["latency"]["round_trip_ms"].as_f64().unwrap() >= 0.0);
    db.execute("DROP SCHEMA app; DROP ROLE someone_else;");
}

#[test]
fn a_named_schema_that_does_not_exist_is_a_finding() {
    let db = TestDb::new();
    let dir = temp_dir();
    let r =
        run(pgkeel(dir.path()).args(["check", "--database-url", &db.url(), "--schema", "nope"]));
    assert_eq!(r.code, 1, "{r:?}");
    assert!(r.stdout.contains("nope: does not exist"), "{r:?}");
}

#[test]
fn malformed_url_is_a_usage_error_without_the_password() {
    let dir = temp_dir();
    let r = run(pgkeel(dir.path()).args([
        "check",
        "--database-url",
        "postgres://alice:Sup3rS3cret!@db.example:notaport/app",
    ]));
    assert_eq!(r.code, 2, "{r:?}");
    assert!(r.stderr.contains("invalid port `notaport`"), "{r:?}");
    assert!(r.stderr.contains("alice:***@"), "{r:?}");
    r.assert_no_secret("Sup3rS3cret!");
}

#[test]
fn refused_connection_is_exit_3_with_a_hint() {
    let port = {
        let l = TcpListener::bind("127.0.0.1:0").unwrap();
        l.local_addr().unwrap().port()
    };
    let dir = temp_dir();
    let url = format!("postgres://bob:NeverPrintMe42@127.0.0.1:{port}/db");
    let r = run(pgkeel(dir.path()).args(["check", "--database-url", &url]));
    assert_eq!(r.code, 3, "{r:?}");
    assert!(r.stderr.contains("connection refused"), "{r:?}");
    assert!(r.stderr.contains("hint:"), "{r:?}");
    assert_eq!(
        r.stderr.lines().filter(|l| l.starts_with("error:")).count(),
        1,
        "{r:?}"
    );
    r.assert_no_secret("NeverPrintMe42");
}

#[test]
fn unresolvable_host_is_exit_3() {
    let dir = temp_dir();
    let r = run(pgkeel(dir.path()).args([
        "check",
        "--database-url",
        "postgres://u:NeverPrintMe43@no-such-host.invalid/db?connect_timeout=3",
    ]));
    assert_eq!(r.code, 3, "{r:?}");
    r.assert_no_secret("NeverPrintMe43");
}

#[test]
fn a_server_that_never_answers_times_out_with_exit_3() {
    // Accepts TCP (the kernel completes the handshake) but never speaks.
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let dir = temp_dir();
    let started = Instant::now();
    let r = run(pgkeel(dir.path())
        .args(["check", "--database-url"])
        .arg(format!(
            "postgres://u:NeverPrintMe44@127.0.0.1:{port}/db?sslmode=disable"
        ))
        .env("PGCONNECT_TIMEOUT", "1"));
    assert_eq!(r.code, 3, "{r:?}");
    assert!(r.stderr.contains("timed out after 1s"), "{r:?}");
    assert!(
        started.elapsed() < Duration::from_secs(15),
        "took {:?}",
        started.elapsed()
    );
    r.assert_no_secret("NeverPrintMe44");
    drop(listener);
}

#[test]
fn missing_database_is_exit_3_and_named() {
    let db = TestDb::new();
    let url = db
        .spec
        .with_dbname("does_not_exist_db")
        .to_url_with_password();
    let dir = temp_dir();
    let r = run(pgkeel(dir.path()).args(["check", "--database-url", &url]));
    assert_eq!(r.code, 3, "{r:?}");
    assert!(
        r.stderr
            .contains("database \"does_not_exist_db\" does not exist"),
        "{r:?}"
    );
}

#[test]
fn tls_required_but_server_has_none_is_exit_3() {
    let db = TestDb::new();
    let url = format!("{}?sslmode=require", db.url().split('?').next().unwrap());
    let dir = temp_dir();
    let r = run(pgkeel(dir.path()).args(["check", "--database-url", &url]));
    assert_eq!(r.code, 3, "{r:?}");
    assert!(r.stderr.contains("does not accept TLS"), "{r:?}");
}

#[test]
fn libpq_environment_is_honoured() {
    let db = TestDb::new();
    let dir = temp_dir();
    let r = run(pgkeel(dir.path())
        .args(["check", "--format", "json"])
        .env("PGHOST", "127.0.0.1")
        .env("PGPORT", db.spec.ports[0].to_string())
        .env("PGUSER", "postgres")
        .env("PGDATABASE", &db.name)
        .env("PGSSLMODE", "disable")
        .env("PGAPPNAME", "from-env"));
    assert_eq!(r.code, 0, "{r:?}");
    assert_eq!(r.json()["database"], db.name.as_str());
    assert!(r.json()["target"]
        .as_str()
        .unwrap()
        .contains("application_name=from-env"));
}

#[test]
fn database_url_env_fallbacks_in_order() {
    let db = TestDb::new();
    let dir = temp_dir();
    // DATABASE_URL alone works.
    let r = run(pgkeel(dir.path())
        .args(["check", "--format", "json"])
        .env("DATABASE_URL", db.url()));
    assert_eq!(r.code, 0, "{r:?}");
    // PGKEEL_DATABASE_URL beats DATABASE_URL.
    let r = run(pgkeel(dir.path())
        .args(["check", "--format", "json"])
        .env("DATABASE_URL", "postgres://x@127.0.0.1:1/nope")
        .env("PGKEEL_DATABASE_URL", db.url()));
    assert_eq!(r.code, 0, "{r:?}");
    assert_eq!(r.json()["database"], db.name.as_str());
}

#[test]
fn json_errors_are_documents_too() {
    let dir = temp_dir();
    let r = run(pgkeel(dir.path()).args([
        "check",
        "--format",
        "json",
        "--database-url",
        "postgres://u@127.0.0.1:1/db",
    ]));
    assert_eq!(r.code, 3, "{r:?}");
    let doc = r.json();
    assert_eq!(doc["version"], 1);
    assert_eq!(doc["error"]["exit_code"], 3);
    assert!(doc["error"]["message"]
        .as_str()
        .unwrap()
        .contains("connection refused"));
}

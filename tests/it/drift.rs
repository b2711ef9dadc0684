//! `pgkeel drift`: the live schema changed behind the migrations' back, in each way a team
//! meets in production, is found; pending migrations are not drift; ignore rules are counted;
//! the live database is only read.

use std::path::Path;

use crate::support::{admin_spec, migrated_project, pgkeel, run, Run, TestDb};

/// examples/pgkeel plus a grant, applied to `db` with pgkeel.
fn migrated(db: &TestDb) -> tempfile::TempDir {
    migrated_project(
        db,
        &[(
            "0004_grants.up.sql",
            "GRANT SELECT ON accounts TO PUBLIC;\n",
        )],
    )
}

fn drift(dir: &Path, url: &str, extra: &[&str]) -> Run {
    let mut cmd = pgkeel(dir);
    cmd.args([
        "drift",
        "--database-url",
        url,
        "--migrations",
        "migrations",
        "-q",
    ])
    .args(extra)
    .env("PGKEEL_SANDBOX_URL", admin_spec().to_url_with_password());
    run(&mut cmd)
}

fn descriptions(r: &Run) -> Vec<String> {
    r.json()["drifted"]
        .as_array()
        .expect("drifted")
        .iter()
        .map(|d| {
            format!(
                "{} ({})",
                d["description"].as_str().unwrap_or_default(),
                d["where"].as_str().unwrap_or_default()
            )
        })
        .collect()
}

#[test]
fn no_drift_and_pending_migrations_are_not_drift() {
    let db = TestDb::new();
    let p = migrated(&db);
    std::fs::write(
        p.path().join("migrations/0005_later.up.sql"),
        "CREATE TABLE later (id int);\n",
    )
    .expect("write");
    let r = drift(p.path(), &db.url(), &[]);
    assert_eq!(r.code, 0, "{r:?}");
    assert!(r.stdout.contains("No drift"), "{r:?}");
    assert!(
        r.stdout
            .contains("4 applied migrations replayed; 1 pending (not drift)"),
        "{r:?}"
    );
}

#[test]
fn every_kind_of_change_behind_the_migrations_back_is_found() {
    let cases: &[(&str, &str, &str)] = &[
        ("extra table", "CREATE TABLE sneaky (id int)", "added table public.sneaky (1 column) (only in production)"),
        ("dropped index", "DROP INDEX accounts_display_name", "removed index accounts_display_name on public.accounts (missing from production)"),
        ("changed default", "ALTER TABLE accounts ALTER COLUMN created_at SET DEFAULT '2020-01-01'", "modified column public.accounts.created_at"),
        ("revoked grant", "REVOKE SELECT ON accounts FROM PUBLIC", "privileges"),
        ("disabled trigger", "ALTER TABLE accounts DISABLE TRIGGER accounts_normalize_email", "accounts_normalize_email"),
        (
            "changed function body",
            "CREATE OR REPLACE FUNCTION normalize_email() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN RETURN NEW; END; $$",
            "function public.normalize_email",
        ),
        ("extra extension", "CREATE EXTENSION hstore", "extension hstore"),
    ];
    for (what, sql, expected) in cases {
        let db = TestDb::new();
        let p = migrated(&db);
        db.execute(sql);
        let r = drift(p.path(), &db.url(), &["--format", "json"]);
        assert_eq!(r.code, 1, "{what}: {r:?}");
        let found = descriptions(&r);
        assert!(
            found.iter().any(|d| d.contains(expected)),
            "{what}: expected {expected:?} in {found:#?}"
        );
        let doc = r.json();
        assert_eq!(doc["drift"], true, "{what}");
        assert!(
            !doc["sql_to_match_migrations"]
                .as_str()
                .unwrap_or_default()
                .is_empty(),
            "{what}: {doc:#}"
        );
        assert!(
            !doc["sql_to_adopt_drift"]
                .as_str()
                .unwrap_or_default()
                .is_empty(),
            "{what}: {doc:#}"
        );
    }
}

#[test]
fn the_fix_sql_makes_production_match_and_the_digest_is_stable() {
    let db = TestDb::new();
    let p = migrated(&db);
    db.execute("CREATE TABLE sneaky (id int); DROP INDEX accounts_display_name; COMMENT ON TABLE accounts IS 'hand-made'");
    let out = p.path().join("out");
    let out_arg = out.display().to_string();
    let r = drift(p.path(), &db.url(), &["--output-dir", &out_arg]);
    assert_eq!(r.code, 1, "{r:?}");
    assert!(r.stdout.contains("3 drifted objects"), "{r:?}");
    let report: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(out.join("drift-report.json")).expect("report"),
    )
    .expect("json");
    let sql = std::fs::read_to_string(out.join("drift.sql")).expect("drift.sql");
    assert!(sql.contains("DROP TABLE \"public\".\"sneaky\""), "{sql}");
    let digest = report["digest"].as_str().expect("digest").to_string();
    assert_eq!(digest.len(), 64);
    let again = drift(p.path(), &db.url(), &["--format", "json"]);
    assert_eq!(
        again.json()["digest"],
        digest.as_str(),
        "same drift, same digest"
    );

    // Ignore rules take items out and count them; the rest is still drift.
    let r = drift(
        p.path(),
        &db.url(),
        &[
            "--format",
            "json",
            "--ignore-kind",
            "comments",
            "--ignore",
            "public.snea*",
        ],
    );
    let doc = r.json();
    assert_eq!(doc["count"], 1, "{doc:#}");
    let ignored = doc["ignored"].to_string();
    assert!(
        ignored.contains("\"rule\":\"kind comments\",\"count\":1"),
        "{ignored}"
    );
    assert!(
        ignored.contains("\"rule\":\"object public.snea*\",\"count\":1"),
        "{ignored}"
    );
    assert_ne!(doc["digest"], digest.as_str());

    // Running the fix brings production back: no drift.
    let fix = report["sql_to_match_migrations"]
        .as_str()
        .expect("sql")
        .to_string();
    db.execute(&fix);
    let r = drift(p.path(), &db.url(), &[]);
    assert_eq!(r.code, 0, "{r:?}");

    let r = drift(
        p.path(),
        &db.url(),
        &["--fail-on-drift", "false", "--ignore-kind", "nonsense"],
    );
    assert_eq!(r.code, 2, "{r:?}");
    assert!(r.stderr.contains("unknown drift kind `nonsense`"), "{r:?}");
}

#[test]
fn drift_only_reads_the_live_database() {
    let db = TestDb::new();
    let p = migrated(&db);
    db.execute("CREATE TABLE sneaky (id int)");
    let role = format!("ro_{}", db.name);
    db.execute(&format!(
        "CREATE ROLE {role} LOGIN; GRANT pg_read_all_data TO {role}; ALTER ROLE {role} SET default_transaction_read_only = on"
    ));
    let ro_url = db.url().replacen("postgres@", &format!("{role}@"), 1);
    let r = drift(p.path(), &ro_url, &["--format", "json"]);
    assert_eq!(r.code, 1, "{r:?}");
    assert!(
        descriptions(&r).iter().any(|d| d.contains("sneaky")),
        "{r:?}"
    );
    let r = drift(p.path(), &ro_url, &["--fail-on-drift", "false"]);
    assert_eq!(r.code, 0, "{r:?}");
    db.execute(&format!("DROP OWNED BY {role}; DROP ROLE {role}"));
}

#[test]
fn a_snapshot_can_be_the_expected_schema() {
    let db = TestDb::new();
    let p = migrated(&db);
    let r = run(pgkeel(p.path()).args(["inspect", "--database-url", &db.url()]));
    assert_eq!(r.code, 0, "{r:?}");
    std::fs::write(p.path().join("schema.json"), &r.stdout).expect("write");
    let r = run(pgkeel(p.path()).args([
        "drift",
        "--database-url",
        &db.url(),
        "--expected",
        "schema.json",
    ]));
    assert_eq!(r.code, 0, "{r:?}");
    db.execute("ALTER TABLE accounts ADD COLUMN hotfix int");
    let r = run(pgkeel(p.path()).args([
        "drift",
        "--database-url",
        &db.url(),
        "--expected",
        "schema.json",
        "--format",
        "markdown",
    ]));
    assert_eq!(r.code, 1, "{r:?}");
    assert!(
        r.stdout.contains("added column public.accounts.hotfix"),
        "{r:?}"
    );
    assert!(r.stdout.contains("only in production"), "{r:?}");
}

#[test]
fn drift_found_is_notified_with_its_digest_and_objects() {
    let db = TestDb::new();
    let p = migrated(&db);
    db.execute("CREATE TABLE sneaky (id int)");
    let hook = crate::support::http_receiver::HttpReceiver::ok();
    let mut cmd = pgkeel(p.path());
    cmd.args([
        "drift",
        "--database-url",
        &db.url(),
        "--migrations",
        "migrations",
        "-q",
        "--format",
        "json",
    ])
    .args(["--notify", "webhook", "--notify-on", "change"])
    .env("PGKEEL_WEBHOOK_URL", hook.url("/hook"))
    .env("PGKEEL_SANDBOX_URL", admin_spec().to_url_with_password());
    let r = run(&mut cmd);
    assert_eq!(r.code, 1, "{r:?}");
    let body = hook.single().json();
    assert_eq!(body["report"], r.json());
    let event = &body["event"];
    assert_eq!(event["kind"], "drift");
    assert_eq!(event["outcome"], "warning");
    assert!(
        event["lists"]
            .to_string()
            .contains("added table public.sneaky"),
        "{event:#}"
    );
    let digest = r.json()["digest"].as_str().unwrap_or_default()[..16].to_string();
    assert!(event["facts"].to_string().contains(&digest), "{event:#}");
}

//! pgkeel and the real sqlx-cli (`scripts/test-tools.sh`) share `_sqlx_migrations`: what pgkeel
//! applies, `sqlx migrate info` lists as installed with the same checksums, and what sqlx
//! applies, `pgkeel status` reads as applied. Also holds the status-report helpers the other
//! `tool_*` tests use.

use std::path::{Path, PathBuf};
use std::process::Command;

use serde_json::{Map, Value};

use crate::support::{migration_tool, pgkeel, repo_root, run, temp_dir, Run, TestDb};

/// `examples/sqlx` plus a file with CRLF line endings, so a checksum over anything but the
/// exact bytes would show.
fn project(dir: &Path) -> PathBuf {
    let migrations = dir.join("migrations");
    std::fs::create_dir_all(&migrations).expect("mkdir");
    for entry in std::fs::read_dir(repo_root().join("examples/sqlx")).expect("examples/sqlx") {
        let path = entry.expect("entry").path();
        if path.extension().is_some_and(|e| e == "sql") {
            std::fs::copy(&path, migrations.join(path.file_name().expect("name"))).expect("copy");
        }
    }
    std::fs::write(
        migrations.join("20240108000000_crlf_notes.up.sql"),
        "CREATE TABLE notes (id int);\r\nCOMMENT ON TABLE notes IS 'CRLF file';\r\n",
    )
    .expect("write");
    std::fs::write(
        migrations.join("20240108000000_crlf_notes.down.sql"),
        "DROP TABLE notes;\r\n",
    )
    .expect("write");
    migrations
}

const VERSIONS: [&str; 4] = [
    "20240105120000",
    "20240106090000",
    "20240107150000",
    "20240108000000",
];

fn sqlx(tool: &Path, args: &[&str], migrations: &Path, db: &TestDb) -> Run {
    run(Command::new(tool)
        .args(args)
        .arg("--source")
        .arg(migrations)
        .args(["--database-url", &db.url()]))
}

/// `_sqlx_migrations` without the columns that depend on when and how fast it ran.
fn rows(db: &TestDb) -> Vec<String> {
    db.query_strings(
        "SELECT concat_ws(' | ', version, description, success, encode(checksum, 'hex')) \
         FROM _sqlx_migrations ORDER BY version",
    )
}

#[test]
fn sqlx_sees_what_pgkeel_applied_as_installed() {
    let Some(tool) = migration_tool("sqlx") else {
        return;
    };
    let dir = temp_dir();
    let migrations = project(dir.path());
    let db = TestDb::new();
    let r = run(pgkeel(dir.path())
        .args(["migrate", "up", "--database-url", &db.url(), "--migrations"])
        .arg(&migrations)
        .args(["--tool", "sqlx"]));
    assert_eq!(r.code, 0, "{r:?}");

    let info = sqlx(&tool, &["migrate", "info"], &migrations, &db);
    assert_eq!(info.code, 0, "{info:?}");
    for v in VERSIONS {
        assert!(
            info.stdout.contains(&format!("{v}/installed")),
            "{v}: {info:?}"
        );
    }
    // sqlx prints "applied migration had checksum …" on a mismatch.
    assert!(
        !info.stdout.contains("pending") && !info.stdout.contains("checksum"),
        "{info:?}"
    );
    let again = sqlx(&tool, &["migrate", "run"], &migrations, &db);
    assert_eq!(again.code, 0, "{again:?}");
    assert!(
        !again.stdout.contains("Applied"),
        "nothing left to apply: {again:?}"
    );

    // Row for row what sqlx writes itself.
    let theirs = TestDb::new();
    let r = sqlx(&tool, &["migrate", "run"], &migrations, &theirs);
    assert_eq!(r.code, 0, "{r:?}");
    assert_eq!(rows(&db), rows(&theirs));
}

#[test]
fn pgkeel_reads_what_sqlx_applied() {
    let Some(tool) = migration_tool("sqlx") else {
        return;
    };
    let dir = temp_dir();
    let migrations = project(dir.path());
    let db = TestDb::new();
    let r = sqlx(&tool, &["migrate", "run"], &migrations, &db);
    assert_eq!(r.code, 0, "{r:?}");
    assert_eq!(rows(&db).len(), VERSIONS.len());

    let status = status_json(dir.path(), &db, &migrations, "sqlx");
    assert_all_applied(&status, &VERSIONS);
}

/// `pgkeel status --format json` for `migrations` read as `tool`.
pub(crate) fn status_json(dir: &Path, db: &TestDb, migrations: &Path, tool: &str) -> Value {
    let r = run(pgkeel(dir)
        .args([
            "status",
            "--format",
            "json",
            "--database-url",
            &db.url(),
            "--migrations",
        ])
        .arg(migrations)
        .args(["--tool", tool]));
    assert_eq!(r.code, 0, "{r:?}");
    r.json()
}

/// Every object in the report that names a migration `version`.
fn entries(value: &Value) -> Vec<&Map<String, Value>> {
    let mut out = Vec::new();
    let mut stack = vec![value];
    while let Some(v) = stack.pop() {
        match v {
            Value::Object(map) => {
                if map.contains_key("version") {
                    out.push(map);
                }
                stack.extend(map.values());
            }
            Value::Array(items) => stack.extend(items),
            _ => {}
        }
    }
    out
}

/// Asserts the status report lists each of `versions` as applied, with no checksum mismatch.
pub(crate) fn assert_all_applied(status: &Value, versions: &[&str]) {
    let entries = entries(status);
    for v in versions {
        let entry = entries
            .iter()
            .find(|e| e.get("version").and_then(Value::as_str) == Some(v))
            .unwrap_or_else(|| panic!("{v} missing from status: {status:#}"));
        let state = ["state", "status"]
            .iter()
            .find_map(|k| entry.get(*k).and_then(Value::as_str));
        let applied =
            state == Some("applied") || entry.get("applied").and_then(Value::as_bool) == Some(true);
        assert!(applied, "{v} is not applied: {status:#}");
        let mismatch = entry.iter().any(|(k, val)| {
            (k.contains("mismatch") && val.as_bool() == Some(true))
                || (k.contains("checksum") && val.as_str() == Some("mismatch"))
        });
        assert!(!mismatch, "{v} has a checksum mismatch: {status:#}");
    }
}

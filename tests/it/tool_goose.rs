//! goose is a Go program, which this machine cannot install, so these tests hold pgkeel to
//! what goose's source says it writes (see `history/goose.rs`): the table with its version-0
//! row, written once; a row per applied version; a revert deletes the version's rows; and
//! rows older goose wrote (`is_applied = false` on down) read as goose reads them.

use std::path::Path;

use crate::support::{pgkeel, repo_root, run, temp_dir, Run, TestDb};
use crate::tool_sqlx::status_json;

fn migrations() -> std::path::PathBuf {
    repo_root().join("examples/goose/migrations")
}

fn migrate(dir: &Path, db: &TestDb, args: &[&str]) -> Run {
    run(pgkeel(dir)
        .arg("migrate")
        .args(args)
        .args(["--database-url", &db.url(), "--migrations"])
        .arg(migrations())
        .args(["--tool", "goose"]))
}

fn rows(db: &TestDb) -> Vec<String> {
    db.query_strings(
        "SELECT concat_ws(' ', id, version_id, is_applied) FROM goose_db_version ORDER BY id",
    )
}

#[test]
fn pgkeel_writes_the_rows_goose_writes() {
    let dir = temp_dir();
    let db = TestDb::new();
    let r = migrate(dir.path(), &db, &["up"]);
    assert_eq!(r.code, 0, "{r:?}");
    assert_eq!(rows(&db), ["1 0 t", "2 1 t", "3 2 t", "4 3 t"]);
    let r = migrate(dir.path(), &db, &["down"]);
    assert_eq!(r.code, 0, "{r:?}");
    assert_eq!(rows(&db), ["1 0 t", "2 1 t", "3 2 t"]);
    let r = migrate(dir.path(), &db, &["up"]);
    assert_eq!(r.code, 0, "{r:?}");
    assert_eq!(
        rows(&db),
        ["1 0 t", "2 1 t", "3 2 t", "5 3 t"],
        "no second version-0 row"
    );
    let default = db.query_strings(
        "SELECT concat_ws(' ', column_name, data_type, is_nullable, is_identity) \
         FROM information_schema.columns WHERE table_name = 'goose_db_version' ORDER BY ordinal_position",
    );
    assert_eq!(
        default,
        [
            "id integer NO YES",
            "version_id bigint NO NO",
            "is_applied boolean NO NO",
            "tstamp timestamp without time zone NO NO",
        ]
    );
}

#[test]
fn pgkeel_reads_rows_older_goose_wrote() {
    let dir = temp_dir();
    let db = TestDb::new();
    // goose before v3.22 created the table with a serial id (pressly/goose#694), and early
    // goose recorded a down as an `is_applied = false` row instead of deleting.
    db.execute(
        "CREATE TABLE goose_db_version (id serial NOT NULL, version_id bigint NOT NULL, is_applied boolean NOT NULL, tstamp timestamp NULL default now(), PRIMARY KEY(id));
         CREATE TABLE accounts (id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY, email text NOT NULL UNIQUE, created_at timestamptz NOT NULL DEFAULT now());
         INSERT INTO goose_db_version (version_id, is_applied) VALUES (0, true), (1, true), (2, true), (2, false);",
    );
    let status = status_json(dir.path(), &db, &migrations(), "goose");
    let states: Vec<(&str, &str)> = status["migrations"]
        .as_array()
        .expect("migrations")
        .iter()
        .map(|m| {
            (
                m["version"].as_str().unwrap_or("?"),
                m["state"].as_str().unwrap_or("?"),
            )
        })
        .collect();
    assert_eq!(
        states,
        [
            ("00001", "applied"),
            ("00002", "pending"),
            ("00003", "pending")
        ],
        "{status:#}"
    );
    let r = migrate(dir.path(), &db, &["up"]);
    assert_eq!(r.code, 0, "{r:?}");
    let status = status_json(dir.path(), &db, &migrations(), "goose");
    assert_eq!(status["summary"]["applied"], 3, "{status:#}");
}

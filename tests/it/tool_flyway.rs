//! Flyway itself needs a JVM and Maven Central, which this machine does not reach, so these
//! tests hold pgkeel to what Flyway's source says it writes (see `history/flyway.rs`): the
//! table exactly as Flyway creates it for PostgreSQL, one row per run with Flyway's checksum,
//! `UNDO_SQL` rows for reverts, and rows as Flyway writes them (a baseline among them) read
//! back as applied. The checksums below were computed apart from pgkeel, with Python's
//! `zlib.crc32` over each file's lines (split at `\r\n`, `\r` or `\n`, line breaks left out),
//! read as a signed 32-bit integer.

use std::path::Path;

use crate::support::{pgkeel, repo_root, run, temp_dir, Run, TestDb};
use crate::tool_sqlx::status_json;

fn migrations() -> std::path::PathBuf {
    repo_root().join("examples/flyway/migrations")
}

fn migrate(dir: &Path, db: &TestDb, args: &[&str]) -> Run {
    run(pgkeel(dir)
        .arg("migrate")
        .args(args)
        .args(["--database-url", &db.url(), "--migrations"])
        .arg(migrations())
        .args(["--tool", "flyway"]))
}

/// Every row without the columns that depend on when and how fast it ran.
fn rows(db: &TestDb) -> Vec<String> {
    db.query_strings(
        "SELECT concat_ws(' | ', installed_rank, coalesce(version, '-'), description, type, script, \
         coalesce(checksum::text, '-'), installed_by = current_user, success) \
         FROM flyway_schema_history ORDER BY installed_rank",
    )
}

#[test]
fn pgkeel_writes_the_rows_flyway_writes() {
    let dir = temp_dir();
    let db = TestDb::new();
    let r = migrate(dir.path(), &db, &["up"]);
    assert_eq!(r.code, 0, "{r:?}");
    let applied = [
        "1 | 1 | create accounts | SQL | V1__create_accounts.sql | -240744539 | t | t",
        "2 | 1.1 | add display name | SQL | V1_1__add_display_name.sql | 1557630310 | t | t",
        "3 | 2 | normalize email | SQL | V2__normalize_email.sql | -222675040 | t | t",
    ];
    assert_eq!(rows(&db), applied);

    // The table is Flyway's, column for column, with its primary key and index.
    let columns = db.query_strings(
        "SELECT concat_ws(' ', column_name, data_type, character_maximum_length, is_nullable, column_default) \
         FROM information_schema.columns WHERE table_name = 'flyway_schema_history' ORDER BY ordinal_position",
    );
    assert_eq!(
        columns,
        [
            "installed_rank integer NO",
            "version character varying 50 YES",
            "description character varying 200 NO",
            "type character varying 20 NO",
            "script character varying 1000 NO",
            "checksum integer YES",
            "installed_by character varying 100 NO",
            "installed_on timestamp without time zone NO now()",
            "execution_time integer NO",
            "success boolean NO",
        ]
    );
    let indexes = db.query_strings(
        "SELECT indexname || ' ' || regexp_replace(indexdef, '.* USING ', '') FROM pg_indexes \
         WHERE tablename = 'flyway_schema_history' ORDER BY indexname",
    );
    assert_eq!(
        indexes,
        [
            "flyway_schema_history_pk btree (installed_rank)",
            "flyway_schema_history_s_idx btree (success)",
        ]
    );

    // Reverting writes Flyway Teams' undo rows, newest first.
    let r = migrate(dir.path(), &db, &["down", "--to", "0"]);
    assert_eq!(r.code, 0, "{r:?}");
    let mut all: Vec<String> = applied.iter().map(|s| s.to_string()).collect();
    all.extend([
        "4 | 2 | normalize email | UNDO_SQL | U2__normalize_email.sql | -1847508980 | t | t"
            .to_string(),
        "5 | 1.1 | add display name | UNDO_SQL | U1_1__add_display_name.sql | 690978428 | t | t"
            .to_string(),
        "6 | 1 | create accounts | UNDO_SQL | U1__create_accounts.sql | -840460147 | t | t"
            .to_string(),
    ]);
    assert_eq!(rows(&db), all);
    let status = status_json(dir.path(), &db, &migrations(), "flyway");
    assert_eq!(status["summary"]["pending"], 3, "{status:#}");
}

#[test]
fn pgkeel_reads_rows_as_flyway_writes_them() {
    let dir = temp_dir();
    let db = TestDb::new();
    // What `flyway baseline -baselineVersion=1` and a migrate of the rest leave, written as
    // Flyway's own statements would; the schema objects of version 1 exist already.
    db.execute(&history_table());
    db.execute(
        "CREATE TABLE accounts (id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY, email text NOT NULL UNIQUE, created_at timestamptz NOT NULL DEFAULT now());
         ALTER TABLE accounts ADD COLUMN display_name text;
         INSERT INTO flyway_schema_history (installed_rank, version, description, type, script, checksum, installed_by, execution_time, success)
         VALUES (1, '1', '<< Flyway Baseline >>', 'BASELINE', '<< Flyway Baseline >>', NULL, 'flyway', 0, true),
                (2, '1.1', 'add display name', 'SQL', 'V1_1__add_display_name.sql', 1557630310, 'flyway', 12, true);",
    );
    let status = status_json(dir.path(), &db, &migrations(), "flyway");
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
        [("1", "applied"), ("1.1", "applied"), ("2", "pending")],
        "{status:#}"
    );

    // A checksum that is not the file's means the file was edited after it ran: a conflict.
    db.execute("UPDATE flyway_schema_history SET checksum = 42 WHERE version = '1.1'");
    let r = run(pgkeel(dir.path())
        .args([
            "status",
            "--format",
            "json",
            "--database-url",
            &db.url(),
            "--migrations",
        ])
        .arg(migrations())
        .args(["--tool", "flyway"]));
    assert_eq!(r.code, 5, "{r:?}");
    let status = r.json();
    assert_eq!(status["migrations"][1]["state"], "edited", "{status:#}");
    assert_eq!(
        status["migrations"][1]["file_checksum"], "1557630310",
        "{status:#}"
    );
}

/// Flyway's DDL for PostgreSQL, as `PostgreSQLDatabase.getRawCreateScript` writes it.
fn history_table() -> String {
    "CREATE TABLE \"public\".\"flyway_schema_history\" (
         \"installed_rank\" INT NOT NULL,
         \"version\" VARCHAR(50),
         \"description\" VARCHAR(200) NOT NULL,
         \"type\" VARCHAR(20) NOT NULL,
         \"script\" VARCHAR(1000) NOT NULL,
         \"checksum\" INTEGER,
         \"installed_by\" VARCHAR(100) NOT NULL,
         \"installed_on\" TIMESTAMP NOT NULL DEFAULT now(),
         \"execution_time\" INTEGER NOT NULL,
         \"success\" BOOLEAN NOT NULL
     );
     ALTER TABLE \"public\".\"flyway_schema_history\" ADD CONSTRAINT \"flyway_schema_history_pk\" PRIMARY KEY (\"installed_rank\");
     CREATE INDEX \"flyway_schema_history_s_idx\" ON \"public\".\"flyway_schema_history\" (\"success\");"
        .to_string()
}

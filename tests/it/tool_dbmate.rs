//! pgkeel and the real dbmate (`scripts/test-tools.sh`) share `schema_migrations`: what pgkeel
//! applies, `dbmate status` lists as applied with nothing pending, and what dbmate applies,
//! `pgkeel status` reads as applied; either one rolls back what the other applied. Checked
//! through the CLI and through the history module alone, so a failure says which layer is
//! wrong. The example's last migration is `transaction:false` (`CREATE INDEX CONCURRENTLY`).

use std::path::{Path, PathBuf};
use std::process::Command;

use pgkeel::migrations::Format;

use crate::support::{installed_tool, pgkeel, repo_root, run, temp_dir, Run, TestDb};
use crate::tool_sqlx::{
    apply_with_library, assert_all_applied, assert_read_back, load, status_json,
};

const VERSIONS: [&str; 3] = ["20240105120000", "20240112093000", "20240120170000"];

/// A copy of `examples/dbmate/migrations`, so nothing the tools write lands in the repository.
fn project(dir: &Path) -> PathBuf {
    let migrations = dir.join("migrations");
    std::fs::create_dir_all(&migrations).expect("mkdir");
    for entry in std::fs::read_dir(repo_root().join("examples/dbmate/migrations"))
        .expect("examples/dbmate/migrations")
    {
        let path = entry.expect("entry").path();
        std::fs::copy(&path, migrations.join(path.file_name().expect("name"))).expect("copy");
    }
    migrations
}

/// `dbmate <args>` on `db` with `migrations`, never writing a schema dump, and ignoring any
/// `.env` or `DATABASE_URL` of the developer's.
fn dbmate(tool: &Path, dir: &Path, migrations: &Path, db: &TestDb, args: &[&str]) -> Run {
    run(Command::new(tool)
        .current_dir(dir)
        .env_remove("DATABASE_URL")
        .env_remove("DBMATE_MIGRATIONS_DIR")
        .env_remove("DBMATE_MIGRATIONS_TABLE")
        .args(["--url", &db.url(), "--no-dump-schema", "--migrations-dir"])
        .arg(migrations)
        .args(args))
}

fn pgkeel_migrate(dir: &Path, migrations: &Path, db: &TestDb, args: &[&str]) -> Run {
    run(pgkeel(dir)
        .arg("migrate")
        .args(args)
        .args(["--database-url", &db.url(), "--migrations"])
        .arg(migrations)
        .args(["--tool", "dbmate"]))
}

/// Asserts `dbmate status` marks exactly `applied` (by version) as applied and the rest pending.
fn assert_dbmate_status(status: &Run, applied: &[&str]) {
    assert_eq!(status.code, 0, "{status:?}");
    for v in VERSIONS {
        let mark = if applied.contains(&v) { "[X]" } else { "[ ]" };
        assert!(
            status
                .stdout
                .lines()
                .any(|l| l.starts_with(mark) && l.contains(v)),
            "{v} should be {mark}: {status:?}"
        );
    }
    assert!(
        status
            .stdout
            .contains(&format!("Applied: {}", applied.len())),
        "{status:?}"
    );
    assert!(
        status
            .stdout
            .contains(&format!("Pending: {}", VERSIONS.len() - applied.len())),
        "{status:?}"
    );
}

/// `schema_migrations` as rows and as a table definition.
fn table(db: &TestDb) -> Vec<String> {
    let mut out = db.query_strings("SELECT version FROM schema_migrations ORDER BY version");
    out.extend(db.query_strings(
        "SELECT concat_ws(' ', column_name, data_type, character_maximum_length, is_nullable) \
         FROM information_schema.columns WHERE table_name = 'schema_migrations' ORDER BY ordinal_position",
    ));
    out.extend(db.query_strings(
        "SELECT pg_get_constraintdef(oid) FROM pg_constraint \
         WHERE conrelid = 'schema_migrations'::regclass ORDER BY conname",
    ));
    out
}

#[test]
fn dbmate_sees_what_pgkeel_applied() {
    let Some(tool) = installed_tool("dbmate") else {
        return;
    };
    let dir = temp_dir();
    let migrations = project(dir.path());
    let db = TestDb::new();
    let r = pgkeel_migrate(dir.path(), &migrations, &db, &["up"]);
    assert_eq!(r.code, 0, "{r:?}");

    let status = dbmate(
        &tool,
        dir.path(),
        &migrations,
        &db,
        &["status", "--exit-code"],
    );
    assert_dbmate_status(&status, &VERSIONS);
    let again = dbmate(&tool, dir.path(), &migrations, &db, &["migrate"]);
    assert_eq!(again.code, 0, "{again:?}");
    assert!(
        !again.stdout.contains("Applying"),
        "nothing left to apply: {again:?}"
    );

    // Row for row, and column for column, what dbmate writes itself.
    let theirs = TestDb::new();
    let r = dbmate(&tool, dir.path(), &migrations, &theirs, &["migrate"]);
    assert_eq!(r.code, 0, "{r:?}");
    assert_eq!(table(&db), table(&theirs));

    // dbmate rolls back the non-transactional migration pgkeel applied.
    let r = dbmate(&tool, dir.path(), &migrations, &db, &["rollback"]);
    assert_eq!(r.code, 0, "{r:?}");
    let status = status_json(dir.path(), &db, &migrations, "dbmate");
    assert_eq!(status["summary"]["applied"], 2, "{status:#}");
    assert_eq!(status["summary"]["pending"], 1, "{status:#}");
}

#[test]
fn pgkeel_reads_what_dbmate_applied() {
    let Some(tool) = installed_tool("dbmate") else {
        return;
    };
    let dir = temp_dir();
    let migrations = project(dir.path());
    let db = TestDb::new();
    let r = dbmate(&tool, dir.path(), &migrations, &db, &["migrate"]);
    assert_eq!(r.code, 0, "{r:?}");

    let status = status_json(dir.path(), &db, &migrations, "dbmate");
    assert_all_applied(&status, &VERSIONS);

    // pgkeel rolls back what dbmate applied, and dbmate sees it.
    let r = pgkeel_migrate(dir.path(), &migrations, &db, &["down"]);
    assert_eq!(r.code, 0, "{r:?}");
    let status = dbmate(&tool, dir.path(), &migrations, &db, &["status"]);
    assert_dbmate_status(&status, &VERSIONS[..2]);
}

#[test]
fn dbmate_accepts_rows_the_history_module_writes() {
    let Some(tool) = installed_tool("dbmate") else {
        return;
    };
    let dir = temp_dir();
    let migrations = project(dir.path());
    let db = TestDb::new();
    apply_with_library(&db, Format::Dbmate, &load(&migrations, Format::Dbmate));
    let status = dbmate(
        &tool,
        dir.path(),
        &migrations,
        &db,
        &["status", "--exit-code"],
    );
    assert_dbmate_status(&status, &VERSIONS);
}

#[test]
fn history_module_reads_rows_dbmate_writes() {
    let Some(tool) = installed_tool("dbmate") else {
        return;
    };
    let dir = temp_dir();
    let migrations = project(dir.path());
    let db = TestDb::new();
    let r = dbmate(&tool, dir.path(), &migrations, &db, &["migrate"]);
    assert_eq!(r.code, 0, "{r:?}");
    assert_read_back(&db, Format::Dbmate, &load(&migrations, Format::Dbmate));
}

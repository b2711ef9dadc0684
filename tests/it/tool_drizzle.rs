//! pgkeel and the real drizzle-kit (`scripts/test-tools.sh`, which runs drizzle-orm's
//! node-postgres migrator) share `drizzle.__drizzle_migrations`: after `pgkeel migrate up`,
//! `drizzle-kit migrate` has nothing to apply, and what drizzle-kit applies, `pgkeel status`
//! reads as applied with matching hashes. Checked through the CLI and through the history
//! module alone.

use std::path::{Path, PathBuf};
use std::process::Command;

use pgkeel::migrations::Format;

use crate::support::{installed_tool, pgkeel, repo_root, run, temp_dir, Run, TestDb};
use crate::tool_sqlx::{
    apply_with_library, assert_all_applied, assert_read_back, load, status_json,
};

/// A copy of `examples/drizzle/drizzle` (the journal and its three files).
fn project(dir: &Path) -> PathBuf {
    let from = repo_root().join("examples/drizzle/drizzle");
    let to = dir.join("drizzle");
    std::fs::create_dir_all(to.join("meta")).expect("mkdir");
    for rel in [
        "meta/_journal.json",
        "0000_create_users.sql",
        "0001_add_users_email.sql",
        "0002_users_display_name.sql",
    ] {
        std::fs::copy(from.join(rel), to.join(rel)).expect("copy");
    }
    to
}

const VERSIONS: [&str; 3] = ["0000", "0001", "0002"];

/// `drizzle-kit migrate` with a config file naming the folder and database.
fn drizzle_kit(tool: &Path, dir: &Path, migrations: &Path, db: &TestDb) -> Run {
    let config = dir.join(format!("drizzle.{}.config.json", db.name));
    let json = serde_json::json!({
        "dialect": "postgresql",
        "out": migrations,
        "dbCredentials": { "url": db.url() },
    });
    std::fs::write(&config, json.to_string()).expect("write config");
    run(Command::new(tool)
        .args(["migrate", "--config"])
        .arg(&config)
        .current_dir(dir))
}

/// The history rows, oldest first.
fn rows(db: &TestDb) -> Vec<String> {
    db.query_strings(
        "SELECT concat_ws(' | ', hash, created_at) FROM drizzle.__drizzle_migrations ORDER BY id",
    )
}

#[test]
fn drizzle_kit_has_nothing_to_apply_after_pgkeel() {
    let Some(tool) = installed_tool("drizzle-kit") else {
        return;
    };
    let dir = temp_dir();
    let migrations = project(dir.path());
    let db = TestDb::new();
    let r = run(pgkeel(dir.path())
        .args(["migrate", "up", "--database-url", &db.url(), "--migrations"])
        .arg(&migrations));
    assert_eq!(r.code, 0, "{r:?}");
    let ours = rows(&db);
    assert_eq!(ours.len(), 3, "{ours:?}");

    // Had drizzle-kit thought anything pending, re-running CREATE TABLE would fail it.
    let again = drizzle_kit(&tool, dir.path(), &migrations, &db);
    assert_eq!(again.code, 0, "{again:?}");
    assert_eq!(rows(&db), ours, "drizzle-kit applied nothing");

    // Row for row what drizzle-orm writes itself.
    let theirs = TestDb::new();
    let r = drizzle_kit(&tool, dir.path(), &migrations, &theirs);
    assert_eq!(r.code, 0, "{r:?}");
    assert_eq!(rows(&theirs), ours);
}

#[test]
fn pgkeel_reads_what_drizzle_kit_applied() {
    let Some(tool) = installed_tool("drizzle-kit") else {
        return;
    };
    let dir = temp_dir();
    let migrations = project(dir.path());
    let db = TestDb::new();
    let r = drizzle_kit(&tool, dir.path(), &migrations, &db);
    assert_eq!(r.code, 0, "{r:?}");
    assert_eq!(rows(&db).len(), 3);

    let status = status_json(dir.path(), &db, &migrations, "drizzle");
    assert_all_applied(&status, &VERSIONS);
}

#[test]
fn drizzle_kit_accepts_rows_the_history_module_writes() {
    let Some(tool) = installed_tool("drizzle-kit") else {
        return;
    };
    let dir = temp_dir();
    let migrations = project(dir.path());
    let db = TestDb::new();
    apply_with_library(&db, Format::Drizzle, &load(&migrations, Format::Drizzle));
    let ours = rows(&db);

    let again = drizzle_kit(&tool, dir.path(), &migrations, &db);
    assert_eq!(again.code, 0, "{again:?}");
    assert_eq!(rows(&db), ours, "drizzle-kit applied nothing");
    let theirs = TestDb::new();
    assert_eq!(drizzle_kit(&tool, dir.path(), &migrations, &theirs).code, 0);
    assert_eq!(rows(&theirs), ours);
}

#[test]
fn history_module_reads_rows_drizzle_kit_writes() {
    let Some(tool) = installed_tool("drizzle-kit") else {
        return;
    };
    let dir = temp_dir();
    let migrations = project(dir.path());
    let db = TestDb::new();
    let r = drizzle_kit(&tool, dir.path(), &migrations, &db);
    assert_eq!(r.code, 0, "{r:?}");
    assert_read_back(&db, Format::Drizzle, &load(&migrations, Format::Drizzle));
}

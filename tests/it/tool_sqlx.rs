//! pgkeel and the real sqlx-cli (`scripts/test-tools.sh`) share `_sqlx_migrations`: what pgkeel
//! applies, `sqlx migrate info` lists as installed with the same checksums, and what sqlx
//! applies, `pgkeel status` reads as applied. Checked twice: through the CLI, and through the
//! history module alone (its SQL run directly), so a failure says which layer is wrong. Also
//! holds the helpers the other `tool_*` tests share.

use std::path::{Path, PathBuf};
use std::process::Command;

use std::time::Duration;

use pgkeel::migrations::history::{self, Rows};
use pgkeel::migrations::{source, Format, Migration, Tree};
use serde_json::Value;

use crate::support::{installed_tool, pgkeel, repo_root, run, run_blocking, temp_dir, Run, TestDb};

/// `examples/sqlx/migrations` plus a file with CRLF line endings, so a checksum over anything but the
/// exact bytes would show.
fn project(dir: &Path) -> PathBuf {
    let migrations = dir.join("migrations");
    std::fs::create_dir_all(&migrations).expect("mkdir");
    for entry in std::fs::read_dir(repo_root().join("examples/sqlx/migrations"))
        .expect("examples/sqlx/migrations")
    {
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
    let Some(tool) = installed_tool("sqlx") else {
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
    let Some(tool) = installed_tool("sqlx") else {
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

/// Asserts the status report lists exactly `versions`, each applied with a matching checksum
/// (an edited file would be `edited`, a failed run `dirty`).
pub(crate) fn assert_all_applied(status: &Value, versions: &[&str]) {
    let list = status["migrations"]
        .as_array()
        .unwrap_or_else(|| panic!("no migrations list: {status:#}"));
    let got: Vec<(&str, &str)> = list
        .iter()
        .map(|e| {
            (
                e["version"].as_str().unwrap_or("?"),
                e["state"].as_str().unwrap_or("?"),
            )
        })
        .collect();
    let want: Vec<(&str, &str)> = versions.iter().map(|v| (*v, "applied")).collect();
    assert_eq!(got, want, "{status:#}");
    assert_eq!(status["summary"]["applied"], versions.len(), "{status:#}");
}

#[test]
fn sqlx_accepts_rows_the_history_module_writes() {
    let Some(tool) = installed_tool("sqlx") else {
        return;
    };
    let dir = temp_dir();
    let migrations = project(dir.path());
    let loaded = load(&migrations, Format::Sqlx);
    let db = TestDb::new();
    apply_with_library(&db, Format::Sqlx, &loaded);

    let info = sqlx(&tool, &["migrate", "info"], &migrations, &db);
    assert_eq!(info.code, 0, "{info:?}");
    assert_eq!(
        info.stdout.matches("/installed").count(),
        VERSIONS.len(),
        "{info:?}"
    );
    assert!(!info.stdout.contains("checksum"), "{info:?}");
    let theirs = TestDb::new();
    assert_eq!(
        sqlx(&tool, &["migrate", "run"], &migrations, &theirs).code,
        0
    );
    assert_eq!(rows(&db), rows(&theirs));
}

#[test]
fn history_module_reads_rows_sqlx_writes() {
    let Some(tool) = installed_tool("sqlx") else {
        return;
    };
    let dir = temp_dir();
    let migrations = project(dir.path());
    let db = TestDb::new();
    let r = sqlx(&tool, &["migrate", "run"], &migrations, &db);
    assert_eq!(r.code, 0, "{r:?}");
    assert_read_back(&db, Format::Sqlx, &load(&migrations, Format::Sqlx));
}

/// The migrations in `dir`, loaded as `format`.
pub(crate) fn load(dir: &Path, format: Format) -> Vec<Migration> {
    source::load(&Tree::Dir(dir.to_path_buf()), format).expect("load migrations")
}

/// Applies `migrations` the way the applier will: the format's `create()`, then each
/// script followed by its `record_applied` SQL.
pub(crate) fn apply_with_library(db: &TestDb, format: Format, migrations: &[Migration]) {
    let table = history::of(format);
    db.execute(&table.create());
    for m in migrations {
        db.execute(&m.up.sql);
        db.execute(&table.record_applied(&history::Run {
            migration: m,
            previous: None,
            duration: Duration::from_millis(3),
            statements: Vec::new(),
            git_sha: None,
            run_url: None,
            error: None,
        }));
    }
}

/// Every row of `sql`, each column as text, over the simple-query protocol as the applier
/// reads history tables.
pub(crate) fn history_rows(db: &TestDb, sql: &str) -> Vec<Vec<Option<String>>> {
    let spec = db.spec.clone();
    let sql = sql.to_string();
    run_blocking(async move {
        let c = pgkeel::pg::connect(&spec).await.expect("connect");
        c.pg()
            .simple_query(&sql)
            .await
            .expect("select history")
            .into_iter()
            .filter_map(|m| match m {
                tokio_postgres::SimpleQueryMessage::Row(row) => Some(
                    (0..row.len())
                        .map(|i| row.get(i).map(str::to_string))
                        .collect(),
                ),
                _ => None,
            })
            .collect()
    })
}

/// Asserts the format's `select()` + `parse()` read every one of `migrations` as applied,
/// with the checksum the format computes for it.
pub(crate) fn assert_read_back(db: &TestDb, format: Format, migrations: &[Migration]) {
    let table = history::of(format);
    let rows: Vec<Vec<Option<String>>> = history_rows(db, &table.select());
    let rows: &Rows = &rows;
    let mut applied = table.parse(rows, migrations).expect("parse");
    applied.sort_by(|a, b| a.version.cmp(&b.version));
    assert_eq!(applied.len(), migrations.len(), "{applied:?}");
    for (a, m) in applied.iter().zip(migrations) {
        assert_eq!(a.version, m.version, "{applied:?}");
        assert!(a.success, "{a:?}");
        assert_eq!(a.checksum, table.checksum(m), "{}", m.label());
    }
}

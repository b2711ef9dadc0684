//! `_prisma_migrations` on a real server. The Prisma CLI is not among the installed tools (its
//! schema engine is downloaded from Prisma's own servers, not a package registry), so the rows
//! Prisma writes are reproduced here with the statements prisma-engines runs
//! (`sql_migration_persistence.rs`), and pgkeel's SQL is run against them; then the CLI applies
//! the example project and the rows are checked for what `prisma migrate deploy` relies on.

use std::time::Duration;

use pgkeel::migrations::history::{self, Applied, History, Run};
use pgkeel::migrations::{Format, Migration};

use crate::support::{pgkeel, repo_root, run, temp_dir, TestDb};
use crate::tool_sqlx::{assert_all_applied, history_rows, load, status_json};

fn run_of<'a>(m: &'a Migration, error: Option<&str>) -> Run<'a> {
    Run {
        migration: m,
        previous: None,
        duration: Duration::from_millis(3),
        statements: Vec::new(),
        git_sha: None,
        run_url: None,
        error: error.map(str::to_string),
    }
}

fn read(db: &TestDb, table: &dyn History, on_disk: &[Migration]) -> Vec<Applied> {
    table
        .parse(&history_rows(db, &table.select()), on_disk)
        .expect("parse")
}

fn live_rows(db: &TestDb, m: &Migration) -> Vec<String> {
    db.query_strings(&format!(
        "SELECT concat_ws(' ', length(id), (finished_at IS NOT NULL), applied_steps_count, coalesce(logs, '-')) \
         FROM _prisma_migrations WHERE migration_name = '{}' AND rolled_back_at IS NULL",
        m.label()
    ))
}

#[test]
fn prisma_rows_round_trip_through_the_history_module() {
    let migrations = load(
        &repo_root().join("examples/prisma/prisma/migrations"),
        Format::Prisma,
    );
    let [first, second, third] = &migrations[..] else {
        panic!("three example migrations")
    };
    let table = history::of(Format::Prisma);
    let db = TestDb::new();
    db.execute(&table.create());
    db.execute(&table.create());

    // What `prisma migrate deploy` writes: a started row, then steps and finished_at; and a
    // failure, which leaves finished_at NULL and the error in logs.
    let checksum = |m: &Migration| table.checksum(m).expect("prisma has checksums");
    db.execute(&format!(
        "INSERT INTO _prisma_migrations (id, checksum, started_at, migration_name) \
         VALUES ('0b6f1e0c-2a3c-4d4e-9f00-000000000001', '{}', now(), '{}');\n\
         UPDATE _prisma_migrations SET applied_steps_count = applied_steps_count + 1 WHERE id = '0b6f1e0c-2a3c-4d4e-9f00-000000000001';\n\
         UPDATE _prisma_migrations SET finished_at = now() WHERE id = '0b6f1e0c-2a3c-4d4e-9f00-000000000001';\n\
         INSERT INTO _prisma_migrations (id, checksum, started_at, migration_name) \
         VALUES ('0b6f1e0c-2a3c-4d4e-9f00-000000000002', '{}', now(), '{}');\n\
         UPDATE _prisma_migrations SET logs = 'relation already exists' WHERE id = '0b6f1e0c-2a3c-4d4e-9f00-000000000002';",
        checksum(first),
        first.label(),
        checksum(second),
        second.label(),
    ));
    let applied = read(&db, table, &migrations);
    assert_eq!(applied.len(), 2, "{applied:?}");
    assert!(applied[0].success && applied[0].checksum == table.checksum(first));
    assert!(!applied[1].success, "Prisma's failed state: {applied:?}");

    // Recording the failed one as applied finishes its row, as Prisma would.
    db.execute(&table.record_applied(&run_of(second, None)));
    assert_eq!(live_rows(&db, second), ["36 t 1 -"]);

    // A non-transactional run: the started row first (twice, the second with the error),
    // then success.
    db.execute(&table.record_dirty(&run_of(third, None)).expect("dirty"));
    db.execute(
        &table
            .record_dirty(&run_of(third, Some("boom")))
            .expect("dirty"),
    );
    assert_eq!(live_rows(&db, third), ["36 f 0 boom"]);
    assert!(!read(&db, table, &migrations)[2].success);
    db.execute(&table.record_applied(&run_of(third, None)));
    assert_eq!(live_rows(&db, third), ["36 t 1 -"]);
    let applied = read(&db, table, &migrations);
    assert_eq!(applied.len(), 3);
    for (a, m) in applied.iter().zip(&migrations) {
        assert!(a.success, "{a:?}");
        assert_eq!(a.checksum, table.checksum(m));
        assert_eq!(a.version, m.version);
    }

    // Reverting marks the row rolled back: Prisma then treats the migration as not applied.
    db.execute(&table.record_reverted(&run_of(third, None)));
    assert!(live_rows(&db, third).is_empty());
    assert_eq!(read(&db, table, &migrations).len(), 2);
    let stored: Vec<String> =
        db.query_strings("SELECT checksum FROM _prisma_migrations ORDER BY started_at, id");
    assert!(stored.iter().all(|c| c.len() == 64), "{stored:?}");
}

#[test]
fn pgkeel_applies_prisma_migrations_as_prisma_records_them() {
    let dir = temp_dir();
    let migrations = repo_root().join("examples/prisma/prisma/migrations");
    let loaded = load(&migrations, Format::Prisma);
    let db = TestDb::new();
    let r = run(pgkeel(dir.path())
        .args(["migrate", "up", "--database-url", &db.url(), "--migrations"])
        .arg(&migrations));
    assert_eq!(r.code, 0, "{r:?}");

    // `migrate deploy` skips a migration when a row with its folder name is not rolled back,
    // and refuses to run while a row is neither finished nor rolled back.
    let table = history::of(Format::Prisma);
    let want: Vec<String> = loaded
        .iter()
        .map(|m| {
            format!(
                "{} {} 1 36 t",
                m.label(),
                table.checksum(m).unwrap_or_default()
            )
        })
        .collect();
    let got = db.query_strings(
        "SELECT concat_ws(' ', migration_name, checksum, applied_steps_count, length(id), \
         finished_at >= started_at) FROM _prisma_migrations \
         WHERE rolled_back_at IS NULL ORDER BY migration_name",
    );
    assert_eq!(got, want);

    let status = status_json(dir.path(), &db, &migrations, "prisma");
    let versions: Vec<&str> = loaded.iter().map(|m| m.version.as_str()).collect();
    assert_all_applied(&status, &versions);
}

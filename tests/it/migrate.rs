//! `pgkeel migrate` and `pgkeel status` with pgkeel's own format, against the real server:
//! applying, reverting, history integrity, locks and timeouts, non-transactional statements,
//! command mode, git revisions, and every kind of bad input.

use std::path::{Path, PathBuf};
use std::time::Duration;

use crate::support::{pgkeel, run, run_blocking, temp_dir, Run, TestDb};

/// A project directory with a `migrations/` folder.
struct Project {
    dir: tempfile::TempDir,
}

impl Project {
    fn new(files: &[(&str, &str)]) -> Project {
        let p = Project { dir: temp_dir() };
        std::fs::create_dir(p.migrations()).expect("mkdir");
        for (name, sql) in files {
            p.write(name, sql);
        }
        p
    }

    fn migrations(&self) -> PathBuf {
        self.dir.path().join("migrations")
    }

    fn write(&self, name: &str, text: &str) {
        std::fs::write(self.migrations().join(name), text).expect("write");
    }

    /// `pgkeel <args> --database-url <db> --migrations migrations`, from the project dir.
    fn run(&self, db: &TestDb, args: &[&str]) -> Run {
        let mut cmd = pgkeel(self.dir.path());
        cmd.args(args)
            .args(["--database-url", &db.url(), "--migrations", "migrations"]);
        run(&mut cmd)
    }

    fn path(&self) -> &Path {
        self.dir.path()
    }
}

const USERS: (&str, &str) = (
    "0001_users.up.sql",
    "CREATE TABLE users (id bigint PRIMARY KEY, name text NOT NULL);\n",
);
const USERS_DOWN: (&str, &str) = ("0001_users.down.sql", "DROP TABLE users;\n");
const EMAIL: (&str, &str) = (
    "0002_email.up.sql",
    "ALTER TABLE users ADD COLUMN email text;\nCREATE INDEX users_email ON users (email);\n",
);
const EMAIL_DOWN: (&str, &str) = (
    "0002_email.down.sql",
    "DROP INDEX users_email;\nALTER TABLE users DROP COLUMN email;\n",
);

fn tables(db: &TestDb) -> Vec<String> {
    db.query_strings(
        "SELECT table_schema || '.' || table_name FROM information_schema.tables \
         WHERE table_schema NOT IN ('pg_catalog', 'information_schema') ORDER BY 1",
    )
}

fn states(r: &Run) -> Vec<(String, String)> {
    r.json()["migrations"]
        .as_array()
        .expect("migrations array")
        .iter()
        .map(|m| {
            (
                m["version"].as_str().unwrap_or_default().to_string(),
                m["state"].as_str().unwrap_or_default().to_string(),
            )
        })
        .collect()
}

fn pairs(list: &[(&str, &str)]) -> Vec<(String, String)> {
    list.iter()
        .map(|(a, b)| (a.to_string(), b.to_string()))
        .collect()
}

#[test]
fn up_applies_records_history_and_is_idempotent() {
    let db = TestDb::new();
    let p = Project::new(&[USERS, USERS_DOWN, EMAIL, EMAIL_DOWN]);
    let r = p.run(&db, &["status", "--format", "json"]);
    assert_eq!(r.code, 0, "{r:?}");
    assert_eq!(
        states(&r),
        pairs(&[("0001", "pending"), ("0002", "pending")])
    );
    assert_eq!(p.run(&db, &["status", "--exit-code"]).code, 1);

    let r = p.run(&db, &["migrate", "up"]);
    assert_eq!(r.code, 0, "{r:?}");
    assert!(r.stdout.contains("applied  0001_users"), "{r:?}");
    assert!(r.stdout.contains("2 migrations applied"), "{r:?}");
    assert!(tables(&db).contains(&"public.users".to_string()));

    // The audit row: exact-bytes checksum, who, statements.
    let row = db.query_strings(
        "SELECT concat_ws('|', version, name, checksum, state, applied_by, array_length(statements, 1)) \
         FROM pgkeel.migrations ORDER BY version",
    );
    let sha = {
        use sha2::Digest;
        let d = sha2::Sha256::digest(USERS.1.as_bytes());
        d.iter().map(|b| format!("{b:02x}")).collect::<String>()
    };
    assert_eq!(row[0], format!("0001|users|{sha}|applied|postgres|1"));
    assert!(row[1].ends_with("|applied|postgres|2"), "{row:?}");

    let r = p.run(&db, &["migrate", "up"]);
    assert_eq!(r.code, 0, "{r:?}");
    assert!(r.stdout.contains("nothing to do"), "{r:?}");
    let r = p.run(&db, &["status", "--format", "json"]);
    assert_eq!(
        states(&r),
        pairs(&[("0001", "applied"), ("0002", "applied")])
    );
    assert_eq!(r.json()["summary"]["applied"], 2);
    assert_eq!(p.run(&db, &["status", "--exit-code"]).code, 0);
}

#[test]
fn a_failing_statement_names_file_and_line_and_rolls_the_migration_back() {
    let db = TestDb::new();
    let p = Project::new(&[
        USERS,
        (
            "0002_broken.up.sql",
            "CREATE TABLE a (id int);\nCREATE TABLE b (id int);\n\n-- the typo\nINSERT INTO a\n  SELECT nosuch FROM b;\n",
        ),
    ]);
    let r = p.run(&db, &["migrate", "up"]);
    assert_eq!(r.code, 4, "{r:?}");
    // Statement starts on line 5; the server points at `nosuch` on line 6.
    assert!(
        r.stderr.contains(
            "migrations/0002_broken.up.sql:6: column \"nosuch\" does not exist (SQLSTATE 42703)"
        ),
        "{r:?}"
    );
    assert!(r.stderr.contains("rolled back"), "{r:?}");
    // 0001 stayed applied and is reported; nothing of 0002 remains.
    assert!(r.stdout.contains("applied  0001_users"), "{r:?}");
    assert_eq!(tables(&db), ["pgkeel.migrations", "public.users"]);
    let r = p.run(&db, &["status", "--format", "json"]);
    assert_eq!(
        states(&r),
        pairs(&[("0001", "applied"), ("0002", "pending")])
    );
}

#[test]
fn a_syntax_error_in_statement_seven_points_at_its_line() {
    let db = TestDb::new();
    let mut sql = String::new();
    for i in 1..=6 {
        sql.push_str(&format!("CREATE TABLE t{i} (id int);\n"));
    }
    sql.push_str("CREATE TABEL t7 (id int);\n");
    let p = Project::new(&[("0001_many.up.sql", &sql)]);
    let r = p.run(&db, &["migrate", "up"]);
    assert_eq!(r.code, 4, "{r:?}");
    assert!(
        r.stderr.contains("0001_many.up.sql:7: syntax error"),
        "{r:?}"
    );
    assert!(r.stderr.contains("CREATE TABEL t7"), "{r:?}");
    assert_eq!(tables(&db), ["pgkeel.migrations"], "t1..t6 rolled back");
}

#[test]
fn an_edited_applied_migration_is_a_conflict_with_both_checksums() {
    let db = TestDb::new();
    let p = Project::new(&[USERS, EMAIL]);
    assert_eq!(p.run(&db, &["migrate", "up"]).code, 0);
    p.write(USERS.0, "CREATE TABLE users (id bigint PRIMARY KEY);\n");
    p.write("0003_more.up.sql", "CREATE TABLE more (id int);\n");
    for args in [&["status"][..], &["migrate", "up"]] {
        let r = p.run(&db, args);
        assert_eq!(r.code, 5, "{args:?}: {r:?}");
        assert!(r.stderr.contains("0001_users"), "{r:?}");
        assert!(
            r.stderr
                .contains("edited after it was applied (recorded checksum"),
            "{r:?}"
        );
    }
    assert!(
        !tables(&db).contains(&"public.more".to_string()),
        "nothing ran"
    );
    let r = p.run(&db, &["status", "--format", "json"]);
    assert_eq!(r.code, 5);
    let first = &r.json()["migrations"][0];
    assert_eq!(first["state"], "edited");
    assert_eq!(first["recorded_checksum"].as_str().map(str::len), Some(64));
    assert_ne!(first["recorded_checksum"], first["file_checksum"]);
    // Deliberate edit: resolve, then carry on.
    let r = p.run(&db, &["migrate", "resolve", "--applied", "0001"]);
    assert_eq!(r.code, 0, "{r:?}");
    assert_eq!(p.run(&db, &["migrate", "up"]).code, 0);
    assert!(tables(&db).contains(&"public.more".to_string()));
}

#[test]
fn missing_and_out_of_order_migrations_are_conflicts() {
    let db = TestDb::new();
    let p = Project::new(&[USERS, ("0003_c.up.sql", "CREATE TABLE c (id int);\n")]);
    assert_eq!(p.run(&db, &["migrate", "up"]).code, 0);
    p.write("0002_b.up.sql", "CREATE TABLE b (id int);\n");
    let r = p.run(&db, &["migrate", "up"]);
    assert_eq!(r.code, 5, "{r:?}");
    assert!(
        r.stderr.contains("a later version is already applied"),
        "{r:?}"
    );
    assert!(r.stderr.contains("--allow-out-of-order"), "{r:?}");
    let r = p.run(&db, &["migrate", "up", "--allow-out-of-order"]);
    assert_eq!(r.code, 0, "{r:?}");
    assert!(tables(&db).contains(&"public.b".to_string()));

    std::fs::remove_file(p.migrations().join("0003_c.up.sql")).expect("rm");
    let r = p.run(&db, &["status", "--format", "json"]);
    assert_eq!(r.code, 5, "{r:?}");
    assert_eq!(
        states(&r),
        pairs(&[
            ("0001", "applied"),
            ("0002", "applied"),
            ("0003", "missing")
        ])
    );
    let r = p.run(&db, &["migrate", "resolve", "--rolled-back", "0003"]);
    assert_eq!(r.code, 0, "{r:?}");
    assert_eq!(p.run(&db, &["status"]).code, 0);
}

#[test]
fn down_reverts_by_steps_and_to_a_version_and_refuses_without_a_down_file() {
    let db = TestDb::new();
    let p = Project::new(&[
        USERS,
        USERS_DOWN,
        EMAIL,
        EMAIL_DOWN,
        ("0003_c.up.sql", "CREATE TABLE c (id int);\n"),
        ("0003_c.down.sql", "DROP TABLE c;\n"),
    ]);
    assert_eq!(p.run(&db, &["migrate", "up"]).code, 0);
    let r = p.run(&db, &["migrate", "down"]);
    assert_eq!(r.code, 0, "{r:?}");
    assert!(r.stdout.contains("reverted 0003_c"), "{r:?}");
    assert!(!tables(&db).contains(&"public.c".to_string()));
    assert_eq!(p.run(&db, &["migrate", "up"]).code, 0);
    let r = p.run(&db, &["migrate", "down", "--steps", "2"]);
    assert_eq!(r.code, 0, "{r:?}");
    let r = p.run(&db, &["status", "--format", "json"]);
    assert_eq!(
        states(&r),
        pairs(&[
            ("0001", "applied"),
            ("0002", "pending"),
            ("0003", "pending")
        ])
    );
    let cols = db.query_strings("SELECT column_name::text FROM information_schema.columns WHERE table_name = 'users' ORDER BY 1");
    assert_eq!(cols, ["id", "name"]);
    assert_eq!(p.run(&db, &["migrate", "up"]).code, 0);
    let r = p.run(&db, &["migrate", "down", "--to", "0"]);
    assert_eq!(r.code, 0, "{r:?}");
    assert_eq!(tables(&db), ["pgkeel.migrations"]);

    std::fs::remove_file(p.migrations().join("0003_c.down.sql")).expect("rm");
    assert_eq!(p.run(&db, &["migrate", "up"]).code, 0);
    let r = p.run(&db, &["migrate", "down"]);
    assert_eq!(r.code, 2, "{r:?}");
    assert!(r.stderr.contains("0003_c has no down migration"), "{r:?}");
    assert!(
        tables(&db).contains(&"public.c".to_string()),
        "nothing reverted"
    );
}

#[test]
fn up_to_a_version_and_dry_run_change_nothing_beyond() {
    let db = TestDb::new();
    let p = Project::new(&[
        USERS,
        EMAIL,
        ("0003_c.up.sql", "CREATE TABLE c (id int);\n"),
    ]);
    let r = p.run(&db, &["migrate", "up", "--dry-run"]);
    assert_eq!(r.code, 0, "{r:?}");
    assert!(r.stdout.contains("would apply 3 migrations"), "{r:?}");
    assert!(
        tables(&db).is_empty(),
        "a dry run creates nothing, not even history"
    );
    let r = p.run(&db, &["migrate", "up", "--to", "0002"]);
    assert_eq!(r.code, 0, "{r:?}");
    assert_eq!(tables(&db), ["pgkeel.migrations", "public.users"]);
    let r = p.run(&db, &["migrate", "up", "--to", "0009"]);
    assert_eq!(r.code, 2, "{r:?}");
    assert!(r.stderr.contains("no migration has version 0009"), "{r:?}");
}

#[test]
fn tx_mode_all_rolls_back_every_migration_of_the_run() {
    let db = TestDb::new();
    let p = Project::new(&[
        USERS,
        EMAIL,
        ("0003_bad.up.sql", "CREATE TABLE c (id int);\nSELECT 1/0;\n"),
    ]);
    let r = p.run(&db, &["migrate", "up", "--tx-mode", "all"]);
    assert_eq!(r.code, 4, "{r:?}");
    assert!(
        r.stderr.contains("0003_bad.up.sql:2: division by zero"),
        "{r:?}"
    );
    assert_eq!(tables(&db), ["pgkeel.migrations"]);
    let n = db.query_strings("SELECT count(*)::text FROM pgkeel.migrations");
    assert_eq!(n, ["0"]);
}

#[test]
fn concurrent_index_runs_alone_and_a_failure_leaves_it_dirty_with_what_ran() {
    let db = TestDb::new();
    let p = Project::new(&[
        USERS,
        (
            "0002_index.up.sql",
            "CREATE INDEX CONCURRENTLY users_name ON users (name);\nCREATE TABLE after_index (id int);\n",
        ),
    ]);
    let r = p.run(&db, &["migrate", "up", "--format", "json"]);
    assert_eq!(r.code, 0, "{r:?}");
    assert_eq!(r.json()["ran"][1]["transactional"], false);
    assert!(
        r.stderr.contains("CREATE INDEX CONCURRENTLY at line 1"),
        "{r:?}"
    );

    // A unique index build that fails on duplicates leaves an INVALID index behind.
    db.execute("INSERT INTO users VALUES (1, 'x'), (2, 'x')");
    p.write(
        "0003_unique.up.sql",
        "CREATE TABLE before_index (id int);\nCREATE UNIQUE INDEX CONCURRENTLY users_name_key ON users (name);\n",
    );
    let r = p.run(&db, &["migrate", "up"]);
    assert_eq!(r.code, 4, "{r:?}");
    assert!(r.stderr.contains("0003_unique.up.sql:2:"), "{r:?}");
    assert!(r.stderr.contains("recorded as dirty"), "{r:?}");
    assert!(
        r.stderr
            .contains("DROP INDEX CONCURRENTLY IF EXISTS users_name_key"),
        "{r:?}"
    );
    let row = db.query_strings(
        "SELECT concat_ws('|', state, array_length(statements, 1), error IS NOT NULL) FROM pgkeel.migrations WHERE version = '0003'",
    );
    assert_eq!(
        row,
        ["dirty|1|t"],
        "the first statement ran and is recorded"
    );
    let r = p.run(&db, &["migrate", "up"]);
    assert_eq!(r.code, 5, "dirty blocks further runs: {r:?}");
    assert!(r.stderr.contains("0003_unique"), "{r:?}");
    assert!(r.stderr.contains("dirty"), "{r:?}");

    // The operator cleans up and marks it rolled back; the fixed migration then runs.
    db.execute(
        "DROP INDEX users_name_key; DROP TABLE before_index; DELETE FROM users WHERE id = 2",
    );
    assert_eq!(
        p.run(&db, &["migrate", "resolve", "--rolled-back", "0003"])
            .code,
        0
    );
    let r = p.run(&db, &["migrate", "up"]);
    assert_eq!(r.code, 0, "{r:?}");
    let valid = db.query_strings(
        "SELECT indisvalid::text FROM pg_index WHERE indexrelid = 'users_name_key'::regclass",
    );
    assert_eq!(valid, ["true"]);
}

#[test]
fn a_migration_with_its_own_transaction_runs_as_written() {
    let db = TestDb::new();
    let p = Project::new(&[(
        "0001_own.up.sql",
        "BEGIN;\nCREATE TABLE a (id int);\nCOMMIT;\nBEGIN;\nCREATE TABLE b (id int);\nCOMMIT;\n",
    )]);
    let r = p.run(&db, &["migrate", "up"]);
    assert_eq!(r.code, 0, "{r:?}");
    assert!(r.stderr.contains("manages its own transaction"), "{r:?}");
    assert_eq!(tables(&db), ["pgkeel.migrations", "public.a", "public.b"]);
}

#[test]
fn copy_from_stdin_data_is_loaded() {
    let db = TestDb::new();
    let p = Project::new(&[(
        "0001_seed.up.sql",
        "CREATE TABLE colours (id int, name text);\nCOPY colours (id, name) FROM stdin;\n1\tred\n2\tgreen\n\\.\nCREATE INDEX ON colours (name);\n",
    )]);
    let r = p.run(&db, &["migrate", "up"]);
    assert_eq!(r.code, 0, "{r:?}");
    assert_eq!(
        db.query_strings("SELECT name FROM colours ORDER BY id"),
        ["red", "green"]
    );
}

#[test]
fn bom_and_crlf_files_apply_and_keep_their_exact_checksum() {
    let db = TestDb::new();
    let text = "\u{feff}CREATE TABLE a (id int);\r\n-- x\r\nCREATE TABLE b (id int);\r\n";
    let p = Project::new(&[("0001_windows.up.sql", text)]);
    let r = p.run(&db, &["migrate", "up"]);
    assert_eq!(r.code, 0, "{r:?}");
    assert_eq!(tables(&db), ["pgkeel.migrations", "public.a", "public.b"]);
    let sha = {
        use sha2::Digest;
        let d = sha2::Sha256::digest(text.as_bytes());
        d.iter().map(|b| format!("{b:02x}")).collect::<String>()
    };
    assert_eq!(
        db.query_strings("SELECT checksum FROM pgkeel.migrations"),
        [sha]
    );
}

/// Holds `sql`'s locks in another session for `hold`, in the background.
fn hold_lock(db: &TestDb, sql: &str, hold: Duration) -> std::thread::JoinHandle<()> {
    let spec = db.spec.clone();
    let sql = sql.to_string();
    let (tx, rx) = std::sync::mpsc::channel();
    let handle = std::thread::spawn(move || {
        run_blocking(async move {
            let c = pgkeel::pg::connect(&spec).await.expect("connect");
            c.pg().batch_execute(&sql).await.expect("lock");
            let _ = tx.send(());
            tokio::time::sleep(hold).await;
            drop(c);
        })
    });
    rx.recv_timeout(Duration::from_secs(10))
        .expect("lock taken");
    handle
}

#[test]
fn a_second_runner_waits_then_exits_7_naming_the_holder() {
    let db = TestDb::new();
    let p = Project::new(&[USERS]);
    let key = pgkeel::migrations::lock::KEY;
    let holder = hold_lock(
        &db,
        &format!("SET application_name = 'other-deploy'; SELECT pg_advisory_lock({key})"),
        Duration::from_secs(3),
    );
    let r = p.run(&db, &["migrate", "up", "--lock-wait", "500ms"]);
    assert_eq!(r.code, 7, "{r:?}");
    assert!(
        r.stderr.contains("another migration runner holds the lock"),
        "{r:?}"
    );
    assert!(r.stderr.contains("application other-deploy"), "{r:?}");
    assert!(!tables(&db).contains(&"public.users".to_string()));
    // With enough patience it runs once the holder is gone.
    let r = p.run(&db, &["migrate", "up", "--lock-wait", "20s"]);
    assert_eq!(r.code, 0, "{r:?}");
    holder.join().expect("holder");
}

#[test]
fn lock_timeouts_are_retried_with_backoff_then_reported() {
    let db = TestDb::new();
    db.execute("CREATE TABLE busy (id int)");
    let p = Project::new(&[(
        "0001_alter.up.sql",
        "ALTER TABLE busy ADD COLUMN note text;\n",
    )]);
    // Held for 1.5 s: 200 ms timeouts with 500 ms, 1 s, 2 s backoff get through.
    let holder = hold_lock(
        &db,
        "BEGIN; LOCK TABLE busy IN ACCESS SHARE MODE",
        Duration::from_millis(1500),
    );
    let r = p.run(
        &db,
        &["migrate", "up", "--lock-timeout", "200ms", "--retries", "5"],
    );
    assert_eq!(r.code, 0, "{r:?}");
    assert!(r.stderr.contains("lock timeout; retry 1 of 5"), "{r:?}");
    holder.join().expect("holder");

    p.write(
        "0002_alter.up.sql",
        "ALTER TABLE busy ADD COLUMN other text;\n",
    );
    let holder = hold_lock(
        &db,
        "BEGIN; LOCK TABLE busy IN ACCESS SHARE MODE",
        Duration::from_secs(3),
    );
    let r = p.run(
        &db,
        &["migrate", "up", "--lock-timeout", "100ms", "--retries", "0"],
    );
    assert_eq!(r.code, 4, "{r:?}");
    assert!(
        r.stderr.contains(
            "0002_alter.up.sql:1: canceling statement due to lock timeout (SQLSTATE 55P03)"
        ),
        "{r:?}"
    );
    assert!(r.stderr.contains("--lock-timeout, --retries"), "{r:?}");
    holder.join().expect("holder");
}

#[test]
fn statement_timeout_applies_to_every_statement() {
    let db = TestDb::new();
    let p = Project::new(&[("0001_slow.up.sql", "SELECT pg_sleep(3);\n")]);
    let r = p.run(&db, &["migrate", "up", "--statement-timeout", "200ms"]);
    assert_eq!(r.code, 4, "{r:?}");
    assert!(r.stderr.contains("57014"), "{r:?}");
}

#[test]
fn bad_input_gets_one_clear_error_and_changes_nothing() {
    let db = TestDb::new();
    // (case, files, exit code, expected message)
    type Case<'a> = (&'a str, Vec<(&'a str, &'a [u8])>, i32, &'a str);
    let cases: Vec<Case> = vec![
        ("empty", vec![], 2, "holds no migrations"),
        (
            "unknown",
            vec![("notes.txt", b"hi")],
            2,
            "cannot tell which migration tool",
        ),
        (
            "mixed",
            vec![
                ("V1__a.sql", b"CREATE TABLE a ();"),
                ("2_b.sql", b"-- +goose Up\nCREATE TABLE b ();"),
            ],
            2,
            "mixes two formats",
        ),
        (
            "duplicate",
            vec![
                ("0001_a.up.sql", b"CREATE TABLE a ();"),
                ("1_b.up.sql", b"CREATE TABLE b ();"),
            ],
            2,
            "version 0001 appears twice: migrations/0001_a.up.sql and migrations/1_b.up.sql",
        ),
        (
            "non-utf8",
            vec![("0001_a.up.sql", b"CREATE TABLE a ();\n-- caf\xe9\n")],
            2,
            "0001_a.up.sql:2: not UTF-8",
        ),
        (
            "dollar",
            vec![(
                "0001_a.up.sql",
                b"CREATE TABLE a ();\nDO $x$ BEGIN\nEND $y$;\n",
            )],
            2,
            "0001_a.up.sql:2:4: unterminated",
        ),
        (
            "meta",
            vec![("0001_a.up.sql", b"CREATE TABLE a ();\n\\i other.sql\n")],
            2,
            "0001_a.up.sql:2:1: psql meta-command",
        ),
        (
            "orphan-down",
            vec![
                ("0001_a.up.sql", b"CREATE TABLE a ();"),
                ("0002_b.down.sql", b"DROP TABLE b;"),
            ],
            2,
            "0002_b.down.sql has no matching up migration",
        ),
    ];
    for (name, files, code, message) in cases {
        let p = Project::new(&[]);
        for (f, bytes) in files {
            std::fs::write(p.migrations().join(f), bytes).expect("write");
        }
        let r = p.run(&db, &["migrate", "up"]);
        assert_eq!(r.code, code, "{name}: {r:?}");
        assert!(
            r.stderr.contains(message),
            "{name}: expected {message:?}: {r:?}"
        );
        assert!(r.stderr.contains("hint:"), "{name}: {r:?}");
        assert_eq!(
            r.stderr.matches("error:").count(),
            1,
            "{name}: one error: {r:?}"
        );
        assert!(tables(&db).is_empty(), "{name}: nothing created");
    }
    let p = Project::new(&[]);
    let r = run(pgkeel(p.path()).args([
        "status",
        "--database-url",
        &db.url(),
        "--migrations",
        "nope",
    ]));
    assert_eq!(r.code, 2, "{r:?}");
    assert!(
        r.stderr
            .contains("migrations directory nope does not exist"),
        "{r:?}"
    );
    // A path that cannot be read as a directory (permissions do not stop root, so use a file).
    std::fs::write(p.path().join("not-a-dir"), "x").expect("write");
    let r = run(pgkeel(p.path()).args([
        "status",
        "--database-url",
        &db.url(),
        "--migrations",
        "not-a-dir",
    ]));
    assert_eq!(r.code, 2, "{r:?}");
    assert!(r.stderr.contains("cannot read not-a-dir"), "{r:?}");
    let r = run(pgkeel(p.path()).args([
        "migrate",
        "up",
        "--database-url",
        &db.url(),
        "--lock-timeout",
        "soon",
    ]));
    assert_eq!(r.code, 2, "{r:?}");
    assert!(
        r.stderr.contains("--lock-timeout `soon` is not a duration"),
        "{r:?}"
    );
}

#[test]
fn migrations_are_read_at_a_git_revision_without_touching_the_work_tree() {
    let db = TestDb::new();
    let p = Project::new(&[USERS]);
    let git = |args: &[&str]| crate::support::git(p.path(), args);
    git(&["init", "-q"]);
    git(&["add", "."]);
    git(&["commit", "-qm", "one"]);
    p.write(EMAIL.0, EMAIL.1);
    git(&["add", "."]);
    git(&["commit", "-qm", "two"]);
    p.write("0003_wip.up.sql", "CREATE TABLE wip (id int);\n");

    let r = p.run(&db, &["status", "--at-ref", "HEAD~1", "--format", "json"]);
    assert_eq!(r.code, 0, "{r:?}");
    assert_eq!(states(&r), pairs(&[("0001", "pending")]));
    assert!(
        r.stdout.contains("migrations/0001_users.up.sql@HEAD~1"),
        "{r:?}"
    );
    let r = p.run(&db, &["migrate", "up", "--at-ref", "HEAD"]);
    assert_eq!(r.code, 0, "{r:?}");
    assert_eq!(tables(&db), ["pgkeel.migrations", "public.users"]);
    let r = p.run(&db, &["status", "--at-ref", "no-such-branch"]);
    assert_eq!(r.code, 2, "{r:?}");
    assert!(r.stderr.contains("git revision `no-such-branch`"), "{r:?}");
}

#[test]
fn command_mode_runs_the_teams_tool_under_lock_and_timeouts() {
    let db = TestDb::new();
    let p = Project::new(&[]);
    let psql = pgkeel::pg::tools::find(
        pgkeel::pg::tools::Tool::Psql,
        pgkeel::pg::tools::Requirement::Any,
    )
    .map(|t| t.path.display().to_string())
    .unwrap_or_else(|_| "psql".into());
    let cmd = format!(
        "echo \"tool sees $DATABASE_URL\"; {psql} \"$DATABASE_URL\" -q -v ON_ERROR_STOP=1 -c \"CREATE TABLE made_by_tool AS SELECT current_setting('lock_timeout') AS lt\""
    );
    // A password in the URL must not appear in anything pgkeel prints, even echoed by the tool.
    let url = db.url().replacen("postgres@", "postgres:hunter2secret@", 1);
    let r = run(pgkeel(p.path()).args([
        "migrate",
        "up",
        "--database-url",
        &url,
        "--command",
        &cmd,
        "--lock-timeout",
        "3s",
    ]));
    assert_eq!(r.code, 0, "{r:?}");
    r.assert_no_secret("hunter2secret");
    assert!(r.stderr.contains("tool sees postgres://postgres:"), "{r:?}");
    assert!(r.stdout.contains("schema changes (1)"), "{r:?}");
    assert!(r.stdout.contains("made_by_tool"), "{r:?}");
    assert_eq!(db.query_strings("SELECT lt FROM made_by_tool"), ["3s"]);

    let r = run(pgkeel(p.path()).args([
        "migrate",
        "up",
        "--database-url",
        &url,
        "--command",
        "echo boom >&2; exit 3",
    ]));
    assert_eq!(r.code, 4, "{r:?}");
    assert!(r.stderr.contains("failed with exit status 3"), "{r:?}");
    assert!(r.stderr.contains("boom"), "{r:?}");
    assert!(r.stderr.contains("schema unchanged"), "{r:?}");
}

#[test]
fn command_mode_with_a_real_tool_node_pg_migrate() {
    let Some(tool) = crate::support::installed_tool("node-pg-migrate") else {
        return;
    };
    let db = TestDb::new();
    let p = Project::new(&[]);
    p.write(
        "1700000000000_widgets.js",
        "exports.up = (pgm) => {\n  pgm.createTable('widgets', { id: 'id', name: { type: 'text', notNull: true } });\n};\nexports.down = (pgm) => {\n  pgm.dropTable('widgets');\n};\n",
    );
    let cmd = format!("{} up -m migrations", tool.display());
    let r = run(pgkeel(p.path()).args([
        "migrate",
        "up",
        "--database-url",
        &db.url(),
        "--command",
        &cmd,
        "--format",
        "json",
    ]));
    assert_eq!(r.code, 0, "{r:?}");
    let changes = r.json()["schema_changes"].clone();
    assert!(
        changes.as_array().is_some_and(|c| c
            .iter()
            .any(|c| c == "added table public.widgets (2 columns)")),
        "{r:?}"
    );
    assert!(
        r.stderr.contains("Migrations complete"),
        "tool output passes through: {r:?}"
    );
    // Run again: the tool has nothing to do, and pgkeel sees no change.
    let r = run(pgkeel(p.path()).args([
        "migrate",
        "up",
        "--database-url",
        &db.url(),
        "--command",
        &cmd,
    ]));
    assert_eq!(r.code, 0, "{r:?}");
    assert!(r.stdout.contains("schema unchanged"), "{r:?}");
}

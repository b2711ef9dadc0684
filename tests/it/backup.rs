//! `pgkeel backup` and `pgkeel restore` end to end: real PostgreSQL, a real S3-compatible
//! server (moto) on loopback, real pg_dump/pg_restore/psql, and the faults a backup must
//! survive (damaged files, lost manifests, a full disk, interrupted uploads, a killed restore).

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use crate::support::{pgkeel, run, s3, temp_dir, Run, TestDb};

/// A schema with a bit of everything a dump must carry: types, identity, defaults, indexes,
/// a foreign key, a view, a function, a sequence, a comment, a grant, two schemas.
const FIXTURE: &str = "
CREATE TYPE mood AS ENUM ('sad', 'ok', 'happy');
CREATE SCHEMA billing;
CREATE TABLE customers (
  id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  email text NOT NULL UNIQUE,
  mood mood DEFAULT 'ok',
  tags text[],
  meta jsonb,
  created timestamptz DEFAULT now()
);
CREATE TABLE billing.invoices (
  id serial PRIMARY KEY,
  customer_id bigint REFERENCES customers(id),
  amount numeric(12,2) CHECK (amount >= 0),
  paid boolean NOT NULL DEFAULT false
);
CREATE INDEX invoices_unpaid ON billing.invoices (customer_id) WHERE NOT paid;
CREATE VIEW billing.debt AS SELECT customer_id, sum(amount) AS owed FROM billing.invoices WHERE NOT paid GROUP BY 1;
CREATE FUNCTION billing.total() RETURNS numeric LANGUAGE sql AS 'SELECT coalesce(sum(amount), 0) FROM billing.invoices';
CREATE SEQUENCE ticket_seq START 1000;
COMMENT ON TABLE customers IS 'people who pay';
INSERT INTO customers (email, mood, tags, meta)
  SELECT 'c' || g || '@example.com', (ARRAY['sad','ok','happy'])[1 + g % 3]::mood, ARRAY['t' || g % 7], jsonb_build_object('n', g)
  FROM generate_series(1, 500) g;
INSERT INTO billing.invoices (customer_id, amount, paid)
  SELECT 1 + g % 500, (g % 1000) / 10.0, g % 4 = 0 FROM generate_series(1, 2000) g;
";

fn fixture() -> TestDb {
    let db = TestDb::new();
    db.execute(FIXTURE);
    db
}

fn counts(db: &TestDb) -> (String, String) {
    let c = db.query_strings("SELECT count(*)::text FROM customers");
    let i = db.query_strings("SELECT coalesce(sum(amount), 0)::text FROM billing.invoices");
    (c[0].clone(), i[0].clone())
}

fn backup(dir: &Path, db: &TestDb, to: &Path, extra: &[&str]) -> Run {
    run(pgkeel(dir)
        .args([
            "--format",
            "json",
            "backup",
            "--database-url",
            &db.url(),
            "--to",
        ])
        .arg(to)
        .args(extra))
}

fn restore(dir: &Path, db: &TestDb, from: &str, backups: &Path, extra: &[&str]) -> Run {
    run(pgkeel(dir)
        .args([
            "--format",
            "json",
            "restore",
            "--database-url",
            &db.url(),
            "--from",
            from,
            "--backups",
        ])
        .arg(backups)
        .args(extra))
}

/// The directory of the backup a JSON report describes.
fn backup_dir(r: &Run) -> PathBuf {
    PathBuf::from(r.json()["location"].as_str().expect("location"))
}

fn dump_file(r: &Run) -> PathBuf {
    let m = &r.json()["manifest"];
    backup_dir(r).join(m["dump"].as_str().unwrap())
}

#[test]
fn backup_is_verified_by_a_real_restore_and_restore_brings_the_data_back() {
    let dir = temp_dir();
    let db = fixture();
    let store = dir.path().join("backups");
    let r = backup(dir.path(), &db, &store, &[]);
    assert_eq!(r.code, 0, "{r:?}");
    let doc = r.json();
    assert_eq!(doc["version"], 1);
    let m = &doc["manifest"];
    assert_eq!(m["status"], "verified", "{r:?}");
    assert_eq!(m["verification"]["mode"], "restore");
    assert!(m["verification"]["restore_ms"].as_u64().is_some(), "{m}");
    assert_eq!(m["row_counts"]["public.customers"], 500);
    assert_eq!(m["row_counts"]["billing.invoices"], 2000);
    assert_eq!(m["database"], db.name.as_str());
    assert_eq!(m["format"], "custom");
    assert_eq!(m["compression"]["method"], "zstd");
    let id = m["id"].as_str().unwrap();
    assert!(
        id.starts_with(&format!("{}-", db.name)) && id.len() == db.name.len() + 16,
        "{id}"
    );
    assert_eq!(m["schema_fingerprint"].as_str().unwrap().len(), 64);
    // Every file's checksum is the file's.
    for f in m["files"].as_array().unwrap() {
        let bytes = std::fs::read(backup_dir(&r).join(f["name"].as_str().unwrap())).unwrap();
        assert_eq!(bytes.len() as u64, f["size"].as_u64().unwrap());
        let sha = Command::new("sha256sum")
            .arg(backup_dir(&r).join(f["name"].as_str().unwrap()))
            .output()
            .unwrap();
        assert!(String::from_utf8_lossy(&sha.stdout).starts_with(f["sha256"].as_str().unwrap()));
    }
    assert!(backup_dir(&r).join("manifest.json").is_file());

    // The database moves on: rows change, a table appears, one disappears.
    let before = counts(&db);
    db.execute("DELETE FROM billing.invoices WHERE id % 2 = 0; UPDATE customers SET email = 'x' || email; CREATE TABLE later (x int); DROP VIEW billing.debt;");
    assert_ne!(counts(&db), before);

    let bdir = backup_dir(&r);
    let r2 = restore(
        dir.path(),
        &db,
        bdir.to_str().unwrap(),
        &store,
        &["--confirm", &db.name],
    );
    assert_eq!(r2.code, 0, "{r2:?}");
    let out = r2.json();
    assert_eq!(out["verified"], true);
    assert_eq!(out["rows"], 2500);
    assert_eq!(counts(&db), before, "data is back");
    assert_eq!(
        db.query_strings("SELECT coalesce(to_regclass('later')::text, 'gone')")[0],
        "gone",
        "objects created after the backup are gone"
    );
    assert_eq!(
        db.query_strings("SELECT count(*)::text FROM billing.debt")[0],
        "375"
    );
    assert_eq!(
        db.query_strings("SELECT min(email) FROM customers")[0],
        "c100@example.com"
    );
    // The safety backup of the target was taken first, verified, and is listed.
    let safety = out["safety_backup"].as_str().expect("safety backup");
    assert!(
        Path::new(safety).join("manifest.json").is_file(),
        "{safety}"
    );
    let list = run(pgkeel(dir.path())
        .args(["--format", "json", "backup", "list", "--from"])
        .arg(&store));
    assert_eq!(list.code, 0, "{list:?}");
    let items = list.json()["backups"].as_array().unwrap().clone();
    assert_eq!(items.len(), 2, "{list:?}");
    assert_eq!(items[0]["kind"], "safety", "newest first");
    assert_eq!(items[1]["id"], id);
}

#[test]
fn every_format_and_compression_verifies_and_restores() {
    let dir = temp_dir();
    let db = fixture();
    let store = dir.path().join("b");
    let before = counts(&db);
    for (format, compress) in [
        ("plain", "gzip:1"),
        ("directory", "gzip"),
        ("custom", "none"),
        ("custom", "gzip"),
    ] {
        let r = backup(
            dir.path(),
            &db,
            &store,
            &["--dump-format", format, "--compress", compress],
        );
        assert_eq!(r.code, 0, "{format} {compress}: {r:?}");
        let m = &r.json()["manifest"];
        assert_eq!(m["status"], "verified", "{format}: {r:?}");
        assert_eq!(m["format"], format);
        let target = TestDb::new();
        let rr = restore(
            dir.path(),
            &target,
            backup_dir(&r).to_str().unwrap(),
            &store,
            &["--confirm", &target.name, "--no-safety-backup"],
        );
        assert_eq!(rr.code, 0, "{format} {compress}: {rr:?}");
        assert_eq!(counts(&target), before, "{format}");
    }
}

#[test]
fn human_report_says_where_size_checksum_and_restore_time() {
    let dir = temp_dir();
    let db = fixture();
    let r = run(pgkeel(dir.path()).args(["backup", "--database-url", &db.url(), "--to", "out"]));
    assert_eq!(r.code, 0, "{r:?}");
    for needle in [
        "Backup ",
        "verified",
        "where",
        "size",
        "sha256",
        "restore   verified in",
    ] {
        assert!(r.stdout.contains(needle), "{needle}: {r:?}");
    }
}

#[test]
fn a_flipped_byte_is_refused_and_the_target_is_untouched() {
    let dir = temp_dir();
    let db = fixture();
    let store = dir.path().join("b");
    let r = backup(dir.path(), &db, &store, &["--verify", "none"]);
    assert_eq!(r.code, 0, "{r:?}");
    let file = dump_file(&r);
    let mut bytes = std::fs::read(&file).unwrap();
    let mid = bytes.len() / 2;
    bytes[mid] ^= 0x01;
    std::fs::write(&file, bytes).unwrap();
    db.execute("INSERT INTO customers (email) VALUES ('after@example.com')");
    let before = counts(&db);
    let rr = restore(
        dir.path(),
        &db,
        backup_dir(&r).to_str().unwrap(),
        &store,
        &["--confirm", &db.name],
    );
    assert_eq!(rr.code, 6, "{rr:?}");
    assert!(rr.stderr.contains("checksum mismatch"), "{rr:?}");
    assert!(rr.stderr.contains("nothing was touched"), "{rr:?}");
    assert_eq!(counts(&db), before);
    // Refused before the safety backup too: nothing new in the store.
    assert_eq!(std::fs::read_dir(&store).unwrap().count(), 1);
}

#[test]
fn a_truncated_file_is_refused() {
    let dir = temp_dir();
    let db = fixture();
    let store = dir.path().join("b");
    let r = backup(
        dir.path(),
        &db,
        &store,
        &["--verify", "none", "--dump-format", "plain"],
    );
    assert_eq!(r.code, 0, "{r:?}");
    let file = dump_file(&r);
    let len = std::fs::metadata(&file).unwrap().len();
    std::fs::OpenOptions::new()
        .write(true)
        .open(&file)
        .unwrap()
        .set_len(len / 2)
        .unwrap();
    let before = counts(&db);
    let rr = restore(
        dir.path(),
        &db,
        backup_dir(&r).to_str().unwrap(),
        &store,
        &["--confirm", &db.name],
    );
    assert_eq!(rr.code, 6, "{rr:?}");
    assert!(
        rr.stderr.contains("checksum mismatch")
            && rr.stderr.contains(&format!("({} bytes)", len / 2)),
        "{rr:?}"
    );
    assert_eq!(counts(&db), before);
}

#[test]
fn a_backup_without_its_manifest_is_incomplete() {
    let dir = temp_dir();
    let db = fixture();
    let store = dir.path().join("b");
    let r = backup(dir.path(), &db, &store, &["--verify", "none"]);
    assert_eq!(r.code, 0, "{r:?}");
    std::fs::remove_file(backup_dir(&r).join("manifest.json")).unwrap();
    let rr = restore(
        dir.path(),
        &db,
        backup_dir(&r).to_str().unwrap(),
        &store,
        &["--confirm", &db.name],
    );
    assert_eq!(rr.code, 6, "{rr:?}");
    assert!(rr.stderr.contains("no manifest"), "{rr:?}");
    let latest = restore(dir.path(), &db, "latest", &store, &["--confirm", &db.name]);
    assert_eq!(latest.code, 2, "{latest:?}");
    assert!(
        latest.stderr.contains("no verified or unverified backup"),
        "{latest:?}"
    );
    let list = run(pgkeel(dir.path())
        .args(["backup", "list", "--from"])
        .arg(&store));
    assert!(list.stdout.contains("No backups"), "{list:?}");
}

#[test]
fn a_wrong_confirmation_is_refused_before_anything_happens() {
    let dir = temp_dir();
    let db = fixture();
    let store = dir.path().join("b");
    let r = backup(dir.path(), &db, &store, &["--verify", "none"]);
    assert_eq!(r.code, 0, "{r:?}");
    db.execute("DELETE FROM billing.invoices");
    let before = counts(&db);
    let path = backup_dir(&r);
    for confirm in [
        vec!["--confirm", "production"],
        vec![],
        vec!["--confirm", "RESTORE"],
    ] {
        let rr = restore(dir.path(), &db, path.to_str().unwrap(), &store, &confirm);
        assert_eq!(rr.code, 2, "{rr:?}");
        assert!(rr.stderr.contains("refusing to restore"), "{rr:?}");
        assert!(rr.stderr.contains(&format!("`{}`", db.name)), "{rr:?}");
    }
    assert_eq!(counts(&db), before);
    assert_eq!(
        std::fs::read_dir(&store).unwrap().count(),
        1,
        "no safety backup either"
    );
    // With a configured token, the token (and only it) confirms.
    let rr = run(pgkeel(dir.path())
        .args([
            "restore",
            "--database-url",
            &db.url(),
            "--from",
            path.to_str().unwrap(),
            "--confirm",
            &db.name,
            "--backups",
        ])
        .arg(&store)
        .env("PGKEEL_CONFIRM_TOKEN", "RESTORE"));
    assert_eq!(rr.code, 2, "{rr:?}");
    let rr = run(pgkeel(dir.path())
        .args([
            "restore",
            "--database-url",
            &db.url(),
            "--from",
            path.to_str().unwrap(),
            "--confirm",
            "RESTORE",
            "--no-safety-backup",
            "--backups",
        ])
        .arg(&store)
        .env("PGKEEL_CONFIRM_TOKEN", "RESTORE"));
    assert_eq!(rr.code, 0, "{rr:?}");
    assert_ne!(counts(&db), before);
}

#[test]
fn latest_skips_failed_backups_and_list_is_newest_first() {
    let dir = temp_dir();
    let db = fixture();
    let store = dir.path().join("b");
    let first = backup(dir.path(), &db, &store, &["--verify", "list"]);
    assert_eq!(first.code, 0, "{first:?}");
    assert_eq!(first.json()["manifest"]["status"], "verified");
    db.execute("INSERT INTO customers (email) VALUES ('second@example.com')");
    std::thread::sleep(Duration::from_millis(1100));
    let second = backup(dir.path(), &db, &store, &["--verify", "none"]);
    assert_eq!(second.code, 0, "{second:?}");
    // Mark the newest as failed, as a failed verification would.
    let manifest = backup_dir(&second).join("manifest.json");
    let text = std::fs::read_to_string(&manifest)
        .unwrap()
        .replace("\"status\": \"unverified\"", "\"status\": \"failed\"");
    std::fs::write(&manifest, text).unwrap();
    let list = run(pgkeel(dir.path())
        .args(["backup", "list", "--from"])
        .arg(&store));
    assert_eq!(list.code, 0, "{list:?}");
    let second_id = second.json()["manifest"]["id"]
        .as_str()
        .unwrap()
        .to_string();
    let first_id = first.json()["manifest"]["id"].as_str().unwrap().to_string();
    let p2 = list.stdout.find(&second_id).expect("second listed");
    let p1 = list.stdout.find(&first_id).expect("first listed");
    assert!(p2 < p1, "newest first: {list:?}");
    assert!(list.stdout.contains("FAILED"), "{list:?}");
    let rr = restore(
        dir.path(),
        &db,
        "latest",
        &store,
        &["--confirm", &db.name, "--no-safety-backup"],
    );
    assert_eq!(rr.code, 0, "{rr:?}");
    assert_eq!(
        rr.json()["id"],
        first_id.as_str(),
        "latest is the newest good one"
    );
    // And a bare id is looked up in --backups.
    let rr = restore(
        dir.path(),
        &db,
        &first_id,
        &store,
        &["--confirm", &db.name, "--no-safety-backup"],
    );
    assert_eq!(rr.code, 0, "{rr:?}");
}

#[test]
fn retention_prunes_only_after_a_verified_backup_and_dry_run_deletes_nothing() {
    let dir = temp_dir();
    let db = fixture();
    let store = dir.path().join("b");
    let mut ids = Vec::new();
    for _ in 0..3 {
        let r = backup(dir.path(), &db, &store, &["--verify", "list"]);
        assert_eq!(r.code, 0, "{r:?}");
        ids.push(r.json()["manifest"]["id"].as_str().unwrap().to_string());
        std::thread::sleep(Duration::from_millis(1100));
    }
    let dry = backup(
        dir.path(),
        &db,
        &store,
        &["--verify", "list", "--keep-last", "2", "--dry-run"],
    );
    assert_eq!(dry.code, 0, "{dry:?}");
    let would: Vec<String> = dry.json()["retention"]["deleted"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_str().unwrap().to_string())
        .collect();
    assert_eq!(would, vec![ids[0].clone(), ids[1].clone()], "{dry:?}");
    assert!(store.join(&ids[0]).exists(), "dry run deleted nothing");
    // An unverified backup never triggers pruning.
    let unverified = backup(
        dir.path(),
        &db,
        &store,
        &["--verify", "none", "--keep-last", "1"],
    );
    assert_eq!(unverified.code, 0, "{unverified:?}");
    assert!(
        unverified.stderr.contains("retention skipped"),
        "{unverified:?}"
    );
    assert!(store.join(&ids[0]).exists());
    std::thread::sleep(Duration::from_millis(1100));
    let real = backup(
        dir.path(),
        &db,
        &store,
        &["--verify", "list", "--keep-last", "2"],
    );
    assert_eq!(real.code, 0, "{real:?}");
    let deleted = real.json()["retention"]["deleted"]
        .as_array()
        .unwrap()
        .len();
    assert_eq!(deleted, 4, "{real:?}");
    assert_eq!(std::fs::read_dir(&store).unwrap().count(), 2);
    assert!(backup_dir(&real).join("manifest.json").exists());
}

#[test]
fn swap_restores_into_a_new_database_and_keeps_the_old_one() {
    let dir = temp_dir();
    let db = fixture();
    let store = dir.path().join("b");
    let r = backup(dir.path(), &db, &store, &["--verify", "none"]);
    assert_eq!(r.code, 0, "{r:?}");
    let before = counts(&db);
    db.execute("TRUNCATE billing.invoices");
    let rr = restore(
        dir.path(),
        &db,
        backup_dir(&r).to_str().unwrap(),
        &store,
        &[
            "--confirm",
            &db.name,
            "--strategy",
            "swap",
            "--no-safety-backup",
        ],
    );
    assert_eq!(rr.code, 0, "{rr:?}");
    let old = rr.json()["previous_database"]
        .as_str()
        .expect("old database")
        .to_string();
    assert_eq!(counts(&db), before);
    let admin = crate::support::admin_spec();
    let kept = TestDb {
        name: old.clone(),
        spec: admin.with_dbname(&old),
    };
    assert_eq!(
        kept.query_strings("SELECT count(*)::text FROM billing.invoices")[0],
        "0",
        "the old database is kept as it was"
    );
}

#[test]
fn restore_applies_migrations_newer_than_the_backup() {
    let dir = temp_dir();
    let db = TestDb::new();
    let migrations = dir.path().join("migrations");
    std::fs::create_dir(&migrations).unwrap();
    std::fs::write(migrations.join("0001_init.up.sql"), "CREATE TABLE notes (id int PRIMARY KEY, body text);\nINSERT INTO notes VALUES (1, 'one');\n").unwrap();
    let up = run(pgkeel(dir.path())
        .args(["migrate", "up", "--database-url", &db.url(), "--migrations"])
        .arg(&migrations));
    assert_eq!(up.code, 0, "{up:?}");
    let store = dir.path().join("b");
    let r = backup(dir.path(), &db, &store, &["--verify", "none"]);
    assert_eq!(r.code, 0, "{r:?}");
    std::fs::write(
        migrations.join("0002_tags.up.sql"),
        "ALTER TABLE notes ADD COLUMN tag text DEFAULT 'x';\n",
    )
    .unwrap();
    let rr = restore(
        dir.path(),
        &db,
        backup_dir(&r).to_str().unwrap(),
        &store,
        &[
            "--confirm",
            &db.name,
            "--migrations",
            migrations.to_str().unwrap(),
        ],
    );
    assert_eq!(rr.code, 0, "{rr:?}");
    assert_eq!(rr.json()["migrations_applied"][0], "0002_tags", "{rr:?}");
    assert_eq!(db.query_strings("SELECT tag FROM notes")[0], "x");
}

#[test]
fn a_failure_after_the_target_changed_puts_the_safety_backup_back() {
    let dir = temp_dir();
    let db = TestDb::new();
    let migrations = dir.path().join("migrations");
    std::fs::create_dir(&migrations).unwrap();
    std::fs::write(
        migrations.join("0001_init.up.sql"),
        "CREATE TABLE notes (id int PRIMARY KEY, body text);\n",
    )
    .unwrap();
    let up = run(pgkeel(dir.path())
        .args(["migrate", "up", "--database-url", &db.url(), "--migrations"])
        .arg(&migrations));
    assert_eq!(up.code, 0, "{up:?}");
    let store = dir.path().join("b");
    let r = backup(dir.path(), &db, &store, &["--verify", "none"]);
    assert_eq!(r.code, 0, "{r:?}");
    db.execute("INSERT INTO notes SELECT g, 'now' FROM generate_series(1, 50) g");
    std::fs::write(
        migrations.join("0002_broken.up.sql"),
        "ALTER TABLE notes ADD COLUMN x int;\nSELECT 1/0;\n",
    )
    .unwrap();
    let rr = restore(
        dir.path(),
        &db,
        backup_dir(&r).to_str().unwrap(),
        &store,
        &[
            "--confirm",
            &db.name,
            "--migrations",
            migrations.to_str().unwrap(),
            "--safety-verify",
            "list",
        ],
    );
    assert_eq!(rr.code, 6, "{rr:?}");
    assert!(
        rr.stderr.contains("was put back from the safety backup"),
        "{rr:?}"
    );
    assert_eq!(
        db.query_strings("SELECT count(*)::text FROM notes")[0],
        "50",
        "the pre-restore state is back"
    );
}

#[test]
fn a_pg_dump_older_than_the_server_fails_before_starting() {
    let dir = temp_dir();
    let db = TestDb::new();
    let bin = dir.path().join("oldbin");
    std::fs::create_dir(&bin).unwrap();
    for tool in ["pg_dump", "pg_restore", "psql"] {
        let path = bin.join(tool);
        std::fs::write(
            &path,
            format!("#!/bin/sh\necho \"{tool} (PostgreSQL) 9.6.24\"\n"),
        )
        .unwrap();
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o755)).unwrap();
    }
    let server_major = db
        .query_strings("SELECT (current_setting('server_version_num')::int / 10000)::text")[0]
        .clone();
    let r = run(pgkeel(dir.path())
        .args(["backup", "--database-url", &db.url(), "--to", "out"])
        .env("PGKEEL_PG_BIN", &bin)
        .env("PGKEEL_PG_BIN_ONLY", "1"));
    assert_eq!(r.code, 2, "{r:?}");
    assert!(
        r.stderr.contains(&format!(
            "no pg_dump with major version {server_major} or newer found"
        )),
        "{r:?}"
    );
    assert!(r.stderr.contains("9.6.24"), "{r:?}");
    assert!(
        r.stderr
            .contains(&format!("apt-get install postgresql-client-{server_major}")),
        "{r:?}"
    );
    assert!(!dir.path().join("out").exists(), "nothing was started");
}

/// A tiny tmpfs as the destination (the tests run as root in CI; elsewhere this is skipped).
struct SmallDisk(PathBuf);

impl SmallDisk {
    fn mount(path: &Path, size: &str) -> Option<SmallDisk> {
        std::fs::create_dir_all(path).unwrap();
        let ok = Command::new("mount")
            .args(["-t", "tmpfs", "-o", &format!("size={size}"), "tmpfs"])
            .arg(path)
            .status()
            .map(|s| s.success())
            .unwrap_or(false);
        if !ok {
            assert!(
                std::env::var_os("CI").is_none(),
                "cannot mount a tmpfs for the disk-full test (needs root)"
            );
            eprintln!("skipping: cannot mount a tmpfs (needs root)");
            return None;
        }
        Some(SmallDisk(path.to_path_buf()))
    }
}

impl Drop for SmallDisk {
    fn drop(&mut self) {
        let _ = Command::new("umount").arg(&self.0).status();
    }
}

#[test]
fn a_full_destination_fails_cleanly_and_leaves_nothing_that_looks_complete() {
    let dir = temp_dir();
    let db = TestDb::new();
    // Incompressible rows, so the dump outgrows the disk.
    db.execute("CREATE TABLE blob AS SELECT g, md5(g::text) || md5((g * 7)::text) AS a FROM generate_series(1, 60000) g");
    let Some(disk) = SmallDisk::mount(&dir.path().join("small"), "512k") else {
        return;
    };
    let r = backup(
        dir.path(),
        &db,
        &disk.0,
        &["--verify", "none", "--compress", "none"],
    );
    assert_eq!(r.code, 6, "{r:?}");
    assert!(r.stderr.contains("No space left on device"), "{r:?}");
    assert!(r.stderr.contains("the destination is full"), "{r:?}");
    let left: Vec<_> = std::fs::read_dir(&disk.0).unwrap().collect();
    assert!(left.is_empty(), "the partial backup was removed: {left:?}");
    let list = run(pgkeel(dir.path())
        .args(["backup", "list", "--from"])
        .arg(&disk.0));
    assert!(list.stdout.contains("No backups"), "{list:?}");
}

#[test]
fn passwords_never_reach_output_or_the_manifest() {
    let dir = temp_dir();
    let db = fixture();
    // The test server trusts local connections; the password is carried everywhere anyway.
    let url = db.url().replacen("postgres@", "postgres:Hunter2Secret@", 1);
    assert!(url.contains("Hunter2Secret"), "{url}");
    let store = dir.path().join("b");
    let r = run(pgkeel(dir.path())
        .args(["--format", "json", "backup", "--database-url", &url, "--to"])
        .arg(&store));
    assert_eq!(r.code, 0, "{r:?}");
    r.assert_no_secret("Hunter2Secret");
    assert!(r.json()["manifest"]["host"]
        .as_str()
        .unwrap()
        .contains("***"));
    for entry in walk(&store) {
        let bytes = std::fs::read(&entry).unwrap();
        assert!(
            !String::from_utf8_lossy(&bytes).contains("Hunter2Secret"),
            "{}",
            entry.display()
        );
    }
    let rr = run(pgkeel(dir.path())
        .args([
            "restore",
            "--database-url",
            &url,
            "--from",
            "latest",
            "--confirm",
            &db.name,
            "--backups",
        ])
        .arg(&store));
    assert_eq!(rr.code, 0, "{rr:?}");
    rr.assert_no_secret("Hunter2Secret");
}

fn walk(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    for e in std::fs::read_dir(dir).unwrap().flatten() {
        if e.path().is_dir() {
            out.extend(walk(&e.path()));
        } else {
            out.push(e.path());
        }
    }
    out
}

#[test]
fn a_killed_restore_leaves_a_safety_backup_that_brings_the_target_back() {
    let dir = temp_dir();
    let db = TestDb::new();
    db.execute("CREATE TABLE big (id int PRIMARY KEY, a text, b text); INSERT INTO big SELECT g, md5(g::text), repeat('x', 200) FROM generate_series(1, 300000) g; CREATE INDEX big_a ON big (a);");
    let store = dir.path().join("b");
    let r = backup(dir.path(), &db, &store, &["--verify", "none"]);
    assert_eq!(r.code, 0, "{r:?}");
    // The state to protect: different from the backup.
    db.execute("DELETE FROM big WHERE id % 3 = 0; CREATE TABLE precious (note text); INSERT INTO precious VALUES ('keep me');");
    let expected = db.query_strings("SELECT count(*)::text FROM big")[0].clone();

    let mut child = pgkeel(dir.path())
        .args([
            "restore",
            "--database-url",
            &db.url(),
            "--from",
            backup_dir(&r).to_str().unwrap(),
            "--confirm",
            &db.name,
            "--safety-verify",
            "list",
            "--jobs",
            "1",
            "--backups",
        ])
        .arg(&store)
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    // Wait until the target is being loaded (the safety backup is done by then), then kill.
    let deadline = Instant::now() + Duration::from_secs(120);
    let admin = TestDb {
        name: "postgres".into(),
        spec: crate::support::admin_spec(),
    };
    loop {
        let loading = admin.query_strings(&format!(
            "SELECT count(*)::text FROM pg_stat_activity WHERE datname = '{}' AND query ILIKE 'COPY%big%FROM stdin%'",
            db.name
        ));
        if loading[0] != "0" {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "the restore never started loading"
        );
        if let Ok(Some(status)) = child.try_wait() {
            panic!("restore ended before it could be killed: {status}");
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    child.kill().unwrap();
    let _ = child.wait();
    std::mem::forget(admin);
    // Its children died with it; the target is half-restored.
    std::thread::sleep(Duration::from_millis(500));
    let safety: Vec<PathBuf> = std::fs::read_dir(&store)
        .unwrap()
        .flatten()
        .map(|e| e.path())
        .filter(|p| {
            std::fs::read_to_string(p.join("manifest.json"))
                .is_ok_and(|m| m.contains("\"kind\": \"safety\""))
        })
        .collect();
    assert_eq!(safety.len(), 1, "the safety backup is complete");
    let back = run(pgkeel(dir.path())
        .args([
            "restore",
            "--database-url",
            &db.url(),
            "--from",
            safety[0].to_str().unwrap(),
            "--confirm",
            &db.name,
            "--no-safety-backup",
            "--backups",
        ])
        .arg(&store));
    assert_eq!(back.code, 0, "{back:?}");
    assert_eq!(
        db.query_strings("SELECT count(*)::text FROM big")[0],
        expected
    );
    assert_eq!(db.query_strings("SELECT note FROM precious")[0], "keep me");
}

// ---- S3 ----

fn s3_cmd(dir: &Path, server: &s3::S3) -> Command {
    let mut cmd = pgkeel(dir);
    server.env(&mut cmd);
    cmd
}

#[test]
fn s3_backup_list_and_restore_latest() {
    let Some(server) = s3::server() else { return };
    let bucket = server.bucket();
    let dir = temp_dir();
    let db = fixture();
    let to = format!("s3://{bucket}/nightly");
    let r = run(s3_cmd(dir.path(), server).args([
        "--format",
        "json",
        "backup",
        "--database-url",
        &db.url(),
        "--to",
        &to,
    ]));
    assert_eq!(r.code, 0, "{r:?}");
    let m = &r.json()["manifest"];
    assert_eq!(m["status"], "verified", "{r:?}");
    let id = m["id"].as_str().unwrap().to_string();
    let keys = server.keys(&bucket);
    assert!(
        keys.contains(&format!("nightly/{id}/manifest.json")),
        "{keys:?}"
    );
    assert!(
        keys.contains(&format!("nightly/{id}/{}", m["dump"].as_str().unwrap())),
        "{keys:?}"
    );
    let list = run(s3_cmd(dir.path(), server).args(["backup", "list", "--from", &to]));
    assert_eq!(list.code, 0, "{list:?}");
    assert!(
        list.stdout.contains(&id) && list.stdout.contains("verified"),
        "{list:?}"
    );
    let before = counts(&db);
    db.execute("TRUNCATE customers CASCADE");
    let rr = run(s3_cmd(dir.path(), server).args([
        "--format",
        "json",
        "restore",
        "--database-url",
        &db.url(),
        "--from",
        "latest",
        "--backups",
        &to,
        "--confirm",
        &db.name,
    ]));
    assert_eq!(rr.code, 0, "{rr:?}");
    assert_eq!(counts(&db), before);
    assert!(
        rr.json()["safety_backup"]
            .as_str()
            .unwrap()
            .starts_with(&to),
        "{rr:?}"
    );
    // A flipped byte in S3 is caught too.
    let key = format!("nightly/{id}/{}", m["dump"].as_str().unwrap());
    server.py(&format!(
        "b = bytearray(s3.get_object(Bucket={bucket:?}, Key={key:?})['Body'].read()); b[len(b)//2] ^= 1; s3.put_object(Bucket={bucket:?}, Key={key:?}, Body=bytes(b))"
    ));
    let bad = run(s3_cmd(dir.path(), server).args([
        "restore",
        "--database-url",
        &db.url(),
        "--from",
        &format!("{to}/{id}"),
        "--confirm",
        &db.name,
        "--backups",
        &to,
    ]));
    assert_eq!(bad.code, 6, "{bad:?}");
    assert!(bad.stderr.contains("checksum mismatch"), "{bad:?}");
    // Retention works on S3 too: the older scheduled backup goes, the safety backup stays.
    std::thread::sleep(Duration::from_millis(1100));
    let pruned = run(s3_cmd(dir.path(), server).args([
        "--format",
        "json",
        "backup",
        "--database-url",
        &db.url(),
        "--to",
        &to,
        "--verify",
        "list",
        "--keep-last",
        "1",
    ]));
    assert_eq!(pruned.code, 0, "{pruned:?}");
    assert_eq!(
        pruned.json()["retention"]["deleted"][0],
        id.as_str(),
        "{pruned:?}"
    );
    let keys = server.keys(&bucket);
    assert!(
        !keys
            .iter()
            .any(|k| k.starts_with(&format!("nightly/{id}/"))),
        "{keys:?}"
    );
    assert_eq!(
        keys.iter().filter(|k| k.ends_with("manifest.json")).count(),
        2,
        "{keys:?}"
    );
}

#[test]
fn s3_multipart_upload_of_a_large_dump_round_trips() {
    let Some(server) = s3::server() else { return };
    let bucket = server.bucket();
    let dir = temp_dir();
    let db = TestDb::new();
    // ~20 MB uncompressed: three 8 MiB parts.
    db.execute("CREATE TABLE blob AS SELECT g, md5(g::text) || md5((g * 3)::text) || md5((g * 5)::text) AS a FROM generate_series(1, 200000) g");
    let to = format!("s3://{bucket}/big");
    let r = run(s3_cmd(dir.path(), server).args([
        "--format",
        "json",
        "backup",
        "--database-url",
        &db.url(),
        "--to",
        &to,
        "--compress",
        "none",
        "--verify",
        "restore",
    ]));
    assert_eq!(r.code, 0, "{r:?}");
    let size = r.json()["manifest"]["size"].as_u64().unwrap();
    assert!(size > 16 << 20, "{size}");
    assert_eq!(r.json()["manifest"]["row_counts"]["public.blob"], 200000);
}

#[test]
fn an_interrupted_upload_leaves_no_complete_looking_object() {
    let Some(server) = s3::server() else { return };
    let bucket = server.bucket();
    let dir = temp_dir();
    let db = TestDb::new();
    // ~100 MB: the upload takes seconds, so the kill lands in the middle of it.
    db.execute("CREATE TABLE blob AS SELECT g, md5(g::text) || md5((g * 3)::text) || md5((g * 5)::text) AS a FROM generate_series(1, 1000000) g");
    let to = format!("s3://{bucket}/cut");
    let mut child = s3_cmd(dir.path(), server)
        // gzip -9 is slow: the upload is still going when the kill comes.
        .args([
            "backup",
            "--database-url",
            &db.url(),
            "--to",
            &to,
            "--compress",
            "gzip:9",
            "--verify",
            "none",
        ])
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(120);
    while server.uploads(&bucket) == 0 {
        assert!(Instant::now() < deadline, "no multipart upload started");
        if let Ok(Some(status)) = child.try_wait() {
            panic!("backup finished before it could be interrupted: {status}");
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    child.kill().unwrap();
    let _ = child.wait();
    let keys = server.keys(&bucket);
    assert!(
        !keys.iter().any(|k| k.contains(".dump")),
        "the dump never completed: {keys:?}"
    );
    assert!(
        !keys.iter().any(|k| k.ends_with("manifest.json")),
        "{keys:?}"
    );
    let list = run(s3_cmd(dir.path(), server).args(["backup", "list", "--from", &to]));
    assert!(list.stdout.contains("No backups"), "{list:?}");
    let rr = run(s3_cmd(dir.path(), server).args([
        "restore",
        "--database-url",
        &db.url(),
        "--from",
        "latest",
        "--backups",
        &to,
        "--confirm",
        &db.name,
    ]));
    assert_eq!(rr.code, 2, "{rr:?}");
}

#[test]
fn wrong_s3_credentials_fail_clearly_without_leaking_them() {
    let Some(server) = s3::auth_server() else {
        return;
    };
    let dir = temp_dir();
    let db = fixture();
    let to = "s3://locked/p";
    // The right credentials work (so the failures below are about the credentials). (moto's
    // signature check mishandles a `/` in a list prefix, so the control lists the bucket root.)
    let ok = run(s3_cmd(dir.path(), server).args(["backup", "list", "--from", "s3://locked"]));
    assert_eq!(ok.code, 0, "{ok:?}");
    assert!(ok.stdout.contains("No backups"), "{ok:?}");
    for (key, secret) in [
        ("AKIANOSUCHKEY0000000", "whatever-secret-1"),
        (server.key_id.as_str(), "WrongSecretValue99"),
    ] {
        for args in [
            vec![
                "backup",
                "--database-url",
                db.url().as_str(),
                "--to",
                to,
                "--verify",
                "none",
            ],
            vec!["backup", "list", "--from", "s3://locked"],
        ] {
            let mut cmd = s3_cmd(dir.path(), server);
            cmd.env("AWS_ACCESS_KEY_ID", key)
                .env("AWS_SECRET_ACCESS_KEY", secret);
            let r = run(cmd.args(&args));
            assert_eq!(r.code, 6, "{r:?}");
            assert!(r.stderr.contains("check the S3 credentials"), "{r:?}");
            r.assert_no_secret(secret);
        }
    }
    let keys = server.keys("locked");
    assert!(keys.is_empty(), "nothing was written: {keys:?}");
}

#[test]
fn backup_and_restore_are_notified() {
    let dir = temp_dir();
    let db = fixture();
    let store = dir.path().join("backups");
    let hook = crate::support::http_receiver::HttpReceiver::ok();
    let url = hook.url("/hook");
    let notify = ["--notify", "webhook", "--webhook-url", url.as_str()];
    let r = backup(dir.path(), &db, &store, &notify);
    assert_eq!(r.code, 0, "{r:?}");
    let id = r.json()["manifest"]["id"]
        .as_str()
        .unwrap_or_default()
        .to_string();
    let body = hook.single().json();
    assert_eq!(body["report"], r.json());
    assert_eq!(body["event"]["kind"], "backup");
    assert!(body["event"]["facts"].to_string().contains(&id), "{body:#}");
    assert!(
        body["event"]["facts"].to_string().contains("verified"),
        "{body:#}"
    );

    let mut extra = notify.to_vec();
    extra.extend(["--confirm", db.name.as_str()]);
    let r = restore(dir.path(), &db, &id, &store, &extra);
    assert_eq!(r.code, 0, "{r:?}");
    let requests = hook.requests();
    let event = &requests.last().expect("a restore notification").json()["event"];
    assert_eq!(event["kind"], "restore", "{event:#}");
    assert!(
        event["facts"].to_string().contains("Safety backup"),
        "{event:#}"
    );
}

#[test]
fn inside_github_actions_backup_writes_its_step_outputs() {
    let dir = temp_dir();
    let db = fixture();
    let store = dir.path().join("backups");
    let outputs = dir.path().join("github_output");
    let r = run(pgkeel(dir.path())
        .args([
            "backup",
            "--database-url",
            &db.url(),
            "--verify",
            "list",
            "--to",
        ])
        .arg(&store)
        .env("GITHUB_ACTIONS", "true")
        .env("GITHUB_OUTPUT", &outputs));
    assert_eq!(r.code, 0, "{r:?}");
    let text = std::fs::read_to_string(&outputs).expect("outputs written");
    for key in [
        "backup-id<<",
        "path<<",
        "sha256<<",
        "size<<",
        "verified<<",
        "restore-seconds<<",
    ] {
        assert!(text.contains(key), "{key} missing in {text}");
    }
    assert!(text.contains(&format!("\n{}-", db.name)), "{text}");
}

/// Every ordinary table (partitions included) with a checksum of its rows, row order ignored.
fn table_digests(db: &TestDb) -> Vec<String> {
    let tables = db.query_strings(
        "SELECT c.oid::regclass::text FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
         WHERE c.relkind = 'r' AND n.nspname IN ('public', 'odd schema') ORDER BY 1",
    );
    tables
        .into_iter()
        .map(|t| {
            let digest = db.query_strings(&format!(
                "SELECT md5(coalesce(string_agg(r::text, E'\\n' ORDER BY r::text), '')) FROM ONLY {t} r"
            ));
            format!("{t} {}", digest[0])
        })
        .collect()
}

/// Rows a dump must carry byte for byte: COPY's escapes (tab, newline, backslash, a lone `\.`),
/// NULL against the string 'NULL', non-ASCII, partitions, a generated column, an unlogged and
/// an empty table, a quoted name, large objects and sequence positions. The big table is several
/// slices long, so its rows go over more than one connection.
const TRICKY: &str = r#"
CREATE SCHEMA "odd schema";
CREATE TABLE big (id int PRIMARY KEY, body text, n numeric, at timestamptz);
INSERT INTO big SELECT g, repeat(md5(g::text), 1 + g % 3), g / 7.0, '2024-01-01'::timestamptz + g * interval '1 minute'
  FROM generate_series(1, 60000) g;
CREATE INDEX big_n ON big (n);
CREATE TABLE "odd schema"."We ""quote"" it" (k text, v text);
INSERT INTO "odd schema"."We ""quote"" it" VALUES
  (E'tab\there', E'line\nbreak'), (E'back\\slash', '\.'), ('\.', NULL), ('NULL', ''), ('ünï©ødé ✓', E'\r\n');
CREATE TABLE measures (at date NOT NULL, v int, doubled int GENERATED ALWAYS AS (v * 2) STORED) PARTITION BY RANGE (at);
CREATE TABLE measures_2024 PARTITION OF measures FOR VALUES FROM ('2024-01-01') TO ('2025-01-01');
CREATE TABLE measures_2025 PARTITION OF measures FOR VALUES FROM ('2025-01-01') TO ('2026-01-01');
INSERT INTO measures (at, v) SELECT '2024-06-01'::date + g, g FROM generate_series(0, 400) g;
CREATE UNLOGGED TABLE scratchpad (x int);
INSERT INTO scratchpad SELECT generate_series(1, 10);
CREATE TABLE nothing (x int);
CREATE SEQUENCE tickets START 10;
SELECT setval('tickets', 4242);
SELECT lo_from_bytea(0, 'large object payload');
"#;

/// Restores the backup `r` reported into a new database, with `--jobs` and `-v`.
fn restore_into_new_database(dir: &Path, r: &Run, store: &Path, jobs: &str) -> (TestDb, Run) {
    let target = TestDb::new();
    let rr = restore(
        dir,
        &target,
        backup_dir(r).to_str().unwrap(),
        store,
        &[
            "--confirm",
            &target.name,
            "--no-safety-backup",
            "--jobs",
            jobs,
            "-v",
        ],
    );
    (target, rr)
}

#[test]
fn a_parallel_restore_loads_every_row_exactly() {
    let dir = temp_dir();
    let source = TestDb::new();
    source.execute(TRICKY);
    let expected = table_digests(&source);
    assert!(expected.len() >= 6, "{expected:?}");
    let store = dir.path().join("b");
    for (format, compress) in [
        ("custom", "zstd"),
        ("custom", "none"),
        ("directory", "gzip"),
    ] {
        let r = backup(
            dir.path(),
            &source,
            &store,
            &[
                "--dump-format",
                format,
                "--compress",
                compress,
                "--verify",
                "none",
            ],
        );
        assert_eq!(r.code, 0, "{format}: {r:?}");
        for jobs in ["3", "1"] {
            let (target, rr) = restore_into_new_database(dir.path(), &r, &store, jobs);
            assert_eq!(rr.code, 0, "{format} --jobs {jobs}: {rr:?}");
            assert_eq!(rr.json()["verified"], true, "{format} --jobs {jobs}");
            assert_eq!(table_digests(&target), expected, "{format} --jobs {jobs}");
            assert_eq!(
                target.query_strings(
                    "SELECT format('%s %s', (SELECT last_value FROM tickets), convert_from(lo_get(oid), 'UTF8')) FROM pg_largeobject_metadata"
                ),
                ["4242 large object payload"],
                "{format} --jobs {jobs}"
            );
            assert_eq!(
                target.query_strings("SELECT count(*)::text FROM pg_indexes WHERE indexname IN ('big_pkey', 'big_n')")[0],
                "2"
            );
            if jobs == "3" {
                // pgkeel reads the rows of a custom archive itself, unless it holds large
                // objects: their data stays with pg_restore, which then prints the rows too.
                let by_pg_restore = rr.stderr.contains("pg_restore prints the rows");
                assert_eq!(by_pg_restore, format == "custom", "{}", rr.stderr);
            }
        }
    }

    // Without large objects, the rows of a custom archive come straight from the archive.
    source.execute("SELECT lo_unlink(oid) FROM pg_largeobject_metadata");
    let expected = table_digests(&source);
    for compress in ["zstd", "none"] {
        let r = backup(
            dir.path(),
            &source,
            &store,
            &["--compress", compress, "--verify", "none"],
        );
        assert_eq!(r.code, 0, "{compress}: {r:?}");
        let (target, rr) = restore_into_new_database(dir.path(), &r, &store, "3");
        assert_eq!(rr.code, 0, "{compress}: {rr:?}");
        assert!(
            rr.stderr.contains("pgkeel reads the rows from the archive"),
            "{compress}: {}",
            rr.stderr
        );
        assert_eq!(rr.json()["verified"], true, "{compress}");
        assert_eq!(table_digests(&target), expected, "{compress}");
        assert_eq!(
            target.query_strings("SELECT last_value::text FROM tickets"),
            ["4242"]
        );
    }
}

#[test]
fn a_row_the_table_refuses_stops_the_parallel_load_and_names_the_table() {
    let db = TestDb::new();
    db.execute("CREATE TABLE nums (n int, label text)");
    // Enough rows for several slices on two connections; the bad one is near the end.
    let mut stream =
        String::from("SET client_encoding = 'UTF8';\nCOPY public.nums (n, label) FROM stdin;\n");
    for i in 0..120_000 {
        stream.push_str(&format!("{i}\tlabel number {i}\n"));
    }
    stream.push_str("oops\tnot a number\n\\.\n");
    let spec = db.spec.clone();
    let err = crate::support::run_blocking(async move {
        pgkeel::restore::parallel_copy::load(
            stream.as_bytes(),
            &spec,
            2,
            &pgkeel::backup::NoProgress,
        )
        .await
        .expect_err("the bad row is refused")
    });
    let text = err.to_string();
    assert!(text.contains("public.nums"), "{text}");
    assert!(
        text.contains("invalid input syntax for type integer"),
        "{text}"
    );
    assert!(err.hint().is_some());

    // Settings and COPY only: a statement the stream should not hold is refused before it runs.
    db.execute("TRUNCATE nums");
    let spec = db.spec.clone();
    let err = crate::support::run_blocking(async move {
        pgkeel::restore::parallel_copy::load(
            &b"COPY public.nums (n, label) FROM stdin;\n1\ta\n\\.\nDROP TABLE nums;\n"[..],
            &spec,
            2,
            &pgkeel::backup::NoProgress,
        )
        .await
        .expect_err("refused")
    });
    assert!(err.to_string().contains("DROP TABLE nums;"), "{err}");
    assert_eq!(
        db.query_strings("SELECT to_regclass('nums')::text")[0],
        "nums"
    );
}

//! Prisma's `_prisma_migrations`: a row per attempt to apply a migration, keyed by a UUID,
//! with the folder name (`migration_name`), the SHA-256 of `migration.sql`, and
//! `started_at` / `finished_at` / `rolled_back_at`.
//!
//! Facts from prisma-engines:
//! - The DDL is Prisma's own (`schema-engine/connectors/sql-schema-connector/src/flavour/
//!   postgres.rs`, `create_migrations_table`), created in the connection's schema.
//! - A deploy inserts `(id, checksum, started_at, migration_name)` before the script, then
//!   adds 1 to `applied_steps_count` and sets `finished_at`; a failure leaves `finished_at`
//!   NULL with the error in `logs` (`sql_migration_persistence.rs`,
//!   `core/src/commands/apply_migrations.rs`).
//! - A row with `rolled_back_at` set does not count; a row with neither `finished_at` nor
//!   `rolled_back_at` is a failed migration, which blocks `migrate deploy` (same files).
//!   `migrate resolve --rolled-back` sets `rolled_back_at`, which is what a revert writes here.
//! - The checksum is lowercase hex SHA-256 of the script text; a stored checksum also
//!   matches the script with CRLF turned into LF or LF into CRLF, and old engines wrote hex
//!   without zero padding (`schema-connector/src/checksum.rs`). [`History::parse`] accepts
//!   the same variants and reports a match as the canonical checksum.

use sha2::{Digest, Sha256};

use super::{column, literal_or_null, required, Applied, History, HistoryError, Rows, Run};
use crate::migrations::{migration::hex, Migration, Version};
use crate::pg::quote::literal;

pub struct Prisma;

pub static TABLE: Prisma = Prisma;

const NAME: &str = "_prisma_migrations";

/// The length of a zero-padded SHA-256 in hex; shorter stored checksums are the old format.
const CHECKSUM_LEN: usize = 64;

/// The unfinished, not rolled back row of `name` (Prisma's failed state), newest first.
fn unfinished(name: &str) -> String {
    format!(
        "SELECT id FROM _prisma_migrations WHERE migration_name = {name} \
         AND finished_at IS NULL AND rolled_back_at IS NULL ORDER BY started_at DESC LIMIT 1"
    )
}

impl History for Prisma {
    fn table(&self) -> &'static str {
        NAME
    }

    fn create(&self) -> String {
        "CREATE TABLE IF NOT EXISTS _prisma_migrations (\n\
         \x20   id                      VARCHAR(36) PRIMARY KEY NOT NULL,\n\
         \x20   checksum                VARCHAR(64) NOT NULL,\n\
         \x20   finished_at             TIMESTAMPTZ,\n\
         \x20   migration_name          VARCHAR(255) NOT NULL,\n\
         \x20   logs                    TEXT,\n\
         \x20   rolled_back_at          TIMESTAMPTZ,\n\
         \x20   started_at              TIMESTAMPTZ NOT NULL DEFAULT now(),\n\
         \x20   applied_steps_count     INTEGER NOT NULL DEFAULT 0\n\
         );"
        .to_string()
    }

    fn select(&self) -> String {
        "SELECT migration_name, checksum, (finished_at IS NOT NULL)::text, \
         (rolled_back_at IS NOT NULL)::text, \
         to_char(coalesce(finished_at, started_at) AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"') \
         FROM _prisma_migrations ORDER BY started_at, id"
            .to_string()
    }

    fn parse(&self, rows: &Rows, on_disk: &[Migration]) -> Result<Vec<Applied>, HistoryError> {
        // One record per migration name: a finished row wins over failed ones (Prisma counts
        // the migration as applied once any live row exists; a finished one says it worked).
        let mut out: Vec<(String, Applied)> = Vec::new();
        for row in rows {
            if super::is_true(column(NAME, row, 3)?) {
                continue;
            }
            let migration_name = required(NAME, row, 0, "migration_name")?;
            let checksum = column(NAME, row, 1)?;
            let finished = super::is_true(column(NAME, row, 2)?);
            let local = on_disk.iter().find(|m| m.label() == migration_name);
            let (version, name) = match local {
                Some(m) => (m.version.clone(), m.name.clone()),
                None => split_name(migration_name),
            };
            let checksum = checksum.map(|stored| match local {
                Some(m) if matches(&m.up.sql, stored) => m.up.sha256(),
                _ => stored.to_string(),
            });
            let record = Applied {
                version,
                name: Some(name),
                checksum,
                success: finished,
                applied_at: column(NAME, row, 4)?.map(str::to_string),
                applied_by: None,
            };
            match out.iter_mut().find(|(n, _)| n == migration_name) {
                Some((_, existing)) if !existing.success || finished => *existing = record,
                Some(_) => {}
                None => out.push((migration_name.to_string(), record)),
            }
        }
        Ok(out.into_iter().map(|(_, a)| a).collect())
    }

    fn checksum(&self, m: &Migration) -> Option<String> {
        Some(m.up.sha256())
    }

    fn record_applied(&self, run: &Run) -> String {
        let m = run.migration;
        let name = literal(&m.label());
        let checksum = literal(&m.up.sha256());
        // Finish this run's started row if `record_dirty` wrote one (Prisma's own sequence),
        // retire any older failed rows as `migrate resolve --applied` does, and otherwise
        // write the whole row at once. `now()` is when the transaction began, which for a
        // transactional migration is when it started; `clock_timestamp()` is when it ended.
        format!(
            "UPDATE _prisma_migrations SET checksum = {checksum}, finished_at = clock_timestamp(), \
             logs = NULL, applied_steps_count = applied_steps_count + 1 WHERE id = ({latest});\n\
             UPDATE _prisma_migrations SET rolled_back_at = clock_timestamp() WHERE migration_name = {name} \
             AND finished_at IS NULL AND rolled_back_at IS NULL;\n\
             INSERT INTO _prisma_migrations (id, checksum, finished_at, migration_name, started_at, applied_steps_count) \
             SELECT gen_random_uuid()::text, {checksum}, clock_timestamp(), {name}, now(), 1 \
             WHERE NOT EXISTS (SELECT 1 FROM _prisma_migrations WHERE migration_name = {name} \
             AND finished_at IS NOT NULL AND rolled_back_at IS NULL);",
            latest = unfinished(&name),
        )
    }

    fn record_reverted(&self, run: &Run) -> String {
        // Prisma has no down migrations; a rolled-back row is its way of saying "not applied"
        // (`migrate resolve --rolled-back`).
        format!(
            "UPDATE _prisma_migrations SET rolled_back_at = clock_timestamp() \
             WHERE migration_name = {} AND rolled_back_at IS NULL;",
            literal(&run.migration.label())
        )
    }

    fn record_dirty(&self, run: &Run) -> Option<String> {
        let m = run.migration;
        let name = literal(&m.label());
        let checksum = literal(&m.up.sha256());
        let logs = literal_or_null(run.error.as_deref());
        // The row Prisma writes before running a script. Called again (say, with the error),
        // it updates that row instead of starting another.
        Some(format!(
            "UPDATE _prisma_migrations SET checksum = {checksum}, logs = coalesce({logs}, logs) \
             WHERE id = ({latest});\n\
             INSERT INTO _prisma_migrations (id, checksum, migration_name, logs, started_at) \
             SELECT gen_random_uuid()::text, {checksum}, {name}, {logs}, now() \
             WHERE NOT EXISTS ({latest});",
            latest = unfinished(&name),
        ))
    }
}

/// `20240105120000_init` → version `20240105120000`, name `init`, for rows whose folder is
/// not on disk. A name without leading digits keeps the whole name as its version.
fn split_name(migration_name: &str) -> (Version, String) {
    let digits = migration_name
        .bytes()
        .take_while(u8::is_ascii_digit)
        .count();
    let (version, rest) = migration_name.split_at(digits);
    match (version, rest.strip_prefix('_')) {
        ("", _) => (Version::new(migration_name), String::new()),
        (v, Some(name)) => (Version::new(v), name.to_string()),
        (v, None) => (Version::new(v), rest.to_string()),
    }
}

/// Whether Prisma would take `stored` as the checksum of `script`.
fn matches(script: &str, stored: &str) -> bool {
    let old_format = !stored.is_empty() && stored.len() != CHECKSUM_LEN;
    [
        script.to_string(),
        script.replace("\r\n", "\n"),
        script.replace('\n', "\r\n"),
    ]
    .iter()
    .any(|variant| {
        let digest = Sha256::digest(variant.as_bytes());
        let text = if old_format {
            digest.iter().map(|b| format!("{b:x}")).collect()
        } else {
            hex(&digest)
        };
        text == stored
    })
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;
    use std::time::Duration;

    use super::*;
    use crate::migrations::Script;

    fn migration(folder: &str, sql: &str) -> Migration {
        let (version, name) = folder.split_once('_').unwrap_or((folder, ""));
        Migration {
            version: Version::new(version),
            name: name.to_string(),
            up: Script::whole_file(
                format!("{folder}/migration.sql"),
                Arc::from(sql.as_bytes()),
                sql.to_string(),
            ),
            down: None,
            journal_millis: None,
        }
    }

    fn row(cells: &[Option<&str>]) -> Vec<Option<String>> {
        cells.iter().map(|c| c.map(str::to_string)).collect()
    }

    fn run(m: &Migration) -> Run<'_> {
        Run {
            migration: m,
            previous: None,
            duration: Duration::from_millis(5),
            statements: Vec::new(),
            git_sha: None,
            run_url: None,
            error: None,
        }
    }

    #[test]
    fn checksum_is_prismas() {
        // The value prisma-engines' own test pins for "hello".
        let m = migration("1_x", "hello");
        assert_eq!(
            TABLE.checksum(&m).as_deref(),
            Some("2cf24dba5fb0a30e26e83b2ac5b9e29e1b161e5c1fa7425e73043362938b9824")
        );
    }

    #[test]
    fn parses_rows_prisma_writes() {
        let disk = [
            migration("20240101000000_init", "CREATE TABLE a ();\n"),
            migration("20240102000000_b", "CREATE TABLE b ();\n"),
        ];
        let sum = |m: &Migration| m.up.sha256();
        let rows = [
            // Applied by `migrate deploy`.
            row(&[
                Some("20240101000000_init"),
                Some(&sum(&disk[0])),
                Some("true"),
                Some("false"),
                Some("2024-01-01T00:00:01Z"),
            ]),
            // Failed, then `resolve --rolled-back`: ignored.
            row(&[
                Some("20240102000000_b"),
                Some("x"),
                Some("false"),
                Some("true"),
                None,
            ]),
            // Failed again: Prisma's failed state.
            row(&[
                Some("20240102000000_b"),
                Some(&sum(&disk[1])),
                Some("false"),
                Some("false"),
                Some("2024-01-03T00:00:00Z"),
            ]),
            // Not on disk.
            row(&[
                Some("20231231000000_gone"),
                Some("abc"),
                Some("true"),
                Some("false"),
                None,
            ]),
        ];
        let applied = TABLE.parse(&rows, &disk).expect("parse");
        assert_eq!(applied.len(), 3);
        assert_eq!(applied[0].version, Version::new("20240101000000"));
        assert_eq!(applied[0].name.as_deref(), Some("init"));
        assert!(applied[0].success);
        assert_eq!(applied[0].checksum, TABLE.checksum(&disk[0]));
        assert!(
            !applied[1].success,
            "finished_at NULL, rolled_back_at NULL is a failure"
        );
        assert_eq!(applied[1].checksum, TABLE.checksum(&disk[1]));
        assert_eq!(applied[2].version, Version::new("20231231000000"));
        assert_eq!(applied[2].name.as_deref(), Some("gone"));
    }

    #[test]
    fn a_finished_row_wins_over_a_failed_one() {
        let disk = [migration("1_a", "SELECT 1;\n")];
        let sum = disk[0].up.sha256();
        let failed = row(&[Some("1_a"), Some(&sum), Some("false"), Some("false"), None]);
        let done = row(&[Some("1_a"), Some(&sum), Some("true"), Some("false"), None]);
        for rows in [[failed.clone(), done.clone()], [done, failed]] {
            let applied = TABLE.parse(&rows, &disk).expect("parse");
            assert_eq!(applied.len(), 1);
            assert!(applied[0].success);
        }
    }

    #[test]
    fn stored_checksums_match_across_line_endings_and_the_old_format() {
        let lf = migration("1_a", "CREATE TABLE a ();\nSELECT 1;\n");
        let crlf = migration("1_a", "CREATE TABLE a ();\r\nSELECT 1;\r\n");
        for (stored_from, local) in [(&lf, &crlf), (&crlf, &lf)] {
            let stored = stored_from.up.sha256();
            let rows = [row(&[
                Some("1_a"),
                Some(&stored),
                Some("true"),
                Some("false"),
                None,
            ])];
            let applied = TABLE
                .parse(&rows, std::slice::from_ref(local))
                .expect("parse");
            assert_eq!(applied[0].checksum, TABLE.checksum(local));
        }
        // prisma-engines issue 1887: hex digits without zero padding, for a script whose
        // digest has a byte below 0x10 (most do).
        let (script, old) = (0..64)
            .map(|i| format!("SELECT {i};\n"))
            .map(|s| {
                let old: String = Sha256::digest(s.as_bytes())
                    .iter()
                    .map(|b| format!("{b:x}"))
                    .collect();
                (s, old)
            })
            .find(|(_, old)| old.len() < CHECKSUM_LEN)
            .expect("some digest has a small byte");
        assert!(matches(&script, &old));
        assert!(matches(&script.replace('\n', "\r\n"), &old));
        assert!(!matches(&lf.up.sql, &crlf.up.sha256().replace('a', "b")));
        assert!(
            !matches("abc\n", &hex(&Sha256::digest(b"abc"))),
            "content must match"
        );
    }

    #[test]
    fn writes_prismas_rows() {
        let m = migration("20240101000000_init", "SELECT 1;\n");
        let sql = TABLE.record_applied(&run(&m));
        assert!(sql.contains("'20240101000000_init'"), "{sql}");
        assert!(sql.contains(&format!("'{}'", m.up.sha256())), "{sql}");
        assert!(sql.contains("gen_random_uuid()::text"), "{sql}");
        let dirty = TABLE
            .record_dirty(&run(&m))
            .expect("prisma records failures");
        assert!(
            dirty.contains(
                "INSERT INTO _prisma_migrations (id, checksum, migration_name, logs, started_at)"
            ),
            "{dirty}"
        );
        assert!(TABLE
            .record_reverted(&run(&m))
            .contains("SET rolled_back_at"));
        assert!(TABLE
            .create()
            .starts_with("CREATE TABLE IF NOT EXISTS _prisma_migrations"));
    }

    #[test]
    fn rows_not_on_disk_keep_their_name() {
        assert_eq!(
            split_name("20240101_a_b"),
            (Version::new("20240101"), "a_b".to_string())
        );
        assert_eq!(split_name("init"), (Version::new("init"), String::new()));
    }
}

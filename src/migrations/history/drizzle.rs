//! Drizzle's `drizzle.__drizzle_migrations (id serial, hash text, created_at bigint)`: a row
//! per applied migration holding the SHA-256 of its file and its journal `when`
//! ([`Migration::journal_millis`]). No names, no failed state, no down migrations.
//!
//! Facts from drizzle-orm (`src/pg-core/dialect.ts` `migrate()` and `src/migrator.ts`,
//! checked against the 0.44 build that `scripts/test-tools.sh` installs):
//! - The schema and table are created with `CREATE SCHEMA IF NOT EXISTS "drizzle"` and the
//!   DDL in [`History::create`] (the defaults; `migrationsSchema` / `migrationsTable` can
//!   rename them, which pgkeel does not follow).
//! - `hash` is lowercase hex SHA-256 of the file as read (`readFileSync(…).toString()`, so
//!   the UTF-8 text byte for byte, line endings included); `created_at` is the entry's `when`.
//! - Drizzle reads only the row with the greatest `created_at` (`ORDER BY created_at DESC
//!   LIMIT 1`) and runs every journal entry whose `when` is greater. So an entry counts as
//!   applied when its `when` is at most that value, whether or not a row of its own exists;
//!   [`History::parse`] reports exactly that, with the hash from the row whose `created_at`
//!   equals the entry's `when` when there is one.

use super::{column, Applied, History, HistoryError, Rows, Run};
use crate::migrations::{Migration, Version};
use crate::pg::quote::literal;

pub struct Drizzle;

pub static TABLE: Drizzle = Drizzle;

const NAME: &str = "drizzle.__drizzle_migrations";

/// The `created_at` pgkeel writes: the journal's `when`. Drizzle migrations always have one.
fn millis(m: &Migration) -> i64 {
    m.journal_millis.unwrap_or_default()
}

impl History for Drizzle {
    fn table(&self) -> &'static str {
        NAME
    }

    fn create(&self) -> String {
        "CREATE SCHEMA IF NOT EXISTS \"drizzle\";\n\
         CREATE TABLE IF NOT EXISTS \"drizzle\".\"__drizzle_migrations\" (\n\
         \x20   id SERIAL PRIMARY KEY,\n\
         \x20   hash text NOT NULL,\n\
         \x20   created_at bigint\n\
         );"
        .to_string()
    }

    fn select(&self) -> String {
        "SELECT hash, created_at::text FROM drizzle.__drizzle_migrations ORDER BY id".to_string()
    }

    fn parse(&self, rows: &Rows, on_disk: &[Migration]) -> Result<Vec<Applied>, HistoryError> {
        let mut stamped: Vec<(i64, Option<&str>)> = Vec::with_capacity(rows.len());
        let mut unstamped = false;
        for row in rows {
            let hash = column(NAME, row, 0)?;
            match column(NAME, row, 1)? {
                Some(text) => {
                    let when = text.parse::<i64>().map_err(|_| HistoryError {
                        table: NAME,
                        message: format!("created_at {text:?} is not a number"),
                    })?;
                    stamped.push((when, hash));
                }
                None => unstamped = true,
            }
        }
        if rows.is_empty() {
            return Ok(Vec::new());
        }
        // PostgreSQL sorts NULL first in `ORDER BY created_at DESC`, and drizzle turns that
        // NULL into 0: one row without created_at makes Drizzle consider nothing applied.
        let newest = if unstamped {
            0
        } else {
            stamped
                .iter()
                .map(|(when, _)| *when)
                .max()
                .unwrap_or_default()
        };
        // The last row written for a `when` is the one that describes the file now.
        let hash_of = |when: i64| {
            stamped
                .iter()
                .rev()
                .find(|(w, _)| *w == when)
                .and_then(|(_, h)| h.map(str::to_string))
        };
        let mut out: Vec<Applied> = on_disk
            .iter()
            .filter(|m| m.journal_millis.is_some_and(|when| when <= newest))
            .map(|m| Applied {
                version: m.version.clone(),
                name: Some(m.name.clone()),
                checksum: hash_of(millis(m)),
                success: true,
                applied_at: None,
                applied_by: None,
            })
            .collect();
        // Rows that match no journal entry: migrations the database has and the files lack.
        // Drizzle has no other key for them than the timestamp.
        let mut seen: Vec<i64> = Vec::new();
        for (when, hash) in &stamped {
            let known = on_disk.iter().any(|m| m.journal_millis == Some(*when));
            if !known && !seen.contains(when) {
                seen.push(*when);
                out.push(Applied {
                    version: Version::new(when.to_string()),
                    name: None,
                    checksum: hash_of(*when).or_else(|| hash.map(str::to_string)),
                    success: true,
                    applied_at: None,
                    applied_by: None,
                });
            }
        }
        Ok(out)
    }

    fn checksum(&self, m: &Migration) -> Option<String> {
        Some(m.up.sha256())
    }

    fn record_applied(&self, run: &Run) -> String {
        let m = run.migration;
        // Drizzle only ever inserts; the delete keeps one row per migration when pgkeel
        // records a migration again (`migrate resolve`).
        format!(
            "DELETE FROM \"drizzle\".\"__drizzle_migrations\" WHERE created_at = {when};\n\
             INSERT INTO \"drizzle\".\"__drizzle_migrations\" (\"hash\", \"created_at\") VALUES ({hash}, {when});",
            when = millis(m),
            hash = literal(&m.up.sha256()),
        )
    }

    fn record_reverted(&self, run: &Run) -> String {
        // Drizzle has no down migrations (pgkeel refuses them before this); removing the row
        // is the closest the table can come.
        format!(
            "DELETE FROM \"drizzle\".\"__drizzle_migrations\" WHERE created_at = {};",
            millis(run.migration)
        )
    }

    fn record_dirty(&self, _run: &Run) -> Option<String> {
        // Drizzle runs all pending migrations in one transaction and has no failed state.
        None
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;
    use std::time::Duration;

    use sha2::{Digest, Sha256};

    use super::*;
    use crate::migrations::{migration::hex, Script};

    fn migration(tag: &str, when: i64, sql: &str) -> Migration {
        let (version, name) = tag.split_once('_').unwrap_or((tag, ""));
        Migration {
            version: Version::new(version),
            name: name.to_string(),
            up: Script::whole_file(
                format!("{tag}.sql"),
                Arc::from(sql.as_bytes()),
                sql.to_string(),
            ),
            down: None,
            journal_millis: Some(when),
        }
    }

    fn row(hash: &str, created_at: Option<i64>) -> Vec<Option<String>> {
        vec![Some(hash.to_string()), created_at.map(|c| c.to_string())]
    }

    fn disk() -> [Migration; 3] {
        [
            migration("0000_init", 1_700_000_000_000, "CREATE TABLE a (id int);\n"),
            migration("0001_b", 1_700_000_100_000, "CREATE TABLE b (id int);\r\n"),
            migration("0002_c", 1_700_000_200_000, "CREATE TABLE c (id int);\n"),
        ]
    }

    #[test]
    fn hash_is_sha256_of_the_file() {
        let m = &disk()[1];
        assert_eq!(
            TABLE.checksum(m),
            Some(hex(&Sha256::digest(b"CREATE TABLE b (id int);\r\n")))
        );
    }

    #[test]
    fn applied_means_when_at_most_the_newest_row() {
        let disk = disk();
        let h = |m: &Migration| m.up.sha256();
        // As drizzle-orm writes them after applying the first two.
        let rows = [
            row(&h(&disk[0]), Some(1_700_000_000_000)),
            row(&h(&disk[1]), Some(1_700_000_100_000)),
        ];
        let applied = TABLE.parse(&rows, &disk).expect("parse");
        let versions: Vec<&str> = applied.iter().map(|a| a.version.as_str()).collect();
        assert_eq!(versions, ["0000", "0001"]);
        assert_eq!(applied[1].checksum, TABLE.checksum(&disk[1]));
        assert!(applied.iter().all(|a| a.success));

        // Only the newest row matters to Drizzle: an entry without a row of its own is
        // applied too, with no hash to compare.
        let rows = [row(&h(&disk[1]), Some(1_700_000_100_000))];
        let applied = TABLE.parse(&rows, &disk).expect("parse");
        assert_eq!(applied.len(), 2);
        assert_eq!(applied[0].checksum, None);

        assert!(TABLE.parse(&[], &disk).expect("parse").is_empty());
    }

    #[test]
    fn a_null_created_at_means_nothing_is_applied_and_strays_are_reported() {
        let disk = disk();
        let rows = [row("x", Some(1_700_000_100_000)), row("y", None)];
        let applied = TABLE.parse(&rows, &disk).expect("parse");
        assert!(applied.is_empty(), "{applied:?}");

        let rows = [row("x", Some(1_800_000_000_000))];
        let applied = TABLE.parse(&rows, &disk).expect("parse");
        assert_eq!(applied.len(), 4, "three entries plus the row no entry has");
        assert_eq!(applied[3].version, Version::new("1800000000000"));
        assert_eq!(applied[3].checksum.as_deref(), Some("x"));

        let err = TABLE.parse(
            &[row("x", None), vec![Some("h".into()), Some("soon".into())]],
            &disk,
        );
        assert!(err.is_err());
    }

    #[test]
    fn writes_drizzles_row() {
        let disk = disk();
        let run = Run {
            migration: &disk[2],
            previous: None,
            duration: Duration::ZERO,
            statements: Vec::new(),
            git_sha: None,
            run_url: None,
            error: None,
        };
        let sql = TABLE.record_applied(&run);
        assert!(
            sql.ends_with(&format!(
                "(\"hash\", \"created_at\") VALUES ('{}', 1700000200000);",
                disk[2].up.sha256()
            )),
            "{sql}"
        );
        assert!(TABLE.record_dirty(&run).is_none());
        assert_eq!(TABLE.table(), "drizzle.__drizzle_migrations");
    }
}

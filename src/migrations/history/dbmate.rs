//! dbmate's `schema_migrations (version varchar PRIMARY KEY)`: a row per applied migration,
//! holding the file name's leading digits as written (`20240105120000`, `0001`). A rollback
//! deletes the row. No checksum and no dirty state.
//!
//! Verified against amacneil/dbmate `pkg/driver/postgres/postgres.go`
//! (`CreateMigrationsTable`: `create table if not exists <schema>.schema_migrations (version
//! varchar primary key)` in the URL's first `search_path` schema, else `current_schema()`;
//! `InsertMigration`, `DeleteMigration`, `SelectMigrations`) and `pkg/dbmate/db.go`
//! (`Migrate` inserts inside the migration's transaction, `Rollback` deletes). pgkeel uses
//! the unqualified name, which resolves to `current_schema()` as dbmate's does when the URL
//! names no `search_path`.

use super::{required, Applied, History, HistoryError, Rows, Run};
use crate::migrations::{Migration, Version};
use crate::pg::quote::literal;

pub struct Dbmate;

pub static TABLE: Dbmate = Dbmate;

const NAME: &str = "schema_migrations";

impl History for Dbmate {
    fn table(&self) -> &'static str {
        NAME
    }

    fn create(&self) -> String {
        "CREATE TABLE IF NOT EXISTS schema_migrations (version varchar PRIMARY KEY);".to_string()
    }

    fn select(&self) -> String {
        // `::text` so the query also reads golang-migrate's table of the same name, which
        // detection may have to look at.
        "SELECT version::text FROM schema_migrations ORDER BY version".to_string()
    }

    fn parse(&self, rows: &Rows, on_disk: &[Migration]) -> Result<Vec<Applied>, HistoryError> {
        rows.iter()
            .map(|row| {
                let version = required(NAME, row, 0, "version")?;
                // dbmate matches rows to files by the exact text of the digits.
                let name = on_disk
                    .iter()
                    .find(|m| m.version.as_str() == version)
                    .map(|m| m.name.clone());
                Ok(Applied::bare(Version::new(version), name))
            })
            .collect()
    }

    fn checksum(&self, _m: &Migration) -> Option<String> {
        None
    }

    fn record_applied(&self, run: &Run) -> String {
        format!(
            "INSERT INTO schema_migrations (version) VALUES ({});",
            literal(run.migration.version.as_str())
        )
    }

    fn record_reverted(&self, run: &Run) -> String {
        format!(
            "DELETE FROM schema_migrations WHERE version = {};",
            literal(run.migration.version.as_str())
        )
    }

    fn record_dirty(&self, _run: &Run) -> Option<String> {
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::migrations::history::fixtures::{migration, rows, run};

    #[test]
    fn reads_what_dbmate_writes() {
        let disk = [
            migration("20240105120000", "create_users"),
            migration("0002", "b"),
        ];
        let applied = TABLE
            .parse(&rows(&[&["20240105120000"], &["0002"], &["0003"]]), &disk)
            .unwrap();
        let got: Vec<(&str, Option<&str>)> = applied
            .iter()
            .map(|a| (a.version.as_str(), a.name.as_deref()))
            .collect();
        assert_eq!(
            got,
            [
                ("20240105120000", Some("create_users")),
                ("0002", Some("b")),
                ("0003", None)
            ]
        );
        assert!(applied.iter().all(|a| a.success && a.checksum.is_none()));
        assert!(TABLE.parse(&rows(&[&["NULL"]]), &disk).is_err());
    }

    #[test]
    fn writes_the_digits_as_written() {
        let m = migration("0002", "b");
        assert_eq!(
            TABLE.record_applied(&run(&m)),
            "INSERT INTO schema_migrations (version) VALUES ('0002');"
        );
        assert_eq!(
            TABLE.record_reverted(&run(&m)),
            "DELETE FROM schema_migrations WHERE version = '0002';"
        );
        assert!(TABLE.record_dirty(&run(&m)).is_none());
    }
}

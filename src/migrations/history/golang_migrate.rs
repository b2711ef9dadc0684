//! golang-migrate's `schema_migrations (version bigint, dirty boolean)`: one row, the current
//! version. Before a migration runs the tool writes `(version, dirty = true)`, after it
//! `(version, false)`; a down writes the previous version, or empties the table when none is
//! left. Every migration at or below the current version counts as applied.

use super::{required, Applied, History, HistoryError, Rows, Run};
use crate::migrations::{Migration, Version};

pub struct GolangMigrate;

pub static TABLE: GolangMigrate = GolangMigrate;

const NAME: &str = "schema_migrations";

fn set_version(version: Option<&Version>, dirty: bool) -> String {
    match version {
        // The tool truncates and inserts; numbers are written as numbers.
        Some(v) => format!(
            "TRUNCATE schema_migrations;\nINSERT INTO schema_migrations (version, dirty) VALUES ({}, {dirty});",
            v.as_i64().unwrap_or_default()
        ),
        None => "TRUNCATE schema_migrations;".to_string(),
    }
}

impl History for GolangMigrate {
    fn table(&self) -> &'static str {
        NAME
    }

    fn create(&self) -> String {
        "CREATE TABLE IF NOT EXISTS schema_migrations (version bigint NOT NULL PRIMARY KEY, dirty boolean NOT NULL);".to_string()
    }

    fn select(&self) -> String {
        "SELECT version::text, dirty::text FROM schema_migrations".to_string()
    }

    fn parse(&self, rows: &Rows, on_disk: &[Migration]) -> Result<Vec<Applied>, HistoryError> {
        let Some(row) = rows.first() else {
            return Ok(Vec::new());
        };
        if rows.len() > 1 {
            return Err(HistoryError {
                table: NAME,
                message: format!("{} rows; golang-migrate keeps exactly one", rows.len()),
            });
        }
        let current = Version::new(required(NAME, row, 0, "version")?);
        let dirty = super::is_true(required(NAME, row, 1, "dirty flag").ok());
        let applied = |version: Version, success: bool, name: Option<String>| Applied {
            version,
            name,
            checksum: None,
            success,
            applied_at: None,
            applied_by: None,
        };
        let mut out: Vec<Applied> = on_disk
            .iter()
            .filter(|m| m.version < current)
            .map(|m| applied(m.version.clone(), true, Some(m.name.clone())))
            .collect();
        let name = on_disk
            .iter()
            .find(|m| m.version == current)
            .map(|m| m.name.clone());
        out.push(applied(current, !dirty, name));
        Ok(out)
    }

    fn checksum(&self, _m: &Migration) -> Option<String> {
        None
    }

    fn record_applied(&self, run: &Run) -> String {
        set_version(Some(&run.migration.version), false)
    }

    fn record_reverted(&self, run: &Run) -> String {
        set_version(run.previous.map(|p| &p.version), false)
    }

    fn record_dirty(&self, run: &Run) -> Option<String> {
        Some(set_version(Some(&run.migration.version), true))
    }
}

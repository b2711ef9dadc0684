//! sqlx's `_sqlx_migrations`: a row per applied migration with its description (the file name
//! with `_` as spaces), `success`, the SHA-384 of the up script as `bytea`, and the execution
//! time in nanoseconds. `success = false` is sqlx's dirty state; a revert deletes the row.

use sha2::{Digest, Sha384};

use super::{column, required, Applied, History, HistoryError, Rows, Run};
use crate::migrations::{migration::hex, Migration, Version};
use crate::pg::quote::literal;

pub struct Sqlx;

pub static TABLE: Sqlx = Sqlx;

const NAME: &str = "_sqlx_migrations";

impl Sqlx {
    fn row(&self, run: &Run, success: bool) -> String {
        let m = run.migration;
        format!(
            "DELETE FROM _sqlx_migrations WHERE version = {version};\n\
             INSERT INTO _sqlx_migrations (version, description, success, checksum, execution_time) \
             VALUES ({version}, {description}, {success}, '\\x{checksum}'::bytea, {nanos});",
            version = m.version.as_i64().unwrap_or_default(),
            description = literal(&crate::migrations::source::sqlx_description(&m.name)),
            checksum = self.checksum(m).unwrap_or_default(),
            nanos = i64::try_from(run.duration.as_nanos()).unwrap_or(i64::MAX),
        )
    }
}

impl History for Sqlx {
    fn table(&self) -> &'static str {
        NAME
    }

    fn create(&self) -> String {
        // sqlx's own DDL, so its `migrate info` reads our rows.
        "CREATE TABLE IF NOT EXISTS _sqlx_migrations (\n\
         \x20   version BIGINT PRIMARY KEY,\n\
         \x20   description TEXT NOT NULL,\n\
         \x20   installed_on TIMESTAMPTZ NOT NULL DEFAULT now(),\n\
         \x20   success BOOLEAN NOT NULL,\n\
         \x20   checksum BYTEA NOT NULL,\n\
         \x20   execution_time BIGINT NOT NULL\n\
         );"
        .to_string()
    }

    fn select(&self) -> String {
        "SELECT version::text, description, encode(checksum, 'hex'), success::text, \
         to_char(installed_on AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"') \
         FROM _sqlx_migrations"
            .to_string()
    }

    fn parse(&self, rows: &Rows, _on_disk: &[Migration]) -> Result<Vec<Applied>, HistoryError> {
        rows.iter()
            .map(|row| {
                Ok(Applied {
                    version: Version::new(required(NAME, row, 0, "version")?),
                    name: column(NAME, row, 1)?.map(|d| d.replace(' ', "_")),
                    checksum: column(NAME, row, 2)?.map(str::to_string),
                    success: super::is_true(column(NAME, row, 3)?),
                    applied_at: column(NAME, row, 4)?.map(str::to_string),
                    applied_by: None,
                })
            })
            .collect()
    }

    fn checksum(&self, m: &Migration) -> Option<String> {
        Some(hex(&Sha384::digest(m.up.sql.as_bytes())))
    }

    fn record_applied(&self, run: &Run) -> String {
        self.row(run, true)
    }

    fn record_reverted(&self, run: &Run) -> String {
        format!(
            "DELETE FROM _sqlx_migrations WHERE version = {};",
            run.migration.version.as_i64().unwrap_or_default()
        )
    }

    fn record_dirty(&self, run: &Run) -> Option<String> {
        Some(self.row(run, false))
    }
}

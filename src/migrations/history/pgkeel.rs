//! `pgkeel.migrations`: pgkeel's own history, and its audit record beside other tools' tables.
//!
//! One row per migration (the latest run): version, name, the tool format it came from, the
//! SHA-256 of the exact file bytes, `applied` or `dirty`, when, by whom, how long, the commit
//! and CI run, the statements that ran, and the error that stopped a dirty run. A reverted
//! migration's row is deleted: the table says what is in the database now.

use super::{column, required, text_array, Applied, History, HistoryError, Rows, Run};
use crate::migrations::{Migration, Version};
use crate::pg::quote::literal;

pub struct Pgkeel;

/// The table, as pgkeel's own format and as the audit beside other tools' tables.
pub static AUDIT: Pgkeel = Pgkeel;

const TABLE: &str = "pgkeel.migrations";

/// Versions of flyway's repeatable migrations are stored with this prefix.
const REPEATABLE_PREFIX: &str = "R__";

impl Pgkeel {
    fn key(m: &Migration) -> String {
        m.version.to_string()
    }

    fn row(&self, run: &Run, state: &str) -> String {
        let m = run.migration;
        format!(
            "DELETE FROM pgkeel.migrations WHERE version = {version};\n\
             INSERT INTO pgkeel.migrations (version, name, checksum, state, duration_ms, git_sha, run_url, statements, error) \
             VALUES ({version}, {name}, {checksum}, {state}, {duration}, {git}, {url}, {statements}, {error});",
            version = literal(&Self::key(m)),
            name = literal(&m.name),
            checksum = literal(&m.up.sha256()),
            state = literal(state),
            duration = run.duration.as_millis(),
            git = super::literal_or_null(run.git_sha.as_deref()),
            url = super::literal_or_null(run.run_url.as_deref()),
            statements = text_array(&run.statements),
            error = super::literal_or_null(run.error.as_deref()),
        )
    }
}

impl History for Pgkeel {
    fn table(&self) -> &'static str {
        TABLE
    }

    fn create(&self) -> String {
        "CREATE SCHEMA IF NOT EXISTS pgkeel;\n\
         CREATE TABLE IF NOT EXISTS pgkeel.migrations (\n\
         \x20   version text PRIMARY KEY,\n\
         \x20   name text NOT NULL,\n\
         \x20   checksum text NOT NULL,\n\
         \x20   state text NOT NULL CHECK (state IN ('applied', 'dirty')),\n\
         \x20   applied_at timestamptz NOT NULL DEFAULT now(),\n\
         \x20   applied_by text NOT NULL DEFAULT current_user,\n\
         \x20   duration_ms bigint NOT NULL,\n\
         \x20   git_sha text,\n\
         \x20   run_url text,\n\
         \x20   statements text[] NOT NULL,\n\
         \x20   error text\n\
         );"
        .to_string()
    }

    fn select(&self) -> String {
        "SELECT version, name, checksum, state, \
         to_char(applied_at AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"'), applied_by \
         FROM pgkeel.migrations"
            .to_string()
    }

    fn parse(&self, rows: &Rows, _on_disk: &[Migration]) -> Result<Vec<Applied>, HistoryError> {
        rows.iter()
            .map(|row| {
                let version = required(TABLE, row, 0, "version")?;
                let version = match version.strip_prefix(REPEATABLE_PREFIX) {
                    Some(name) => Version::repeatable(name),
                    None => Version::new(version),
                };
                Ok(Applied {
                    version,
                    name: column(TABLE, row, 1)?.map(str::to_string),
                    checksum: column(TABLE, row, 2)?.map(str::to_string),
                    success: column(TABLE, row, 3)? == Some("applied"),
                    applied_at: column(TABLE, row, 4)?.map(str::to_string),
                    applied_by: column(TABLE, row, 5)?.map(str::to_string),
                })
            })
            .collect()
    }

    fn checksum(&self, m: &Migration) -> Option<String> {
        Some(m.up.sha256())
    }

    fn record_applied(&self, run: &Run) -> String {
        self.row(run, "applied")
    }

    fn record_reverted(&self, run: &Run) -> String {
        format!(
            "DELETE FROM pgkeel.migrations WHERE version = {};",
            literal(&Self::key(run.migration))
        )
    }

    fn record_dirty(&self, run: &Run) -> Option<String> {
        Some(self.row(run, "dirty"))
    }
}

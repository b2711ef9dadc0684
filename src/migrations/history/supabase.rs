//! Supabase's `supabase_migrations.schema_migrations (version text, statements text[], name
//! text)`: a row per applied migration with the statements it ran. No checksum and no failed
//! state: the CLI records a migration only when its transaction commits.

use super::{column, required, text_array, Applied, History, HistoryError, Rows, Run};
use crate::migrations::{Migration, Version};
use crate::pg::quote::literal;

pub struct Supabase;

pub static TABLE: Supabase = Supabase;

const NAME: &str = "supabase_migrations.schema_migrations";

impl History for Supabase {
    fn table(&self) -> &'static str {
        NAME
    }

    fn create(&self) -> String {
        // The CLI's own steps, including the columns later versions added.
        "CREATE SCHEMA IF NOT EXISTS supabase_migrations;\n\
         CREATE TABLE IF NOT EXISTS supabase_migrations.schema_migrations (version text NOT NULL PRIMARY KEY);\n\
         ALTER TABLE supabase_migrations.schema_migrations ADD COLUMN IF NOT EXISTS statements text[];\n\
         ALTER TABLE supabase_migrations.schema_migrations ADD COLUMN IF NOT EXISTS name text;"
            .to_string()
    }

    fn select(&self) -> String {
        "SELECT version, name FROM supabase_migrations.schema_migrations".to_string()
    }

    fn parse(&self, rows: &Rows, _on_disk: &[Migration]) -> Result<Vec<Applied>, HistoryError> {
        rows.iter()
            .map(|row| {
                Ok(Applied::bare(
                    Version::new(required(NAME, row, 0, "version")?),
                    column(NAME, row, 1)?.map(str::to_string),
                ))
            })
            .collect()
    }

    fn checksum(&self, _m: &Migration) -> Option<String> {
        None
    }

    fn record_applied(&self, run: &Run) -> String {
        let m = run.migration;
        format!(
            "DELETE FROM supabase_migrations.schema_migrations WHERE version = {version};\n\
             INSERT INTO supabase_migrations.schema_migrations (version, name, statements) VALUES ({version}, {name}, {statements});",
            version = literal(m.version.as_str()),
            name = literal(&m.name),
            statements = text_array(&run.statements),
        )
    }

    fn record_reverted(&self, run: &Run) -> String {
        format!(
            "DELETE FROM supabase_migrations.schema_migrations WHERE version = {};",
            literal(run.migration.version.as_str())
        )
    }

    fn record_dirty(&self, _run: &Run) -> Option<String> {
        None
    }
}

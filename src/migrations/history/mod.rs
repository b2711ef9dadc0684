//! History tables: which migrations a database has had applied. One file per tool, each
//! writing its tool's table the way the tool does (same rows, same checksum algorithm) and
//! reading back what the tool itself wrote.
//!
//! Every operation is a pure function from data to SQL text (or from query rows to
//! [`Applied`] records), so the applier can run it inside the migration's own transaction and
//! the formats can be tested without a database. Rows are read as text (`::text` casts in
//! each [`History::select`]), which keeps parsing independent of driver types.
//!
//! pgkeel also keeps its own audit table, `pgkeel.migrations` ([`pgkeel::AUDIT`]), beside any
//! tool's table: checksums for tools that keep none, who applied what and from which commit,
//! and what ran before a non-transactional migration failed.

mod dbmate;
mod drizzle;
mod flyway;
mod golang_migrate;
mod goose;
pub mod pgkeel;
mod prisma;
mod sqlx;
mod supabase;

use std::time::Duration;

use super::migration::{Migration, Version};
use super::source::Format;

/// One applied (or failed) migration as a history table records it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Applied {
    pub version: Version,
    pub name: Option<String>,
    /// In the format's own algorithm (compare with [`History::checksum`]); `None` when the
    /// tool keeps none.
    pub checksum: Option<String>,
    /// False when the tool recorded a failure or an unfinished run (dirty).
    pub success: bool,
    pub applied_at: Option<String>,
    pub applied_by: Option<String>,
}

impl Applied {
    /// A successful record with nothing but a version (and maybe a name): what tools that
    /// keep no checksum, time or user record.
    pub fn bare(version: Version, name: Option<String>) -> Applied {
        Applied {
            version,
            name,
            checksum: None,
            success: true,
            applied_at: None,
            applied_by: None,
        }
    }
}

/// Everything a history row can say about one run of a migration.
#[derive(Debug, Clone)]
pub struct Run<'a> {
    pub migration: &'a Migration,
    /// The migration applied before this one, for tools that store only the current version
    /// (golang-migrate after a down).
    pub previous: Option<&'a Migration>,
    pub duration: Duration,
    /// The statements that ran, in order (all of them once the run is complete).
    pub statements: Vec<String>,
    /// The commit the migrations came from (`GITHUB_SHA`, or `git rev-parse HEAD`).
    pub git_sha: Option<String>,
    /// The CI run, when in GitHub Actions.
    pub run_url: Option<String>,
    /// What went wrong, for a dirty record.
    pub error: Option<String>,
}

/// Rows of a `select`, every column as text.
pub type Rows = [Vec<Option<String>>];

/// The history table could not be understood.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{table}: {message}")]
pub struct HistoryError {
    pub table: &'static str,
    pub message: String,
}

/// A tool's history table.
pub trait History: Send + Sync {
    /// The table, schema-qualified, as it appears in messages and `to_regclass`.
    fn table(&self) -> &'static str;

    /// Creates the table (and its schema) if missing, exactly as the tool would.
    fn create(&self) -> String;

    /// Reads every row, each column cast to text, in the order [`History::parse`] expects.
    fn select(&self) -> String;

    /// The rows of [`History::select`] as applied migrations. `on_disk` is for tools that
    /// store less than a row per migration (golang-migrate keeps only the current version;
    /// Drizzle keeps a timestamp and a hash).
    ///
    /// # Errors
    ///
    /// When a row does not have the shape the tool writes.
    fn parse(&self, rows: &Rows, on_disk: &[Migration]) -> Result<Vec<Applied>, HistoryError>;

    /// The checksum the tool would record for `m`, in [`Applied::checksum`]'s form.
    fn checksum(&self, m: &Migration) -> Option<String>;

    /// SQL recording a successful run of `run.migration`'s up script. Replaces a dirty record
    /// of the same migration, if there is one.
    fn record_applied(&self, run: &Run) -> String;

    /// SQL recording that `run.migration` was reverted (its down script ran).
    fn record_reverted(&self, run: &Run) -> String;

    /// SQL recording that `run.migration` started but did not finish (dirty), for tools that
    /// can say so; `None` for tools whose table cannot express it.
    fn record_dirty(&self, run: &Run) -> Option<String>;
}

/// The history table of `format`.
pub fn of(format: Format) -> &'static dyn History {
    match format {
        Format::Pgkeel => &pgkeel::AUDIT,
        Format::GolangMigrate => &golang_migrate::TABLE,
        Format::Prisma => &prisma::TABLE,
        Format::Drizzle => &drizzle::TABLE,
        Format::Flyway => &flyway::TABLE,
        Format::Dbmate => &dbmate::TABLE,
        Format::Goose => &goose::TABLE,
        Format::Sqlx => &sqlx::TABLE,
        Format::Supabase => &supabase::TABLE,
    }
}

/// One operation on the tool's table and, when there is one, pgkeel's audit beside it, as one
/// transaction: the two never disagree.
pub fn both(
    tool: &dyn History,
    audit: Option<&dyn History>,
    op: impl Fn(&dyn History) -> String,
) -> String {
    let mut sql = format!("BEGIN;\n{}\n", op(tool));
    if let Some(a) = audit {
        sql.push_str(&op(a));
        sql.push('\n');
    }
    sql.push_str("COMMIT;");
    sql
}

/// SQL that answers `t` when `table` exists.
pub fn exists_sql(table: &str) -> String {
    format!(
        "SELECT (to_regclass({}) IS NOT NULL)::text",
        crate::pg::quote::literal(table)
    )
}

/// Column `i` of a row, or an error naming the table.
pub(crate) fn column<'r>(
    table: &'static str,
    row: &'r [Option<String>],
    i: usize,
) -> Result<Option<&'r str>, HistoryError> {
    row.get(i)
        .map(|v| v.as_deref())
        .ok_or_else(|| HistoryError {
            table,
            message: format!(
                "a row has {} columns, expected at least {}",
                row.len(),
                i + 1
            ),
        })
}

/// Column `i`, which must not be NULL.
pub(crate) fn required<'r>(
    table: &'static str,
    row: &'r [Option<String>],
    i: usize,
    what: &str,
) -> Result<&'r str, HistoryError> {
    column(table, row, i)?.ok_or_else(|| HistoryError {
        table,
        message: format!("a row has no {what}"),
    })
}

/// `t`/`f` as PostgreSQL prints booleans.
pub(crate) fn is_true(v: Option<&str>) -> bool {
    matches!(v, Some("t" | "true"))
}

/// A literal, or `NULL`.
pub(crate) fn literal_or_null(v: Option<&str>) -> String {
    v.map_or_else(|| "NULL".to_string(), crate::pg::quote::literal)
}

/// `ARRAY['a','b']::text[]`.
pub(crate) fn text_array(items: &[String]) -> String {
    let parts: Vec<String> = items.iter().map(|s| crate::pg::quote::literal(s)).collect();
    format!("ARRAY[{}]::text[]", parts.join(", "))
}

#[cfg(test)]
mod fixtures;
#[cfg(test)]
mod tests;

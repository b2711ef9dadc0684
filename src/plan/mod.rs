//! `plan`: turns [`Change`]s into ordered DDL [`Step`]s, each with the lock it takes, whether it
//! rewrites or scans a table, and whether it can run inside a transaction. Pure: SQL text only,
//! no I/O; every identifier and literal goes through `pg::quote`.
//!
//! Ordering follows real dependencies: types and sequences before the tables that use them,
//! functions before the defaults, checks and triggers that call them (bodies are not checked at
//! creation, as pg_dump does), parents before partitions, keys before the foreign keys that
//! reference them, views dropped before the columns they read change and recreated after, and
//! drops in reverse. Range types whose support functions are new come after those functions
//! (and are dropped before them); default privileges change after every object is created, so
//! the plan states each new object's privileges relative to the old defaults; event triggers
//! are dropped first and created last, so they never fire on the migration itself.
//!
//! Kinds pgkeel does not model, and changes it cannot make safely (a range type's subtype
//! under existing columns, partitioning changes), are [`Refusal`]s naming the object.

mod acl;
mod ddl;
mod order;

use serde::Serialize;

use crate::catalog::model::Schema;
use crate::diff::Change;

pub use ddl::column_definition;

/// How to plan.
#[derive(Debug, Clone, Copy, Default)]
pub struct PlanOptions {
    /// Prefer forms that do not block: CREATE INDEX CONCURRENTLY, NOT VALID + VALIDATE, SET NOT
    /// NULL through a validated CHECK.
    pub online: bool,
    /// Drop and recreate tables whose partitioning or inheritance changes (their rows are
    /// lost); refused otherwise.
    pub recreate_tables: bool,
}

/// The strongest table lock a step takes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum Lock {
    None,
    AccessShare,
    ShareUpdateExclusive,
    Share,
    ShareRowExclusive,
    AccessExclusive,
}

/// One statement of the migration.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Step {
    pub sql: String,
    pub lock: Lock,
    /// Rewrites the table (new relfilenode).
    pub rewrites: bool,
    /// Reads every row while holding its lock (validation).
    pub scans: bool,
    /// False for statements that cannot run in a transaction block (CONCURRENTLY).
    pub transactional: bool,
    /// Index of the change (in the `diff` output) that produced it.
    pub change: usize,
}

/// A change pgkeel will not turn into DDL by itself.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("cannot migrate {object}: {reason}")]
pub struct Refusal {
    pub object: String,
    pub reason: String,
}

/// Plans `changes` (from `diff(from, to)`). Refusals are returned beside the steps: the caller
/// decides whether a partial plan is acceptable (it never is for `--format sql`).
pub fn plan(
    changes: &[Change],
    from: &Schema,
    to: &Schema,
    opts: PlanOptions,
) -> (Vec<Step>, Vec<Refusal>) {
    let mut builder = ddl::Builder::new(from, to, opts);
    for (i, change) in changes.iter().enumerate() {
        builder.change(i, change);
    }
    builder.finish(changes)
}

/// The plan as one SQL script.
pub fn to_sql(steps: &[Step]) -> String {
    let mut out = String::new();
    if steps.is_empty() {
        return out;
    }
    out.push_str("SET check_function_bodies = false;\n");
    for s in steps {
        out.push_str(&s.sql);
        if !s.sql.ends_with(';') {
            out.push(';');
        }
        out.push('\n');
    }
    out
}

#[cfg(test)]
mod tests;

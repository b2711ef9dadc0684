//! `pgkeel diff --from A --to B`: the changes that turn schema A into schema B, as a report,
//! an executable SQL migration, or JSON. Each side is a database URL or a snapshot file.

use std::io::Write;
use std::path::PathBuf;

use super::Context;
use crate::catalog::{load_snapshot, Filter, Snapshot};
use crate::diff::{self, Change};
use crate::error::{Error, Outcome};
use crate::pg::ConnSpec;
use crate::plan::{self, PlanOptions};
use crate::report::notice::Notice;
use crate::report::{self, Format};

/// One side of a comparison.
#[derive(Clone)]
pub enum Side {
    Database(ConnSpec),
    Snapshot(PathBuf),
}

impl Side {
    pub fn label(&self) -> String {
        match self {
            Side::Database(spec) => spec.to_string(),
            Side::Snapshot(p) => p.display().to_string(),
        }
    }

    /// The database name or the snapshot's file name: no host, for notifications.
    pub fn name(&self) -> String {
        match self {
            Side::Database(spec) => spec.dbname.clone(),
            Side::Snapshot(p) => p
                .file_name()
                .map(|f| f.to_string_lossy().into_owned())
                .unwrap_or_else(|| p.display().to_string()),
        }
    }
}

pub struct Settings {
    pub from: Side,
    pub to: Side,
    pub filter: Filter,
    pub online: bool,
    pub allow_recreate: bool,
    pub exit_code: bool,
    pub ignore_column_order: bool,
}

async fn load(side: &Side, filter: &Filter) -> Result<Snapshot, Error> {
    match side {
        Side::Database(spec) => super::inspect::snapshot_of(spec, filter).await,
        Side::Snapshot(path) => Ok(load_snapshot(path)?),
    }
}

/// [`load`] as a task of its own, so that it runs on a worker thread.
async fn loaded(side: Side, filter: Filter) -> Result<Snapshot, Error> {
    // Only a runtime shutting down cancels a task, and it does not before `run` returns; a
    // panic is a bug, and stays one.
    tokio::spawn(async move { load(&side, &filter).await })
        .await
        .unwrap_or_else(|e| std::panic::resume_unwind(e.into_panic()))
}

pub async fn run(
    settings: &Settings,
    ctx: &Context,
    out: &mut dyn Write,
    notice: &mut Notice,
) -> Result<Outcome, Error> {
    // Both sides at once, on two connections, each decoded on its own worker thread: the
    // client's share of reading a large schema is as much work as either server's.
    let (from, to) = tokio::join!(
        loaded(settings.from.clone(), settings.filter.clone()),
        loaded(settings.to.clone(), settings.filter.clone())
    );
    let (from, to) = (from?, to?);
    let mut changes = diff::diff(&from.schema, &to.schema);
    if settings.ignore_column_order {
        changes.retain(|c| !matches!(c, Change::ColumnOrder { .. }));
    }
    let (steps, refusals) = plan::plan(
        &changes,
        &from.schema,
        &to.schema,
        PlanOptions {
            online: settings.online,
            recreate_tables: settings.allow_recreate,
        },
    );
    let input = report::diff::Input {
        from_label: settings.from.label(),
        to_label: settings.to.label(),
        from: &from.schema,
        to: &to.schema,
        changes: &changes,
        steps: &steps,
        refusals: &refusals,
    };
    report::diff::notice(notice, &input, &settings.from.name(), &settings.to.name());
    if ctx.format == Format::Sql && !refusals.is_empty() {
        return Err(Error::Refused(refusals));
    }
    report::diff::render(&input, ctx.format, ctx.style, out).map_err(Error::Output)?;
    Ok(if settings.exit_code && !changes.is_empty() {
        Outcome::Finding
    } else {
        Outcome::Clean
    })
}

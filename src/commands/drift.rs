//! `pgkeel drift`: does the live schema equal what its applied migrations produce?
//!
//! Expected = the migrations the target's history marks as applied, replayed into a throwaway
//! database (pending migrations are not drift), or a committed snapshot. Actual = the target,
//! introspected in a read-only transaction. The comparison runs both ways: SQL that makes
//! production match the migrations, and SQL for a new migration that adopts the drift.

use std::io::Write;
use std::path::PathBuf;

use sha2::{Digest, Sha256};

use super::migrate::{self, Source};
use super::Context;
use crate::analysis::history_tables;
use crate::analysis::replay::Replayer;
use crate::catalog::{self, load_snapshot, Filter, Schema};
use crate::diff::ignore::{Ignored, Rules};
use crate::diff::{self, Change};
use crate::error::{Error, Outcome};
use crate::migrations::apply::Options;
use crate::migrations::status::State;
use crate::migrations::Migration;
use crate::pg::{self, ConnSpec};
use crate::plan::{self, PlanOptions, Refusal};
use crate::report::drift as render;
use crate::sandbox::{SandboxOptions, Workspace};

pub enum Expected {
    Migrations(Source),
    Snapshot(PathBuf),
}

pub struct Settings {
    pub conn: ConnSpec,
    pub expected: Expected,
    pub sandbox_url: Option<ConnSpec>,
    pub sandbox: SandboxOptions,
    pub filter: Filter,
    pub ignore: Rules,
    pub output_dir: Option<PathBuf>,
    pub fail_on_drift: bool,
    pub publish: crate::report::actions::Publish,
}

/// What the report shows.
pub struct Drift {
    pub target: String,
    pub expected_label: String,
    pub expected: Schema,
    pub actual: Schema,
    /// expected → actual: what production has that the migrations do not say.
    pub changes: Vec<Change>,
    pub ignored: Vec<Ignored>,
    /// SQL that makes production match the migrations.
    pub fix_sql: String,
    pub fix_refused: Vec<Refusal>,
    /// SQL for a migration that adopts the drift.
    pub adopt_sql: String,
    pub adopt_refused: Vec<Refusal>,
    /// A stable hash of the drift, for deduplicating alerts.
    pub digest: String,
    /// Applied migrations whose files changed since (their current text was replayed).
    pub edited: Vec<String>,
    pub applied: usize,
    pub pending: usize,
}

pub async fn run(
    settings: &Settings,
    ctx: &Context,
    out: &mut dyn Write,
    notice: &mut crate::report::notice::Notice,
) -> Result<Outcome, Error> {
    let result = check(settings).await;
    if let (Ok(drift), Some(dir)) = (&result, &settings.output_dir) {
        write_outputs(drift, dir)?;
    }
    // In GitHub Actions: summary, outputs, annotation, PR comment and the drift issue.
    render::publish(
        &settings.publish,
        &settings.conn.to_string(),
        &settings.conn.dbname,
        result.as_ref(),
        settings.fail_on_drift,
        crate::report::actions::report_path(settings.output_dir.as_deref(), "drift-report.md"),
    )?;
    let drift = result?;
    render::notice(notice, &drift);
    render::render(&drift, ctx.format, ctx.style, out).map_err(Error::Output)?;
    Ok(if settings.fail_on_drift && !drift.changes.is_empty() {
        Outcome::Finding
    } else {
        Outcome::Clean
    })
}

async fn check(settings: &Settings) -> Result<Drift, Error> {
    let target = pg::connect(&settings.conn).await?;
    let mut actual = catalog::introspect(&target, &settings.filter).await?;
    history_tables::strip(&mut actual);
    let (expected, expected_label, edited, applied, pending) = match &settings.expected {
        Expected::Snapshot(path) => {
            let mut s = load_snapshot(path)?.schema;
            history_tables::strip(&mut s);
            (s, path.display().to_string(), Vec::new(), 0, 0)
        }
        Expected::Migrations(source) => {
            let loaded = migrate::load(source, Some(&target)).await?;
            let entries = loaded.entries(&target).await?;
            let state = |m: &Migration| {
                entries
                    .iter()
                    .find(|e| e.version == m.version)
                    .map(|e| e.state.clone())
            };
            let applied: Vec<&Migration> = loaded
                .migrations
                .iter()
                .filter(|m| {
                    matches!(
                        state(m),
                        Some(State::Applied | State::Edited { .. } | State::Dirty)
                    )
                })
                .collect();
            let edited: Vec<String> = loaded
                .migrations
                .iter()
                .filter(|m| matches!(state(m), Some(State::Edited { .. })))
                .map(|m| m.up.path.clone())
                .collect();
            let pending = loaded.migrations.len() - applied.len();
            let workspace =
                Workspace::open(settings.sandbox_url.as_ref(), &settings.sandbox).await?;
            let replayed = replay(&workspace, &loaded, &applied, &settings.filter).await;
            workspace.cleanup().await;
            (
                replayed?,
                source.dir.display().to_string(),
                edited,
                applied.len(),
                pending,
            )
        }
    };
    let (changes, ignored) = settings.ignore.apply(diff::diff(&expected, &actual));
    let fix = diff::diff(&actual, &expected);
    let (fix, _) = settings.ignore.apply(fix);
    let (fix_steps, fix_refused) = plan::plan(&fix, &actual, &expected, PlanOptions::default());
    let (adopt_steps, adopt_refused) =
        plan::plan(&changes, &expected, &actual, PlanOptions::default());
    let drift = Drift {
        target: settings.conn.to_string(),
        expected_label,
        digest: digest(&changes),
        fix_sql: plan::to_sql(&fix_steps),
        fix_refused,
        adopt_sql: plan::to_sql(&adopt_steps),
        adopt_refused,
        expected,
        actual,
        changes,
        ignored,
        edited,
        applied,
        pending,
    };
    Ok(drift)
}

async fn replay(
    ws: &Workspace,
    loaded: &migrate::Loaded,
    applied: &[&Migration],
    filter: &Filter,
) -> Result<Schema, Error> {
    let db = ws.create("drift", None).await?;
    let client = pg::connect(&db).await?;
    let options = Options {
        retries: 0,
        ..Options::default()
    };
    let replayer = Replayer {
        client: &client,
        history: loaded.history,
        audit: loaded.audit,
        options: &options,
        filter,
    };
    replayer.prepare().await?;
    let pairs: Vec<_> = applied.iter().map(|m| (*m, loaded.previous(m))).collect();
    replayer.apply_all(&pairs).await?;
    Ok(replayer.schema().await?)
}

/// SHA-256 over the sorted change descriptions: the same drift gives the same digest.
fn digest(changes: &[Change]) -> String {
    let mut lines: Vec<String> = changes.iter().map(Change::describe).collect();
    lines.sort();
    let mut h = Sha256::new();
    for l in &lines {
        h.update(l.as_bytes());
        h.update(b"\n");
    }
    crate::migrations::migration::hex(&h.finalize())
}

fn write_outputs(drift: &Drift, dir: &std::path::Path) -> Result<(), Error> {
    let io = |e: std::io::Error| Error::Usage {
        message: format!("cannot write to {}: {e}", dir.display()),
        hint: Some("check that --output-dir is writable".into()),
    };
    std::fs::create_dir_all(dir).map_err(io)?;
    let mut report = Vec::new();
    render::render(
        drift,
        crate::report::Format::Json,
        crate::report::Style::default(),
        &mut report,
    )
    .map_err(io)?;
    std::fs::write(dir.join("drift-report.json"), report).map_err(io)?;
    std::fs::write(dir.join("drift.sql"), render::sql_file(drift)).map_err(io)?;
    let mut markdown = Vec::new();
    render::render(
        drift,
        crate::report::Format::Markdown,
        crate::report::Style::default(),
        &mut markdown,
    )
    .map_err(io)?;
    std::fs::write(dir.join("drift-report.md"), markdown).map_err(io)?;
    Ok(())
}

//! `pgkeel diff --migrations DIR`: what a PR's migrations would do, found by running them in a
//! throwaway database and never touching a real one.
//!
//! The base is the migrations at `--base-ref` applied to one scratch database, a target
//! database's schema cloned (schema only, by the engine) with its pending migrations then
//! applied, a snapshot cloned the same way, or nothing. The head is a copy of the base with
//! the new migrations replayed one at a time; the report ties every change to its migration
//! and statement, classifies it, and says how each migration would be rolled back.

use std::io::Write;
use std::path::PathBuf;
use std::time::{Duration, Instant};

use super::migrate::{self, Loaded, Source};
use super::Context;
use crate::analysis::attribution;
use crate::analysis::history_tables;
use crate::analysis::replay::{Replayed, Replayer};
use crate::analysis::rollback::{self, Rollback};
use crate::catalog::{self, load_snapshot, Filter, Schema};
use crate::diff::{self, Change, Class};
use crate::error::{Error, Outcome};
use crate::migrations::apply::Options;
use crate::migrations::transaction::{cannot_run_in_transaction, NonTransactional};
use crate::migrations::{split, LoadError, Migration};
use crate::pg::{self, Client, ConnSpec};
use crate::plan::{self, Lock, PlanOptions};
use crate::report::preview as render;
use crate::sandbox::{SandboxOptions, Workspace};

/// What the PR is compared against.
pub enum Base {
    /// The migrations at a git revision.
    Ref(String),
    /// A live database: its schema cloned, its pending migrations new.
    Database(ConnSpec),
    /// A snapshot file's schema; with `ref`, only migrations added since that revision are new.
    Snapshot(PathBuf, Option<String>),
    /// Nothing: every migration is new.
    Empty,
}

/// When the command exits 1.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FailOn {
    Breaking,
    Hazard,
    Never,
}

pub struct Settings {
    pub source: Source,
    pub command: Option<String>,
    pub base: Base,
    pub sandbox_url: Option<ConnSpec>,
    pub sandbox: SandboxOptions,
    pub fail_on: FailOn,
    pub check_down: bool,
    pub filter: Filter,
    /// Also write diff-report.md and diff-report.json here.
    pub output_dir: Option<PathBuf>,
    pub publish: crate::report::actions::Publish,
}

/// A change in the overall comparison, tied to where it came from.
pub struct Finding {
    pub change: Change,
    pub class: diff::Classification,
    /// Index into the replayed migrations.
    pub migration: Option<usize>,
    pub path: Option<String>,
    pub line: Option<usize>,
    pub lock: Lock,
    pub rewrites: bool,
    pub scans: bool,
}

/// Everything the report shows.
pub struct Preview {
    pub base_label: String,
    pub head_label: String,
    pub tool: Option<crate::migrations::Format>,
    pub before: Schema,
    pub after: Schema,
    pub replayed: Vec<Replayed>,
    pub rollbacks: Vec<Rollback>,
    pub findings: Vec<Finding>,
    /// Migrations already in the base whose files the PR changed.
    pub edited: Vec<String>,
    /// Migrations in the base the PR removed.
    pub removed: Vec<String>,
    /// Command mode: what the command printed last, and how long it took.
    pub command: Option<(String, Duration)>,
    pub sandbox_major: u32,
}

pub async fn run(
    settings: &Settings,
    ctx: &Context,
    out: &mut dyn Write,
    notice: &mut crate::report::notice::Notice,
) -> Result<Outcome, Error> {
    let result = match Workspace::open(settings.sandbox_url.as_ref(), &settings.sandbox).await {
        Ok(workspace) => {
            let result = preview(settings, &workspace).await;
            workspace.cleanup().await;
            result
        }
        Err(e) => Err(e.into()),
    };
    let fail = result.as_ref().is_ok_and(|p| fails(p, settings.fail_on));
    if let (Ok(p), Some(dir)) = (&result, &settings.output_dir) {
        write_reports(p, dir)?;
    }
    // In GitHub Actions: summary, outputs, annotations and the PR comment, failures included.
    render::publish(
        &settings.publish,
        comment_key(settings),
        result.as_ref(),
        fail,
        crate::report::actions::report_path(settings.output_dir.as_deref(), "diff-report.md"),
    )?;
    let preview = result?;
    render::notice(notice, &preview);
    render::render(&preview, ctx.format, ctx.style, out).map_err(Error::Output)?;
    Ok(if fail {
        Outcome::Finding
    } else {
        Outcome::Clean
    })
}

fn fails(preview: &Preview, fail_on: FailOn) -> bool {
    let worst = preview.findings.iter().map(|f| f.class.class).max();
    match fail_on {
        FailOn::Breaking => worst == Some(Class::Breaking),
        FailOn::Hazard => worst.is_some_and(|c| c >= Class::Hazard),
        FailOn::Never => false,
    }
}

/// One sticky PR comment per migrations directory (and target database).
fn comment_key(settings: &Settings) -> String {
    let dir = match &settings.command {
        Some(_) => "command".to_string(),
        None => settings.source.dir.display().to_string(),
    };
    match &settings.base {
        Base::Database(spec) => format!("{dir}@{}", spec.dbname),
        _ => dir,
    }
}

fn write_reports(preview: &Preview, dir: &std::path::Path) -> Result<(), Error> {
    let io = |e: std::io::Error| Error::Usage {
        message: format!("cannot write to {}: {e}", dir.display()),
        hint: Some("check that --output-dir is writable".into()),
    };
    std::fs::create_dir_all(dir).map_err(io)?;
    for (file, format) in [
        ("diff-report.md", crate::report::Format::Markdown),
        ("diff-report.json", crate::report::Format::Json),
    ] {
        let mut text = Vec::new();
        render::render(preview, format, crate::report::Style::default(), &mut text).map_err(io)?;
        std::fs::write(dir.join(file), text).map_err(io)?;
    }
    Ok(())
}

fn options() -> Options {
    // The sandbox is private: nothing else holds locks there.
    Options {
        retries: 0,
        ..Options::default()
    }
}

async fn preview(settings: &Settings, ws: &Workspace) -> Result<Preview, Error> {
    if let Some(command) = &settings.command {
        return command_preview(settings, command, ws).await;
    }
    let opts = options();
    let base_db = ws.create("base", None).await?;
    let base_client = pg::connect(&base_db).await?;
    let target = match &settings.base {
        Base::Database(spec) => Some(pg::connect(spec).await?),
        _ => None,
    };
    let head = migrate::load(&settings.source, target.as_ref()).await?;
    let base_replayer = replayer(&base_client, &head, &opts, &settings.filter);
    base_replayer.prepare().await?;

    // The base, and which of the head's migrations are new.
    let mut edited = Vec::new();
    let mut removed = Vec::new();
    let (base_label, new): (String, Vec<&Migration>) = match &settings.base {
        Base::Ref(rev) => {
            let base = base_at(&settings.source, head.format, rev).await?;
            let pairs: Vec<_> = base.iter().map(|m| (m, previous(&base, m))).collect();
            base_replayer.apply_all(&pairs).await?;
            compare_sets(&base, &head.migrations, &mut edited, &mut removed);
            (
                rev.clone(),
                head.migrations
                    .iter()
                    .filter(|m| !base.iter().any(|b| b.version == m.version))
                    .collect(),
            )
        }
        Base::Database(spec) => {
            let target = target
                .as_ref()
                .ok_or_else(|| Error::usage("no target connection"))?;
            let mut schema = catalog::introspect(target, &settings.filter).await?;
            history_tables::strip(&mut schema);
            clone_schema(&base_replayer, &schema).await?;
            let entries = head.entries(target).await?;
            let pending: Vec<&Migration> = head
                .migrations
                .iter()
                .filter(|m| {
                    entries.iter().any(|e| {
                        e.version == m.version
                            && matches!(
                                e.state,
                                crate::migrations::status::State::Pending
                                    | crate::migrations::status::State::OutOfOrder
                            )
                    })
                })
                .collect();
            (spec.to_string(), pending)
        }
        Base::Snapshot(path, rev) => {
            let snapshot = load_snapshot(path)?;
            clone_schema(&base_replayer, &snapshot.schema).await?;
            let new = match rev {
                Some(rev) => {
                    let base = base_at(&settings.source, head.format, rev).await?;
                    compare_sets(&base, &head.migrations, &mut edited, &mut removed);
                    head.migrations
                        .iter()
                        .filter(|m| !base.iter().any(|b| b.version == m.version))
                        .collect()
                }
                None => head.migrations.iter().collect(),
            };
            (path.display().to_string(), new)
        }
        Base::Empty => (
            "an empty database".to_string(),
            head.migrations.iter().collect(),
        ),
    };
    let before = base_replayer.schema().await?;
    // CREATE DATABASE … TEMPLATE needs the template to have no sessions.
    drop(base_client);
    let base_name = base_db.dbname.clone();
    let head_db = ws.create("head", Some(&base_name)).await?;
    let head_client = pg::connect(&head_db).await?;
    let head_replayer = replayer(&head_client, &head, &opts, &settings.filter);
    let pairs: Vec<_> = new.iter().map(|m| (*m, head.previous(m))).collect();
    let replayed = head_replayer.replay(&pairs, settings.check_down).await?;
    let after = head_replayer.schema().await?;
    let rollbacks = replayed.iter().map(rollback::plan_for).collect();
    let findings = findings(&before, &after, &replayed);
    Ok(Preview {
        base_label,
        head_label: head_label(&settings.source),
        tool: Some(head.format),
        before,
        after,
        replayed,
        rollbacks,
        findings,
        edited,
        removed,
        command: None,
        sandbox_major: ws.server_major().await?,
    })
}

fn head_label(source: &Source) -> String {
    match &source.at_ref {
        Some(r) => format!("{}@{r}", source.dir.display()),
        None => source.dir.display().to_string(),
    }
}

fn replayer<'a>(
    client: &'a Client,
    loaded: &'a Loaded,
    options: &'a Options,
    filter: &'a Filter,
) -> Replayer<'a> {
    Replayer {
        client,
        history: loaded.history,
        audit: loaded.audit,
        options,
        filter,
    }
}

fn previous<'m>(all: &'m [Migration], m: &Migration) -> Option<&'m Migration> {
    all.iter()
        .rev()
        .find(|p| p.version < m.version && !p.version.is_repeatable())
}

/// The base revision's migrations; none when the directory did not exist there yet.
async fn base_at(
    source: &Source,
    format: crate::migrations::Format,
    rev: &str,
) -> Result<Vec<Migration>, Error> {
    let at = Source {
        dir: source.dir.clone(),
        tool: Some(format),
        at_ref: Some(rev.to_string()),
    };
    match migrate::load(&at, None).await {
        Ok(l) => Ok(l.migrations),
        Err(Error::Load(LoadError::Empty { .. })) => Ok(Vec::new()),
        Err(Error::Load(LoadError::Git { message, .. }))
            if message.contains("does not exist at that revision") =>
        {
            Ok(Vec::new())
        }
        Err(e) => Err(e),
    }
}

fn compare_sets(
    base: &[Migration],
    head: &[Migration],
    edited: &mut Vec<String>,
    removed: &mut Vec<String>,
) {
    for b in base {
        match head.iter().find(|h| h.version == b.version) {
            Some(h) if h.up.file != b.up.file => edited.push(h.up.path.clone()),
            Some(_) => {}
            None => removed.push(b.label()),
        }
    }
}

/// Recreates `schema` in the (empty) base database with the engine's DDL.
async fn clone_schema(replayer: &Replayer<'_>, schema: &Schema) -> Result<(), Error> {
    let empty = replayer.schema().await?;
    let changes = diff::diff(&empty, schema);
    let (steps, refusals) = plan::plan(&changes, &empty, schema, PlanOptions::default());
    if !refusals.is_empty() {
        return Err(Error::Refused(refusals));
    }
    replayer
        .client
        .pg()
        .batch_execute(&plan::to_sql(&steps))
        .await
        .map_err(|e| Error::Query {
            context: "cannot recreate the target's schema in the sandbox",
            source: e.into(),
        })
}

/// The overall changes, each tied to the migration and statement that made it, with the lock
/// the engine's plan for it takes.
fn findings(before: &Schema, after: &Schema, replayed: &[Replayed]) -> Vec<Finding> {
    let changes = diff::diff(before, after);
    let (steps, _) = plan::plan(&changes, before, after, PlanOptions::default());
    changes
        .into_iter()
        .enumerate()
        .map(|(i, change)| {
            let new_table = change
                .table()
                .is_some_and(|t| !before.tables.iter().any(|x| &x.name == t));
            let class = change.classify(new_table);
            // The migration whose own diff holds this change; else the last touching its table.
            let migration = replayed
                .iter()
                .position(|r| r.changes.contains(&change))
                .or_else(|| {
                    let table = change.table()?;
                    replayed
                        .iter()
                        .rposition(|r| r.changes.iter().any(|c| c.table() == Some(table)))
                });
            let script = migration.map(|m| &replayed[m].migration.up);
            let line = script.and_then(|s| attribution::line_of(&change, s));
            let mine: Vec<&plan::Step> = steps.iter().filter(|s| s.change == i).collect();
            // Nothing else can hold a lock on a table the same change set creates.
            let mut lock = if new_table {
                Lock::None
            } else {
                mine.iter().map(|s| s.lock).max().unwrap_or(Lock::None)
            };
            // The migration's own statement may be gentler than the engine's plan.
            if let (Some(script), Some(line)) = (script, line) {
                if concurrently_at(script, line) {
                    lock = lock.min(Lock::ShareUpdateExclusive);
                }
            }
            Finding {
                class,
                migration,
                path: script.map(|s| s.path.clone()),
                line,
                lock,
                rewrites: mine.iter().any(|s| s.rewrites),
                scans: mine.iter().any(|s| s.scans),
                change,
            }
        })
        .collect()
}

fn concurrently_at(script: &crate::migrations::Script, line: usize) -> bool {
    split(&script.sql).is_ok_and(|statements| {
        statements.iter().any(|s| {
            s.start_line() + script.first_line - 1 == line
                && matches!(
                    cannot_run_in_transaction(s.sql()),
                    Some(
                        NonTransactional::CreateIndexConcurrently
                            | NonTransactional::DropIndexConcurrently
                    )
                )
        })
    })
}

/// Command mode: the team's tool migrates the base (at `--base-ref`, in a temporary git
/// worktree) and then the head, each against its own scratch database.
async fn command_preview(
    settings: &Settings,
    command: &str,
    ws: &Workspace,
) -> Result<Preview, Error> {
    let opts = options();
    let base_db = ws.create("base", None).await?;
    let base_label = match &settings.base {
        Base::Ref(rev) => {
            let tree = Worktree::add(rev)?;
            let run =
                crate::migrations::command::run_in(command, &base_db, &opts, Some(&tree.path()))
                    .await
                    .map_err(|e| Error::Command(Box::new(e)));
            drop(tree);
            run?;
            rev.clone()
        }
        Base::Empty => "an empty database".to_string(),
        Base::Database(_) | Base::Snapshot(..) => return Err(Error::Usage {
            message: "--command compares against --base-ref or nothing".into(),
            hint: Some(
                "drop --database-url/--from-snapshot, or use --migrations DIR instead of --command"
                    .into(),
            ),
        }),
    };
    let base_client = pg::connect(&base_db).await?;
    let mut before = catalog::introspect(&base_client, &settings.filter).await?;
    history_tables::strip(&mut before);
    drop(base_client);
    let head_db = ws.create("head", Some(&base_db.dbname)).await?;
    let started = Instant::now();
    crate::migrations::command::run_in(command, &head_db, &opts, None)
        .await
        .map_err(|e| Error::Command(Box::new(e)))?;
    let elapsed = started.elapsed();
    let head_client = pg::connect(&head_db).await?;
    let mut after = catalog::introspect(&head_client, &settings.filter).await?;
    history_tables::strip(&mut after);
    let findings = findings(&before, &after, &[]);
    Ok(Preview {
        base_label,
        head_label: format!("`{command}`"),
        tool: None,
        before,
        after,
        replayed: Vec::new(),
        rollbacks: Vec::new(),
        findings,
        edited: Vec::new(),
        removed: Vec::new(),
        command: Some((command.to_string(), elapsed)),
        sandbox_major: ws.server_major().await?,
    })
}

/// A temporary `git worktree` at a revision, removed on drop.
struct Worktree {
    dir: tempfile::TempDir,
}

impl Worktree {
    fn add(rev: &str) -> Result<Worktree, Error> {
        let dir = tempfile::Builder::new()
            .prefix("pgkeel-base-")
            .tempdir()
            .map_err(|e| Error::usage(format!("cannot create a temporary directory: {e}")))?;
        let out = std::process::Command::new("git")
            .args(["worktree", "add", "--detach", "--quiet"])
            .arg(dir.path().join("tree"))
            .arg(rev)
            .output()
            .map_err(|source| Error::Spawn {
                program: "git".into(),
                source,
            })?;
        if !out.status.success() {
            return Err(Error::Load(LoadError::Git {
                rev: rev.to_string(),
                message: String::from_utf8_lossy(&out.stderr).trim().to_string(),
            }));
        }
        Ok(Worktree { dir })
    }

    fn path(&self) -> PathBuf {
        self.dir.path().join("tree")
    }
}

impl Drop for Worktree {
    fn drop(&mut self) {
        let _ = std::process::Command::new("git")
            .args(["worktree", "remove", "--force"])
            .arg(self.path())
            .output();
    }
}

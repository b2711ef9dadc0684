//! `pgkeel status` and `pgkeel migrate up|down|resolve`: load the migrations (detecting the
//! tool), connect, take the migration lock, read the tool's history table and pgkeel's audit,
//! refuse on conflicts, then run the applier and report. Command mode (`migrate up
//! --command`) runs the team's own tool in place of the applier, inside the same lock, and
//! reports what it changed in the schema.

use std::io::Write;
use std::path::PathBuf;
use std::time::{Duration, Instant};

use super::Context;
use crate::catalog::{self, Filter};
use crate::diff;
use crate::error::{Error, Outcome};
use crate::migrations::apply::{Applier, Options, Ran};
use crate::migrations::history::{self, Applied, History, Run};
use crate::migrations::lock;
use crate::migrations::status::{self, Entry, State};
use crate::migrations::{source, Format, Migration, Tree, Version};
use crate::pg::{self, Client, ConnSpec, DbError};
use crate::report::migrate as render;
use crate::report::notice::Notice;

/// Where the migrations are.
#[derive(Debug, Clone)]
pub struct Source {
    pub dir: PathBuf,
    pub tool: Option<Format>,
    pub at_ref: Option<String>,
}

pub struct StatusSettings {
    pub conn: ConnSpec,
    pub source: Source,
    pub exit_code: bool,
}

pub enum Action {
    Up {
        to: Option<String>,
        allow_out_of_order: bool,
    },
    Command(String),
    Down {
        steps: Option<usize>,
        to: Option<String>,
    },
    Resolve {
        version: String,
        applied: bool,
    },
}

pub struct MigrateSettings {
    pub conn: ConnSpec,
    pub source: Source,
    pub action: Action,
    pub options: Options,
    pub lock_wait: Duration,
    pub dry_run: bool,
}

/// The loaded migrations and the histories that describe them.
pub(crate) struct Loaded {
    pub(crate) format: Format,
    pub(crate) migrations: Vec<Migration>,
    pub(crate) history: &'static dyn History,
    /// pgkeel's audit table beside another tool's table.
    pub(crate) audit: Option<&'static dyn History>,
}

impl Loaded {
    pub(crate) async fn read(
        &self,
        client: &Client,
    ) -> Result<(Vec<Applied>, Vec<Applied>), Error> {
        let applied = read_history(client, self.history, &self.migrations).await?;
        let audit = match self.audit {
            Some(a) => read_history(client, a, &self.migrations).await?,
            None => Vec::new(),
        };
        Ok((applied, audit))
    }

    pub(crate) async fn entries(&self, client: &Client) -> Result<Vec<Entry>, Error> {
        let (applied, audit) = self.read(client).await?;
        Ok(status::status(
            &self.migrations,
            &applied,
            &audit,
            self.history,
        ))
    }

    async fn create_tables(&self, client: &Client) -> Result<(), Error> {
        let sql = history::both(self.history, self.audit, |h| h.create());
        client
            .pg()
            .batch_execute(&sql)
            .await
            .map_err(|e| Error::Query {
                context: "cannot create the migration history table",
                source: DbError::from(e),
            })
    }

    fn find(&self, version: &str) -> Result<&Migration, Error> {
        let v = Version::new(version);
        self.migrations
            .iter()
            .find(|m| m.version == v || m.label() == version)
            .ok_or_else(|| Error::Usage {
                message: format!("no migration has version {version}"),
                hint: Some("see `pgkeel status` for the versions on disk".into()),
            })
    }

    pub(crate) fn previous(&self, m: &Migration) -> Option<&Migration> {
        self.migrations
            .iter()
            .rev()
            .find(|p| p.version < m.version && !p.version.is_repeatable())
    }
}

pub(crate) async fn read_history(
    client: &Client,
    history: &dyn History,
    on_disk: &[Migration],
) -> Result<Vec<Applied>, Error> {
    let context = "cannot read the migration history";
    let exists = simple_rows(client, &history::exists_sql(history.table()))
        .await
        .map_err(|source| Error::Query { context, source })?;
    if exists
        .first()
        .and_then(|r| r.first())
        .cloned()
        .flatten()
        .as_deref()
        != Some("true")
    {
        return Ok(Vec::new());
    }
    let rows = simple_rows(client, &history.select())
        .await
        .map_err(|source| Error::Query { context, source })?;
    Ok(history.parse(&rows, on_disk)?)
}

/// Rows of a simple query, every column as text.
async fn simple_rows(client: &Client, sql: &str) -> Result<Vec<Vec<Option<String>>>, DbError> {
    let messages = client.pg().simple_query(sql).await?;
    Ok(messages
        .into_iter()
        .filter_map(|m| match m {
            tokio_postgres::SimpleQueryMessage::Row(row) => Some(
                (0..row.len())
                    .map(|i| row.get(i).map(str::to_string))
                    .collect(),
            ),
            _ => None,
        })
        .collect())
}

fn tree(source: &Source) -> Tree {
    match &source.at_ref {
        Some(rev) => Tree::Git {
            dir: source.dir.clone(),
            rev: rev.clone(),
        },
        None => Tree::Dir(source.dir.clone()),
    }
}

/// Loads the migrations, settling an ambiguous layout with the database's history tables.
/// Without a client, an ambiguous layout is taken as its first candidate.
pub(crate) async fn load(source: &Source, client: Option<&Client>) -> Result<Loaded, Error> {
    let tree = tree(source);
    let format = match source.tool {
        Some(f) => f,
        None => {
            let detected = source::detect(&tree)?;
            let mut format = detected.format;
            if let Some(client) = client {
                for alt in &detected.alternatives {
                    if has_table_of(client, *alt).await? {
                        format = *alt;
                        break;
                    }
                }
            }
            tracing::debug!("migrations in {} are {format}", tree.display(""));
            format
        }
    };
    let migrations = source::load(&tree, format)?;
    Ok(Loaded {
        format,
        migrations,
        history: history::of(format),
        audit: (format != Format::Pgkeel).then(|| history::of(Format::Pgkeel)),
    })
}

/// Whether the database has `format`'s history table (golang-migrate's is told from dbmate's
/// by its `dirty` column).
async fn has_table_of(client: &Client, format: Format) -> Result<bool, Error> {
    let sql = match format {
        Format::GolangMigrate => "SELECT EXISTS (SELECT 1 FROM information_schema.columns \
             WHERE table_name = 'schema_migrations' AND column_name = 'dirty' \
             AND table_schema = ANY (current_schemas(false)))::text"
            .to_string(),
        other => history::exists_sql(history::of(other).table()),
    };
    let rows = simple_rows(client, &sql)
        .await
        .map_err(|source| Error::Query {
            context: "cannot look for history tables",
            source,
        })?;
    Ok(rows
        .first()
        .and_then(|r| r.first())
        .cloned()
        .flatten()
        .as_deref()
        == Some("true"))
}

pub async fn status(
    settings: &StatusSettings,
    ctx: &Context,
    out: &mut dyn Write,
) -> Result<Outcome, Error> {
    let client = pg::connect(&settings.conn).await?;
    let loaded = load(&settings.source, Some(&client)).await?;
    let entries = loaded.entries(&client).await?;
    render::status(&entries, loaded.format, loaded.history.table(), ctx, out)
        .map_err(Error::Output)?;
    let conflicts: Vec<Entry> = entries
        .iter()
        .filter(|e| e.state.is_conflict())
        .cloned()
        .collect();
    if !conflicts.is_empty() {
        let err = Error::HistoryConflict(conflicts);
        if ctx.format == crate::report::Format::Json {
            // The document is printed and says it all; stderr still gets the message.
            tracing::error!("{err}");
            return Ok(Outcome::Conflict);
        }
        return Err(err);
    }
    let pending = entries.iter().any(|e| e.state == State::Pending);
    Ok(if settings.exit_code && pending {
        Outcome::Finding
    } else {
        Outcome::Clean
    })
}

pub async fn migrate(
    settings: &MigrateSettings,
    ctx: &Context,
    out: &mut dyn Write,
    notice: &mut Notice,
) -> Result<Outcome, Error> {
    notice.database = Some(settings.conn.dbname.clone());
    let client = pg::connect(&settings.conn).await?;
    if let Action::Command(command) = &settings.action {
        return command_mode(settings, command, &client, ctx, out, notice).await;
    }
    let loaded = load(&settings.source, Some(&client)).await?;
    notice
        .facts
        .push(crate::notify::Fact::new("Tool", loaded.format.name()));
    if settings.dry_run {
        // No lock, no tables: a dry run reads and reports only.
        let entries = loaded.entries(&client).await?;
        refuse_conflicts(&entries, &settings.action)?;
        let plan = plan(&loaded, &entries, &settings.action)?;
        let down = matches!(settings.action, Action::Down { .. });
        let mut previews = Vec::new();
        for m in &plan {
            let script = if down {
                m.down.as_ref().ok_or_else(|| no_down(loaded.format, m))?
            } else {
                &m.up
            };
            let preview = crate::migrations::apply::preview(script, settings.options.tx_mode)
                .map_err(|e| Error::Apply(Box::new(e)))?;
            previews.push((m.label(), script.path.clone(), preview));
        }
        render::notice_dry_run(notice, &previews, down);
        render::dry_run(&previews, down, ctx, out).map_err(Error::Output)?;
        return Ok(Outcome::Clean);
    }
    let guard = lock::acquire(&client, settings.lock_wait).await?;
    let result = locked(settings, &loaded, &client, ctx, out, notice).await;
    guard.release(&client).await;
    result
}

async fn locked(
    settings: &MigrateSettings,
    loaded: &Loaded,
    client: &Client,
    ctx: &Context,
    out: &mut dyn Write,
    notice: &mut Notice,
) -> Result<Outcome, Error> {
    loaded.create_tables(client).await?;
    let entries = loaded.entries(client).await?;
    if let Action::Resolve { version, applied } = &settings.action {
        return resolve(
            loaded, &entries, version, *applied, client, settings, ctx, out,
        )
        .await;
    }
    refuse_conflicts(&entries, &settings.action)?;
    let plan = plan(loaded, &entries, &settings.action)?;
    let applier = Applier::new(client, loaded.history, loaded.audit, &settings.options);
    let started = Instant::now();
    let ran = match &settings.action {
        Action::Up { .. } => {
            let pending: Vec<_> = plan.iter().map(|m| (*m, loaded.previous(m))).collect();
            applier.up(&pending).await
        }
        Action::Down { .. } => {
            let mut targets = Vec::new();
            for m in &plan {
                let script = m.down.as_ref().ok_or_else(|| no_down(loaded.format, m))?;
                targets.push((*m, script, loaded.previous(m)));
            }
            applier.down(&targets).await
        }
        Action::Command(_) | Action::Resolve { .. } => Ran {
            done: Vec::new(),
            error: None,
        },
    };
    // One reading of the clock, so the notification's document is the printed one.
    let elapsed = started.elapsed();
    let down = matches!(settings.action, Action::Down { .. });
    render::notice(notice, &ran.done, elapsed, down, ran.error.as_ref());
    // What completed is reported even when a later migration failed.
    // (JSON gets one document: the error's.)
    if ran.error.is_none() || (!ran.done.is_empty() && ctx.format != crate::report::Format::Json) {
        render::applied(&ran.done, elapsed, ctx, out).map_err(Error::Output)?;
    }
    match ran.error {
        None => Ok(Outcome::Clean),
        Some(e) => Err(Error::Apply(Box::new(e))),
    }
}

fn no_down(format: Format, m: &Migration) -> Error {
    Error::Usage {
        message: format!("{} has no down migration", m.label()),
        hint: Some(if format.has_down() {
            format!("write one next to {}", m.up.path)
        } else {
            format!("{format} migrations have no down scripts; `pgkeel diff --from <after> --to <before> --format sql` writes the reverse SQL")
        }),
    }
}

/// Dirty, edited, missing or out-of-order migrations stop `up` and `down`.
fn refuse_conflicts(entries: &[Entry], action: &Action) -> Result<(), Error> {
    let allow_ooo = matches!(
        action,
        Action::Up {
            allow_out_of_order: true,
            ..
        }
    );
    let conflicts: Vec<Entry> = entries
        .iter()
        .filter(|e| e.state.is_conflict() && !(allow_ooo && e.state == State::OutOfOrder))
        .cloned()
        .collect();
    if conflicts.is_empty() {
        Ok(())
    } else {
        Err(Error::HistoryConflict(conflicts))
    }
}

/// The migrations the action will run, in the order it runs them.
fn plan<'l>(
    loaded: &'l Loaded,
    entries: &[Entry],
    action: &Action,
) -> Result<Vec<&'l Migration>, Error> {
    let state = |m: &Migration| {
        entries
            .iter()
            .find(|e| e.version == m.version)
            .map(|e| &e.state)
    };
    match action {
        Action::Up { to, .. } => {
            let limit = to.as_deref().map(|v| loaded.find(v)).transpose()?;
            Ok(loaded
                .migrations
                .iter()
                .filter(|m| matches!(state(m), Some(State::Pending | State::OutOfOrder)))
                .filter(|m| {
                    limit.is_none_or(|l| m.version <= l.version || m.version.is_repeatable())
                })
                .collect())
        }
        Action::Down { steps, to } => {
            if !loaded.format.has_down() {
                let last = loaded.migrations.last();
                return Err(match last {
                    Some(m) => no_down(loaded.format, m),
                    None => Error::usage("nothing to revert"),
                });
            }
            let applied: Vec<&Migration> = loaded
                .migrations
                .iter()
                .rev()
                .filter(|m| !m.version.is_repeatable())
                .filter(|m| matches!(state(m), Some(State::Applied)))
                .collect();
            Ok(match to {
                Some(v) => {
                    // `--to 0` reverts everything.
                    let limit = if v.chars().all(|c| c == '0') {
                        Version::new("0")
                    } else {
                        loaded.find(v)?.version.clone()
                    };
                    applied.into_iter().filter(|m| m.version > limit).collect()
                }
                None => applied.into_iter().take(steps.unwrap_or(1)).collect(),
            })
        }
        Action::Command(_) | Action::Resolve { .. } => Ok(Vec::new()),
    }
}

#[allow(clippy::too_many_arguments)]
async fn resolve(
    loaded: &Loaded,
    entries: &[Entry],
    version: &str,
    applied: bool,
    client: &Client,
    settings: &MigrateSettings,
    ctx: &Context,
    out: &mut dyn Write,
) -> Result<Outcome, Error> {
    // A migration whose file is gone can still be recorded as rolled back.
    let synthetic;
    let m = match loaded.find(version) {
        Ok(m) => m,
        Err(e) => {
            let gone = entries
                .iter()
                .find(|en| en.path.is_none() && (en.version == Version::new(version)));
            match gone {
                Some(en) if !applied => {
                    synthetic = Migration {
                        version: en.version.clone(),
                        name: en.name.clone(),
                        up: crate::migrations::Script::whole_file(
                            String::new(),
                            std::sync::Arc::from(&b""[..]),
                            String::new(),
                        ),
                        down: None,
                        journal_millis: None,
                    };
                    &synthetic
                }
                _ => return Err(e),
            }
        }
    };
    let before = entries
        .iter()
        .find(|e| e.version == m.version)
        .map(|e| e.state.clone())
        .unwrap_or(State::Pending);
    let run = Run {
        migration: m,
        previous: loaded.previous(m),
        duration: Duration::ZERO,
        statements: Vec::new(),
        git_sha: settings.options.git_sha.clone(),
        run_url: settings.options.run_url.clone(),
        error: None,
    };
    let record = |h: &dyn History| {
        if applied {
            h.record_applied(&run)
        } else {
            h.record_reverted(&run)
        }
    };
    let sql = history::both(loaded.history, loaded.audit, record);
    client
        .pg()
        .batch_execute(&sql)
        .await
        .map_err(|e| Error::Query {
            context: "cannot write the migration history",
            source: DbError::from(e),
        })?;
    render::resolved(&m.label(), before.name(), applied, ctx, out).map_err(Error::Output)?;
    Ok(Outcome::Clean)
}

/// Command mode: the team's own tool runs under pgkeel's lock and timeouts; pgkeel reports
/// what it changed in the schema.
async fn command_mode(
    settings: &MigrateSettings,
    command: &str,
    client: &Client,
    ctx: &Context,
    out: &mut dyn Write,
    notice: &mut Notice,
) -> Result<Outcome, Error> {
    let filter = Filter::default();
    let guard = lock::acquire(client, settings.lock_wait).await?;
    let result = async {
        let before = catalog::introspect(client, &filter).await?;
        let started = Instant::now();
        let outcome =
            crate::migrations::command::run(command, &settings.conn, &settings.options).await;
        let elapsed = started.elapsed();
        let after = catalog::introspect(client, &filter).await?;
        let changes = diff::diff(&before, &after);
        let described: Vec<String> = changes.iter().map(|c| c.describe()).collect();
        render::notice_command(notice, command, outcome.as_ref().ok(), elapsed, &described);
        match outcome {
            Ok(run) => {
                render::command(command, &run, elapsed, &described, ctx, out)
                    .map_err(Error::Output)?;
                Ok(Outcome::Clean)
            }
            Err(e) => {
                render::command_failed(&described, ctx).map_err(Error::Output)?;
                Err(Error::Command(Box::new(e)))
            }
        }
    }
    .await;
    guard.release(client).await;
    result
}

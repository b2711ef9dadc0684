//! Running migrations against a database, safely.
//!
//! - A migration runs in one transaction together with its history rows, so it is either
//!   applied and recorded or neither. `lock_timeout` and `statement_timeout` are set for it;
//!   a lock timeout (SQLSTATE 55P03) rolls it back and retries it with doubling backoff.
//! - A migration that cannot run in a transaction (the format's marker, a statement such as
//!   `CREATE INDEX CONCURRENTLY`, its own `BEGIN`/`COMMIT`, or `--tx-mode none`) runs one
//!   statement at a time. It is recorded dirty before its first statement, with the
//!   statements that ran as it goes, and clean only when all ran; after an index build, an
//!   INVALID index it left behind fails the run with the SQL that cleans it up.
//! - With `--tx-mode all`, every pending migration runs in one transaction.
//!
//! Every failure names the file and line of the statement, with SQLSTATE, detail and hint.

use std::time::{Duration, Instant};

use bytes::Bytes;
use futures_util::SinkExt;

use super::history::{History, Run};
use super::migration::{Migration, Script};
use super::statement::{split, Statement};
use super::transaction::{cannot_run_in_transaction, transaction_control, NonTransactional};
use crate::pg::{Client, DbError};

/// SQLSTATE `lock_not_available`: what `lock_timeout` raises.
const LOCK_NOT_AVAILABLE: &str = "55P03";

/// How migrations are grouped into transactions.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TxMode {
    /// One transaction per migration (the default).
    PerMigration,
    /// One transaction for every pending migration.
    All,
    /// No transaction: each statement commits on its own.
    None,
}

/// Settings for a run.
#[derive(Debug, Clone)]
pub struct Options {
    pub tx_mode: TxMode,
    pub lock_timeout: Duration,
    /// `None` leaves the server's setting alone.
    pub statement_timeout: Option<Duration>,
    /// Further attempts after a lock timeout.
    pub retries: u32,
    /// The first wait before a retry; it doubles each time.
    pub backoff: Duration,
    pub git_sha: Option<String>,
    pub run_url: Option<String>,
}

impl Default for Options {
    fn default() -> Self {
        Options {
            tx_mode: TxMode::PerMigration,
            lock_timeout: Duration::from_secs(5),
            statement_timeout: None,
            retries: 3,
            backoff: Duration::from_millis(500),
            git_sha: None,
            run_url: None,
        }
    }
}

/// Which script of a migration ran.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Direction {
    Up,
    Down,
}

/// One migration that ran to completion.
#[derive(Debug, Clone)]
pub struct Done {
    pub label: String,
    pub path: String,
    pub direction: Direction,
    pub duration: Duration,
    pub statements: usize,
    pub transactional: bool,
    /// Attempts that hit a lock timeout before one succeeded.
    pub retries: u32,
}

/// What a run did: the migrations that completed, and the failure that stopped it.
#[derive(Debug)]
pub struct Ran {
    pub done: Vec<Done>,
    pub error: Option<ApplyError>,
}

impl Ran {
    fn failed(error: ApplyError) -> Ran {
        Ran {
            done: Vec::new(),
            error: Some(error),
        }
    }
}

/// Why a run stopped. Everything before the failing migration stays applied.
#[derive(Debug, thiserror::Error)]
pub enum ApplyError {
    #[error("{path}:{line}: {error}, in `{statement}`{}", if *.rolled_back { "; the migration was rolled back" } else { "; the migration did not run in a transaction and is recorded as dirty" })]
    Statement {
        label: String,
        path: String,
        line: usize,
        /// The first line of the statement, for the report.
        statement: String,
        error: Box<DbError>,
        /// True: nothing of this migration remains. False: statements before this one ran
        /// and stayed (non-transactional), and the history says dirty.
        rolled_back: bool,
        /// Lock-timeout attempts made before giving up.
        attempts: u32,
    },
    #[error("{path}:{line}: {command} left invalid index{} {}; the migration is recorded as dirty", if .indexes.len() == 1 { "" } else { "es" }, .indexes.join(", "))]
    InvalidIndex {
        label: String,
        path: String,
        line: usize,
        command: NonTransactional,
        indexes: Vec<String>,
    },
    #[error("{path}: cannot run with --tx-mode all: {reason}")]
    NotTransactional { path: String, reason: String },
    #[error("cannot write the history table: {0}")]
    History(DbError),
    #[error("{path}:{line}: {message}")]
    Split {
        path: String,
        line: usize,
        message: String,
    },
}

impl ApplyError {
    pub fn hint(&self) -> Option<String> {
        match self {
            ApplyError::Statement { error, attempts, .. } if error.sqlstate == LOCK_NOT_AVAILABLE => Some(format!(
                "another session held a conflicting lock through {attempts} attempt(s); find it in pg_stat_activity, or retry when traffic is lower (--lock-timeout, --retries)"
            )),
            ApplyError::Statement { error, .. } if error.hint.is_some() => error.hint.clone(),
            ApplyError::Statement { rolled_back: false, label, .. } => Some(format!(
                "fix the database by hand (the history lists the statements that ran), then `pgkeel migrate resolve --applied {label}` or `--rolled-back`"
            )),
            ApplyError::Statement { .. } => Some("fix the migration and run it again; nothing of it was applied".into()),
            ApplyError::InvalidIndex { indexes, .. } => Some(format!(
                "drop the invalid index and run again: {}; then `pgkeel migrate resolve --rolled-back` the migration",
                indexes.iter().map(|i| format!("DROP INDEX CONCURRENTLY IF EXISTS {i};")).collect::<Vec<_>>().join(" ")
            )),
            ApplyError::NotTransactional { .. } => Some("use --tx-mode per-migration (the default)".into()),
            ApplyError::History(_) => Some("the role needs CREATE on the history table's schema and write access to the table".into()),
            ApplyError::Split { .. } => None,
        }
    }

    /// True when the database is left exactly as before the failed migration.
    pub fn rolled_back(&self) -> bool {
        match self {
            ApplyError::Statement { rolled_back, .. } => *rolled_back,
            ApplyError::InvalidIndex { .. } => false,
            ApplyError::NotTransactional { .. } | ApplyError::Split { .. } => true,
            ApplyError::History(_) => true,
        }
    }
}

/// A migration's script, split and classified.
struct Prepared<'m> {
    migration: &'m Migration,
    previous: Option<&'m Migration>,
    script: &'m Script,
    direction: Direction,
    statements: Vec<Statement<'m>>,
    /// Why it cannot run in one transaction, if it cannot.
    alone: Option<String>,
}

/// What a dry run shows of a script: how many statements, and why it would run statement
/// by statement, if it would.
#[derive(Debug, Clone)]
pub struct Preview {
    pub statements: usize,
    pub alone: Option<String>,
}

/// How `script` would run.
///
/// # Errors
///
/// When the script cannot be split.
pub fn preview(script: &Script, tx_mode: TxMode) -> Result<Preview, ApplyError> {
    let statements = split_script(script)?;
    Ok(Preview {
        statements: statements.len(),
        alone: alone_reason(script, &statements, tx_mode),
    })
}

fn split_script(script: &Script) -> Result<Vec<Statement<'_>>, ApplyError> {
    split(&script.sql).map_err(|e| ApplyError::Split {
        path: script.path.clone(),
        line: e.line() + script.first_line - 1,
        message: e.to_string(),
    })
}

/// Why `script` cannot run in one transaction, if it cannot.
fn alone_reason(script: &Script, statements: &[Statement], tx_mode: TxMode) -> Option<String> {
    let line = |s: &Statement| s.start_line() + script.first_line - 1;
    if !script.transaction {
        Some("the file says it runs without a transaction".to_string())
    } else if tx_mode == TxMode::None {
        Some("--tx-mode none".to_string())
    } else if let Some(s) = statements
        .iter()
        .find(|s| transaction_control(s.sql()).is_some())
    {
        Some(format!("it manages its own transaction (line {})", line(s)))
    } else {
        statements.iter().find_map(|s| {
            cannot_run_in_transaction(s.sql())
                .map(|c| format!("{c} at line {} cannot run in a transaction", line(s)))
        })
    }
}

/// Runs migrations on one connection (which must hold the migration lock).
pub struct Applier<'a> {
    client: &'a Client,
    history: &'a dyn History,
    /// pgkeel's audit table, when the history is another tool's.
    audit: Option<&'a dyn History>,
    options: &'a Options,
}

impl<'a> Applier<'a> {
    pub fn new(
        client: &'a Client,
        history: &'a dyn History,
        audit: Option<&'a dyn History>,
        options: &'a Options,
    ) -> Self {
        Applier {
            client,
            history,
            audit,
            options,
        }
    }

    /// Applies `pending` (each with the migration before it, for tools that store only the
    /// current version) in order.
    ///
    /// # Errors
    ///
    /// The first failure; everything before it stays applied.
    pub async fn up(&self, pending: &[(&'a Migration, Option<&'a Migration>)]) -> Ran {
        let prepared = pending
            .iter()
            .map(|(m, prev)| self.prepare(m, *prev, &m.up, Direction::Up))
            .collect::<Result<Vec<_>, _>>();
        match prepared {
            Ok(p) => self.run(p).await,
            Err(e) => Ran::failed(e),
        }
    }

    /// Reverts `targets` (newest first), each with the migration that becomes current.
    ///
    /// # Errors
    ///
    /// The first failure; reverts before it stay done.
    pub async fn down(
        &self,
        targets: &[(&'a Migration, &'a Script, Option<&'a Migration>)],
    ) -> Ran {
        let prepared = targets
            .iter()
            .map(|(m, script, prev)| self.prepare(m, *prev, script, Direction::Down))
            .collect::<Result<Vec<_>, _>>();
        match prepared {
            Ok(p) => self.run(p).await,
            Err(e) => Ran::failed(e),
        }
    }

    async fn run(&self, prepared: Vec<Prepared<'a>>) -> Ran {
        if self.options.tx_mode == TxMode::All {
            if let Some(p) = prepared.iter().find(|p| p.alone.is_some()) {
                let error = ApplyError::NotTransactional {
                    path: p.script.path.clone(),
                    reason: p.alone.clone().unwrap_or_default(),
                };
                return Ran::failed(error);
            }
            return match self.with_retries(|| self.all_in_one(&prepared)).await {
                Ok(done) => Ran { done, error: None },
                Err(e) => Ran::failed(e),
            };
        }
        let mut done = Vec::with_capacity(prepared.len());
        for p in &prepared {
            tracing::info!(
                "{} {} ({})",
                if p.direction == Direction::Up {
                    "applying"
                } else {
                    "reverting"
                },
                p.migration.label(),
                p.script.path
            );
            let result = match &p.alone {
                None => self.with_retries(|| self.in_transaction(p)).await,
                Some(reason) => {
                    tracing::info!("  runs statement by statement: {reason}");
                    self.alone(p).await
                }
            };
            match result {
                Ok(d) => done.push(d),
                Err(e) => {
                    return Ran {
                        done,
                        error: Some(e),
                    }
                }
            }
        }
        Ran { done, error: None }
    }

    fn prepare(
        &self,
        migration: &'a Migration,
        previous: Option<&'a Migration>,
        script: &'a Script,
        direction: Direction,
    ) -> Result<Prepared<'a>, ApplyError> {
        let statements = split_script(script)?;
        let alone = alone_reason(script, &statements, self.options.tx_mode);
        Ok(Prepared {
            migration,
            previous,
            script,
            direction,
            statements,
            alone,
        })
    }

    /// Retries `attempt` after lock timeouts, with doubling backoff.
    async fn with_retries<T, F, Fut>(&self, attempt: F) -> Result<T, ApplyError>
    where
        F: Fn() -> Fut,
        Fut: std::future::Future<Output = Result<T, ApplyError>>,
    {
        let mut wait = self.options.backoff;
        let mut tries = 0;
        loop {
            match attempt().await {
                Err(ApplyError::Statement {
                    error,
                    label,
                    path,
                    line,
                    statement,
                    rolled_back: true,
                    ..
                }) if error.sqlstate == LOCK_NOT_AVAILABLE => {
                    tries += 1;
                    if tries > self.options.retries {
                        return Err(ApplyError::Statement {
                            error,
                            label,
                            path,
                            line,
                            statement,
                            rolled_back: true,
                            attempts: tries,
                        });
                    }
                    tracing::warn!(
                        "{path}:{line}: lock timeout; retry {tries} of {} in {} ms",
                        self.options.retries,
                        wait.as_millis()
                    );
                    tokio::time::sleep(wait).await;
                    wait = wait.saturating_mul(2);
                }
                other => return other,
            }
        }
    }

    fn timeouts(&self, scope: &str) -> String {
        let statement = self.options.statement_timeout.map_or(String::new(), |t| {
            format!("SET {scope} statement_timeout = '{}ms';", t.as_millis())
        });
        format!(
            "SET {scope} lock_timeout = '{}ms';{statement}",
            self.options.lock_timeout.as_millis()
        )
    }

    fn run_record(
        &self,
        p: &Prepared<'a>,
        started: Instant,
        ran: usize,
        error: Option<String>,
    ) -> Run<'a> {
        Run {
            migration: p.migration,
            previous: p.previous,
            duration: started.elapsed(),
            statements: p.statements[..ran]
                .iter()
                .map(|s| s.sql().to_string())
                .collect(),
            git_sha: self.options.git_sha.clone(),
            run_url: self.options.run_url.clone(),
            error,
        }
    }

    /// The SQL recording a finished run in the tool's table and the audit.
    fn finished_sql(&self, p: &Prepared, run: &Run) -> String {
        let record = |h: &dyn History| match p.direction {
            Direction::Up => h.record_applied(run),
            Direction::Down => h.record_reverted(run),
        };
        let mut sql = record(self.history);
        if let Some(audit) = self.audit {
            sql.push('\n');
            sql.push_str(&record(audit));
        }
        sql
    }

    async fn exec(&self, sql: &str) -> Result<(), DbError> {
        self.client
            .pg()
            .batch_execute(sql)
            .await
            .map_err(DbError::from)
    }

    /// Runs one statement, streaming `COPY … FROM stdin` data.
    async fn statement(&self, s: &Statement<'_>) -> Result<(), DbError> {
        match s.copy_data() {
            None => self.exec(s.sql()).await,
            Some(data) => {
                let sink = self
                    .client
                    .pg()
                    .copy_in::<_, Bytes>(s.sql())
                    .await
                    .map_err(DbError::from)?;
                futures_util::pin_mut!(sink);
                sink.send(Bytes::copy_from_slice(data.as_bytes()))
                    .await
                    .map_err(DbError::from)?;
                sink.finish().await.map_err(DbError::from).map(|_| ())
            }
        }
    }

    fn statement_error(
        &self,
        p: &Prepared,
        s: &Statement,
        error: DbError,
        rolled_back: bool,
    ) -> ApplyError {
        // The server's position points into the statement: report the line it falls on.
        let within = error
            .position
            .and_then(|pos| {
                let sql = s.sql();
                let end = sql.char_indices().nth(pos.saturating_sub(1) as usize)?.0;
                Some(sql[..end].matches('\n').count())
            })
            .unwrap_or(0);
        ApplyError::Statement {
            label: p.migration.label(),
            path: p.script.path.clone(),
            line: s.start_line() + p.script.first_line - 1 + within,
            statement: s
                .sql()
                .lines()
                .next()
                .unwrap_or_default()
                .trim()
                .chars()
                .take(100)
                .collect(),
            error: Box::new(error),
            rolled_back,
            attempts: 0,
        }
    }

    /// One migration in one transaction with its history rows.
    async fn in_transaction(&self, p: &Prepared<'a>) -> Result<Done, ApplyError> {
        let started = Instant::now();
        self.exec(&format!("BEGIN;{}", self.timeouts("LOCAL")))
            .await
            .map_err(ApplyError::History)?;
        let result = self.body(p, started).await;
        match result {
            Ok(()) => match self.exec("COMMIT").await {
                Ok(()) => Ok(self.done(p, started, true)),
                Err(e) => {
                    // A deferred constraint fails at COMMIT: blame the last statement.
                    let last = p.statements.last();
                    Err(match last {
                        Some(s) => self.statement_error(p, s, e, true),
                        None => ApplyError::History(e),
                    })
                }
            },
            Err(e) => {
                let _ = self.exec("ROLLBACK").await;
                Err(e)
            }
        }
    }

    /// The statements and the history rows, inside a transaction someone else opened.
    async fn body(&self, p: &Prepared<'a>, started: Instant) -> Result<(), ApplyError> {
        for s in &p.statements {
            self.statement(s)
                .await
                .map_err(|e| self.statement_error(p, s, e, true))?;
        }
        let run = self.run_record(p, started, p.statements.len(), None);
        self.exec(&self.finished_sql(p, &run))
            .await
            .map_err(ApplyError::History)
    }

    fn done(&self, p: &Prepared, started: Instant, transactional: bool) -> Done {
        Done {
            label: p.migration.label(),
            path: p.script.path.clone(),
            direction: p.direction,
            duration: started.elapsed(),
            statements: p.statements.len(),
            transactional,
            retries: 0,
        }
    }

    /// Every migration in one transaction (`--tx-mode all`).
    async fn all_in_one(&self, prepared: &[Prepared<'a>]) -> Result<Vec<Done>, ApplyError> {
        self.exec(&format!("BEGIN;{}", self.timeouts("LOCAL")))
            .await
            .map_err(ApplyError::History)?;
        let mut done = Vec::new();
        for p in prepared {
            let started = Instant::now();
            if let Err(e) = self.body(p, started).await {
                let _ = self.exec("ROLLBACK").await;
                return Err(e);
            }
            done.push(self.done(p, started, true));
        }
        self.exec("COMMIT").await.map_err(ApplyError::History)?;
        Ok(done)
    }

    /// A migration that cannot run in one transaction: statement by statement, recorded
    /// dirty first and clean at the end.
    async fn alone(&self, p: &Prepared<'a>) -> Result<Done, ApplyError> {
        let started = Instant::now();
        self.exec(&self.timeouts("SESSION"))
            .await
            .map_err(ApplyError::History)?;
        let result = self.alone_inner(p, started).await;
        let _ = self
            .exec("RESET lock_timeout; RESET statement_timeout")
            .await;
        result
    }

    async fn alone_inner(&self, p: &Prepared<'a>, started: Instant) -> Result<Done, ApplyError> {
        self.mark_dirty(p, started, 0, None).await?;
        for (i, s) in p.statements.iter().enumerate() {
            let index_build = cannot_run_in_transaction(s.sql()).filter(|c| {
                matches!(
                    c,
                    NonTransactional::CreateIndexConcurrently
                        | NonTransactional::ReindexConcurrently
                )
            });
            let invalid_before = if index_build.is_some() {
                self.invalid_indexes().await.map_err(ApplyError::History)?
            } else {
                Vec::new()
            };
            let outcome = self.alone_statement(p, s, index_build.is_none()).await;
            if let Some(command) = index_build {
                let now = self.invalid_indexes().await.map_err(ApplyError::History)?;
                let new: Vec<String> = now
                    .into_iter()
                    .filter(|i| !invalid_before.contains(i))
                    .collect();
                if !new.is_empty() {
                    let err = ApplyError::InvalidIndex {
                        label: p.migration.label(),
                        path: p.script.path.clone(),
                        line: s.start_line() + p.script.first_line - 1,
                        command,
                        indexes: new,
                    };
                    self.mark_dirty(p, started, i, Some(err.to_string()))
                        .await?;
                    return Err(err);
                }
            }
            if let Err(e) = outcome {
                // A migration's own transaction may be open and aborted.
                let _ = self.exec("ROLLBACK").await;
                self.mark_dirty(p, started, i, Some(e.to_string())).await?;
                return Err(e);
            }
            self.mark_dirty(p, started, i + 1, None).await?;
        }
        let run = self.run_record(p, started, p.statements.len(), None);
        self.exec(&format!("BEGIN;\n{}\nCOMMIT;", self.finished_sql(p, &run)))
            .await
            .map_err(ApplyError::History)?;
        Ok(self.done(p, started, false))
    }

    /// One statement on its own, retried after lock timeouts when `retry` (an index build
    /// that timed out leaves an invalid index behind, so it is not retried).
    async fn alone_statement(
        &self,
        p: &Prepared<'a>,
        s: &Statement<'a>,
        retry: bool,
    ) -> Result<(), ApplyError> {
        let mut wait = self.options.backoff;
        let mut tries = 0;
        loop {
            match self.statement(s).await {
                Ok(()) => return Ok(()),
                Err(e)
                    if retry
                        && e.sqlstate == LOCK_NOT_AVAILABLE
                        && tries < self.options.retries =>
                {
                    tries += 1;
                    tracing::warn!(
                        "{}:{}: lock timeout; retry {tries} of {} in {} ms",
                        p.script.path,
                        s.start_line() + p.script.first_line - 1,
                        self.options.retries,
                        wait.as_millis()
                    );
                    tokio::time::sleep(wait).await;
                    wait = wait.saturating_mul(2);
                }
                Err(e) => {
                    let mut err = self.statement_error(p, s, e, false);
                    if let ApplyError::Statement { attempts, .. } = &mut err {
                        *attempts = tries + 1;
                    }
                    return Err(err);
                }
            }
        }
    }

    /// Records the migration as dirty with the first `ran` statements (and the error).
    async fn mark_dirty(
        &self,
        p: &Prepared<'a>,
        started: Instant,
        ran: usize,
        error: Option<String>,
    ) -> Result<(), ApplyError> {
        let run = self.run_record(p, started, ran, error);
        let mut sql = String::from("BEGIN;\n");
        // The tool's own dirty mark only once, before anything ran.
        if ran == 0 {
            if let Some(s) = self.history.record_dirty(&run) {
                sql.push_str(&s);
                sql.push('\n');
            }
        }
        let audit = self.audit.unwrap_or(self.history);
        if self.audit.is_some() || ran > 0 {
            if let Some(s) = audit.record_dirty(&run) {
                sql.push_str(&s);
                sql.push('\n');
            }
        }
        sql.push_str("COMMIT;");
        self.exec(&sql).await.map_err(ApplyError::History)
    }

    /// Invalid indexes in the database, as qualified names.
    async fn invalid_indexes(&self) -> Result<Vec<String>, DbError> {
        let rows = self
            .client
            .pg()
            .query(
                "SELECT indexrelid::regclass::text FROM pg_index WHERE NOT indisvalid ORDER BY 1",
                &[],
            )
            .await?;
        Ok(rows.iter().map(|r| r.get(0)).collect())
    }
}

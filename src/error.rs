//! The top-level error, and the one exit-code table.
//!
//! | code | meaning |
//! |-----:|---------|
//! | 0 | success |
//! | 1 | finding: differences, drift, a policy that blocks (not an error) |
//! | 2 | usage or configuration error (flags, config file, URL syntax, missing tools) |
//! | 3 | cannot connect or authenticate |
//! | 4 | a migration failed: rolled back, or (non-transactional) recorded dirty |
//! | 5 | history conflict (checksum mismatch, dirty, missing migration) |
//! | 6 | backup, restore or verification failure |
//! | 7 | lock not acquired in time |
//! | 8 | rollback failed: a human is needed |
//! | 101 | bug in pgkeel |
//!
//! `pgkeel sandbox run -- CMD` exits with CMD's own status.

use crate::backup::BackupError;
use crate::catalog::{CatalogError, SnapshotError};
use crate::config::ConfigError;
use crate::github::environment::ProtectionError;
use crate::migrations::apply::ApplyError;
use crate::migrations::command::CommandError;
use crate::migrations::history::HistoryError;
use crate::migrations::lock::LockError;
use crate::migrations::status::{Entry, State};
use crate::migrations::LoadError;
use crate::notify::SetupError as NotifySetupError;
use crate::pg::{ConnSpecError, ConnectError, DbError};
use crate::plan::Refusal;
use crate::restore::RestoreError;
use crate::sandbox::SandboxError;

/// Process exit codes. See the module docs for the table.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ExitCode {
    Success,
    Finding,
    Usage,
    Connect,
    MigrationFailed,
    HistoryConflict,
    BackupFailed,
    LockTimeout,
    RollbackFailed,
    Bug,
}

impl ExitCode {
    pub fn code(self) -> u8 {
        match self {
            ExitCode::Success => 0,
            ExitCode::Finding => 1,
            ExitCode::Usage => 2,
            ExitCode::Connect => 3,
            ExitCode::MigrationFailed => 4,
            ExitCode::HistoryConflict => 5,
            ExitCode::BackupFailed => 6,
            ExitCode::LockTimeout => 7,
            ExitCode::RollbackFailed => 8,
            ExitCode::Bug => 101,
        }
    }
}

/// What a command that did not fail found.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    /// Nothing to report beyond success.
    Clean,
    /// A finding the user asked to fail on (drift, breaking change, missing schema).
    Finding,
    /// The report was printed, and the history needs attention (exit 5).
    Conflict,
    /// Exit with a child process's status (`sandbox run`).
    Passthrough(u8),
}

/// Everything that can stop a command.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error(transparent)]
    ConnSpec(#[from] ConnSpecError),
    #[error(transparent)]
    Connect(#[from] ConnectError),
    #[error("{context}: {source}")]
    Query {
        context: &'static str,
        source: DbError,
    },
    // Boxed: the largest error would otherwise bloat every `Result` in the crate.
    #[error(transparent)]
    Sandbox(Box<SandboxError>),
    #[error(transparent)]
    Config(#[from] ConfigError),
    #[error(transparent)]
    Catalog(#[from] CatalogError),
    #[error(transparent)]
    Snapshot(#[from] SnapshotError),
    #[error("{} change{} cannot be migrated automatically: {}", .0.len(), if .0.len() == 1 { "" } else { "s" }, .0.iter().map(|r| r.to_string()).collect::<Vec<_>>().join("; "))]
    Refused(Vec<Refusal>),
    #[error(transparent)]
    Load(#[from] LoadError),
    #[error(transparent)]
    History(#[from] HistoryError),
    #[error("{}", conflict_message(.0))]
    HistoryConflict(Vec<Entry>),
    #[error(transparent)]
    Lock(#[from] LockError),
    #[error(transparent)]
    Apply(Box<ApplyError>),
    #[error(transparent)]
    Command(Box<CommandError>),
    #[error(transparent)]
    Notify(#[from] NotifySetupError),
    #[error("`pgkeel {command}` is not available yet in this version")]
    NotAvailable { command: &'static str },
    #[error("{message}")]
    Usage {
        message: String,
        hint: Option<String>,
    },
    #[error("cannot run `{program}`: {source}")]
    Spawn {
        program: String,
        source: std::io::Error,
    },
    #[error("cannot write output: {0}")]
    Output(#[source] std::io::Error),
    #[error(transparent)]
    Backup(Box<BackupError>),
    #[error(transparent)]
    Restore(Box<RestoreError>),
    /// A restore failed after the target was touched; says what was done about it.
    #[error("{message}")]
    RestoreFailed {
        message: String,
        hint: String,
        /// The target was put back from the safety backup and verified (else: a human is needed).
        rolled_back: bool,
    },
    #[error(transparent)]
    Protection(#[from] crate::github::environment::ProtectionError),
    #[error(transparent)]
    Publish(#[from] crate::report::actions::PublishError),
}

impl From<BackupError> for Error {
    fn from(e: BackupError) -> Self {
        Error::Backup(Box::new(e))
    }
}

impl From<RestoreError> for Error {
    fn from(e: RestoreError) -> Self {
        Error::Restore(Box::new(e))
    }
}

impl From<crate::analysis::replay::ReplayError> for Error {
    fn from(e: crate::analysis::replay::ReplayError) -> Self {
        match e {
            crate::analysis::replay::ReplayError::Catalog(c) => Error::Catalog(c),
            crate::analysis::replay::ReplayError::Apply(a) => Error::Apply(a),
        }
    }
}

impl From<SandboxError> for Error {
    fn from(e: SandboxError) -> Self {
        Error::Sandbox(Box::new(e))
    }
}

impl Error {
    /// The exit code, by the table in the module docs. Exhaustive on purpose: a new error kind
    /// must decide its code here.
    pub fn exit_code(&self) -> ExitCode {
        match self {
            Error::ConnSpec(_) => ExitCode::Usage,
            Error::Connect(_) => ExitCode::Connect,
            Error::Query { .. } => ExitCode::Connect,
            Error::Sandbox(e) if matches!(**e, SandboxError::Connect(_)) => ExitCode::Connect,
            Error::Sandbox(_) => ExitCode::Usage,
            Error::Config(_) => ExitCode::Usage,
            Error::Catalog(_) => ExitCode::Connect,
            Error::Snapshot(_) => ExitCode::Usage,
            Error::Refused(_) => ExitCode::Usage,
            Error::Load(_) => ExitCode::Usage,
            Error::History(_) => ExitCode::HistoryConflict,
            Error::HistoryConflict(_) => ExitCode::HistoryConflict,
            Error::Lock(LockError::Timeout { .. }) => ExitCode::LockTimeout,
            Error::Lock(LockError::Db(_)) => ExitCode::Connect,
            Error::Apply(_) => ExitCode::MigrationFailed,
            Error::Command(e) => match **e {
                CommandError::Spawn { .. } => ExitCode::Usage,
                CommandError::Failed { .. } => ExitCode::MigrationFailed,
            },
            Error::Notify(_) => ExitCode::Usage,
            Error::NotAvailable { .. } => ExitCode::Usage,
            Error::Usage { .. } => ExitCode::Usage,
            Error::Spawn { .. } => ExitCode::Usage,
            Error::Output(_) => ExitCode::Bug,
            Error::Backup(e) if e.is_usage() => ExitCode::Usage,
            Error::Backup(e) if matches!(**e, BackupError::Connect(_)) => ExitCode::Connect,
            Error::Backup(_) => ExitCode::BackupFailed,
            Error::Restore(e) if e.is_usage() => ExitCode::Usage,
            Error::Restore(e) if matches!(**e, RestoreError::Connect(_)) => ExitCode::Connect,
            Error::Restore(_) => ExitCode::BackupFailed,
            Error::RestoreFailed {
                rolled_back: true, ..
            } => ExitCode::BackupFailed,
            Error::RestoreFailed { .. } => ExitCode::RollbackFailed,
            // A missing or unprotected environment is a policy that blocks; an API that cannot
            // be asked is a connection failure; no environment named is a usage error.
            Error::Protection(e) => match e {
                ProtectionError::Missing { .. }
                | ProtectionError::NoReviewers { .. }
                | ProtectionError::TooFewReviewers { .. } => ExitCode::Finding,
                ProtectionError::Api { .. } => ExitCode::Connect,
                ProtectionError::NoEnvironment | ProtectionError::NotInActions => ExitCode::Usage,
            },
            Error::Publish(_) => ExitCode::Usage,
        }
    }

    /// What to do about it, when we know.
    pub fn hint(&self) -> Option<String> {
        match self {
            Error::ConnSpec(e) => Some(e.hint().to_string()),
            Error::Connect(e) => e.hint(),
            Error::Query { source, .. } => source.hint.clone(),
            Error::Sandbox(e) => e.hint(),
            Error::Config(e) => e.hint(),
            Error::Catalog(_) => Some("the role needs read access to the system catalogs (any role has it by default)".into()),
            Error::Snapshot(_) => Some("create a snapshot with `pgkeel inspect --database-url URL > schema.json`".into()),
            Error::Refused(_) => Some("write a migration for these objects yourself, or see `--format human` for the full comparison".into()),
            Error::Load(e) => e.hint(),
            Error::History(_) => Some("the table does not look like the tool writes it: check --tool".into()),
            Error::HistoryConflict(entries) => Some(conflict_hint(entries)),
            Error::Lock(LockError::Timeout { .. }) => Some("wait for the other run to finish, or raise --lock-wait; a crashed runner's lock ends with its session".into()),
            Error::Lock(LockError::Db(e)) => e.hint.clone(),
            Error::Apply(e) => e.hint(),
            Error::Command(e) => e.hint(),
            Error::Notify(e) => e.hint(),
            Error::NotAvailable { .. } => {
                Some("see `pgkeel --help` for the commands this version provides".to_string())
            }
            Error::Usage { hint, .. } => hint.clone(),
            Error::Spawn { .. } => Some("check that the program exists and is on PATH".into()),
            Error::Output(_) => None,
            Error::Backup(e) => e.hint(),
            Error::Restore(e) => e.hint(),
            Error::RestoreFailed { hint, .. } => Some(hint.clone()),
            Error::Protection(e) => e.hint(),
            Error::Publish(e) => e.hint(),
        }
    }

    /// The message with each distinct cause appended, scrubbed of secrets: what the user reads
    /// on stderr and what a failure notification says.
    pub fn full_message(&self) -> String {
        let mut message = self.to_string();
        let mut source = std::error::Error::source(self);
        while let Some(cause) = source {
            let text = cause.to_string();
            if !message.contains(&text) {
                message.push_str(": ");
                message.push_str(&text);
            }
            source = cause.source();
        }
        crate::secret::scrub(&message)
    }

    pub fn usage(message: impl Into<String>) -> Error {
        Error::Usage {
            message: message.into(),
            hint: None,
        }
    }
}

fn conflict_message(entries: &[Entry]) -> String {
    let parts: Vec<String> = entries
        .iter()
        .map(|e| {
            let what = match &e.state {
                State::Edited { recorded, on_disk } => format!(
                    "edited after it was applied (recorded checksum {recorded}, file now {on_disk})"
                ),
                State::Dirty => "dirty: it started and did not finish".to_string(),
                State::Missing => "applied, but its file is gone".to_string(),
                State::OutOfOrder => "pending, but a later version is already applied".to_string(),
                State::Applied | State::Pending => e.state.name().to_string(),
            };
            let path = e
                .path
                .as_deref()
                .map(|p| format!(" ({p})"))
                .unwrap_or_default();
            format!(
                "{}{}{path}: {what}",
                e.version,
                if e.name.is_empty() {
                    String::new()
                } else {
                    format!("_{}", e.name)
                }
            )
        })
        .collect();
    format!(
        "migration history conflict{}: {}",
        if entries.len() == 1 { "" } else { "s" },
        parts.join("; ")
    )
}

fn conflict_hint(entries: &[Entry]) -> String {
    let first = entries.first();
    match first.map(|e| &e.state) {
        Some(State::Edited { .. }) => "restore the applied file from git (a change needs a new migration), or if the edit is deliberate record it with `pgkeel migrate resolve --applied VERSION`".into(),
        Some(State::Dirty) => "check what the migration left behind (`pgkeel status` lists the statements that ran), fix it by hand, then `pgkeel migrate resolve --applied VERSION` or `--rolled-back VERSION`".into(),
        Some(State::Missing) => "restore the file from git, or `pgkeel migrate resolve --rolled-back VERSION` if its changes are gone".into(),
        Some(State::OutOfOrder) => "give the migration a version after the newest applied one, or pass --allow-out-of-order".into(),
        _ => "see `pgkeel status`".into(),
    }
}

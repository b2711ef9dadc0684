//! Restores: find the backup and check every file's SHA-256 ([`fetch`]), check the
//! confirmation and that the target is the database named ([`target`]), load the dump with
//! errors fatal ([`load`]) by one of two strategies — `replace` (empty the target, then
//! restore into it) or `swap` (restore into a new database, then swap names) — and verify row
//! counts and schema against the manifest. The command (`commands::restore`) strings these
//! together with the safety backup, migrations and the automatic way back.

pub mod archive;
pub mod fetch;
pub mod load;
pub mod parallel_copy;
pub mod target;

use crate::backup::manifest::ManifestError;
use crate::pg::tools::ToolNotFound;
use crate::pg::{ConnectError, DbError};
use crate::storage::StorageError;

/// How the target is replaced.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Strategy {
    /// Drop everything in the target (what the backup lacks included), then restore into it
    /// with `--clean --if-exists`.
    Replace,
    /// Restore into a new database, verify it, then rename: the old database is kept.
    Swap,
}

impl Strategy {
    pub fn name(self) -> &'static str {
        match self {
            Strategy::Replace => "replace",
            Strategy::Swap => "swap",
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum RestoreError {
    #[error("refusing to restore: --confirm must be {expected} (got {})", given.as_deref().map(|g| format!("`{g}`")).unwrap_or_else(|| "nothing".into()))]
    Unconfirmed {
        expected: String,
        given: Option<String>,
    },
    #[error(
        "refusing to restore: the target connection reaches database `{actual}`, not `{named}`"
    )]
    WrongTarget { named: String, actual: String },
    #[error("{what}")]
    NotFound { what: String },
    #[error("no manifest at {location}: the backup is incomplete (interrupted or still being written) or this is not a pgkeel backup")]
    NoManifest { location: String },
    #[error(transparent)]
    Manifest(#[from] ManifestError),
    #[error("{location} is listed in the manifest but missing")]
    MissingFile { location: String },
    #[error("checksum mismatch for {file}: expected SHA-256 {expected} ({expected_size} bytes), found {actual} ({actual_size} bytes)")]
    Checksum {
        file: String,
        expected: String,
        actual: String,
        expected_size: u64,
        actual_size: u64,
    },
    #[error(transparent)]
    Storage(#[from] StorageError),
    #[error("{path} is damaged: {reason}")]
    Corrupt { path: String, reason: String },
    #[error("cannot {action} {path}: {source}")]
    Io {
        action: &'static str,
        path: String,
        source: std::io::Error,
    },
    #[error("cannot run `{program}`: {source}")]
    Spawn {
        program: String,
        source: std::io::Error,
    },
    #[error("{program} failed ({status}): {stderr}")]
    LoadFailed {
        program: String,
        status: String,
        stderr: String,
    },
    #[error("{0}")]
    ToolNotFound(#[from] ToolNotFound),
    #[error(transparent)]
    Connect(#[from] ConnectError),
    #[error("loading the rows of {table} failed: {source}")]
    CopyFailed { table: String, source: Box<DbError> },
    #[error("cannot load the table data pg_restore printed: {reason}")]
    DataStream { reason: String },
    #[error("{context}: {source}")]
    Query {
        context: &'static str,
        source: DbError,
    },
}

impl RestoreError {
    pub fn hint(&self) -> Option<String> {
        match self {
            RestoreError::Unconfirmed { .. } => Some("restore replaces the target's data: pass --confirm with the target database's name to proceed; nothing was touched".into()),
            RestoreError::WrongTarget { .. } => Some("check the connection URL (a pooler may route to another database); nothing was touched".into()),
            RestoreError::NotFound { .. } => Some("`pgkeel backup list --from DIR|s3://…` shows the backups there; pass --backups to say where `latest` and ids are looked up".into()),
            RestoreError::NoManifest { .. } => Some("restore a complete backup (`pgkeel backup list` shows them); nothing was touched".into()),
            RestoreError::Manifest(_) => Some("the manifest was damaged or written by another tool; nothing was touched".into()),
            RestoreError::MissingFile { .. } | RestoreError::Checksum { .. } | RestoreError::Corrupt { .. } => Some("the backup is damaged: restore another one (`pgkeel backup list`); nothing was touched".into()),
            RestoreError::Storage(e) => e.hint(),
            RestoreError::Io { .. } => None,
            RestoreError::Spawn { .. } => Some("check that the PostgreSQL client programs are installed, or set PGKEEL_PG_BIN".into()),
            RestoreError::LoadFailed { .. } => Some("the program's own message is above".into()),
            RestoreError::ToolNotFound(e) => Some(e.hint()),
            RestoreError::Connect(e) => e.hint(),
            RestoreError::Query { source, .. } => source.hint.clone(),
            RestoreError::CopyFailed { source, .. } => source.hint.clone().or_else(|| Some("the table as restored does not accept the backup's rows (an extension or a role missing on this server?): fix the cause, then restore again".into())),
            RestoreError::DataStream { .. } => Some("the archive's data section holds more than COPY data: restore it with --jobs 1, which hands the whole archive to pg_restore".into()),
        }
    }

    /// Refused before touching anything because of what the user asked (exit 2).
    pub fn is_usage(&self) -> bool {
        matches!(
            self,
            RestoreError::Unconfirmed { .. }
                | RestoreError::WrongTarget { .. }
                | RestoreError::NotFound { .. }
                | RestoreError::ToolNotFound(_)
                | RestoreError::Storage(StorageError::BadLocation { .. })
        )
    }
}

//! Throwaway PostgreSQL servers ("sandboxes") and scratch databases inside them.
//!
//! A [`Cluster`] is a private server on a free loopback port with trust authentication, its
//! own socket directory and durability switched off for speed. Its data directory is copied
//! from a per-version template that is initdb'd once and cached ([`template`]), which is what
//! makes start-up fast. When pgkeel runs as root (containers, CI) the server runs as an
//! unprivileged user instead of failing ([`run_as`]). A cluster is removed when dropped, on
//! panic, on Ctrl-C and even when pgkeel is killed: a tiny watchdog process notices the parent is
//! gone and cleans up. Detached sandboxes (`pgkeel sandbox start`) outlive the process and are
//! tracked by name in [`registry`].
//!
//! Used by the test harness, `pgkeel sandbox`, and by every command that replays migrations.

mod cluster;
pub mod registry;
pub mod run_as;
pub mod scratch;
pub mod template;
pub mod workspace;

use std::path::PathBuf;

pub use cluster::{Cluster, SandboxOptions};
pub use workspace::Workspace;

use crate::pg::tools::ToolNotFound;

/// Why a sandbox could not be started, found or stopped.
#[derive(Debug, thiserror::Error)]
pub enum SandboxError {
    #[error(transparent)]
    ToolNotFound(#[from] ToolNotFound),
    #[error("cannot {action} {}: {source}", path.display())]
    Io {
        action: &'static str,
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("initdb failed for {}: {output}", data_dir.display())]
    Initdb { data_dir: PathBuf, output: String },
    #[error("postgres exited during start-up: {log_tail}")]
    StartFailed { log_tail: String },
    #[error("postgres was not ready after {seconds}s: {log_tail}")]
    NotReady { seconds: u64, log_tail: String },
    #[error("port {port} is already in use on 127.0.0.1")]
    PortInUse { port: u16 },
    #[error("data directory {} was created by PostgreSQL {found}, but PostgreSQL {wanted} was requested", path.display())]
    DataDirVersion {
        path: PathBuf,
        found: String,
        wanted: u32,
    },
    #[error("no sandbox named `{name}` is running")]
    NotRunning { name: String },
    #[error("a sandbox named `{name}` is already running at {url}")]
    AlreadyRunning { name: String, url: String },
    #[error("sandbox state file {} is unreadable: {reason}", path.display())]
    BadState { path: PathBuf, reason: String },
    #[error(transparent)]
    Connect(#[from] crate::pg::ConnectError),
    #[error("scratch database `{name}`: {source}")]
    Scratch {
        name: String,
        source: Box<crate::pg::DbError>,
    },
}

impl SandboxError {
    pub fn hint(&self) -> Option<String> {
        match self {
            SandboxError::ToolNotFound(e) => Some(e.hint()),
            SandboxError::PortInUse { .. } => {
                Some("pick another --port, or omit it to use a free one".into())
            }
            SandboxError::DataDirVersion { wanted, .. } => Some(format!(
                "use an empty --data-dir for PostgreSQL {wanted}, or omit --pg-version to reuse this one"
            )),
            SandboxError::NotRunning { .. } => {
                Some("start one with `pgkeel sandbox start`; `pgkeel sandbox status` lists them".into())
            }
            SandboxError::AlreadyRunning { name, .. } => Some(format!(
                "stop it with `pgkeel sandbox stop --name {name}` or use another --name"
            )),
            SandboxError::BadState { path, .. } => Some(format!(
                "remove {} after making sure no such server is running",
                path.display()
            )),
            SandboxError::Connect(e) => e.hint(),
            SandboxError::StartFailed { .. } | SandboxError::NotReady { .. } => Some(
                "the lines above are the end of the server log; set PGKEEL_PG_BIN to use other PostgreSQL binaries".into(),
            ),
            _ => None,
        }
    }
}

fn io_err(
    action: &'static str,
    path: impl Into<PathBuf>,
) -> impl FnOnce(std::io::Error) -> SandboxError {
    let path = path.into();
    move |source| SandboxError::Io {
        action,
        path,
        source,
    }
}

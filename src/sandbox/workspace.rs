//! A place to replay migrations: a throwaway [`Cluster`] started for the purpose (the
//! embedded default), or a server the user points at (`--sandbox-url`: a CI `services:`
//! container, a shadow database server) on which pgkeel may create and drop scratch databases.
//! Every scratch database a workspace creates is dropped by [`Workspace::cleanup`]; a cluster
//! goes away with the workspace.

use std::sync::atomic::{AtomicU32, Ordering};

use super::{scratch, Cluster, SandboxError, SandboxOptions};
use crate::pg::{self, ConnSpec};

enum Server {
    Cluster(Cluster),
    External(ConnSpec),
}

/// Where scratch databases are made.
pub struct Workspace {
    server: Server,
    created: std::sync::Mutex<Vec<String>>,
}

impl Workspace {
    /// Starts a throwaway cluster.
    ///
    /// # Errors
    ///
    /// When no PostgreSQL server binaries are installed or the server does not start.
    pub fn start(opts: &SandboxOptions) -> Result<Workspace, SandboxError> {
        Ok(Workspace {
            server: Server::Cluster(Cluster::start(opts)?),
            created: std::sync::Mutex::new(Vec::new()),
        })
    }

    /// `url`'s server when given, else a throwaway cluster started off the async runtime.
    ///
    /// # Errors
    ///
    /// When the cluster cannot start.
    pub async fn open(
        url: Option<&ConnSpec>,
        opts: &SandboxOptions,
    ) -> Result<Workspace, SandboxError> {
        match url {
            Some(spec) => Ok(Workspace::external(spec.clone())),
            None => {
                let opts = opts.clone();
                tokio::task::spawn_blocking(move || Workspace::start(&opts))
                    .await
                    .unwrap_or_else(|e| {
                        Err(SandboxError::StartFailed {
                            log_tail: format!("start-up thread failed: {e}"),
                        })
                    })
            }
        }
    }

    /// Uses an existing server (its maintenance database in `spec`).
    pub fn external(spec: ConnSpec) -> Workspace {
        Workspace {
            server: Server::External(spec),
            created: std::sync::Mutex::new(Vec::new()),
        }
    }

    fn admin(&self) -> ConnSpec {
        match &self.server {
            Server::Cluster(c) => c.conn_spec(),
            Server::External(spec) => spec.clone(),
        }
    }

    /// The server's major version.
    ///
    /// # Errors
    ///
    /// When it cannot be reached.
    pub async fn server_major(&self) -> Result<u32, SandboxError> {
        let admin = pg::connect(&self.admin()).await?;
        let v = admin
            .server_version_num()
            .await
            .map_err(|e| SandboxError::Scratch {
                name: self.admin().dbname,
                source: Box::new(e),
            })?;
        Ok(v / 10000)
    }

    /// Creates a fresh database (a copy of `template` when given) and returns how to reach it.
    ///
    /// # Errors
    ///
    /// When the server refuses.
    pub async fn create(
        &self,
        purpose: &str,
        template: Option<&str>,
    ) -> Result<ConnSpec, SandboxError> {
        static COUNTER: AtomicU32 = AtomicU32::new(0);
        let name = format!(
            "pgkeel_{purpose}_{}_{}",
            std::process::id(),
            COUNTER.fetch_add(1, Ordering::SeqCst)
        );
        let admin = pg::connect(&self.admin()).await?;
        scratch::create(&admin, &name, template).await?;
        if let Ok(mut c) = self.created.lock() {
            c.push(name.clone());
        }
        Ok(self.admin().with_dbname(&name))
    }

    /// Drops every database this workspace created. Errors are logged: cleanup must not hide
    /// the result of the work.
    pub async fn cleanup(&self) {
        let names: Vec<String> = self
            .created
            .lock()
            .map(|mut c| std::mem::take(&mut *c))
            .unwrap_or_default();
        if names.is_empty() {
            return;
        }
        match pg::connect(&self.admin()).await {
            Ok(admin) => {
                for name in names {
                    if let Err(e) = scratch::drop(&admin, &name).await {
                        tracing::warn!("cannot drop scratch database {name}: {e}");
                    }
                }
            }
            Err(e) => tracing::warn!("cannot drop scratch databases: {e}"),
        }
    }
}

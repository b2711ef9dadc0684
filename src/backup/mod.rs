//! Backups: the right pg_dump for the server, one consistent snapshot shared by pg_dump and
//! our own measurements, the dump streamed through SHA-256 and compression to storage, a
//! verification (list or a real test restore), and the manifest written last.
//!
//! ```text
//! connect → server version → pg_dump ≥ server major (else fail before starting)
//!   → BEGIN REPEATABLE READ; pg_export_snapshot()
//!       ├─ pg_dump --snapshot … | compress | sha256 | store      (a blocking thread)
//!       └─ count(*) per table, catalog, roles                     (same snapshot)
//!   → schema.json → verify (restore into a sandbox, compare) → manifest.json (commit marker)
//! ```
//!
//! Knows nothing of the command line or terminals: progress goes through [`Progress`].

pub mod compress;
pub mod dump;
pub mod id;
pub mod manifest;
pub mod retention;
pub mod snapshot;
pub mod verify;

use std::sync::Arc;
use std::time::Instant;

use crate::pg::tools::{self, Installed, Requirement, Tool, ToolNotFound};
use crate::pg::{self, ConnSpec, ConnectError, DbError};
use crate::restore::RestoreError;
use crate::sandbox::SandboxError;
use crate::storage::{StorageError, Store, MANIFEST};

use compress::Compression;
use id::Stamp;
use manifest::{DumpFormat, FileEntry, Kind, Manifest, Provenance, Status, Verification};

/// The name of the schema snapshot stored beside the dump.
pub const SCHEMA_FILE: &str = "schema.json";

/// Progress of long work, reported by the domain and rendered elsewhere.
pub trait Progress: Send + Sync {
    /// A new phase (`dump`, `upload`, `restore`), with the expected bytes when known.
    fn phase(&self, name: &str, total: Option<u64>);
    fn advance(&self, bytes: u64);
    /// Sets the count (for work measured by polling).
    fn set(&self, bytes: u64);
    /// The phase ended.
    fn done(&self);
}

/// Reports nothing.
pub struct NoProgress;

impl Progress for NoProgress {
    fn phase(&self, _: &str, _: Option<u64>) {}
    fn advance(&self, _: u64) {}
    fn set(&self, _: u64) {}
    fn done(&self) {}
}

/// How a backup is checked before its manifest is written.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum VerifyMode {
    None,
    /// `pg_restore --list` reads the archive's table of contents (plain: the dump's trailer).
    List,
    /// Restore into a throwaway server and compare row counts and schema with the manifest.
    Restore,
}

impl VerifyMode {
    pub fn name(self) -> &'static str {
        match self {
            VerifyMode::None => "none",
            VerifyMode::List => "list",
            VerifyMode::Restore => "restore",
        }
    }
}

pub struct BackupOptions {
    pub format: DumpFormat,
    pub compression: Compression,
    /// pg_dump/pg_restore parallel jobs (directory format; restore verification).
    pub jobs: u32,
    pub verify: VerifyMode,
    pub kind: Kind,
    pub provenance: Provenance,
}

/// Why a backup failed.
#[derive(Debug, thiserror::Error)]
pub enum BackupError {
    #[error(transparent)]
    Connect(#[from] ConnectError),
    #[error("{context}: {source}")]
    Query {
        context: &'static str,
        source: DbError,
    },
    #[error("{0}")]
    ToolNotFound(#[from] ToolNotFound),
    #[error("{what}")]
    Unsupported { what: String, hint: String },
    #[error("cannot run `{program}`: {source}")]
    Spawn {
        program: String,
        source: std::io::Error,
    },
    #[error("pg_dump failed ({status}): {stderr}")]
    DumpFailed { status: String, stderr: String },
    #[error("compression failed: {0}")]
    Compress(String),
    #[error(transparent)]
    Storage(#[from] StorageError),
    #[error("cannot read the schema in the dump's snapshot: {0}")]
    Measure(#[from] snapshot::MeasureError),
    #[error("verification of backup {id} failed: {}", problems.join("; "))]
    VerificationFailed {
        id: String,
        manifest: String,
        problems: Vec<String>,
    },
    #[error("cannot verify the backup: {0}")]
    VerifyUnavailable(String),
    #[error(transparent)]
    Sandbox(Box<SandboxError>),
    #[error("verification restore failed: {0}")]
    Restore(Box<RestoreError>),
}

impl From<SandboxError> for BackupError {
    fn from(e: SandboxError) -> Self {
        BackupError::Sandbox(Box::new(e))
    }
}

impl From<RestoreError> for BackupError {
    fn from(e: RestoreError) -> Self {
        BackupError::Restore(Box::new(e))
    }
}

impl BackupError {
    pub fn hint(&self) -> Option<String> {
        match self {
            BackupError::Connect(e) => e.hint(),
            BackupError::Query { source, .. } => source.hint.clone().or_else(|| {
                Some("the role needs SELECT on every table (pg_dump reads them all)".into())
            }),
            BackupError::ToolNotFound(e) => Some(e.hint()),
            BackupError::Unsupported { hint, .. } => Some(hint.clone()),
            BackupError::Spawn { .. } => Some("check that the PostgreSQL client programs are installed and executable, or set PGKEEL_PG_BIN".into()),
            BackupError::DumpFailed { .. } => Some("pg_dump's own message is above; nothing that looks like a complete backup was left".into()),
            BackupError::Compress(_) => None,
            BackupError::Storage(e) => e.hint(),
            BackupError::Measure(_) => Some("the role needs read access to the catalogs and SELECT on every table".into()),
            BackupError::VerificationFailed { manifest, .. } => Some(format!(
                "the backup is kept and marked failed in {manifest}; it is never used as `latest` and retention keeps the last good one. Investigate before relying on it"
            )),
            BackupError::VerifyUnavailable(_) => Some("install the PostgreSQL server package of the source's major version (a throwaway server is started from it), or use --verify list".into()),
            BackupError::Sandbox(e) => e.hint(),
            BackupError::Restore(e) => e.hint(),
        }
    }

    /// Whether this is the user's configuration rather than a failed backup (exit 2, not 6).
    pub fn is_usage(&self) -> bool {
        matches!(
            self,
            BackupError::ToolNotFound(_)
                | BackupError::Unsupported { .. }
                | BackupError::Storage(StorageError::BadLocation { .. })
        )
    }
}

fn query(context: &'static str) -> impl FnOnce(tokio_postgres::Error) -> BackupError {
    move |e| BackupError::Query {
        context,
        source: DbError::from(e),
    }
}

/// Facts about the source server.
pub struct Source {
    pub database: String,
    pub server_version: String,
    pub server_version_num: u32,
}

/// The PostgreSQL programs a backup needs, found before anything starts.
pub struct Programs {
    pub pg_dump: Installed,
    pub load: crate::restore::load::Programs,
}

impl Programs {
    /// pg_dump of at least the server's major, and the matching pg_restore and psql.
    pub fn for_server(major: u32) -> Result<Programs, ToolNotFound> {
        let pg_dump = tools::find(Tool::PgDump, Requirement::AtLeast(major))?;
        let load = crate::restore::load::Programs::at_least(pg_dump.major)?;
        Ok(Programs { pg_dump, load })
    }
}

/// Takes a backup of the database `conn` points at into `store`, verifies it and writes its
/// manifest. A failed verification still writes the manifest (marked failed) and returns
/// [`BackupError::VerificationFailed`].
pub async fn create(
    conn: &ConnSpec,
    store: Arc<Store>,
    opts: &BackupOptions,
    progress: Arc<dyn Progress>,
) -> Result<Manifest, BackupError> {
    let client = pg::connect(conn).await?;
    let row = client
        .pg()
        .query_one(
            "SELECT current_setting('server_version_num')::int4, current_setting('server_version'), current_database(), pg_database_size(current_database())",
            &[],
        )
        .await
        .map_err(query("cannot read the server version"))?;
    let source = Source {
        server_version_num: row.get::<_, i32>(0) as u32,
        server_version: row.get(1),
        database: row.get(2),
    };
    let db_size: i64 = row.get(3);
    let programs = Programs::for_server(tools::major_of(source.server_version_num))?;
    if opts.format == DumpFormat::Directory
        && opts.compression.method == compress::Method::Zstd
        && programs.pg_dump.major < 16
    {
        return Err(BackupError::Unsupported {
            what: format!(
                "zstd compression of the directory format needs pg_dump 16 or newer (found {})",
                programs.pg_dump.version
            ),
            hint: "use --compress gzip, or --dump-format custom (pgkeel compresses that stream itself)".into(),
        });
    }

    let started = Stamp::now();
    let clock = Instant::now();
    let id = free_id(&store, &source.database, started).await?;
    store.prepare(&id).await?;
    let result = dump_and_verify(
        &client, conn, &store, opts, &source, &programs, &id, started, clock, db_size, progress,
    )
    .await;
    match result {
        Ok(m) => Ok(m),
        Err(e @ BackupError::VerificationFailed { .. }) => Err(e),
        Err(e) => {
            // Nothing that looks like a backup may stay behind: remove what was written.
            if let Err(cleanup) = store.delete(&id).await {
                tracing::warn!("could not remove the incomplete backup {id}: {cleanup}");
            }
            Err(e)
        }
    }
}

/// `<db>-YYYYMMDD_HHMMSS`, with `-2`, `-3`… when that name is taken.
async fn free_id(store: &Store, database: &str, at: Stamp) -> Result<String, BackupError> {
    let base = id::backup_id(database, at);
    let mut candidate = base.clone();
    let mut n = 1;
    while store.exists(&candidate).await? {
        n += 1;
        candidate = format!("{base}-{n}");
    }
    Ok(candidate)
}

#[allow(clippy::too_many_arguments)]
async fn dump_and_verify(
    client: &pg::Client,
    conn: &ConnSpec,
    store: &Arc<Store>,
    opts: &BackupOptions,
    source: &Source,
    programs: &Programs,
    id: &str,
    started: Stamp,
    clock: Instant,
    db_size: i64,
    progress: Arc<dyn Progress>,
) -> Result<Manifest, BackupError> {
    let snapshot_name = snapshot::export(client)
        .await
        .map_err(|source| BackupError::Query {
            context: "cannot export a snapshot for pg_dump",
            source,
        })?;
    progress.phase("dump", Some(db_size.max(0) as u64));
    let dump_task = {
        let pg_dump = programs.pg_dump.clone();
        let conn = conn.clone();
        let store = store.clone();
        let id = id.to_string();
        let progress = progress.clone();
        let (format, compression, jobs) = (opts.format, opts.compression, opts.jobs);
        let snapshot_name = snapshot_name.clone();
        tokio::task::spawn_blocking(move || {
            dump::run(&dump::DumpJob {
                pg_dump: &pg_dump,
                conn: &conn,
                snapshot: &snapshot_name,
                format,
                compression,
                jobs,
                store: &store,
                id: &id,
                progress: progress.as_ref(),
            })
        })
    };
    let (dumped, measured) = tokio::join!(dump_task, snapshot::measure(client));
    snapshot::close(client).await;
    progress.done();
    let mut files = dumped.map_err(|e| BackupError::Compress(format!("dump thread: {e}")))??;
    let measured = measured?;

    let schema_json = serde_json::to_vec(&measured.schema).unwrap_or_default();
    files.push(FileEntry {
        name: SCHEMA_FILE.to_string(),
        size: schema_json.len() as u64,
        sha256: snapshot::hex(&<sha2::Sha256 as sha2::Digest>::digest(&schema_json)),
    });
    store.put(id, SCHEMA_FILE, schema_json).await?;

    let dump_name = dump::dump_name(id, opts.format, opts.compression);
    let finished = Stamp::now();
    let mut manifest = Manifest {
        manifest_version: manifest::MANIFEST_VERSION,
        id: id.to_string(),
        kind: opts.kind,
        status: Status::Unverified,
        database: source.database.clone(),
        host: conn.to_string(),
        server_version: source.server_version.clone(),
        server_version_num: source.server_version_num,
        pg_dump_version: programs.pg_dump.version.clone(),
        format: opts.format,
        compression: opts.compression,
        size: files.iter().map(|f| f.size).sum(),
        files,
        dump: dump_name,
        started_at: started.rfc3339(),
        finished_at: finished.rfc3339(),
        duration_ms: clock.elapsed().as_millis() as u64,
        row_counts: measured.row_counts,
        schema_fingerprint: measured.fingerprint,
        roles: measured.roles,
        provenance: opts.provenance.clone(),
        pgkeel_version: env!("CARGO_PKG_VERSION").to_string(),
        verification: Verification {
            mode: opts.verify.name().to_string(),
            ok: true,
            restore_ms: None,
            restored_into: None,
            problems: Vec::new(),
        },
    };

    let verification = match opts.verify {
        VerifyMode::None => None,
        VerifyMode::List => {
            Some(verify::list(store, &manifest, &programs.load, progress.as_ref()).await?)
        }
        VerifyMode::Restore => Some(
            verify::restore(
                store,
                &manifest,
                &measured.schema,
                &programs.load,
                opts.jobs,
                progress.clone(),
            )
            .await?,
        ),
    };
    if let Some(v) = verification {
        manifest.status = if v.ok {
            Status::Verified
        } else {
            Status::Failed
        };
        manifest.verification = v;
    }
    store.put(id, MANIFEST, manifest.to_json()).await?;
    if manifest.status == Status::Failed {
        return Err(BackupError::VerificationFailed {
            id: id.to_string(),
            manifest: store.describe(id, MANIFEST),
            problems: manifest.verification.problems.clone(),
        });
    }
    Ok(manifest)
}

/// Reads and parses the manifest of backup `id`.
pub async fn read_manifest(
    store: &Store,
    id: &str,
) -> Result<Manifest, crate::restore::RestoreError> {
    let bytes = store.get(id, MANIFEST).await.map_err(|e| match e {
        StorageError::NotFound { location } => {
            crate::restore::RestoreError::NoManifest { location }
        }
        other => crate::restore::RestoreError::Storage(other),
    })?;
    Ok(Manifest::parse(&bytes, &store.describe(id, MANIFEST))?)
}

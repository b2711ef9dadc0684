//! Checking a stored backup: `list` reads the archive's table of contents; `restore` loads it
//! into a throwaway server of the source's major version and compares row counts and the
//! schema fingerprint with the manifest. Both read the files back from storage, checking each
//! one's SHA-256 on the way, so what is verified is what was stored.

use std::sync::Arc;
use std::time::Instant;

use super::manifest::{Manifest, Verification};
use super::snapshot;
use super::{BackupError, Progress};
use crate::catalog::{self, Filter, Schema};
use crate::pg::{self, quote, Client};
use crate::restore::{fetch, load, RestoreError};
use crate::sandbox::{scratch, Cluster, SandboxError, SandboxOptions};
use crate::storage::Store;

fn failed(mode: &str, problems: Vec<String>) -> Verification {
    Verification {
        mode: mode.to_string(),
        ok: false,
        restore_ms: None,
        restored_into: None,
        problems,
    }
}

/// Fetches (and checksums) the files; a mismatch is a failed verification, not an error.
async fn fetched(
    store: &Store,
    manifest: &Manifest,
    progress: &dyn Progress,
) -> Result<Result<fetch::Fetched, Vec<String>>, BackupError> {
    match fetch::fetch(store, manifest, progress).await {
        Ok(f) => Ok(Ok(f)),
        Err(e @ (RestoreError::Checksum { .. } | RestoreError::Storage(_))) => {
            Ok(Err(vec![e.to_string()]))
        }
        Err(e) => Err(e.into()),
    }
}

pub async fn list(
    store: &Store,
    manifest: &Manifest,
    programs: &load::Programs,
    progress: &dyn Progress,
) -> Result<Verification, BackupError> {
    let files = match fetched(store, manifest, progress).await? {
        Ok(f) => f,
        Err(problems) => return Ok(failed("list", problems)),
    };
    let path = files.dump_path(manifest);
    let archive = load::Archive {
        format: manifest.format,
        compression: manifest.compression,
        path: &path,
    };
    let pg_restore = programs.pg_restore.clone();
    let result = {
        let path = path.clone();
        let (format, compression) = (archive.format, archive.compression);
        tokio::task::spawn_blocking(move || {
            load::list(
                &load::Archive {
                    format,
                    compression,
                    path: &path,
                },
                &pg_restore,
            )
        })
        .await
        .map_err(|e| BackupError::Compress(format!("list thread: {e}")))?
    };
    Ok(match result {
        Ok(_) => Verification {
            mode: "list".into(),
            ok: true,
            restore_ms: None,
            restored_into: None,
            problems: Vec::new(),
        },
        Err(e) => failed("list", vec![e.to_string()]),
    })
}

pub async fn restore(
    store: &Store,
    manifest: &Manifest,
    expected: &Schema,
    programs: &load::Programs,
    jobs: u32,
    progress: Arc<dyn Progress>,
) -> Result<Verification, BackupError> {
    let files = match fetched(store, manifest, progress.as_ref()).await? {
        Ok(f) => f,
        Err(problems) => return Ok(failed("restore", problems)),
    };
    let major = pg::tools::major_of(manifest.server_version_num);
    let cluster = tokio::task::spawn_blocking(move || {
        Cluster::start(&SandboxOptions {
            pg_version: Some(major),
            ..SandboxOptions::default()
        })
    })
    .await
    .map_err(|e| BackupError::Compress(format!("sandbox thread: {e}")))?;
    let cluster = match cluster {
        Ok(c) => c,
        Err(SandboxError::ToolNotFound(e)) => {
            return Err(BackupError::VerifyUnavailable(format!(
                "no PostgreSQL {major} server to restore into ({e})"
            )))
        }
        Err(e) => return Err(e.into()),
    };
    let restored_into = format!("a throwaway PostgreSQL {} server", cluster.version());
    let result = restore_into(
        &cluster, manifest, expected, &files, programs, jobs, progress,
    )
    .await;
    // Stopping the server blocks; keep it off the async threads.
    let _ = tokio::task::spawn_blocking(move || drop(cluster)).await;
    let (ms, problems) = result?;
    Ok(Verification {
        mode: "restore".into(),
        ok: problems.is_empty(),
        restore_ms: Some(ms),
        restored_into: Some(restored_into),
        problems,
    })
}

async fn restore_into(
    cluster: &Cluster,
    manifest: &Manifest,
    expected: &Schema,
    files: &fetch::Fetched,
    programs: &load::Programs,
    jobs: u32,
    progress: Arc<dyn Progress>,
) -> Result<(u64, Vec<String>), BackupError> {
    let admin = pg::connect(&cluster.conn_spec()).await?;
    create_roles(&admin, &manifest.roles).await?;
    scratch::create(&admin, &manifest.database, Some("template0")).await?;
    let target = cluster.conn_spec_for(&manifest.database);
    let path = files.dump_path(manifest);
    let (format, compression) = (manifest.format, manifest.compression);
    let programs = load::Programs {
        pg_restore: programs.pg_restore.clone(),
        psql: programs.psql.clone(),
    };
    progress.phase("verify restore", Some(manifest.size));
    let clock = Instant::now();
    let spec = target.clone();
    let loaded = tokio::task::spawn_blocking(move || {
        load::load(
            &load::Archive {
                format,
                compression,
                path: &path,
            },
            &spec,
            &programs,
            &load::LoadOptions { jobs, clean: false },
            progress.as_ref(),
        )
    })
    .await
    .map_err(|e| BackupError::Compress(format!("restore thread: {e}")))?;
    let ms = clock.elapsed().as_millis() as u64;
    if let Err(e) = loaded {
        return Ok((ms, vec![e.to_string()]));
    }
    let client = pg::connect(&target).await?;
    let problems = compare(&client, manifest, expected)
        .await
        .map_err(BackupError::Measure)?;
    Ok((ms, problems))
}

/// Creates the roles the dump refers to (as NOLOGIN roles) so owners and grants restore.
pub async fn create_roles(admin: &Client, roles: &[String]) -> Result<(), BackupError> {
    for role in roles {
        let exists = admin
            .pg()
            .query_opt("SELECT 1 FROM pg_roles WHERE rolname = $1", &[role])
            .await
            .map_err(|e| BackupError::Query {
                context: "cannot prepare the verification server",
                source: e.into(),
            })?
            .is_some();
        if !exists {
            admin
                .pg()
                .batch_execute(&format!("CREATE ROLE {} NOLOGIN", quote::ident(role)))
                .await
                .map_err(|e| BackupError::Query {
                    context: "cannot create a role in the verification server",
                    source: e.into(),
                })?;
        }
    }
    Ok(())
}

/// What differs between the database `client` is connected to and what the manifest (and
/// the schema stored beside it) say: an empty list when everything matches.
pub async fn compare(
    client: &Client,
    manifest: &Manifest,
    expected: &Schema,
) -> Result<Vec<String>, snapshot::MeasureError> {
    client
        .pg()
        .batch_execute("BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY")
        .await
        .map_err(|e| snapshot::MeasureError::Db(e.into()))?;
    let counts = snapshot::row_counts(client).await;
    let schema = catalog::introspect_in_transaction(client, &Filter::default()).await;
    let _ = client.pg().batch_execute("ROLLBACK").await;
    let (counts, schema) = (counts?, schema?);
    let mut problems = Vec::new();
    for (table, rows) in &manifest.row_counts {
        match counts.get(table) {
            Some(n) if n == rows => {}
            Some(n) => problems.push(format!("{table}: {n} rows, the manifest says {rows}")),
            None => problems.push(format!("{table}: missing ({rows} rows in the manifest)")),
        }
    }
    for table in counts.keys() {
        if !manifest.row_counts.contains_key(table) {
            problems.push(format!("{table}: not in the backup"));
        }
    }
    let fingerprint = snapshot::fingerprint(&schema);
    if fingerprint != manifest.schema_fingerprint {
        let changes = crate::diff::diff(expected, &schema);
        let mut listed: Vec<String> = changes.iter().take(10).map(|c| c.describe()).collect();
        if changes.len() > 10 {
            listed.push(format!("and {} more", changes.len() - 10));
        }
        problems.push(format!(
            "schema fingerprint {} differs from the manifest's {}{}",
            short(&fingerprint),
            short(&manifest.schema_fingerprint),
            if listed.is_empty() {
                String::new()
            } else {
                format!(" ({})", listed.join(", "))
            }
        ));
    }
    Ok(problems)
}

fn short(sha: &str) -> &str {
    sha.get(..12).unwrap_or(sha)
}

//! `pgkeel backup` and `pgkeel backup list`: take a verified backup into a directory or S3,
//! then prune old ones by the retention rules; list what a store holds.

use std::io::Write;
use std::sync::Arc;

use super::Context;
use crate::backup::id::Stamp;
use crate::backup::manifest::{Manifest, Status};
use crate::backup::retention::{self, Candidate, Policy};
use crate::backup::{self, BackupOptions};
use crate::error::{Error, Outcome};
use crate::pg::ConnSpec;
use crate::report::backup as render;
use crate::storage::{Location, S3Options, Store};

pub struct Settings {
    pub conn: ConnSpec,
    pub to: Location,
    pub s3: S3Options,
    pub options: BackupOptions,
    pub retention: Policy,
    /// Show what retention would delete, and delete nothing.
    pub dry_run: bool,
}

pub struct ListSettings {
    pub from: Location,
    pub s3: S3Options,
}

pub async fn run(
    settings: &Settings,
    ctx: &Context,
    out: &mut dyn Write,
    notice: &mut crate::report::notice::Notice,
) -> Result<Outcome, Error> {
    let store = Arc::new(
        Store::open(&settings.to, &settings.s3)
            .await
            .map_err(backup::BackupError::from)?,
    );
    let progress = crate::report::progress::stderr();
    let manifest =
        backup::create(&settings.conn, store.clone(), &settings.options, progress).await?;
    let location = store.location().child(&manifest.id).to_string();
    let pruned = if settings.retention.is_empty() {
        Vec::new()
    } else if manifest.status != Status::Verified {
        tracing::warn!(
            "retention skipped: old backups are pruned only after a verified backup (this one used --verify {})",
            manifest.verification.mode
        );
        Vec::new()
    } else {
        prune(&store, settings.retention, settings.dry_run).await?
    };
    notice.changed = true;
    notice.database = Some(manifest.database.clone());
    notice.title = Some(format!("Backup {} created", manifest.id));
    for (label, value) in [
        ("Backup", manifest.id.clone()),
        ("Where", location.clone()),
        ("Size", format!("{} bytes", manifest.size)),
        (
            "Verification",
            format!("{:?}", manifest.status).to_lowercase(),
        ),
        ("Duration", format!("{} ms", manifest.duration_ms)),
    ] {
        notice.facts.push(crate::notify::Fact::new(label, value));
    }
    if !pruned.is_empty() {
        notice
            .facts
            .push(crate::notify::Fact::new("Pruned", pruned.len().to_string()));
    }
    notice.document = crate::report::notice::json_document(|buf| {
        render::created(
            &manifest,
            &location,
            &pruned,
            settings.dry_run,
            &Context::of(crate::report::Format::Json),
            buf,
        )
    });
    let sha = manifest.dump_sha256().unwrap_or_default().to_string();
    // Absolute: a later `uses:` step (upload-artifact) resolves paths against the workspace,
    // not the working directory this step ran in.
    let path = match store.location().child(&manifest.id) {
        crate::storage::Location::Local(p) => {
            std::path::absolute(&p).unwrap_or(p).display().to_string()
        }
        remote => remote.to_string(),
    };
    crate::report::actions::outputs(&[
        ("backup-id", manifest.id.clone()),
        ("path", path),
        ("sha256", sha),
        ("size", manifest.dump_size().to_string()),
        (
            "verified",
            if manifest.status == Status::Verified {
                manifest.verification.mode.clone()
            } else {
                "none".to_string()
            },
        ),
        (
            "restore-seconds",
            manifest
                .verification
                .restore_ms
                .map(|ms| format!("{:.3}", ms as f64 / 1000.0))
                .unwrap_or_default(),
        ),
    ])?;
    crate::report::actions::summary(|buf| {
        render::created(
            &manifest,
            &location,
            &pruned,
            settings.dry_run,
            &Context::of(crate::report::Format::Markdown),
            buf,
        )
    })?;
    render::created(&manifest, &location, &pruned, settings.dry_run, ctx, out)
        .map_err(Error::Output)?;
    Ok(Outcome::Clean)
}

/// Every readable manifest in the store, newest first; unreadable ones are skipped with a
/// warning (they are reported, never deleted).
pub async fn manifests(store: &Store) -> Result<Vec<Manifest>, Error> {
    let mut out = Vec::new();
    for id in store.list().await.map_err(backup::BackupError::from)? {
        match backup::read_manifest(store, &id).await {
            Ok(m) => out.push(m),
            Err(e) => tracing::warn!("skipping {id}: {e}"),
        }
    }
    out.sort_by(|a, b| (&b.started_at, &b.id).cmp(&(&a.started_at, &a.id)));
    Ok(out)
}

async fn prune(store: &Store, policy: Policy, dry_run: bool) -> Result<Vec<String>, Error> {
    let all = manifests(store).await?;
    let candidates: Vec<Candidate> = all
        .iter()
        .filter_map(|m| {
            Some(Candidate {
                id: m.id.clone(),
                started: Stamp::parse_rfc3339(&m.started_at)?,
                status: m.status,
                kind: m.kind,
            })
        })
        .collect();
    let doomed = retention::prune(&candidates, policy, Stamp::now());
    if !dry_run {
        for id in &doomed {
            store.delete(id).await.map_err(backup::BackupError::from)?;
            tracing::info!("retention: deleted {}", store.location().child(id));
        }
    }
    Ok(doomed)
}

pub async fn list(
    settings: &ListSettings,
    ctx: &Context,
    out: &mut dyn Write,
) -> Result<Outcome, Error> {
    let store = Store::open(&settings.from, &settings.s3)
        .await
        .map_err(backup::BackupError::from)?;
    let all = manifests(&store).await?;
    render::list(&all, &store.location(), Stamp::now(), ctx, out).map_err(Error::Output)?;
    Ok(Outcome::Clean)
}

//! Finding a backup (`latest`, an id, a path or an `s3://` URL) and checking every file's
//! SHA-256 against its manifest before anything else happens. Files in S3 are downloaded to a
//! temporary directory while being hashed, and the restore reads exactly those checked bytes.

use std::io::Write;
use std::path::PathBuf;

use sha2::{Digest, Sha256};

use super::RestoreError;
use crate::backup::manifest::{Kind, Manifest};
use crate::backup::{id, read_manifest, snapshot::hex, Progress};
use crate::storage::{Location, S3Options, StorageError, Store, MANIFEST};

/// A backup found and its manifest read (files not yet checked).
pub struct Located {
    pub store: Store,
    pub id: String,
    pub manifest: Manifest,
}

impl Located {
    pub fn describe(&self) -> String {
        self.store.location().child(&self.id).to_string()
    }
}

/// Resolves `--from`: `latest` and bare ids are looked up in `backups`.
pub async fn locate(
    from: &str,
    backups: &Location,
    s3: &S3Options,
) -> Result<Located, RestoreError> {
    if from == "latest" {
        let store = Store::open(backups, s3).await?;
        return latest(store).await;
    }
    let explicit = from.starts_with("s3://") || std::path::Path::new(from).exists();
    if !explicit {
        if id::is_plain_name(from) && !from.contains('/') {
            let store = Store::open(backups, s3).await?;
            let manifest = read_manifest(&store, from).await.map_err(|e| match e {
                RestoreError::NoManifest { .. } => RestoreError::NotFound {
                    what: format!("no backup named `{from}` in {backups}"),
                },
                other => other,
            })?;
            return Ok(Located {
                store,
                id: from.to_string(),
                manifest,
            });
        }
        return Err(RestoreError::NotFound {
            what: format!(
                "`{from}` is not `latest`, a backup id, an existing path or an s3:// URL"
            ),
        });
    }
    let mut location = Location::parse(from)?;
    // A path to the manifest itself names its backup.
    if let Location::Local(p) = &location {
        if p.file_name().and_then(|n| n.to_str()) == Some(MANIFEST) {
            location = Location::Local(p.parent().map(|p| p.to_path_buf()).unwrap_or_default());
        }
    }
    let (root, backup_id) = location
        .split_last()
        .ok_or_else(|| RestoreError::NotFound {
            what: format!("`{from}` does not name a backup"),
        })?;
    let store = Store::open(&root, s3).await?;
    let manifest = read_manifest(&store, &backup_id).await?;
    Ok(Located {
        store,
        id: backup_id,
        manifest,
    })
}

/// The newest restorable backup taken by `pgkeel backup` (not failed, not a safety backup).
pub async fn latest(store: Store) -> Result<Located, RestoreError> {
    let mut best: Option<(String, Manifest)> = None;
    for backup_id in store.list().await? {
        let manifest = match read_manifest(&store, &backup_id).await {
            Ok(m) => m,
            Err(e) => {
                tracing::warn!("skipping {backup_id}: {e}");
                continue;
            }
        };
        if !manifest.restorable() || manifest.kind != Kind::Scheduled {
            continue;
        }
        let newer = best
            .as_ref()
            .is_none_or(|(_, b)| (&manifest.started_at, &manifest.id) > (&b.started_at, &b.id));
        if newer {
            best = Some((backup_id, manifest));
        }
    }
    let (backup_id, manifest) = best.ok_or_else(|| RestoreError::NotFound {
        what: format!("no verified or unverified backup in {}", store.location()),
    })?;
    Ok(Located {
        store,
        id: backup_id,
        manifest,
    })
}

/// The checked files on local disk.
pub struct Fetched {
    root: PathBuf,
    _temp: Option<tempfile::TempDir>,
}

impl Fetched {
    /// The file (or directory) to hand to pg_restore/psql.
    pub fn dump_path(&self, manifest: &Manifest) -> PathBuf {
        self.root.join(&manifest.dump)
    }

    pub fn root(&self) -> &std::path::Path {
        &self.root
    }
}

struct HashingFile {
    file: Option<std::io::BufWriter<std::fs::File>>,
    hasher: Sha256,
}

impl Write for HashingFile {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        let n = match &mut self.file {
            Some(f) => f.write(buf)?,
            None => buf.len(),
        };
        self.hasher.update(&buf[..n]);
        Ok(n)
    }

    fn flush(&mut self) -> std::io::Result<()> {
        match &mut self.file {
            Some(f) => f.flush(),
            None => Ok(()),
        }
    }
}

/// Checks every file of the backup against the manifest (size and SHA-256); S3 files are
/// downloaded to a temporary directory on the way.
pub async fn fetch(
    store: &Store,
    manifest: &Manifest,
    progress: &dyn Progress,
) -> Result<Fetched, RestoreError> {
    progress.phase("checksum", Some(manifest.size));
    let (root, temp) = match store.local_path(&manifest.id, "") {
        Some(p) => (p, None),
        None => {
            let t = tempfile::Builder::new()
                .prefix("pgkeel-fetch-")
                .tempdir()
                .map_err(|e| RestoreError::Io {
                    action: "create a temporary directory for",
                    path: store.location().child(&manifest.id).to_string(),
                    source: e,
                })?;
            (t.path().to_path_buf(), Some(t))
        }
    };
    for file in &manifest.files {
        let local = root.join(&file.name);
        let mut sink = HashingFile {
            file: None,
            hasher: Sha256::new(),
        };
        if temp.is_some() {
            if let Some(parent) = local.parent() {
                std::fs::create_dir_all(parent).map_err(|e| RestoreError::Io {
                    action: "create",
                    path: parent.display().to_string(),
                    source: e,
                })?;
            }
            let f = std::fs::File::create(&local).map_err(|e| RestoreError::Io {
                action: "create",
                path: local.display().to_string(),
                source: e,
            })?;
            sink.file = Some(std::io::BufWriter::with_capacity(1 << 20, f));
        }
        let size = store
            .download(&manifest.id, &file.name, &mut sink)
            .await
            .map_err(|e| match e {
                StorageError::NotFound { location } => RestoreError::MissingFile { location },
                other => RestoreError::Storage(other),
            })?;
        sink.flush().map_err(|e| RestoreError::Io {
            action: "write",
            path: local.display().to_string(),
            source: e,
        })?;
        progress.advance(size);
        let sha = hex(&sink.hasher.finalize());
        if size != file.size || sha != file.sha256 {
            return Err(RestoreError::Checksum {
                file: store.describe(&manifest.id, &file.name),
                expected: file.sha256.clone(),
                actual: sha,
                expected_size: file.size,
                actual_size: size,
            });
        }
    }
    progress.done();
    Ok(Fetched { root, _temp: temp })
}

//! Snapshot files: a [`Snapshot`] as JSON, committed to a repository and used later as either
//! side of a diff.

use std::path::{Path, PathBuf};

use super::model::{Snapshot, SNAPSHOT_VERSION};

#[derive(Debug, thiserror::Error)]
pub enum SnapshotError {
    #[error("cannot read snapshot {}: {source}", path.display())]
    Read {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("{} is not a pgkeel schema snapshot: {reason}", path.display())]
    Invalid { path: PathBuf, reason: String },
    #[error("{} is snapshot format {found}; this pgkeel reads format {SNAPSHOT_VERSION}", path.display())]
    Version { path: PathBuf, found: u32 },
}

/// Reads and checks a snapshot file.
pub fn load_snapshot(path: &Path) -> Result<Snapshot, SnapshotError> {
    let text = std::fs::read_to_string(path).map_err(|source| SnapshotError::Read {
        path: path.to_path_buf(),
        source,
    })?;
    let value: serde_json::Value =
        serde_json::from_str(&text).map_err(|e| SnapshotError::Invalid {
            path: path.to_path_buf(),
            reason: e.to_string(),
        })?;
    let found = value
        .get("version")
        .and_then(|v| v.as_u64())
        .ok_or_else(|| SnapshotError::Invalid {
            path: path.to_path_buf(),
            reason: "no \"version\" field".into(),
        })? as u32;
    if found != SNAPSHOT_VERSION {
        return Err(SnapshotError::Version {
            path: path.to_path_buf(),
            found,
        });
    }
    let mut snap: Snapshot = serde_json::from_value(value).map_err(|e| SnapshotError::Invalid {
        path: path.to_path_buf(),
        reason: e.to_string(),
    })?;
    super::canonicalize(&mut snap.schema);
    Ok(snap)
}

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

#[cfg(test)]
mod tests {
    use super::*;

    /// Format 1 as written before range types, event triggers, publications, default
    /// privileges, type privileges and unmodelled objects were read: it still loads.
    #[test]
    fn snapshots_without_the_newer_fields_load() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("old.json");
        let old = r#"{"version": 1, "server_major": 15, "schema": {
            "schemas": [{"name": "public", "owner": "pg_database_owner"}],
            "extensions": [],
            "enums": [{"schema": "public", "name": "mood", "labels": ["a"], "owner": "postgres"}],
            "domains": [], "composites": [], "sequences": [],
            "tables": [{"schema": "public", "name": "t", "kind": "ordinary", "unlogged": false,
                        "columns": [{"name": "id", "data_type": "integer", "not_null": true, "is_local": true,
                                     "identity": {"generation": "always", "start": 1, "increment": 1, "min": 1,
                                                  "max": 2147483647, "cache": 1, "cycle": false}}],
                        "rls_enabled": false, "rls_forced": false, "replica_identity": "d", "owner": "postgres"}],
            "views": [], "functions": []}}"#;
        std::fs::write(&path, old).expect("write");
        let snap = load_snapshot(&path).expect("loads");
        assert!(snap.schema.ranges.is_empty() && snap.schema.unmodelled.is_empty());
        assert!(snap.schema.enums[0].acl.is_empty());
        let id = snap.schema.tables[0].columns[0]
            .identity
            .as_ref()
            .expect("identity");
        assert_eq!(id.sequence, None);
    }
}

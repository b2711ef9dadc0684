//! The manifest: what a backup holds and how it was made, written last as the commit marker.
//!
//! Row counts and the schema fingerprint were taken in the very snapshot pg_dump dumped, so
//! they describe the dump exactly; restore and verification compare against them.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use super::compress::Compression;

/// Version of the manifest format.
pub const MANIFEST_VERSION: u32 = 1;

/// How the dump is stored.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum DumpFormat {
    /// `pg_dump -Fc`: one archive, restored by pg_restore (parallel when seekable).
    Custom,
    /// `pg_dump -Fd`: one file per table, dumped and restored in parallel.
    Directory,
    /// `pg_dump -Fp`: SQL text, restored by psql.
    Plain,
}

impl DumpFormat {
    pub fn name(self) -> &'static str {
        match self {
            DumpFormat::Custom => "custom",
            DumpFormat::Directory => "directory",
            DumpFormat::Plain => "plain",
        }
    }
}

/// Whether the backup is good to restore.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Status {
    /// Restored (or listed) and compared successfully.
    Verified,
    /// Not verified (`--verify none`).
    Unverified,
    /// Verification failed: never restored as `latest`, never kept in place of a good one.
    Failed,
}

/// Why a backup was taken.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Kind {
    /// `pgkeel backup`.
    #[default]
    Scheduled,
    /// Taken by `pgkeel restore` of the target before touching it.
    Safety,
}

/// One stored file.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FileEntry {
    /// Relative to the backup's directory or prefix (`app-….dump.zst`, `app-….dir/toc.dat`).
    pub name: String,
    pub size: u64,
    pub sha256: String,
}

/// The result of verifying the backup.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Verification {
    /// `none`, `list` or `restore`.
    pub mode: String,
    pub ok: bool,
    /// Time to restore into the throwaway server (restore mode).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub restore_ms: Option<u64>,
    /// Where it was restored: `sandbox PostgreSQL 15.18` or `scratch database on the source`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub restored_into: Option<String>,
    /// What did not match, when it failed.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub problems: Vec<String>,
}

/// Where the backup came from in CI.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Provenance {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub git_sha: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub actor: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub run_url: Option<String>,
}

impl Provenance {
    /// From GitHub Actions' environment (empty elsewhere).
    pub fn from_env(env: &dyn Fn(&str) -> Option<String>) -> Provenance {
        let get = |k: &str| env(k).filter(|v| !v.is_empty());
        let run_url = match (
            get("GITHUB_SERVER_URL"),
            get("GITHUB_REPOSITORY"),
            get("GITHUB_RUN_ID"),
        ) {
            (Some(s), Some(r), Some(id)) => Some(format!("{s}/{r}/actions/runs/{id}")),
            _ => None,
        };
        Provenance {
            git_sha: get("GITHUB_SHA"),
            actor: get("GITHUB_ACTOR"),
            run_url,
        }
    }
}

/// The manifest document.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Manifest {
    pub manifest_version: u32,
    pub id: String,
    #[serde(default)]
    pub kind: Kind,
    pub status: Status,
    pub database: String,
    /// The source, password redacted (`postgres://user:***@host:5432/db`).
    pub host: String,
    pub server_version: String,
    pub server_version_num: u32,
    pub pg_dump_version: String,
    pub format: DumpFormat,
    pub compression: Compression,
    /// Bytes stored, all files together.
    pub size: u64,
    pub files: Vec<FileEntry>,
    /// The file (or directory, for the directory format) pg_restore/psql reads.
    pub dump: String,
    pub started_at: String,
    pub finished_at: String,
    pub duration_ms: u64,
    /// Exact row count of every table, taken in the dump's snapshot (`schema.table` → rows).
    pub row_counts: BTreeMap<String, i64>,
    /// SHA-256 of the canonical JSON of the schema, read in the dump's snapshot.
    pub schema_fingerprint: String,
    /// The roles the schema refers to (owners, grantees), created in the throwaway server
    /// before a verification restore.
    #[serde(default)]
    pub roles: Vec<String>,
    #[serde(default)]
    pub provenance: Provenance,
    pub pgkeel_version: String,
    pub verification: Verification,
}

impl Manifest {
    /// The dump file's SHA-256; `None` for the directory format, which has one per file.
    pub fn dump_sha256(&self) -> Option<&str> {
        self.files
            .iter()
            .find(|f| f.name == self.dump)
            .map(|f| f.sha256.as_str())
    }

    /// Bytes of the dump itself: its file, or every file of a directory-format dump (the
    /// backup's `size` also counts the schema snapshot beside it).
    pub fn dump_size(&self) -> u64 {
        let dir = format!("{}/", self.dump);
        self.files
            .iter()
            .filter(|f| f.name == self.dump || f.name.starts_with(&dir))
            .map(|f| f.size)
            .sum()
    }

    pub fn to_json(&self) -> Vec<u8> {
        let mut v = serde_json::to_vec_pretty(self).unwrap_or_default();
        v.push(b'\n');
        v
    }

    /// Parses and checks a manifest read from `location`.
    pub fn parse(bytes: &[u8], location: &str) -> Result<Manifest, ManifestError> {
        let value: serde_json::Value =
            serde_json::from_slice(bytes).map_err(|e| ManifestError::Invalid {
                location: location.to_string(),
                reason: e.to_string(),
            })?;
        let version = value
            .get("manifest_version")
            .and_then(|v| v.as_u64())
            .ok_or_else(|| ManifestError::Invalid {
                location: location.to_string(),
                reason: "no \"manifest_version\" field".into(),
            })?;
        if version != MANIFEST_VERSION as u64 {
            return Err(ManifestError::Version {
                location: location.to_string(),
                found: version,
            });
        }
        let m: Manifest = serde_json::from_value(value).map_err(|e| ManifestError::Invalid {
            location: location.to_string(),
            reason: e.to_string(),
        })?;
        for f in &m.files {
            // Names come from a file anyone could edit: no climbing out of the backup.
            if f.name.is_empty()
                || f.name.starts_with('/')
                || f.name.split('/').any(|c| c == ".." || c.is_empty())
            {
                return Err(ManifestError::Invalid {
                    location: location.to_string(),
                    reason: format!("file name `{}` is not a plain relative path", f.name),
                });
            }
        }
        Ok(m)
    }

    /// `verified`, `unverified` or `failed`.
    pub fn status_word(&self) -> &'static str {
        match self.status {
            Status::Verified => "verified",
            Status::Unverified => "unverified",
            Status::Failed => "failed",
        }
    }

    /// Whether `restore --from latest` may pick it.
    pub fn restorable(&self) -> bool {
        self.status != Status::Failed
    }
}

#[derive(Debug, thiserror::Error)]
pub enum ManifestError {
    #[error("{location} is not a pgkeel backup manifest: {reason}")]
    Invalid { location: String, reason: String },
    #[error("{location} is manifest format {found}; this pgkeel reads format {MANIFEST_VERSION}")]
    Version { location: String, found: u64 },
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn provenance_from_actions_env() {
        let env = |k: &str| {
            Some(
                match k {
                    "GITHUB_SHA" => "abc123",
                    "GITHUB_ACTOR" => "octocat",
                    "GITHUB_SERVER_URL" => "https://github.com",
                    "GITHUB_REPOSITORY" => "o/r",
                    "GITHUB_RUN_ID" => "42",
                    _ => return None,
                }
                .to_string(),
            )
        };
        let p = Provenance::from_env(&env);
        assert_eq!(p.git_sha.as_deref(), Some("abc123"));
        assert_eq!(p.actor.as_deref(), Some("octocat"));
        assert_eq!(
            p.run_url.as_deref(),
            Some("https://github.com/o/r/actions/runs/42")
        );
        assert_eq!(Provenance::from_env(&|_| None), Provenance::default());
    }

    #[test]
    fn rejects_foreign_documents_and_path_tricks() {
        assert!(matches!(
            Manifest::parse(b"{}", "x"),
            Err(ManifestError::Invalid { .. })
        ));
        assert!(matches!(
            Manifest::parse(br#"{"manifest_version": 9}"#, "x"),
            Err(ManifestError::Version { found: 9, .. })
        ));
        assert!(Manifest::parse(b"not json", "x").is_err());
    }
}

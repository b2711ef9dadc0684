//! Where backups live: a local directory or an S3 (or S3-compatible) bucket.
//!
//! Layout, the same in both: `<root>/<backup id>/<files>` plus `<root>/<backup id>/manifest.json`.
//! The manifest is always written last and deleted first, so its presence is the commit marker:
//! a backup whose manifest is missing is incomplete, whatever else is there, and is never listed,
//! restored or counted as the latest.
//!
//! Writers are plain `std::io::Write` so the dump pipeline (a blocking thread) can stream into
//! them; S3 writers hand full parts to an async multipart uploader through a bounded channel,
//! which bounds memory whatever the backup's size. Knows nothing of dump formats.

mod local;
mod s3;

use std::fmt;
use std::io::Write;
use std::path::{Path, PathBuf};

pub use s3::S3Options;

/// The name of the commit marker in every backup.
pub const MANIFEST: &str = "manifest.json";

/// A storage root as the user wrote it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Location {
    Local(PathBuf),
    S3 { bucket: String, prefix: String },
}

impl Location {
    /// `s3://bucket/prefix` or a filesystem path.
    pub fn parse(text: &str) -> Result<Location, StorageError> {
        if let Some(rest) = text.strip_prefix("s3://") {
            let (bucket, prefix) = rest.split_once('/').unwrap_or((rest, ""));
            if bucket.is_empty() {
                return Err(StorageError::BadLocation {
                    location: text.to_string(),
                    reason: "no bucket name".into(),
                });
            }
            return Ok(Location::S3 {
                bucket: bucket.to_string(),
                prefix: prefix.trim_matches('/').to_string(),
            });
        }
        if text.contains("://") {
            return Err(StorageError::BadLocation {
                location: text.to_string(),
                reason: "only local paths and s3:// URLs are supported".into(),
            });
        }
        if text.is_empty() {
            return Err(StorageError::BadLocation {
                location: text.to_string(),
                reason: "empty path".into(),
            });
        }
        Ok(Location::Local(PathBuf::from(text)))
    }

    /// The location one level down (`<root>/<name>`).
    pub fn child(&self, name: &str) -> Location {
        match self {
            Location::Local(p) => Location::Local(p.join(name)),
            Location::S3 { bucket, prefix } => Location::S3 {
                bucket: bucket.clone(),
                prefix: join_key(prefix, name),
            },
        }
    }

    /// The parent location and the last component (`<root>`, `<name>`), when there is one.
    pub fn split_last(&self) -> Option<(Location, String)> {
        match self {
            Location::Local(p) => {
                let name = p.file_name()?.to_str()?.to_string();
                let parent = p.parent().filter(|p| !p.as_os_str().is_empty());
                Some((
                    Location::Local(parent.map_or_else(|| PathBuf::from("."), Path::to_path_buf)),
                    name,
                ))
            }
            Location::S3 { bucket, prefix } => {
                let (parent, name) = prefix.rsplit_once('/').unwrap_or(("", prefix));
                if name.is_empty() {
                    return None;
                }
                Some((
                    Location::S3 {
                        bucket: bucket.clone(),
                        prefix: parent.to_string(),
                    },
                    name.to_string(),
                ))
            }
        }
    }
}

impl fmt::Display for Location {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Location::Local(p) => write!(f, "{}", p.display()),
            Location::S3 { bucket, prefix } if prefix.is_empty() => write!(f, "s3://{bucket}"),
            Location::S3 { bucket, prefix } => write!(f, "s3://{bucket}/{prefix}"),
        }
    }
}

pub(crate) fn join_key(prefix: &str, name: &str) -> String {
    if prefix.is_empty() {
        name.to_string()
    } else {
        format!("{}/{name}", prefix.trim_end_matches('/'))
    }
}

/// A storage operation failed.
#[derive(Debug, thiserror::Error)]
pub enum StorageError {
    #[error("invalid backup location `{location}`: {reason}")]
    BadLocation { location: String, reason: String },
    #[error("cannot {action} {path}: {source}")]
    Io {
        action: &'static str,
        path: String,
        source: std::io::Error,
    },
    #[error("S3 {operation} on {location} failed: {message}")]
    S3 {
        operation: &'static str,
        location: String,
        message: String,
        /// The service's error code (`AccessDenied`, `NoSuchBucket`, …) when it sent one.
        code: Option<String>,
    },
    #[error("{location} does not exist")]
    NotFound { location: String },
    #[error("the upload of {location} was abandoned before it completed")]
    Abandoned { location: String },
}

impl StorageError {
    pub fn hint(&self) -> Option<String> {
        match self {
            StorageError::BadLocation { .. } => {
                Some("use a directory path, or s3://bucket/prefix".into())
            }
            StorageError::Io { source, .. } => match source.raw_os_error() {
                Some(libc::ENOSPC) | Some(libc::EDQUOT) | Some(libc::EFBIG) => Some(
                    "the destination is full: free space there or choose another --to; nothing that looks like a complete backup was left"
                        .into(),
                ),
                Some(libc::EACCES) | Some(libc::EPERM) | Some(libc::EROFS) => {
                    Some("check the permissions of the destination directory".into())
                }
                _ => None,
            },
            StorageError::S3 { code, .. } => Some(match code.as_deref() {
                Some("InvalidAccessKeyId") | Some("SignatureDoesNotMatch") | Some("AccessDenied") | Some("ExpiredToken") | Some("InvalidToken") =>
                    "check the S3 credentials (AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY, AWS_PROFILE, or the runner's role) and the bucket policy".into(),
                Some("NoSuchBucket") => "create the bucket first, or check its name and --s3-region".into(),
                Some("XAmzContentSHA256Mismatch") | Some("InvalidArgument") | Some("NotImplemented") =>
                    "this store may reject the SDK's default checksums: pass --s3-no-default-checksums (Cloudflare R2 and some others need it)".into(),
                _ => "check --s3-endpoint, --s3-region, --s3-path-style and the credentials".into(),
            }),
            StorageError::NotFound { .. } => None,
            StorageError::Abandoned { .. } => None,
        }
    }
}

pub(crate) fn io_err(
    action: &'static str,
    path: &Path,
) -> impl FnOnce(std::io::Error) -> StorageError {
    let path = path.display().to_string();
    move |source| StorageError::Io {
        action,
        path,
        source,
    }
}

/// An opened storage root.
pub enum Store {
    Local(local::LocalStore),
    S3(s3::S3Store),
}

impl Store {
    /// Opens `location` (no network traffic for S3 until the first operation).
    pub async fn open(location: &Location, s3: &S3Options) -> Result<Store, StorageError> {
        Ok(match location {
            Location::Local(p) => Store::Local(local::LocalStore::new(p.clone())),
            Location::S3 { bucket, prefix } => {
                Store::S3(s3::S3Store::open(bucket, prefix, s3).await?)
            }
        })
    }

    pub fn location(&self) -> Location {
        match self {
            Store::Local(l) => Location::Local(l.root().to_path_buf()),
            Store::S3(s) => s.location(),
        }
    }

    /// Where object `name` of backup `id` is, for messages.
    pub fn describe(&self, id: &str, name: &str) -> String {
        self.location().child(id).child(name).to_string()
    }

    /// The local filesystem path of an object, when this store is a directory.
    pub fn local_path(&self, id: &str, name: &str) -> Option<PathBuf> {
        match self {
            Store::Local(l) => Some(l.path(id, name)),
            Store::S3(_) => None,
        }
    }

    /// Prepares an empty place for backup `id` (a directory; nothing on S3).
    pub async fn prepare(&self, id: &str) -> Result<(), StorageError> {
        match self {
            Store::Local(l) => l.prepare(id),
            Store::S3(_) => Ok(()),
        }
    }

    /// Whether anything already exists under `id` (a complete backup or a leftover).
    pub async fn exists(&self, id: &str) -> Result<bool, StorageError> {
        match self {
            Store::Local(l) => Ok(l.root().join(id).exists()),
            Store::S3(s) => Ok(!s.keys_under(id).await?.is_empty()),
        }
    }

    /// A writer for object `name` of backup `id`. Call [`ObjectWriter::finish`] to complete
    /// it; dropping it unfinished abandons the object (an S3 multipart upload is aborted).
    pub fn create(&self, id: &str, name: &str) -> Result<ObjectWriter, StorageError> {
        match self {
            Store::Local(l) => Ok(ObjectWriter::Local(l.create(id, name)?)),
            Store::S3(s) => Ok(ObjectWriter::S3(s.create(id, name))),
        }
    }

    /// Writes a small object in one request (the manifest).
    pub async fn put(&self, id: &str, name: &str, bytes: Vec<u8>) -> Result<(), StorageError> {
        match self {
            Store::Local(l) => l.put(id, name, &bytes),
            Store::S3(s) => s.put(id, name, bytes).await,
        }
    }

    /// Reads a small object whole (the manifest). `NotFound` when it does not exist.
    pub async fn get(&self, id: &str, name: &str) -> Result<Vec<u8>, StorageError> {
        match self {
            Store::Local(l) => l.get(id, name),
            Store::S3(s) => s.get(id, name).await,
        }
    }

    /// Streams object `name` of backup `id` into `out`, returning the bytes copied.
    pub async fn download(
        &self,
        id: &str,
        name: &str,
        out: &mut (dyn Write + Send),
    ) -> Result<u64, StorageError> {
        match self {
            Store::Local(l) => l.copy_to(id, name, out),
            Store::S3(s) => s.download(id, name, out).await,
        }
    }

    /// The ids of every complete backup (those with a manifest), unordered.
    pub async fn list(&self) -> Result<Vec<String>, StorageError> {
        match self {
            Store::Local(l) => l.list(),
            Store::S3(s) => s.list().await,
        }
    }

    /// Deletes backup `id`: the manifest first (so a half-deleted backup is never mistaken
    /// for a complete one), then everything else under it.
    pub async fn delete(&self, id: &str) -> Result<(), StorageError> {
        match self {
            Store::Local(l) => l.delete(id),
            Store::S3(s) => s.delete(id).await,
        }
    }
}

/// A streaming writer for one object.
pub enum ObjectWriter {
    Local(local::LocalWriter),
    S3(s3::S3Writer),
}

impl ObjectWriter {
    /// Completes the object. Blocking: call it from the pipeline's thread.
    pub fn finish(self) -> Result<(), StorageError> {
        match self {
            ObjectWriter::Local(w) => w.finish(),
            ObjectWriter::S3(w) => w.finish(),
        }
    }

    /// The storage error behind a failed `write`, when the sink knows it better than the
    /// `io::Error` it had to return.
    pub fn take_error(&mut self) -> Option<StorageError> {
        match self {
            ObjectWriter::Local(w) => w.take_error(),
            ObjectWriter::S3(w) => w.take_error(),
        }
    }
}

impl Write for ObjectWriter {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        match self {
            ObjectWriter::Local(w) => w.write(buf),
            ObjectWriter::S3(w) => w.write(buf),
        }
    }

    fn flush(&mut self) -> std::io::Result<()> {
        match self {
            ObjectWriter::Local(w) => w.flush(),
            ObjectWriter::S3(w) => w.flush(),
        }
    }
}

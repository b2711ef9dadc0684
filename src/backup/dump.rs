//! Running pg_dump and streaming its output to storage.
//!
//! custom and plain formats: pg_dump's stdout is read in 1 MiB chunks, compressed (pg_dump's
//! own compression is off), hashed and written straight to the destination — a file or an S3
//! multipart upload — with no second copy on disk and memory bounded by the chunk, the
//! compressor's window and the S3 parts in flight. The directory format is written by
//! `pg_dump --jobs` into a directory (the destination itself when it is local, else a staging
//! directory that is then uploaded file by file), compressed by pg_dump.

use std::collections::VecDeque;
use std::io::{BufRead, Read, Write};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::{Arc, Mutex};

use sha2::{Digest, Sha256};

use super::compress::{Compression, Method};
use super::manifest::{DumpFormat, FileEntry};
use super::snapshot::hex;
use super::{BackupError, Progress};
use crate::pg::tools::Installed;
use crate::pg::{child, ConnSpec};
use crate::storage::{StorageError, Store};

/// What to dump and where.
pub struct DumpJob<'a> {
    pub pg_dump: &'a Installed,
    pub conn: &'a ConnSpec,
    pub snapshot: &'a str,
    pub format: DumpFormat,
    pub compression: Compression,
    pub jobs: u32,
    pub store: &'a Store,
    pub id: &'a str,
    pub progress: &'a dyn Progress,
}

/// The name of the dump inside the backup: `<id>.dump.zst`, `<id>.sql.gz`, `<id>.dir`.
pub fn dump_name(id: &str, format: DumpFormat, compression: Compression) -> String {
    match format {
        DumpFormat::Custom => format!("{id}.dump{}", compression.extension()),
        DumpFormat::Plain => format!("{id}.sql{}", compression.extension()),
        DumpFormat::Directory => format!("{id}.dir"),
    }
}

/// Runs the dump; returns the stored files. Blocking: run it on its own thread.
pub fn run(job: &DumpJob<'_>) -> Result<Vec<FileEntry>, BackupError> {
    let name = dump_name(job.id, job.format, job.compression);
    match job.format {
        DumpFormat::Directory => directory(job, &name),
        DumpFormat::Custom | DumpFormat::Plain => stream(job, &name).map(|f| vec![f]),
    }
}

fn base_command(job: &DumpJob<'_>) -> Command {
    let mut cmd = Command::new(&job.pg_dump.path);
    child::libpq_env(&mut cmd, job.conn);
    child::die_with_parent(&mut cmd);
    cmd.arg("--no-password")
        .arg(format!("--format={}", job.format.name()))
        .arg(format!("--snapshot={}", job.snapshot));
    cmd
}

/// The last lines a child wrote to stderr, scrubbed, collected on a thread.
pub struct StderrTail {
    lines: Arc<Mutex<VecDeque<String>>>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl StderrTail {
    pub fn collect(stderr: impl Read + Send + 'static) -> StderrTail {
        let lines = Arc::new(Mutex::new(VecDeque::new()));
        let sink = lines.clone();
        let thread = std::thread::spawn(move || {
            for line in std::io::BufReader::new(stderr)
                .lines()
                .map_while(Result::ok)
            {
                let mut l = sink.lock().unwrap_or_else(|e| e.into_inner());
                if l.len() == 20 {
                    l.pop_front();
                }
                l.push_back(crate::secret::scrub(&line));
            }
        });
        StderrTail {
            lines,
            thread: Some(thread),
        }
    }

    /// Waits for the stream to end and returns its last lines.
    pub fn text(mut self) -> String {
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
        let l = self.lines.lock().unwrap_or_else(|e| e.into_inner());
        l.iter().cloned().collect::<Vec<_>>().join("\n")
    }
}

/// A writer that hashes and counts what passes through.
pub struct Hashing<W> {
    pub inner: W,
    hasher: Sha256,
    bytes: u64,
}

impl<W: Write> Hashing<W> {
    pub fn new(inner: W) -> Self {
        Hashing {
            inner,
            hasher: Sha256::new(),
            bytes: 0,
        }
    }

    pub fn digest(self) -> (W, u64, String) {
        (self.inner, self.bytes, hex(&self.hasher.finalize()))
    }
}

impl<W: Write> Write for Hashing<W> {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        let n = self.inner.write(buf)?;
        self.hasher.update(&buf[..n]);
        self.bytes += n as u64;
        Ok(n)
    }

    fn flush(&mut self) -> std::io::Result<()> {
        self.inner.flush()
    }
}

fn compressor_threads() -> u32 {
    std::thread::available_parallelism()
        .map(|n| n.get() as u32)
        .unwrap_or(1)
        .clamp(1, 8)
}

fn stream(job: &DumpJob<'_>, name: &str) -> Result<FileEntry, BackupError> {
    let mut cmd = base_command(job);
    if job.format == DumpFormat::Custom {
        // We compress the stream ourselves (faster, multithreaded): pg_dump must not.
        cmd.arg("--compress=0");
    }
    cmd.stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    let mut child = cmd.spawn().map_err(|source| BackupError::Spawn {
        program: job.pg_dump.path.display().to_string(),
        source,
    })?;
    let stderr = StderrTail::collect(child.stderr.take().expect("piped stderr"));
    let mut stdout = child.stdout.take().expect("piped stdout");

    let writer = job.store.create(job.id, name)?;
    let mut encoder = job
        .compression
        .encoder(Hashing::new(writer), compressor_threads())
        .map_err(|e| BackupError::Compress(e.to_string()))?;
    let mut buf = vec![0u8; 1 << 20];
    let copied: Result<(), BackupError> = loop {
        let n = match stdout.read(&mut buf) {
            Ok(0) => break Ok(()),
            Ok(n) => n,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
            Err(e) => {
                break Err(BackupError::Compress(format!(
                    "reading pg_dump's output: {e}"
                )))
            }
        };
        job.progress.advance(n as u64);
        if let Err(e) = encoder.write_all(&buf[..n]) {
            let storage = encoder.get_mut().inner.take_error();
            break Err(match storage {
                Some(s) => BackupError::Storage(s),
                None => BackupError::Storage(StorageError::Io {
                    action: "write",
                    path: job.store.describe(job.id, name),
                    source: e,
                }),
            });
        }
    };
    if copied.is_err() {
        let _ = child.kill();
    }
    drop(stdout);
    let status = child.wait().map_err(|source| BackupError::Spawn {
        program: job.pg_dump.path.display().to_string(),
        source,
    })?;
    let tail = stderr.text();
    // The writer is dropped unfinished on every error path: S3 aborts the upload.
    copied?;
    if !status.success() {
        return Err(BackupError::DumpFailed {
            status: status.to_string(),
            stderr: tail,
        });
    }
    let hashing = encoder.finish().map_err(|e| write_error(job, name, e))?;
    let (mut writer, size, sha256) = hashing.digest();
    writer.flush().map_err(|e| write_error(job, name, e))?;
    writer.finish()?;
    Ok(FileEntry {
        name: name.to_string(),
        size,
        sha256,
    })
}

fn write_error(job: &DumpJob<'_>, name: &str, e: std::io::Error) -> BackupError {
    BackupError::Storage(StorageError::Io {
        action: "write",
        path: job.store.describe(job.id, name),
        source: e,
    })
}

fn directory(job: &DumpJob<'_>, name: &str) -> Result<Vec<FileEntry>, BackupError> {
    let staging_tmp;
    let dir: PathBuf = match job.store.local_path(job.id, name) {
        Some(p) => p,
        None => {
            staging_tmp = tempfile::Builder::new()
                .prefix("pgkeel-dump-")
                .tempdir()
                .map_err(|e| {
                    BackupError::Compress(format!("cannot create a staging directory: {e}"))
                })?;
            staging_tmp.path().join(name)
        }
    };
    let mut cmd = base_command(job);
    cmd.arg(format!("--jobs={}", job.jobs.max(1)))
        .arg(format!("--file={}", dir.display()));
    cmd.arg(match (job.compression.method, job.pg_dump.major >= 16) {
        (Method::None, _) => "--compress=0".to_string(),
        (Method::Gzip, true) => format!("--compress=gzip:{}", job.compression.level),
        (Method::Gzip, false) => format!("--compress={}", job.compression.level),
        (Method::Zstd, true) => format!("--compress=zstd:{}", job.compression.level),
        (Method::Zstd, false) => {
            return Err(BackupError::Unsupported {
                what: format!(
                    "zstd compression of the directory format needs pg_dump 16 or newer (found {})",
                    job.pg_dump.version
                ),
                hint: "use --compress gzip, or --dump-format custom (pgkeel compresses that stream itself)".into(),
            })
        }
    });
    cmd.stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped());
    let mut child = cmd.spawn().map_err(|source| BackupError::Spawn {
        program: job.pg_dump.path.display().to_string(),
        source,
    })?;
    let stderr = StderrTail::collect(child.stderr.take().expect("piped stderr"));
    // Progress: the directory's growth, polled.
    let status = loop {
        match child.try_wait() {
            Ok(Some(s)) => break s,
            Ok(None) => {}
            Err(source) => {
                return Err(BackupError::Spawn {
                    program: job.pg_dump.path.display().to_string(),
                    source,
                })
            }
        }
        std::thread::sleep(std::time::Duration::from_millis(500));
        job.progress.set(dir_size(&dir));
    };
    let tail = stderr.text();
    if !status.success() {
        return Err(BackupError::DumpFailed {
            status: status.to_string(),
            stderr: tail,
        });
    }
    let mut files = Vec::new();
    let mut entries: Vec<PathBuf> = std::fs::read_dir(&dir)
        .map_err(crate::storage::io_err("read", &dir))?
        .flatten()
        .map(|e| e.path())
        .collect();
    entries.sort();
    for path in entries {
        let Some(file) = path
            .file_name()
            .and_then(|n| n.to_str())
            .map(str::to_string)
        else {
            continue;
        };
        let rel = format!("{name}/{file}");
        let mut input =
            std::fs::File::open(&path).map_err(crate::storage::io_err("read", &path))?;
        let entry = match job.store.local_path(job.id, &rel) {
            // Already in place: only hash it.
            Some(_) => {
                let mut h = Hashing::new(std::io::sink());
                std::io::copy(&mut input, &mut h).map_err(crate::storage::io_err("read", &path))?;
                let (_, size, sha256) = h.digest();
                FileEntry {
                    name: rel,
                    size,
                    sha256,
                }
            }
            None => {
                let mut h = Hashing::new(job.store.create(job.id, &rel)?);
                if let Err(e) = std::io::copy(&mut input, &mut h) {
                    return Err(match h.inner.take_error() {
                        Some(s) => BackupError::Storage(s),
                        None => write_error(job, &rel, e),
                    });
                }
                let (writer, size, sha256) = h.digest();
                writer.finish()?;
                FileEntry {
                    name: rel,
                    size,
                    sha256,
                }
            }
        };
        files.push(entry);
    }
    Ok(files)
}

fn dir_size(dir: &Path) -> u64 {
    std::fs::read_dir(dir)
        .map(|entries| {
            entries
                .flatten()
                .filter_map(|e| e.metadata().ok())
                .map(|m| m.len())
                .sum()
        })
        .unwrap_or(0)
}

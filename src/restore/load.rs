//! Loading a dump into a database with PostgreSQL's own programs, errors fatal:
//! `pg_restore --exit-on-error` (parallel with `--jobs` when the archive is seekable) for the
//! custom and directory formats, `psql -v ON_ERROR_STOP=1 --single-transaction` for plain SQL.
//!
//! A compressed custom archive is streamed through the decompressor into pg_restore's stdin
//! (one job, one transaction); with more than one job it is first decompressed to a temporary
//! file, because parallel pg_restore needs to seek.

use std::io::{Read, Write};
use std::path::Path;
use std::process::{Command, Stdio};

use super::RestoreError;
use crate::backup::compress::{Compression, Method};
use crate::backup::dump::StderrTail;
use crate::backup::manifest::DumpFormat;
use crate::backup::Progress;
use crate::pg::tools::Installed;
use crate::pg::{child, ConnSpec};

/// A dump on local disk, as stored (still compressed).
pub struct Archive<'a> {
    pub format: DumpFormat,
    pub compression: Compression,
    /// The file, or the directory for the directory format.
    pub path: &'a Path,
}

/// The programs that read dumps.
pub struct Programs {
    pub pg_restore: Installed,
    pub psql: Installed,
}

pub struct LoadOptions {
    pub jobs: u32,
    /// `--clean --if-exists`: drop each object before recreating it.
    pub clean: bool,
}

/// `dbname='…'` for `-d`, so a database name containing `=` is not taken for a conninfo.
fn dbname_conninfo(name: &str) -> String {
    format!(
        "dbname='{}'",
        name.replace('\\', "\\\\").replace('\'', "\\'")
    )
}

/// Loads `archive` into `target`. Blocking.
pub fn load(
    archive: &Archive<'_>,
    target: &ConnSpec,
    programs: &Programs,
    opts: &LoadOptions,
    progress: &dyn Progress,
) -> Result<(), RestoreError> {
    match archive.format {
        DumpFormat::Plain => {
            let mut cmd = Command::new(&programs.psql.path);
            cmd.args([
                "-X",
                "-q",
                "-v",
                "ON_ERROR_STOP=1",
                "--single-transaction",
                "--no-password",
            ])
            .arg("-d")
            .arg(dbname_conninfo(&target.dbname))
            .arg("-f")
            .arg("-");
            piped(cmd, &programs.psql, archive, target, progress)
        }
        DumpFormat::Directory => {
            let mut cmd = pg_restore(programs, target, opts);
            cmd.arg(format!("--jobs={}", opts.jobs.max(1)))
                .arg("--format=directory")
                .arg(archive.path);
            run(cmd, &programs.pg_restore, target)
        }
        DumpFormat::Custom if archive.compression.method == Method::None => {
            let mut cmd = pg_restore(programs, target, opts);
            if opts.jobs > 1 {
                cmd.arg(format!("--jobs={}", opts.jobs));
            } else {
                cmd.arg("--single-transaction");
            }
            cmd.arg("--format=custom").arg(archive.path);
            progress.set(file_size(archive.path));
            run(cmd, &programs.pg_restore, target)
        }
        DumpFormat::Custom if opts.jobs > 1 => {
            let spool = tempfile::Builder::new()
                .prefix("pgkeel-restore-")
                .suffix(".dump")
                .tempfile()
                .map_err(|e| RestoreError::Io {
                    action: "create a temporary file for",
                    path: archive.path.display().to_string(),
                    source: e,
                })?;
            let input = std::fs::File::open(archive.path).map_err(|e| RestoreError::Io {
                action: "open",
                path: archive.path.display().to_string(),
                source: e,
            })?;
            let mut reader = archive
                .compression
                .decoder(Counting {
                    inner: input,
                    progress,
                })
                .map_err(|e| RestoreError::Corrupt {
                    path: archive.path.display().to_string(),
                    reason: e.to_string(),
                })?;
            let mut out = std::io::BufWriter::with_capacity(1 << 20, spool.as_file());
            std::io::copy(&mut reader, &mut out).map_err(|e| RestoreError::Io {
                action: "decompress",
                path: archive.path.display().to_string(),
                source: e,
            })?;
            out.flush().map_err(|e| RestoreError::Io {
                action: "decompress",
                path: archive.path.display().to_string(),
                source: e,
            })?;
            drop(out);
            let mut cmd = pg_restore(programs, target, opts);
            cmd.arg(format!("--jobs={}", opts.jobs))
                .arg("--format=custom")
                .arg(spool.path());
            run(cmd, &programs.pg_restore, target)
        }
        DumpFormat::Custom => {
            let mut cmd = pg_restore(programs, target, opts);
            cmd.arg("--single-transaction").arg("--format=custom");
            piped(cmd, &programs.pg_restore, archive, target, progress)
        }
    }
}

fn file_size(path: &Path) -> u64 {
    std::fs::metadata(path).map(|m| m.len()).unwrap_or(0)
}

fn pg_restore(programs: &Programs, target: &ConnSpec, opts: &LoadOptions) -> Command {
    let mut cmd = Command::new(&programs.pg_restore.path);
    cmd.args(["--exit-on-error", "--no-password"])
        .arg(format!("--dbname={}", dbname_conninfo(&target.dbname)));
    if opts.clean {
        cmd.args(["--clean", "--if-exists"]);
    }
    cmd
}

/// Session settings for the loading programs: commits need not wait for the WAL flush (the
/// caller makes the load durable with one synchronous commit before verifying it, see
/// `target::make_durable`). Settable by any role; lasts only for pg_restore's or psql's own
/// sessions. (A larger maintenance_work_mem measured slower here: it changes the parallel
/// index build plans.)
const LOAD_SETTINGS: &str = "-c synchronous_commit=off";

fn prepare(cmd: &mut Command, target: &ConnSpec) {
    child::libpq_env(cmd, target);
    let options = match target.options.as_deref().filter(|o| !o.trim().is_empty()) {
        Some(own) => format!("{own} {LOAD_SETTINGS}"),
        None => LOAD_SETTINGS.to_string(),
    };
    cmd.env("PGOPTIONS", options);
    child::die_with_parent(cmd);
    cmd.stdout(Stdio::null()).stderr(Stdio::piped());
}

fn run(mut cmd: Command, program: &Installed, target: &ConnSpec) -> Result<(), RestoreError> {
    prepare(&mut cmd, target);
    cmd.stdin(Stdio::null());
    let mut child = cmd.spawn().map_err(|source| RestoreError::Spawn {
        program: program.path.display().to_string(),
        source,
    })?;
    let tail = StderrTail::collect(child.stderr.take().expect("piped stderr"));
    let status = child.wait().map_err(|source| RestoreError::Spawn {
        program: program.path.display().to_string(),
        source,
    })?;
    finish(status, tail, program)
}

fn finish(
    status: std::process::ExitStatus,
    tail: StderrTail,
    program: &Installed,
) -> Result<(), RestoreError> {
    let text = tail.text();
    if status.success() {
        return Ok(());
    }
    Err(RestoreError::LoadFailed {
        program: program
            .path
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default(),
        status: status.to_string(),
        stderr: text,
    })
}

/// Decompresses the archive into the child's stdin.
fn piped(
    mut cmd: Command,
    program: &Installed,
    archive: &Archive<'_>,
    target: &ConnSpec,
    progress: &dyn Progress,
) -> Result<(), RestoreError> {
    prepare(&mut cmd, target);
    cmd.stdin(Stdio::piped());
    let input = std::fs::File::open(archive.path).map_err(|e| RestoreError::Io {
        action: "open",
        path: archive.path.display().to_string(),
        source: e,
    })?;
    let mut child = cmd.spawn().map_err(|source| RestoreError::Spawn {
        program: program.path.display().to_string(),
        source,
    })?;
    let tail = StderrTail::collect(child.stderr.take().expect("piped stderr"));
    let mut stdin = child.stdin.take().expect("piped stdin");
    let fed: Result<(), RestoreError> = (|| {
        let mut reader = archive
            .compression
            .decoder(Counting {
                inner: input,
                progress,
            })
            .map_err(|e| RestoreError::Corrupt {
                path: archive.path.display().to_string(),
                reason: e.to_string(),
            })?;
        let mut buf = vec![0u8; 1 << 20];
        loop {
            let n = match reader.read(&mut buf) {
                Ok(0) => return Ok(()),
                Ok(n) => n,
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
                Err(e) => {
                    return Err(RestoreError::Corrupt {
                        path: archive.path.display().to_string(),
                        reason: e.to_string(),
                    })
                }
            };
            // A closed pipe means the program stopped on an error; its status says which.
            if stdin.write_all(&buf[..n]).is_err() {
                return Ok(());
            }
        }
    })();
    if fed.is_err() {
        // Never let a half-fed load commit: the program must not see a clean end of input.
        let _ = child.kill();
    }
    drop(stdin);
    let status = child.wait().map_err(|source| RestoreError::Spawn {
        program: program.path.display().to_string(),
        source,
    })?;
    fed?;
    finish(status, tail, program)
}

/// Counts bytes read from the stored file, for progress.
struct Counting<'a, R> {
    inner: R,
    progress: &'a dyn Progress,
}

impl<R: Read> Read for Counting<'_, R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.progress.advance(n as u64);
        Ok(n)
    }
}

impl Programs {
    /// pg_restore and psql at least as new as the pg_dump that wrote the archive.
    pub fn at_least(major: u32) -> Result<Programs, crate::pg::tools::ToolNotFound> {
        use crate::pg::tools::{find, Requirement, Tool};
        Ok(Programs {
            pg_restore: find(Tool::PgRestore, Requirement::AtLeast(major))?,
            psql: find(Tool::Psql, Requirement::AtLeast(major))?,
        })
    }
}

/// Reads the archive's table of contents (`pg_restore --list`); for plain SQL, decompresses
/// the whole file and checks pg_dump's closing line. Returns the number of entries. Blocking.
pub fn list(archive: &Archive<'_>, pg_restore: &Installed) -> Result<usize, RestoreError> {
    let open = || {
        std::fs::File::open(archive.path).map_err(|e| RestoreError::Io {
            action: "open",
            path: archive.path.display().to_string(),
            source: e,
        })
    };
    let corrupt = |reason: String| RestoreError::Corrupt {
        path: archive.path.display().to_string(),
        reason,
    };
    if archive.format == DumpFormat::Plain {
        let mut reader = archive
            .compression
            .decoder(open()?)
            .map_err(|e| corrupt(e.to_string()))?;
        let mut tail: Vec<u8> = Vec::new();
        let mut buf = vec![0u8; 1 << 20];
        let mut lines = 0usize;
        loop {
            let n = reader.read(&mut buf).map_err(|e| corrupt(e.to_string()))?;
            if n == 0 {
                break;
            }
            lines += buf[..n].iter().filter(|b| **b == b'\n').count();
            tail.extend_from_slice(&buf[..n]);
            if tail.len() > 4096 {
                tail.drain(..tail.len() - 4096);
            }
        }
        let text = String::from_utf8_lossy(&tail);
        if !text.contains("-- PostgreSQL database dump complete") {
            return Err(corrupt("the SQL ends before pg_dump's closing line".into()));
        }
        return Ok(lines);
    }
    let mut cmd = Command::new(&pg_restore.path);
    cmd.arg("--list");
    child::die_with_parent(&mut cmd);
    cmd.stdout(Stdio::piped()).stderr(Stdio::piped());
    let feed = archive.format == DumpFormat::Custom && archive.compression.method != Method::None;
    if feed {
        cmd.stdin(Stdio::piped());
    } else {
        cmd.stdin(Stdio::null()).arg(archive.path);
    }
    let mut child = cmd.spawn().map_err(|source| RestoreError::Spawn {
        program: pg_restore.path.display().to_string(),
        source,
    })?;
    let tail = StderrTail::collect(child.stderr.take().expect("piped stderr"));
    let mut stdout = child.stdout.take().expect("piped stdout");
    let counter = std::thread::spawn(move || {
        let mut text = String::new();
        let _ = stdout.read_to_string(&mut text);
        text.lines()
            .filter(|l| !l.starts_with(';') && !l.trim().is_empty())
            .count()
    });
    if feed {
        let mut stdin = child.stdin.take().expect("piped stdin");
        let mut reader = archive
            .compression
            .decoder(open()?)
            .map_err(|e| corrupt(e.to_string()))?;
        // pg_restore stops reading after the table of contents: a closed pipe is expected.
        let _ = std::io::copy(&mut reader, &mut stdin);
    }
    let status = child.wait().map_err(|source| RestoreError::Spawn {
        program: pg_restore.path.display().to_string(),
        source,
    })?;
    let entries = counter.join().unwrap_or(0);
    finish(status, tail, pg_restore)?;
    if entries == 0 {
        return Err(corrupt("the archive lists no entries".into()));
    }
    Ok(entries)
}

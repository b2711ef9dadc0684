//! Loading a dump into a database with PostgreSQL's own programs, errors fatal:
//! `pg_restore --exit-on-error` for the custom and directory formats, `psql -v ON_ERROR_STOP=1
//! --single-transaction` for plain SQL.
//!
//! With one job, a custom archive goes to pg_restore in one transaction (a compressed one
//! streamed through the decompressor into its stdin). With more, an archive is loaded in three
//! passes: pg_restore creates the schema, pgkeel spreads every table's rows over the jobs'
//! connections ([`parallel_copy`]), and `pg_restore --jobs` does the rest. pgkeel reads the
//! rows of a custom archive itself when it can ([`archive`]); otherwise a compressed custom
//! archive is first decompressed to a temporary file, because pg_restore needs to seek.
use std::io::{Read, Write};
use std::path::Path;
use std::process::{Command, Stdio};

use super::{archive, parallel_copy, RestoreError};
use crate::backup::compress::{Compression, Method};
use crate::backup::dump::StderrTail;
use crate::backup::manifest::DumpFormat;
use crate::backup::{NoProgress, Progress};
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

/// Loads `archive` into `target`. Blocking: call it on a blocking thread (`spawn_blocking`).
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
        DumpFormat::Custom | DumpFormat::Directory if opts.jobs > 1 => {
            in_three_passes(archive, target, programs, opts, progress)
        }
        DumpFormat::Directory => {
            let mut cmd = pg_restore(programs, target, opts);
            cmd.arg("--format=directory").arg(archive.path);
            run(cmd, &programs.pg_restore, target)
        }
        DumpFormat::Custom if archive.compression.method == Method::None => {
            progress.set(file_size(archive.path));
            let mut cmd = pg_restore(programs, target, opts);
            cmd.arg("--single-transaction")
                .arg("--format=custom")
                .arg(archive.path);
            run(cmd, &programs.pg_restore, target)
        }
        DumpFormat::Custom => {
            let mut cmd = pg_restore(programs, target, opts);
            cmd.arg("--single-transaction").arg("--format=custom");
            piped(cmd, &programs.pg_restore, archive, target, progress)
        }
    }
}

/// A custom or directory archive, loaded in three passes: the schema before the data
/// (`pg_restore --section=pre-data`); every table's rows spread over `jobs` connections
/// ([`parallel_copy`]); then the rest (sequence values, large objects, indexes, constraints,
/// triggers, grants) by `pg_restore --jobs`. The passes cover the archive exactly once: entries
/// without a section of their own (comments, grants) go with the entry before them in both
/// pg_restore passes, and the last pass lists every entry but the tables' rows.
///
/// Where the rows come from:
/// - a custom archive pgkeel can read ([`archive`]): straight from its decompressor, while
///   both pg_restore passes read a file holding only the archive's head;
/// - otherwise pg_restore prints them, from the stored file or directory, or (a compressed
///   custom archive) from a temporary file it is first decompressed into, because pg_restore
///   needs to seek.
fn in_three_passes(
    archive: &Archive<'_>,
    target: &ConnSpec,
    programs: &Programs,
    opts: &LoadOptions,
    progress: &dyn Progress,
) -> Result<(), RestoreError> {
    let format_arg = format!("--format={}", archive.format.name());
    let t0 = std::time::Instant::now();
    let direct = match archive.format {
        DumpFormat::Custom => readable_head(archive, &programs.pg_restore)?,
        _ => None,
    };
    let spool = match direct {
        Some(_) => None,
        None => seekable(archive, progress)?,
    };
    // What both pg_restore passes read.
    let path = match (&direct, &spool) {
        (Some(direct), _) => direct.file.path(),
        (None, Some(spool)) => spool.path(),
        (None, None) => archive.path,
    };
    let listed;
    let entries = match &direct {
        Some(direct) => &direct.listed,
        None => {
            listed = table_of_contents(&uncompressed(archive.format, path), &programs.pg_restore)?;
            &listed
        }
    };
    let (rows, rest): (Vec<&TocEntry>, Vec<&TocEntry>) =
        entries.iter().partition(|e| e.is_table_data);

    let t0 = log_pass("table of contents", t0);
    let mut schema = pg_restore(programs, target, opts);
    schema.arg("--section=pre-data").arg(&format_arg).arg(path);
    run(schema, &programs.pg_restore, target)?;

    let t0 = log_pass("schema (pre-data)", t0);
    progress.done();
    if let Some(direct) = &direct {
        // Counted in stored bytes, as the reading thread decompresses them.
        progress.phase("load rows", Some(file_size(archive.path)));
        rows_from_archive(archive, direct, programs, target, opts.jobs, progress)?;
    } else {
        // Counted in the rows' text, about the size of the (uncompressed) archive.
        progress.phase("load rows", path.is_file().then(|| file_size(path)));
        let list = use_list(&rows)?;
        let mut cmd = Command::new(&programs.pg_restore.path);
        cmd.arg(format!("--use-list={}", list.path().display()))
            .arg("--file=-")
            .arg(&format_arg)
            .arg(path);
        spread_rows(cmd, &programs.pg_restore, target, opts.jobs, progress)?;
    }
    progress.done();

    let t0 = log_pass("rows", t0);
    let list = use_list(&rest)?;
    let mut cmd = pg_restore(programs, target, opts);
    cmd.args(["--section=data", "--section=post-data"])
        .arg(format!("--jobs={}", opts.jobs.max(1)))
        .arg(format!("--use-list={}", list.path().display()))
        .arg(&format_arg)
        .arg(path);
    run(cmd, &programs.pg_restore, target)?;
    log_pass("the rest (post-data)", t0);
    Ok(())
}

/// The archive at `path`, stored as it is.
fn uncompressed(format: DumpFormat, path: &Path) -> Archive<'_> {
    Archive {
        format,
        compression: Compression {
            method: Method::None,
            level: 0,
        },
        path,
    }
}

/// A compressed custom archive decompressed to a temporary file, because pg_restore needs to
/// seek; `None` when the stored file or directory can be read as it is.
fn seekable(
    archive: &Archive<'_>,
    progress: &dyn Progress,
) -> Result<Option<tempfile::NamedTempFile>, RestoreError> {
    if archive.format != DumpFormat::Custom || archive.compression.method == Method::None {
        return Ok(None);
    }
    let spool = spool_file(archive)?;
    let io = |e| RestoreError::Io {
        action: "decompress",
        path: archive.path.display().to_string(),
        source: e,
    };
    let mut reader = decompressed(archive, progress)?;
    let mut out = std::io::BufWriter::with_capacity(1 << 20, spool.as_file());
    std::io::copy(&mut reader, &mut out).map_err(io)?;
    out.flush().map_err(io)?;
    drop(out);
    Ok(Some(spool))
}

/// A custom archive whose rows pgkeel streams itself.
struct Direct {
    head: archive::Head,
    /// The head alone, for pg_restore (every entry but the rows needs nothing else).
    file: tempfile::NamedTempFile,
    /// pg_restore's listing of that file.
    listed: Vec<TocEntry>,
}

/// Reads the head of a custom archive; `None` when the rows should go through pg_restore (see
/// [`archive::Head::read`]), or when pg_restore's listing of the head disagrees with pgkeel's
/// reading of it about which entries are table data.
fn readable_head(
    stored: &Archive<'_>,
    pg_restore: &Installed,
) -> Result<Option<Direct>, RestoreError> {
    let corrupt = |reason: String| RestoreError::Corrupt {
        path: stored.path.display().to_string(),
        reason,
    };
    let head = match archive::Head::read(decompressed(stored, &NoProgress)?) {
        Ok(head) => head,
        Err(archive::ArchiveError::Unsupported(why)) => {
            tracing::debug!("restore: pg_restore prints the rows ({why})");
            return Ok(None);
        }
        Err(e) => return Err(corrupt(e.to_string())),
    };
    let mut file = spool_file(stored)?;
    file.write_all(&head.bytes)
        .and_then(|()| file.flush())
        .map_err(|e| RestoreError::Io {
            action: "write the head of",
            path: stored.path.display().to_string(),
            source: e,
        })?;
    let listed = table_of_contents(&uncompressed(DumpFormat::Custom, file.path()), pg_restore)?;
    let ours = head
        .entries
        .iter()
        .filter(|e| e.is_table_data())
        .map(|e| e.id);
    let theirs = listed
        .iter()
        .filter(|e| e.is_table_data)
        .map(|e| i64::from(e.id));
    if !ours.eq(theirs) {
        tracing::debug!("restore: pg_restore prints the rows (its listing differs from pgkeel's)");
        return Ok(None);
    }
    tracing::debug!("restore: pgkeel reads the rows from the archive");
    Ok(Some(Direct { head, file, listed }))
}

/// Loads the rows of a [`Direct`] archive: one thread decompresses the archive and cuts its
/// data blocks into COPY text ([`archive::TableRows`]); the loading connections run on a
/// runtime of their own ([`load_rows`]). Each connection first gets the session settings
/// pg_restore itself would use (client encoding, search path, timeouts), as pg_restore prints
/// them for an empty list.
fn rows_from_archive(
    stored: &Archive<'_>,
    direct: &Direct,
    programs: &Programs,
    target: &ConnSpec,
    jobs: u32,
    progress: &dyn Progress,
) -> Result<(), RestoreError> {
    let empty = use_list(&[])?;
    let mut cmd = Command::new(&programs.pg_restore.path);
    cmd.arg(format!("--use-list={}", empty.path().display()))
        .args(["--file=-", "--format=custom"])
        .arg(direct.file.path());
    child::die_with_parent(&mut cmd);
    let spawn_err = |source| RestoreError::Spawn {
        program: programs.pg_restore.path.display().to_string(),
        source,
    };
    let printed = cmd.stdin(Stdio::null()).output().map_err(spawn_err)?;
    if !printed.status.success() {
        return Err(RestoreError::LoadFailed {
            program: "pg_restore".into(),
            status: printed.status.to_string(),
            stderr: String::from_utf8_lossy(&printed.stderr).into_owned(),
        });
    }

    const CHUNK: usize = 1 << 20;
    let (tx, rx) = tokio::sync::mpsc::channel::<Vec<u8>>(4);
    let (back, returned) = std::sync::mpsc::channel::<Vec<u8>>();
    let chunks = Chunks {
        rx,
        back,
        current: Vec::new(),
        pos: 0,
    };
    let (read, loaded) = std::thread::scope(|scope| {
        let reading = scope.spawn(move || -> Result<(), archive::ArchiveError> {
            if tx.blocking_send(printed.stdout).is_err() {
                return Ok(());
            }
            let decoder = decompressed(stored, progress)
                .map_err(|e| archive::ArchiveError::Io(std::io::Error::other(e.to_string())))?;
            let mut rows = direct.head.table_rows(decoder);
            loop {
                // Buffers come back from the loader: the same few are reused throughout.
                let mut buf = returned
                    .try_recv()
                    .unwrap_or_else(|_| Vec::with_capacity(CHUNK + (64 << 10)));
                if !rows.next_text(&mut buf, CHUNK)? {
                    return Ok(());
                }
                // A closed channel: the load stopped, and says why.
                if tx.blocking_send(buf).is_err() {
                    return Ok(());
                }
            }
        });
        let loaded = load_rows(|| Ok(chunks), target, jobs, &NoProgress);
        let read = reading.join().unwrap_or_else(|_| {
            Err(archive::ArchiveError::Io(std::io::Error::other(
                "the archive's reading thread panicked",
            )))
        });
        (read, loaded)
    });
    // A damaged archive is the cause of whatever the load saw.
    read.map_err(|e| RestoreError::Corrupt {
        path: stored.path.display().to_string(),
        reason: e.to_string(),
    })?;
    loaded.map(|_| ())
}

/// The COPY text [`rows_from_archive`]'s reading thread sends, as a stream; hands each buffer
/// back once it is read.
struct Chunks {
    rx: tokio::sync::mpsc::Receiver<Vec<u8>>,
    back: std::sync::mpsc::Sender<Vec<u8>>,
    current: Vec<u8>,
    pos: usize,
}

impl tokio::io::AsyncRead for Chunks {
    fn poll_read(
        mut self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
        buf: &mut tokio::io::ReadBuf<'_>,
    ) -> std::task::Poll<std::io::Result<()>> {
        let this = &mut *self;
        while this.pos == this.current.len() {
            match std::task::ready!(this.rx.poll_recv(cx)) {
                Some(next) => {
                    let used = std::mem::replace(&mut this.current, next);
                    this.pos = 0;
                    let _ = this.back.send(used);
                }
                None => return std::task::Poll::Ready(Ok(())),
            }
        }
        let n = (this.current.len() - this.pos).min(buf.remaining());
        buf.put_slice(&this.current[this.pos..this.pos + n]);
        this.pos += n;
        std::task::Poll::Ready(Ok(()))
    }
}

/// Logs how long a pass took (`-v`) and starts the clock for the next.
fn log_pass(pass: &str, started: std::time::Instant) -> std::time::Instant {
    tracing::debug!("restore: {pass} in {:?}", started.elapsed());
    std::time::Instant::now()
}

/// A temporary file for (part of) a decompressed archive.
fn spool_file(archive: &Archive<'_>) -> Result<tempfile::NamedTempFile, RestoreError> {
    tempfile::Builder::new()
        .prefix("pgkeel-restore-")
        .suffix(".dump")
        .tempfile()
        .map_err(|e| RestoreError::Io {
            action: "create a temporary file for",
            path: archive.path.display().to_string(),
            source: e,
        })
}

/// Runs `cmd` (pg_restore printing table data as SQL) and loads what it prints.
fn spread_rows(
    mut cmd: Command,
    program: &Installed,
    target: &ConnSpec,
    jobs: u32,
    progress: &dyn Progress,
) -> Result<(), RestoreError> {
    child::die_with_parent(&mut cmd);
    cmd.stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    let spawn_err = |source| RestoreError::Spawn {
        program: program.path.display().to_string(),
        source,
    };
    let mut child = cmd.spawn().map_err(spawn_err)?;
    let tail = StderrTail::collect(child.stderr.take().expect("piped stderr"));
    let stdout = child.stdout.take().expect("piped stdout");
    let loaded = load_rows(
        || {
            tokio::process::ChildStdout::from_std(stdout).map_err(|e| RestoreError::Io {
                action: "read",
                path: "pg_restore's output".into(),
                source: e,
            })
        },
        target,
        jobs,
        progress,
    );
    if loaded.is_err() {
        let _ = child.kill();
    }
    let status = child.wait().map_err(spawn_err)?;
    match loaded {
        // A damaged archive shows as a cut stream: pg_restore's own message says more.
        Err(RestoreError::DataStream { .. } | RestoreError::Io { .. }) if !status.success() => {
            finish(status, tail, program)
        }
        Err(e) => Err(e),
        Ok(_) => finish(status, tail, program),
    }
}

/// Loads the COPY text of `input` (made inside the runtime) over `jobs` connections, on a
/// runtime of its own: one thread, so that every buffer is freed by the thread that allocated
/// it (with the slices handed between a multi-threaded runtime's workers, the allocator kept
/// 150 MB of freed slices at a 600 MB restore).
fn load_rows<I: tokio::io::AsyncRead + Unpin>(
    input: impl FnOnce() -> Result<I, RestoreError>,
    target: &ConnSpec,
    jobs: u32,
    progress: &dyn Progress,
) -> Result<u64, RestoreError> {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| RestoreError::Io {
            action: "start",
            path: "the loading connections' runtime".into(),
            source: e,
        })?;
    runtime.block_on(async { parallel_copy::load(input()?, target, jobs, progress).await })
}

/// A `--use-list` file naming `entries`.
fn use_list(entries: &[&TocEntry]) -> Result<tempfile::NamedTempFile, RestoreError> {
    let io = |e| RestoreError::Io {
        action: "write",
        path: "a pg_restore list file".into(),
        source: e,
    };
    let mut file = tempfile::Builder::new()
        .prefix("pgkeel-restore-")
        .suffix(".list")
        .tempfile()
        .map_err(io)?;
    for entry in entries {
        writeln!(file, "{};", entry.id).map_err(io)?;
    }
    file.flush().map_err(io)?;
    Ok(file)
}

/// One line of `pg_restore --list`.
#[derive(Debug, PartialEq, Eq)]
pub struct TocEntry {
    pub id: u32,
    /// A table's rows (`TABLE DATA`).
    pub is_table_data: bool,
}

/// Parses `pg_restore --list` (`3359; 0 210374 TABLE DATA public events owner`); comment
/// lines start with `;`.
fn parse_listing(text: &str) -> Vec<TocEntry> {
    text.lines()
        .filter(|l| !l.starts_with(';') && !l.trim().is_empty())
        .filter_map(|line| {
            let (id, rest) = line.split_once(';')?;
            let mut words = rest.split_whitespace();
            let (_catalog, _oid) = (words.next()?, words.next()?);
            let is_table_data = words.next() == Some("TABLE") && words.next() == Some("DATA");
            Some(TocEntry {
                id: id.trim().parse().ok()?,
                is_table_data,
            })
        })
        .collect()
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
    let mut reader = decompressed(archive, progress)?;
    let mut child = cmd.spawn().map_err(|source| RestoreError::Spawn {
        program: program.path.display().to_string(),
        source,
    })?;
    let tail = StderrTail::collect(child.stderr.take().expect("piped stderr"));
    let mut stdin = child.stdin.take().expect("piped stdin");
    let fed: Result<(), RestoreError> = (|| {
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

/// The stored file, decompressed as it is read; progress counts the stored bytes.
fn decompressed<'a>(
    archive: &Archive<'_>,
    progress: &'a dyn Progress,
) -> Result<Box<dyn Read + Send + 'a>, RestoreError> {
    let input = std::fs::File::open(archive.path).map_err(|e| RestoreError::Io {
        action: "open",
        path: archive.path.display().to_string(),
        source: e,
    })?;
    archive
        .compression
        .decoder(Counting {
            inner: input,
            progress,
        })
        .map_err(|e| RestoreError::Corrupt {
            path: archive.path.display().to_string(),
            reason: e.to_string(),
        })
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
    let corrupt = |reason: String| RestoreError::Corrupt {
        path: archive.path.display().to_string(),
        reason,
    };
    if archive.format == DumpFormat::Plain {
        let mut reader = decompressed(archive, &NoProgress)?;
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
    let entries = table_of_contents(archive, pg_restore)?.len();
    if entries == 0 {
        return Err(corrupt("the archive lists no entries".into()));
    }
    Ok(entries)
}

/// `pg_restore --list` of a custom or directory archive (a compressed custom archive is fed
/// through its decoder; pg_restore reads only its head). Blocking.
fn table_of_contents(
    archive: &Archive<'_>,
    pg_restore: &Installed,
) -> Result<Vec<TocEntry>, RestoreError> {
    let mut cmd = Command::new(&pg_restore.path);
    cmd.arg("--list")
        .arg(format!("--format={}", archive.format.name()));
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
    let reading = std::thread::spawn(move || {
        let mut text = String::new();
        let _ = stdout.read_to_string(&mut text);
        parse_listing(&text)
    });
    if feed {
        let mut stdin = child.stdin.take().expect("piped stdin");
        // pg_restore stops reading after the table of contents: a closed pipe is expected.
        let _ = std::io::copy(&mut decompressed(archive, &NoProgress)?, &mut stdin);
    }
    let status = child.wait().map_err(|source| RestoreError::Spawn {
        program: pg_restore.path.display().to_string(),
        source,
    })?;
    let entries = reading.join().unwrap_or_default();
    finish(status, tail, pg_restore)?;
    Ok(entries)
}

//! One throwaway PostgreSQL server.

use std::io::Read;
use std::net::TcpListener;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdin, Command, Stdio};
use std::time::{Duration, Instant};

use super::run_as::{self, RunAs};
use super::template::{self, tail, SUPERUSER};
use super::{io_err, SandboxError};
use crate::pg::tools::{self, Installed, Requirement, Tool};
use crate::pg::{ConnSpec, Host, SslMode};

/// How long a server may take to accept connections.
const READY_TIMEOUT: Duration = Duration::from_secs(60);

/// How to start a sandbox.
#[derive(Debug, Clone, Default)]
pub struct SandboxOptions {
    /// PostgreSQL major version; the newest installed when `None`.
    pub pg_version: Option<u32>,
    /// TCP port on 127.0.0.1; a free one when `None`.
    pub port: Option<u16>,
    /// Keep the data here (created when missing, reused when present, kept on stop).
    pub data_dir: Option<PathBuf>,
    /// Extra server settings (`-c name=value`), e.g. `ssl=on`.
    pub settings: Vec<(String, String)>,
    /// Replacement `pg_hba.conf` contents.
    pub hba: Option<String>,
    /// Files to place in the data directory before start (name, contents, mode), e.g. TLS keys.
    pub files: Vec<(String, Vec<u8>, u32)>,
}

/// A running sandbox. Stopped and (unless it has a user-chosen data directory) deleted on drop.
pub struct Cluster {
    postgres: Installed,
    root: PathBuf,
    data_dir: PathBuf,
    socket_dir: Option<PathBuf>,
    log_file: PathBuf,
    port: u16,
    keep_data: bool,
    child: Option<Child>,
    watchdog: Option<(Child, ChildStdin)>,
    detached: bool,
}

impl Cluster {
    /// Starts a new server and waits until it accepts connections.
    pub fn start(opts: &SandboxOptions) -> Result<Cluster, SandboxError> {
        let t0 = Instant::now();
        let req = opts.pg_version.map_or(Requirement::Any, Requirement::Exact);
        let postgres = tools::find(Tool::Postgres, req)?;
        // initdb from the same directory is the same build; no need to search and probe again.
        let sibling = postgres.bindir().join(Tool::Initdb.name());
        let initdb = if sibling.is_file() {
            Installed {
                path: sibling,
                ..postgres.clone()
            }
        } else {
            tools::find(Tool::Initdb, Requirement::Exact(postgres.major))?
        };
        let run_as = run_as::unprivileged();

        let (root, data_dir, keep_data) = match &opts.data_dir {
            Some(dir) => {
                let dir = absolute(dir);
                (dir.clone(), dir, true)
            }
            None => {
                let base = throwaway_base_dir();
                let tmp = tempfile::Builder::new()
                    .prefix("pgkeel-sandbox-")
                    .tempdir_in(&base)
                    .map_err(io_err("create a temporary directory in", &base))?;
                let root = tmp.keep();
                let data = root.join("data");
                (root, data, false)
            }
        };
        let mut cluster = Cluster {
            postgres: postgres.clone(),
            socket_dir: None,
            log_file: if keep_data {
                data_dir.join("pgkeel-server.log")
            } else {
                root.join("server.log")
            },
            root,
            data_dir,
            port: 0,
            keep_data,
            child: None,
            watchdog: None,
            detached: false,
        };
        tracing::debug!(
            "sandbox: found PostgreSQL {} in {:?}",
            postgres.version,
            t0.elapsed()
        );
        // From here on, an error drops `cluster`, which removes what was created.
        cluster.prepare_data_dir(&initdb, run_as.as_ref(), opts)?;
        tracing::debug!("sandbox: data directory ready in {:?}", t0.elapsed());
        cluster.socket_dir = socket_dir_for(if keep_data {
            &cluster.data_dir
        } else {
            &cluster.root
        });
        if let Some(user) = &run_as {
            if !keep_data {
                set_mode(&cluster.root, 0o700)?;
                user.chown_tree(&cluster.root)
                    .map_err(io_err("chown", &cluster.root))?;
            } else {
                user.chown_tree(&cluster.data_dir)
                    .map_err(io_err("chown", &cluster.data_dir))?;
            }
        }

        let mut attempts = 0;
        loop {
            attempts += 1;
            let port = match opts.port {
                Some(p) => p,
                None => free_port().map_err(io_err("find a free port on", "127.0.0.1"))?,
            };
            cluster.port = port;
            match cluster.spawn_and_wait(run_as.as_ref(), opts) {
                Ok(()) => break,
                Err(SandboxError::PortInUse { .. }) if opts.port.is_none() && attempts < 5 => {
                    continue
                }
                Err(e) => return Err(e),
            }
        }
        tracing::debug!("sandbox: server ready in {:?}", t0.elapsed());
        if !keep_data {
            cluster.start_watchdog();
        }
        Ok(cluster)
    }

    fn prepare_data_dir(
        &mut self,
        initdb: &Installed,
        run_as: Option<&RunAs>,
        opts: &SandboxOptions,
    ) -> Result<(), SandboxError> {
        let version_file = self.data_dir.join("PG_VERSION");
        if version_file.exists() {
            let found = std::fs::read_to_string(&version_file)
                .map_err(io_err("read", &version_file))?
                .trim()
                .to_string();
            if found != self.postgres.major.to_string() {
                return Err(SandboxError::DataDirVersion {
                    path: self.data_dir.clone(),
                    found,
                    wanted: self.postgres.major,
                });
            }
        } else {
            if self.data_dir.exists() {
                let empty = std::fs::read_dir(&self.data_dir)
                    .map_err(io_err("read", &self.data_dir))?
                    .next()
                    .is_none();
                if !empty {
                    return Err(SandboxError::Io {
                        action: "use as a data directory (it is neither empty nor a PostgreSQL data directory)",
                        path: self.data_dir.clone(),
                        source: std::io::Error::from(std::io::ErrorKind::AlreadyExists),
                    });
                }
                std::fs::remove_dir(&self.data_dir).map_err(io_err("replace", &self.data_dir))?;
            } else if let Some(parent) = self.data_dir.parent() {
                std::fs::create_dir_all(parent).map_err(io_err("create", parent))?;
            }
            template::materialize(initdb, run_as, &self.data_dir)?;
        }
        if let Some(hba) = &opts.hba {
            let path = self.data_dir.join("pg_hba.conf");
            std::fs::write(&path, hba).map_err(io_err("write", &path))?;
        }
        for (name, contents, mode) in &opts.files {
            let path = self.data_dir.join(name);
            std::fs::write(&path, contents).map_err(io_err("write", &path))?;
            set_mode(&path, *mode)?;
        }
        Ok(())
    }

    fn spawn_and_wait(
        &mut self,
        run_as: Option<&RunAs>,
        opts: &SandboxOptions,
    ) -> Result<(), SandboxError> {
        let log = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(&self.log_file)
            .map_err(io_err("open", &self.log_file))?;
        let log_start = log.metadata().map(|m| m.len()).unwrap_or(0);
        if let Some(user) = run_as {
            let _ = std::os::unix::fs::chown(&self.log_file, Some(user.uid), Some(user.gid));
        }
        let mut settings: Vec<(String, String)> = vec![
            ("port".into(), self.port.to_string()),
            ("listen_addresses".into(), "127.0.0.1".into()),
            (
                "unix_socket_directories".into(),
                self.socket_dir
                    .as_ref()
                    .map(|d| d.display().to_string())
                    .unwrap_or_default(),
            ),
            ("synchronous_commit".into(), "off".into()),
            ("logging_collector".into(), "off".into()),
            ("log_min_messages".into(), "warning".into()),
            ("max_connections".into(), "200".into()),
        ];
        if !self.keep_data {
            // A throwaway server never needs to survive a crash.
            settings.push(("fsync".into(), "off".into()));
            settings.push(("full_page_writes".into(), "off".into()));
        }
        settings.extend(opts.settings.iter().cloned());

        let mut cmd = Command::new(&self.postgres.path);
        cmd.arg("-D").arg(&self.data_dir);
        for (k, v) in &settings {
            cmd.arg("-c").arg(format!("{k}={v}"));
        }
        cmd.stdin(Stdio::null())
            .stdout(log.try_clone().map_err(io_err("open", &self.log_file))?)
            .stderr(log)
            .env_remove("PGDATA")
            .env("LC_ALL", "C");
        if let Some(user) = run_as {
            cmd.uid(user.uid).gid(user.gid).current_dir("/");
        }
        // Own session: a Ctrl-C in the terminal reaches pgkeel, which shuts the server down in
        // order, instead of killing the server under a running command.
        // SAFETY: setsid is async-signal-safe and touches no memory.
        unsafe {
            cmd.pre_exec(|| {
                if libc::setsid() < 0 {
                    return Err(std::io::Error::last_os_error());
                }
                Ok(())
            });
        }
        let child = cmd.spawn().map_err(io_err("run", &self.postgres.path))?;
        self.child = Some(child);

        let started = Instant::now();
        let pid_file = self.data_dir.join("postmaster.pid");
        loop {
            if let Some(child) = self.child.as_mut() {
                if let Ok(Some(_status)) = child.try_wait() {
                    self.child = None;
                    let log_tail = self.log_since(log_start);
                    if log_tail.contains("could not bind")
                        || log_tail.contains("Address already in use")
                    {
                        return Err(SandboxError::PortInUse { port: self.port });
                    }
                    return Err(SandboxError::StartFailed { log_tail });
                }
            }
            if let Ok(text) = std::fs::read_to_string(&pid_file) {
                // Line 8 of postmaster.pid is the server status (PostgreSQL 10+).
                if text.lines().nth(7).map(str::trim) == Some("ready") {
                    return Ok(());
                }
            }
            if started.elapsed() > READY_TIMEOUT {
                let log_tail = self.log_since(log_start);
                self.kill_server(libc::SIGQUIT);
                return Err(SandboxError::NotReady {
                    seconds: READY_TIMEOUT.as_secs(),
                    log_tail,
                });
            }
            // pg_ctl polls every 100 ms; 2 ms costs nothing and is most of our start-up lead.
            std::thread::sleep(Duration::from_millis(2));
        }
    }

    fn log_since(&self, offset: u64) -> String {
        let mut text = String::new();
        if let Ok(mut f) = std::fs::File::open(&self.log_file) {
            use std::io::Seek;
            let _ = f.seek(std::io::SeekFrom::Start(offset));
            let _ = f.read_to_string(&mut text);
        }
        tail(&text, 8)
    }

    /// A watchdog in its own session holds the read end of a pipe whose write end only we have.
    /// When pgkeel exits for any reason (even SIGKILL), the pipe closes and the watchdog stops
    /// the server and removes its directory.
    fn start_watchdog(&mut self) {
        let Some(pid) = self.child.as_ref().map(Child::id) else {
            return;
        };
        const SCRIPT: &str = r#"read -r _ 2>/dev/null
kill -QUIT "$1" 2>/dev/null
i=0
while kill -0 "$1" 2>/dev/null && [ "$i" -lt 200 ]; do sleep 0.05; i=$((i+1)); done
kill -KILL "$1" 2>/dev/null
rm -rf -- "$2""#;
        let mut cmd = Command::new("/bin/sh");
        cmd.arg("-c")
            .arg(SCRIPT)
            .arg("pgkeel-sandbox-watchdog")
            .arg(pid.to_string())
            .arg(&self.root)
            .stdin(Stdio::piped())
            .stdout(Stdio::null())
            .stderr(Stdio::null());
        // SAFETY: setsid is async-signal-safe.
        unsafe {
            cmd.pre_exec(|| {
                libc::setsid();
                Ok(())
            });
        }
        match cmd.spawn() {
            Ok(mut child) => {
                if let Some(stdin) = child.stdin.take() {
                    self.watchdog = Some((child, stdin));
                }
            }
            Err(e) => tracing::warn!(
                "sandbox watchdog not started ({e}); a killed pgkeel may leave {} behind",
                self.root.display()
            ),
        }
    }

    /// Connection target for the superuser and database `postgres`, over TCP.
    pub fn conn_spec(&self) -> ConnSpec {
        self.conn_spec_for("postgres")
    }

    /// Connection target for database `dbname`.
    pub fn conn_spec_for(&self, dbname: &str) -> ConnSpec {
        ConnSpec {
            hosts: vec![Host::Tcp("127.0.0.1".into())],
            ports: vec![self.port],
            user: SUPERUSER.into(),
            password: None,
            dbname: dbname.into(),
            sslmode: SslMode::Disable,
            sslrootcert: None,
            connect_timeout: crate::pg::DEFAULT_CONNECT_TIMEOUT,
            application_name: crate::pg::DEFAULT_APPLICATION_NAME.into(),
            options: None,
        }
    }

    pub fn port(&self) -> u16 {
        self.port
    }

    pub fn data_dir(&self) -> &Path {
        &self.data_dir
    }

    pub fn socket_dir(&self) -> Option<&Path> {
        self.socket_dir.as_deref()
    }

    pub fn log_file(&self) -> &Path {
        &self.log_file
    }

    pub fn pid(&self) -> Option<u32> {
        self.child.as_ref().map(Child::id)
    }

    /// The server's version, e.g. `15.18`.
    pub fn version(&self) -> &str {
        &self.postgres.version
    }

    pub fn major(&self) -> u32 {
        self.postgres.major
    }

    /// Leaves the server running after this process exits; returns what `sandbox stop` needs.
    pub fn detach(mut self) -> super::registry::Detached {
        self.detached = true;
        self.disarm_watchdog();
        super::registry::Detached {
            pid: self.pid().unwrap_or(0),
            port: self.port,
            root: self.root.clone(),
            data_dir: self.data_dir.clone(),
            socket_dir: self.socket_dir.clone(),
            log_file: self.log_file.clone(),
            remove_on_stop: !self.keep_data,
            version: self.postgres.version.clone(),
        }
    }

    /// Stops the watchdog without letting it act (it acts only when its pipe closes).
    fn disarm_watchdog(&mut self) {
        if let Some((mut child, stdin)) = self.watchdog.take() {
            let _ = child.kill();
            let _ = child.wait();
            drop(stdin);
        }
    }

    fn kill_server(&mut self, signal: libc::c_int) {
        if let Some(mut child) = self.child.take() {
            // SAFETY: plain kill(2) on our own child's pid.
            unsafe {
                libc::kill(child.id() as libc::pid_t, signal);
            }
            let deadline = Instant::now() + Duration::from_secs(15);
            loop {
                match child.try_wait() {
                    Ok(Some(_)) | Err(_) => break,
                    Ok(None) if Instant::now() > deadline => {
                        let _ = child.kill();
                        let _ = child.wait();
                        break;
                    }
                    Ok(None) => std::thread::sleep(Duration::from_millis(5)),
                }
            }
        }
    }
}

impl Drop for Cluster {
    fn drop(&mut self) {
        if self.detached {
            return;
        }
        self.disarm_watchdog();
        // A kept data directory gets a clean (fast) shutdown; a throwaway one an immediate one.
        self.kill_server(if self.keep_data {
            libc::SIGINT
        } else {
            libc::SIGQUIT
        });
        if !self.keep_data {
            let _ = std::fs::remove_dir_all(&self.root);
        }
    }
}

/// Where throwaway data directories go: `PGKEEL_SANDBOX_DIR` when set; else `/dev/shm` when it
/// is a writable tmpfs with room to spare (a throwaway server runs with fsync off, so a disk
/// buys nothing but write-back contention); else the system temp directory.
pub fn throwaway_base_dir() -> PathBuf {
    if let Some(dir) = std::env::var_os("PGKEEL_SANDBOX_DIR").filter(|d| !d.is_empty()) {
        return PathBuf::from(dir);
    }
    const MIN_FREE: u64 = 2 << 30;
    let shm = Path::new("/dev/shm");
    if free_bytes(shm).is_some_and(|free| free >= MIN_FREE) {
        return shm.to_path_buf();
    }
    std::env::temp_dir()
}

fn free_bytes(dir: &Path) -> Option<u64> {
    use std::os::unix::ffi::OsStrExt;
    let c = std::ffi::CString::new(dir.as_os_str().as_bytes()).ok()?;
    // SAFETY: statvfs writes into the zeroed struct we pass; access checks writability.
    unsafe {
        let mut st: libc::statvfs = std::mem::zeroed();
        if libc::statvfs(c.as_ptr(), &mut st) != 0 || libc::access(c.as_ptr(), libc::W_OK) != 0 {
            return None;
        }
        Some(st.f_bavail as u64 * st.f_frsize as u64)
    }
}

fn free_port() -> std::io::Result<u16> {
    Ok(TcpListener::bind("127.0.0.1:0")?.local_addr()?.port())
}

/// Unix socket paths are limited to 107 bytes; skip the socket rather than fail to start.
fn socket_dir_for(dir: &Path) -> Option<PathBuf> {
    (dir.as_os_str().len() + "/.s.PGSQL.65535".len() < 100).then(|| dir.to_path_buf())
}

fn set_mode(path: &Path, mode: u32) -> Result<(), SandboxError> {
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode))
        .map_err(io_err("chmod", path))
}

fn absolute(path: &Path) -> PathBuf {
    std::path::absolute(path).unwrap_or_else(|_| path.to_path_buf())
}

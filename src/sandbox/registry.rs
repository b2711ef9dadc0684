//! Detached sandboxes (`pgkeel sandbox start`) outlive the process that started them; a small
//! JSON state file per name lets `sandbox status` and `sandbox stop` find them again. State
//! lives in `$PGKEEL_STATE_DIR`, else `$XDG_STATE_HOME/pgkeel`, else `~/.local/state/pgkeel`.

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use serde::{Deserialize, Serialize};

use super::{io_err, SandboxError};

/// What a detached server needs to be found and stopped.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Detached {
    pub pid: u32,
    pub port: u16,
    pub root: PathBuf,
    pub data_dir: PathBuf,
    pub socket_dir: Option<PathBuf>,
    pub log_file: PathBuf,
    /// True for throwaway data (temporary directory), false for a user-chosen `--data-dir`.
    pub remove_on_stop: bool,
    pub version: String,
}

/// A named, detached sandbox as recorded on disk.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Entry {
    pub name: String,
    pub url: String,
    /// Seconds since the Unix epoch.
    pub started_at: u64,
    #[serde(flatten)]
    pub server: Detached,
}

impl Entry {
    pub fn new(name: &str, url: String, server: Detached) -> Entry {
        Entry {
            name: name.to_string(),
            url,
            started_at: SystemTime::now()
                .duration_since(UNIX_EPOCH)
                .map(|d| d.as_secs())
                .unwrap_or(0),
            server,
        }
    }

    /// Whether the recorded server process still runs on the recorded data directory.
    pub fn is_running(&self) -> bool {
        let pid_file = self.server.data_dir.join("postmaster.pid");
        let owner = std::fs::read_to_string(pid_file)
            .ok()
            .and_then(|t| t.lines().next().and_then(|l| l.trim().parse::<u32>().ok()));
        owner == Some(self.server.pid) && process_alive(self.server.pid)
    }
}

fn state_dir() -> PathBuf {
    if let Some(dir) = std::env::var_os("PGKEEL_STATE_DIR").filter(|d| !d.is_empty()) {
        return PathBuf::from(dir);
    }
    if let Some(dir) = std::env::var_os("XDG_STATE_HOME").filter(|d| !d.is_empty()) {
        return PathBuf::from(dir).join("pgkeel");
    }
    match std::env::var_os("HOME") {
        Some(home) => PathBuf::from(home).join(".local/state/pgkeel"),
        None => std::env::temp_dir().join("pgkeel-state"),
    }
}

fn entry_path(name: &str) -> PathBuf {
    state_dir().join(format!("sandbox-{name}.json"))
}

/// Validates a sandbox name: it becomes part of a file name.
pub fn check_name(name: &str) -> Result<(), String> {
    if name.is_empty()
        || name.len() > 64
        || !name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
    {
        return Err(format!(
            "invalid sandbox name `{name}`: use 1-64 letters, digits, `-` or `_`"
        ));
    }
    Ok(())
}

/// Records `entry`, refusing when a live sandbox already has its name.
pub fn save(entry: &Entry) -> Result<(), SandboxError> {
    let path = entry_path(&entry.name);
    if let Some(existing) = load(&entry.name)? {
        if existing.is_running() {
            return Err(SandboxError::AlreadyRunning {
                name: entry.name.clone(),
                url: existing.url,
            });
        }
    }
    let dir = state_dir();
    std::fs::create_dir_all(&dir).map_err(io_err("create", &dir))?;
    let json = serde_json::to_vec_pretty(entry).map_err(|e| SandboxError::BadState {
        path: path.clone(),
        reason: e.to_string(),
    })?;
    let tmp = path.with_extension("json.tmp");
    std::fs::write(&tmp, json).map_err(io_err("write", &tmp))?;
    std::fs::rename(&tmp, &path).map_err(io_err("write", &path))
}

/// The recorded sandbox `name`, if any.
pub fn load(name: &str) -> Result<Option<Entry>, SandboxError> {
    let path = entry_path(name);
    match std::fs::read(&path) {
        Ok(bytes) => serde_json::from_slice(&bytes)
            .map(Some)
            .map_err(|e| SandboxError::BadState {
                path,
                reason: e.to_string(),
            }),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(SandboxError::Io {
            action: "read",
            path,
            source: e,
        }),
    }
}

/// Every recorded sandbox, by name.
pub fn list() -> Result<Vec<Entry>, SandboxError> {
    let dir = state_dir();
    let mut out = Vec::new();
    let entries = match std::fs::read_dir(&dir) {
        Ok(e) => e,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(out),
        Err(e) => {
            return Err(SandboxError::Io {
                action: "read",
                path: dir,
                source: e,
            })
        }
    };
    for entry in entries.flatten() {
        let file = entry.file_name();
        let file = file.to_string_lossy();
        if let Some(name) = file
            .strip_prefix("sandbox-")
            .and_then(|f| f.strip_suffix(".json"))
        {
            if let Some(e) = load(name)? {
                out.push(e);
            }
        }
    }
    out.sort_by(|a, b| a.name.cmp(&b.name));
    Ok(out)
}

/// Stops sandbox `name` (fast shutdown), removes throwaway data, forgets it.
pub fn stop(name: &str) -> Result<Entry, SandboxError> {
    let entry = load(name)?.ok_or_else(|| SandboxError::NotRunning {
        name: name.to_string(),
    })?;
    if entry.is_running() {
        // SAFETY: kill(2) with a pid we verified owns the data directory.
        unsafe {
            libc::kill(entry.server.pid as libc::pid_t, libc::SIGINT);
        }
        let deadline = Instant::now() + Duration::from_secs(30);
        while process_alive(entry.server.pid) && Instant::now() < deadline {
            std::thread::sleep(Duration::from_millis(5));
        }
        if process_alive(entry.server.pid) {
            // SAFETY: as above.
            unsafe {
                libc::kill(entry.server.pid as libc::pid_t, libc::SIGQUIT);
            }
            std::thread::sleep(Duration::from_millis(200));
        }
    }
    if entry.server.remove_on_stop {
        remove_if_exists(&entry.server.root)?;
    }
    remove_if_exists(&entry_path(name))?;
    Ok(entry)
}

fn remove_if_exists(path: &Path) -> Result<(), SandboxError> {
    let result = if path.is_dir() {
        std::fs::remove_dir_all(path)
    } else {
        std::fs::remove_file(path)
    };
    match result {
        Ok(()) => Ok(()),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
        Err(e) => Err(SandboxError::Io {
            action: "remove",
            path: path.to_path_buf(),
            source: e,
        }),
    }
}

fn process_alive(pid: u32) -> bool {
    if pid == 0 {
        return false;
    }
    // A zombie still answers kill(0); /proc tells us it is gone.
    if let Ok(stat) = std::fs::read_to_string(format!("/proc/{pid}/stat")) {
        if let Some(state) = stat
            .rsplit(')')
            .next()
            .and_then(|r| r.split_whitespace().next())
        {
            return state != "Z";
        }
    }
    // SAFETY: kill with signal 0 only checks for existence.
    unsafe { libc::kill(pid as libc::pid_t, 0) == 0 }
}

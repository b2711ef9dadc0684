//! A cache of freshly initdb'd data directories, one per PostgreSQL build. initdb costs about a
//! second; copying its result costs a few milliseconds, so every sandbox after the first starts
//! from a copy. The template is built in a staging directory and renamed into place, so
//! concurrent first runs never see half a template.
//!
//! initdb runs with `--wal-segsize=1` (1 MiB WAL segments instead of 16) so there is less to copy.

use std::path::{Path, PathBuf};
use std::process::Command;

use sha2::{Digest, Sha256};

use super::run_as::RunAs;
use super::{io_err, SandboxError};
use crate::pg::tools::Installed;

/// The superuser every sandbox has.
pub const SUPERUSER: &str = "postgres";

const COMPLETE_MARKER: &str = ".pgkeel-template-complete";

/// Where pgkeel caches things: `$PGKEEL_CACHE_DIR`, `$XDG_CACHE_HOME/pgkeel`, `~/.cache/pgkeel`.
pub fn cache_root() -> PathBuf {
    if let Some(dir) = std::env::var_os("PGKEEL_CACHE_DIR").filter(|d| !d.is_empty()) {
        return PathBuf::from(dir);
    }
    if let Some(dir) = std::env::var_os("XDG_CACHE_HOME").filter(|d| !d.is_empty()) {
        return PathBuf::from(dir).join("pgkeel");
    }
    match std::env::var_os("HOME") {
        Some(home) => PathBuf::from(home).join(".cache/pgkeel"),
        None => std::env::temp_dir().join("pgkeel-cache"),
    }
}

/// Fills `data_dir` (which must not exist) with a new cluster for `postgres`'s version:
/// a copy of the cached template, creating the template first when needed.
pub fn materialize(
    initdb: &Installed,
    run_as: Option<&RunAs>,
    data_dir: &Path,
) -> Result<(), SandboxError> {
    if std::env::var_os("PGKEEL_NO_TEMPLATE_CACHE").is_some() {
        return run_initdb(initdb, run_as, data_dir);
    }
    let template = ensure(initdb, run_as)?;
    copy_tree(&template, data_dir).map_err(io_err("copy template to", data_dir))?;
    // Remove the marker from the copy; it belongs to the template only.
    let _ = std::fs::remove_file(data_dir.join(COMPLETE_MARKER));
    Ok(())
}

/// The template directory for this initdb, built on first use.
pub fn ensure(initdb: &Installed, run_as: Option<&RunAs>) -> Result<PathBuf, SandboxError> {
    let key = {
        let mut h = Sha256::new();
        h.update(initdb.path.to_string_lossy().as_bytes());
        h.update(initdb.version.as_bytes());
        if let Ok(meta) = std::fs::metadata(&initdb.path) {
            h.update(format!("{:?}", meta.modified().ok()).as_bytes());
        }
        let digest = h.finalize();
        digest[..6]
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect::<String>()
    };
    let root = cache_root().join("templates");
    let final_dir = root.join(format!("pg{}-{key}", initdb.version));
    if final_dir.join(COMPLETE_MARKER).exists() {
        return Ok(final_dir);
    }
    std::fs::create_dir_all(&root).map_err(io_err("create cache directory", &root))?;

    // initdb must be able to write where it runs; the cache may sit under a home directory the
    // unprivileged account cannot enter, so stage under the system temp dir.
    let staging = tempfile::Builder::new()
        .prefix("pgkeel-initdb-")
        .tempdir()
        .map_err(io_err("create staging directory in", std::env::temp_dir()))?;
    let staged_data = staging.path().join("data");
    if let Some(user) = run_as {
        set_mode(staging.path(), 0o755)?;
        user.chown_tree(staging.path())
            .map_err(io_err("chown", staging.path()))?;
    }
    run_initdb(initdb, run_as, &staged_data)?;
    std::fs::write(staged_data.join(COMPLETE_MARKER), initdb.version.as_bytes())
        .map_err(io_err("write", staged_data.join(COMPLETE_MARKER)))?;

    let partial = root.join(format!(".partial-{key}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&partial);
    copy_tree(&staged_data, &partial).map_err(io_err("copy template to", &partial))?;
    match std::fs::rename(&partial, &final_dir) {
        Ok(()) => {}
        // Another process won the race; its template is as good as ours.
        Err(_) if final_dir.join(COMPLETE_MARKER).exists() => {
            let _ = std::fs::remove_dir_all(&partial);
        }
        Err(e) => {
            let _ = std::fs::remove_dir_all(&partial);
            return Err(SandboxError::Io {
                action: "install template at",
                path: final_dir,
                source: e,
            });
        }
    }
    Ok(final_dir)
}

/// Runs initdb into `data_dir` with trust authentication and fast, deterministic settings.
pub fn run_initdb(
    initdb: &Installed,
    run_as: Option<&RunAs>,
    data_dir: &Path,
) -> Result<(), SandboxError> {
    let mut cmd = Command::new(&initdb.path);
    cmd.arg("-D")
        .arg(data_dir)
        .args([
            "-U",
            SUPERUSER,
            "-A",
            "trust",
            "-E",
            "UTF8",
            "--no-locale",
            "--no-sync",
        ])
        .env_remove("PGDATA")
        .env("LC_ALL", "C");
    if initdb.major >= 11 {
        cmd.arg("--wal-segsize=1");
    }
    if let Some(user) = run_as {
        use std::os::unix::process::CommandExt;
        cmd.uid(user.uid).gid(user.gid);
        // initdb reads the current directory; root's may be unreadable to the account.
        cmd.current_dir("/");
    }
    let out = cmd.output().map_err(io_err("run", &initdb.path))?;
    if !out.status.success() {
        let mut text = String::from_utf8_lossy(&out.stderr).into_owned();
        text.push_str(&String::from_utf8_lossy(&out.stdout));
        return Err(SandboxError::Initdb {
            data_dir: data_dir.to_path_buf(),
            output: tail(&text, 15),
        });
    }
    Ok(())
}

fn set_mode(path: &Path, mode: u32) -> Result<(), SandboxError> {
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode))
        .map_err(io_err("chmod", path))
}

/// Recursive copy keeping permission bits (PostgreSQL insists on 0700/0750 data directories).
pub fn copy_tree(from: &Path, to: &Path) -> std::io::Result<()> {
    use std::os::unix::fs::PermissionsExt;
    let meta = std::fs::symlink_metadata(from)?;
    if meta.is_dir() {
        std::fs::create_dir(to)?;
        for entry in std::fs::read_dir(from)? {
            let entry = entry?;
            copy_tree(&entry.path(), &to.join(entry.file_name()))?;
        }
        std::fs::set_permissions(
            to,
            std::fs::Permissions::from_mode(meta.permissions().mode()),
        )?;
    } else if meta.file_type().is_symlink() {
        std::os::unix::fs::symlink(std::fs::read_link(from)?, to)?;
    } else {
        std::fs::copy(from, to)?;
    }
    Ok(())
}

/// The last `n` lines of `text`, joined with " | " so an error stays on one line.
pub(crate) fn tail(text: &str, n: usize) -> String {
    let lines: Vec<&str> = text.lines().filter(|l| !l.trim().is_empty()).collect();
    let start = lines.len().saturating_sub(n);
    lines[start..].join(" | ")
}

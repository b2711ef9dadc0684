//! Finding PostgreSQL's programs (`initdb`, `pg_ctl`, `postgres`, `pg_dump`, `pg_restore`,
//! `psql`) by major version. Looks in `PGKEEL_PG_BIN`, the versioned directories distributions
//! use, `pg_config --bindir` and `PATH`; asks each candidate its version; picks the newest that
//! satisfies the requirement. Debian's `/usr/bin` wrappers are skipped because they silently pick
//! a version of their own.

use std::collections::BTreeMap;
use std::fmt;
use std::path::{Path, PathBuf};
use std::process::Command;

/// A PostgreSQL program.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Tool {
    Initdb,
    PgCtl,
    Postgres,
    PgDump,
    PgRestore,
    Psql,
}

impl Tool {
    pub fn name(self) -> &'static str {
        match self {
            Tool::Initdb => "initdb",
            Tool::PgCtl => "pg_ctl",
            Tool::Postgres => "postgres",
            Tool::PgDump => "pg_dump",
            Tool::PgRestore => "pg_restore",
            Tool::Psql => "psql",
        }
    }

    /// The Debian/Ubuntu package that ships it.
    fn package(self, major: u32) -> String {
        match self {
            Tool::Initdb | Tool::PgCtl | Tool::Postgres => format!("postgresql-{major}"),
            _ => format!("postgresql-client-{major}"),
        }
    }
}

impl fmt::Display for Tool {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// Which versions are acceptable.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Requirement {
    Any,
    /// Exactly this major (a server for a given data directory).
    Exact(u32),
    /// This major or newer (pg_dump must not be older than the server).
    AtLeast(u32),
}

impl Requirement {
    fn accepts(self, major: u32) -> bool {
        match self {
            Requirement::Any => true,
            Requirement::Exact(m) => major == m,
            Requirement::AtLeast(m) => major >= m,
        }
    }
}

impl fmt::Display for Requirement {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Requirement::Any => f.write_str("any version"),
            Requirement::Exact(m) => write!(f, "major version {m}"),
            Requirement::AtLeast(m) => write!(f, "major version {m} or newer"),
        }
    }
}

/// One installed program.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Installed {
    pub path: PathBuf,
    pub major: u32,
    /// As printed by `--version`, e.g. `15.18`.
    pub version: String,
}

impl Installed {
    pub fn bindir(&self) -> &Path {
        self.path.parent().unwrap_or(Path::new("/"))
    }
}

/// Nothing suitable was found.
#[derive(Debug, Clone, thiserror::Error)]
#[error("no {tool} with {requirement} found{}", found_list(.found))]
pub struct ToolNotFound {
    pub tool: Tool,
    pub requirement: Requirement,
    /// Every candidate seen, for the message.
    pub found: Vec<Installed>,
}

fn found_list(found: &[Installed]) -> String {
    if found.is_empty() {
        return " (none installed)".into();
    }
    let items: Vec<String> = found
        .iter()
        .map(|i| format!("{} at {}", i.version, i.path.display()))
        .collect();
    format!(" (found {})", items.join(", "))
}

impl ToolNotFound {
    pub fn hint(&self) -> String {
        let major = match self.requirement {
            Requirement::Exact(m) | Requirement::AtLeast(m) => Some(m),
            Requirement::Any => None,
        };
        match major {
            Some(m) => format!(
                "install it with `sudo apt-get install {}` (from the PostgreSQL apt repository, apt.postgresql.org, on Debian/Ubuntu) or `brew install postgresql@{m}`, or set PGKEEL_PG_BIN to the directory that holds it",
                self.tool.package(m)
            ),
            None => "install PostgreSQL (`sudo apt-get install postgresql` or `brew install postgresql`), or set PGKEEL_PG_BIN to the directory that holds its programs".to_string(),
        }
    }
}

/// Finds `tool` satisfying `req`: `PGKEEL_PG_BIN` first when it satisfies, else the newest.
pub fn find(tool: Tool, req: Requirement) -> Result<Installed, ToolNotFound> {
    find_in(tool, req, &search_dirs(), &pinned_dirs())
}

/// [`find`] over explicit directories; `pinned` ones win when they satisfy `req`.
pub fn find_in(
    tool: Tool,
    req: Requirement,
    dirs: &[PathBuf],
    pinned: &[PathBuf],
) -> Result<Installed, ToolNotFound> {
    let all = candidates_in(tool, dirs);
    let pick = all
        .iter()
        .filter(|i| req.accepts(i.major))
        .max_by_key(|i| {
            (
                pinned.iter().any(|d| i.bindir() == d),
                i.major,
                version_key(&i.version),
            )
        })
        .cloned();
    pick.ok_or(ToolNotFound {
        tool,
        requirement: req,
        found: all,
    })
}

/// Every installation of `tool` that answers `--version`, deduplicated by real path.
pub fn candidates(tool: Tool) -> Vec<Installed> {
    candidates_in(tool, &search_dirs())
}

/// [`candidates`] over explicit directories.
pub fn candidates_in(tool: Tool, dirs: &[PathBuf]) -> Vec<Installed> {
    let mut seen: BTreeMap<PathBuf, Installed> = BTreeMap::new();
    for dir in dirs {
        let path = dir.join(tool.name());
        if !is_executable(&path) {
            continue;
        }
        let real = std::fs::canonicalize(&path).unwrap_or(path.clone());
        if real.to_string_lossy().contains("pg_wrapper") || seen.contains_key(&real) {
            continue;
        }
        if let Some((major, version)) = probe_version(&path) {
            seen.insert(
                real,
                Installed {
                    path,
                    major,
                    version,
                },
            );
        }
    }
    seen.into_values().collect()
}

pub fn pinned_dirs() -> Vec<PathBuf> {
    std::env::var_os("PGKEEL_PG_BIN")
        .map(|v| std::env::split_paths(&v).collect())
        .unwrap_or_default()
}

/// Where PostgreSQL programs are looked for, in order.
pub fn search_dirs() -> Vec<PathBuf> {
    let mut dirs = pinned_dirs();
    // `PGKEEL_PG_BIN_ONLY=1`: exactly these binaries, nothing found elsewhere (reproducible
    // CI images; and how the tests stand in an old pg_dump).
    if !dirs.is_empty()
        && std::env::var_os("PGKEEL_PG_BIN_ONLY").is_some_and(|v| !v.is_empty() && v != "0")
    {
        return dirs;
    }
    for pattern_root in [
        "/usr/lib/postgresql",
        "/usr/local/lib/postgresql",
        "/opt/homebrew/opt",
        "/usr/local/opt",
    ] {
        if let Ok(entries) = std::fs::read_dir(pattern_root) {
            let mut found: Vec<PathBuf> = entries
                .flatten()
                .map(|e| e.path())
                .filter(|p| {
                    let name = p.file_name().and_then(|n| n.to_str()).unwrap_or("");
                    pattern_root.ends_with("postgresql") || name.starts_with("postgresql")
                })
                .map(|p| p.join("bin"))
                .collect();
            found.sort();
            dirs.extend(found);
        }
    }
    if let Ok(entries) = std::fs::read_dir("/usr") {
        let mut found: Vec<PathBuf> = entries
            .flatten()
            .map(|e| e.path())
            .filter(|p| {
                p.file_name()
                    .and_then(|n| n.to_str())
                    .is_some_and(|n| n.starts_with("pgsql-"))
            })
            .map(|p| p.join("bin"))
            .collect();
        found.sort();
        dirs.extend(found);
    }
    dirs.push(PathBuf::from("/usr/local/pgsql/bin"));
    if let Ok(out) = Command::new("pg_config").arg("--bindir").output() {
        if out.status.success() {
            let dir = String::from_utf8_lossy(&out.stdout).trim().to_string();
            if !dir.is_empty() {
                dirs.push(PathBuf::from(dir));
            }
        }
    }
    if let Some(path) = std::env::var_os("PATH") {
        dirs.extend(std::env::split_paths(&path));
    }
    dirs
}

fn is_executable(path: &Path) -> bool {
    use std::os::unix::fs::PermissionsExt;
    std::fs::metadata(path)
        .map(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
        .unwrap_or(false)
}

/// Runs `path --version` and parses `initdb (PostgreSQL) 15.18 (Debian …)` → (15, "15.18").
fn probe_version(path: &Path) -> Option<(u32, String)> {
    let out = Command::new(path).arg("--version").output().ok()?;
    if !out.status.success() {
        return None;
    }
    parse_version_output(&String::from_utf8_lossy(&out.stdout))
}

pub(crate) fn parse_version_output(text: &str) -> Option<(u32, String)> {
    let after = text.split(')').nth(1)?.trim();
    let version: String = after
        .chars()
        .take_while(|c| c.is_ascii_alphanumeric() || *c == '.')
        .collect();
    let major: u32 = version
        .split(|c: char| !c.is_ascii_digit())
        .next()?
        .parse()
        .ok()?;
    Some((major, version))
}

fn version_key(version: &str) -> Vec<u32> {
    version
        .split(|c: char| !c.is_ascii_digit())
        .filter_map(|p| p.parse().ok())
        .collect()
}

/// The major version of a version string (`15.18` → 15, `18beta1` → 18).
pub fn parse_major(version: &str) -> Option<u32> {
    version
        .split(|c: char| !c.is_ascii_digit())
        .next()?
        .parse()
        .ok()
}

/// The major version encoded in `server_version_num` (150018 → 15; 90624 → 9).
pub fn major_of(server_version_num: u32) -> u32 {
    server_version_num / 10000
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_version_lines() {
        assert_eq!(
            parse_version_output("initdb (PostgreSQL) 15.18 (Debian 15.18-0+deb12u1)\n"),
            Some((15, "15.18".into()))
        );
        assert_eq!(
            parse_version_output("pg_dump (PostgreSQL) 18beta1\n"),
            Some((18, "18beta1".into()))
        );
        assert_eq!(
            parse_version_output("postgres (PostgreSQL) 9.6.24\n"),
            Some((9, "9.6.24".into()))
        );
        assert_eq!(parse_version_output("garbage"), None);
    }

    #[test]
    fn requirement_logic() {
        assert!(Requirement::AtLeast(15).accepts(17));
        assert!(!Requirement::AtLeast(15).accepts(14));
        assert!(Requirement::Exact(15).accepts(15));
        assert!(!Requirement::Exact(15).accepts(16));
        assert_eq!(major_of(150018), 15);
        assert_eq!(major_of(180000), 18);
    }

    #[test]
    fn not_found_message_names_tool_version_and_install_command() {
        let e = ToolNotFound {
            tool: Tool::PgDump,
            requirement: Requirement::AtLeast(17),
            found: vec![Installed {
                path: "/usr/lib/postgresql/15/bin/pg_dump".into(),
                major: 15,
                version: "15.18".into(),
            }],
        };
        let msg = e.to_string();
        assert!(
            msg.contains("no pg_dump with major version 17 or newer found"),
            "{msg}"
        );
        assert!(
            msg.contains("15.18 at /usr/lib/postgresql/15/bin/pg_dump"),
            "{msg}"
        );
        assert!(e.hint().contains("postgresql-client-17"), "{}", e.hint());
    }
}

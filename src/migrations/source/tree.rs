//! Where migration files are read from: a directory on disk, or the same directory as it is at
//! a git revision. At a revision, files come from `git ls-tree` and `git cat-file`, so the work
//! tree (the PR's checkout) is never touched.

use std::path::{Path, PathBuf};
use std::process::Command;

use super::LoadError;

/// Nested directories deeper than this are not migrations (Prisma and Drizzle use one level).
const MAX_DEPTH: usize = 3;

/// A migrations directory, now or at a git revision.
#[derive(Debug, Clone)]
pub enum Tree {
    Dir(PathBuf),
    Git {
        /// The directory as the user named it (for messages and `git -C`).
        dir: PathBuf,
        rev: String,
    },
}

impl Tree {
    /// The root as the user named it, or a file inside it.
    pub fn display(&self, rel: &str) -> String {
        let (dir, rev) = match self {
            Tree::Dir(d) => (d, None),
            Tree::Git { dir, rev } => (dir, Some(rev)),
        };
        let path = if rel.is_empty() {
            dir.display().to_string()
        } else {
            dir.join(rel).display().to_string()
        };
        match rev {
            Some(rev) => format!("{path}@{rev}"),
            None => path,
        }
    }

    /// True when the directory is Supabase's `supabase/migrations`.
    pub(crate) fn is_supabase(&self) -> bool {
        let dir = match self {
            Tree::Dir(d) | Tree::Git { dir: d, .. } => d,
        };
        let mut parts = dir
            .components()
            .rev()
            .filter_map(|c| c.as_os_str().to_str());
        parts.next() == Some("migrations") && parts.next() == Some("supabase")
    }

    /// Every file under the root, as `/`-separated paths relative to it, sorted.
    ///
    /// # Errors
    ///
    /// When the root does not exist or cannot be read.
    pub fn files(&self) -> Result<Vec<String>, LoadError> {
        let mut out = match self {
            Tree::Dir(dir) => {
                if !dir.exists() {
                    return Err(LoadError::NotFound {
                        path: dir.display().to_string(),
                    });
                }
                let mut out = Vec::new();
                walk(dir, "", 0, &mut out)?;
                out
            }
            Tree::Git { dir, rev } => git_files(dir, rev)?,
        };
        out.sort();
        Ok(out)
    }

    /// The bytes of one file.
    ///
    /// # Errors
    ///
    /// When it cannot be read.
    pub fn read(&self, rel: &str) -> Result<Vec<u8>, LoadError> {
        match self {
            Tree::Dir(dir) => std::fs::read(dir.join(rel)).map_err(|e| LoadError::Io {
                path: self.display(rel),
                message: e.to_string(),
            }),
            Tree::Git { dir, rev } => {
                let prefix = git_prefix(dir, rev)?;
                let spec = format!("{rev}:{prefix}{rel}");
                git(dir, rev, &["cat-file", "blob", &spec])
            }
        }
    }
}

fn walk(dir: &Path, rel: &str, depth: usize, out: &mut Vec<String>) -> Result<(), LoadError> {
    let entries = std::fs::read_dir(dir).map_err(|e| LoadError::Io {
        path: dir.display().to_string(),
        message: e.to_string(),
    })?;
    for entry in entries {
        let entry = entry.map_err(|e| LoadError::Io {
            path: dir.display().to_string(),
            message: e.to_string(),
        })?;
        let name = entry.file_name().to_string_lossy().into_owned();
        let child = if rel.is_empty() {
            name.clone()
        } else {
            format!("{rel}/{name}")
        };
        let path = entry.path();
        if path.is_dir() {
            if depth + 1 < MAX_DEPTH && !name.starts_with('.') {
                walk(&path, &child, depth + 1, out)?;
            }
        } else {
            out.push(child);
        }
    }
    Ok(())
}

/// The directory's path inside the repository, with a trailing `/` (empty at the root).
fn git_prefix(dir: &Path, rev: &str) -> Result<String, LoadError> {
    let out = git(dir, rev, &["rev-parse", "--show-prefix"])?;
    Ok(String::from_utf8_lossy(&out).trim().to_string())
}

fn git_files(dir: &Path, rev: &str) -> Result<Vec<String>, LoadError> {
    if !dir.exists() {
        return Err(LoadError::NotFound {
            path: dir.display().to_string(),
        });
    }
    // Fails clearly when the revision does not exist.
    git(
        dir,
        rev,
        &[
            "rev-parse",
            "--verify",
            "--quiet",
            &format!("{rev}^{{commit}}"),
        ],
    )?;
    let prefix = git_prefix(dir, rev)?;
    let listing = git(
        dir,
        rev,
        &["ls-tree", "-r", "-z", "--name-only", rev, "--", "."],
    )?;
    let files: Vec<String> = listing
        .split(|b| *b == 0)
        .filter(|p| !p.is_empty())
        .filter_map(|p| {
            let full = String::from_utf8_lossy(p);
            // `ls-tree` from a subdirectory prints paths relative to it.
            let rel = full
                .strip_prefix(prefix.as_str())
                .unwrap_or(&full)
                .to_string();
            (rel.matches('/').count() < MAX_DEPTH).then_some(rel)
        })
        .collect();
    if files.is_empty() {
        return Err(LoadError::Git {
            rev: rev.to_string(),
            message: format!("{} does not exist at that revision", dir.display()),
        });
    }
    Ok(files)
}

fn git(dir: &Path, rev: &str, args: &[&str]) -> Result<Vec<u8>, LoadError> {
    let out = Command::new("git")
        .arg("-C")
        .arg(dir)
        .args(args)
        .output()
        .map_err(|e| LoadError::Git {
            rev: rev.to_string(),
            message: format!("cannot run git: {e}"),
        })?;
    if !out.status.success() {
        let stderr = String::from_utf8_lossy(&out.stderr).trim().to_string();
        return Err(LoadError::Git {
            rev: rev.to_string(),
            message: if stderr.is_empty() {
                "unknown revision".to_string()
            } else {
                stderr
            },
        });
    }
    Ok(out.stdout)
}

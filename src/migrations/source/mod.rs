//! Loading migrations from the layouts teams already have: one file per format, each turning a
//! directory listing into [`Migration`]s. [`detect`] picks the format from what is on disk;
//! [`load`] reads, checks (duplicate versions, missing `up` files, text encoding) and sorts.
//!
//! A [`Tree`] is where the files come from: a directory, or a directory as it is at a git
//! revision (`--at-ref origin/main`), read with `git` without touching the work tree.

mod dbmate;
mod drizzle;
mod flyway;
mod golang_migrate;
mod goose;
mod pgkeel;
mod prisma;
mod sqlx;
mod supabase;
mod tree;

use std::fmt;
use std::sync::Arc;

pub(crate) use flyway::{canonical as flyway_version_key, compare_versions as flyway_version_cmp};
pub use sqlx::description as sqlx_description;
pub use tree::Tree;

use super::migration::{Migration, Script, Version};
use super::statement::SplitError;

/// A migration tool's on-disk layout and history table.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Format {
    Pgkeel,
    GolangMigrate,
    Prisma,
    Drizzle,
    Flyway,
    Dbmate,
    Goose,
    Sqlx,
    Supabase,
}

impl Format {
    pub const ALL: [Format; 9] = [
        Format::Pgkeel,
        Format::GolangMigrate,
        Format::Prisma,
        Format::Drizzle,
        Format::Flyway,
        Format::Dbmate,
        Format::Goose,
        Format::Sqlx,
        Format::Supabase,
    ];

    /// The name used on the command line and in `pgkeel.yml`.
    pub fn name(self) -> &'static str {
        match self {
            Format::Pgkeel => "pgkeel",
            Format::GolangMigrate => "golang-migrate",
            Format::Prisma => "prisma",
            Format::Drizzle => "drizzle",
            Format::Flyway => "flyway",
            Format::Dbmate => "dbmate",
            Format::Goose => "goose",
            Format::Sqlx => "sqlx",
            Format::Supabase => "supabase",
        }
    }

    pub fn from_name(name: &str) -> Option<Format> {
        Format::ALL.into_iter().find(|f| f.name() == name)
    }

    /// What its files look like, for error messages.
    pub fn layout(self) -> &'static str {
        match self {
            Format::Pgkeel => "NNNN_name.up.sql with an optional NNNN_name.down.sql",
            Format::GolangMigrate => "{version}_{title}.up.sql / {version}_{title}.down.sql",
            Format::Prisma => "<timestamp>_<name>/migration.sql and migration_lock.toml",
            Format::Drizzle => "NNNN_name.sql and meta/_journal.json",
            Format::Flyway => "V<version>__<description>.sql, U… undo, R__… repeatable",
            Format::Dbmate => "<version>_name.sql with `-- migrate:up` / `-- migrate:down`",
            Format::Goose => "<version>_name.sql with `-- +goose Up` / `-- +goose Down`",
            Format::Sqlx => "<version>_<description>.sql or .up.sql / .down.sql",
            Format::Supabase => "supabase/migrations/<timestamp>_<name>.sql",
        }
    }

    /// Whether the format has down migrations at all.
    pub fn has_down(self) -> bool {
        !matches!(self, Format::Prisma | Format::Drizzle | Format::Supabase)
    }
}

impl fmt::Display for Format {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// Why migrations could not be loaded. All are exit 2: nothing was run.
#[derive(Debug, thiserror::Error)]
pub enum LoadError {
    #[error("migrations directory {path} does not exist")]
    NotFound { path: String },
    #[error("cannot read {path}: {message}")]
    Io { path: String, message: String },
    #[error("{path} holds no migrations")]
    Empty { path: String },
    #[error("cannot tell which migration tool {path} belongs to: {found}")]
    UnknownLayout { path: String, found: String },
    #[error("{path} mixes two formats: {first_file} is {first}, {second_file} is {second}")]
    Mixed {
        path: String,
        first: Format,
        first_file: String,
        second: Format,
        second_file: String,
    },
    #[error("version {version} appears twice: {first} and {second}")]
    DuplicateVersion {
        version: String,
        first: String,
        second: String,
    },
    #[error("{path}:{line}: not UTF-8 text (invalid byte at offset {offset})")]
    NotUtf8 {
        path: String,
        line: usize,
        offset: usize,
    },
    #[error("{path}:{line}:{column}: {source}")]
    Split {
        path: String,
        line: usize,
        column: usize,
        source: SplitError,
    },
    #[error("{path}: {message}")]
    Invalid {
        path: String,
        message: String,
        hint: String,
    },
    #[error("{path}{}: {message}", line.map(|l| format!(":{l}")).unwrap_or_default())]
    Marker {
        path: String,
        line: Option<usize>,
        message: String,
    },
    #[error("{down} has no matching up migration")]
    DownWithoutUp { down: String },
    #[error("cannot read migrations at git revision `{rev}`: {message}")]
    Git { rev: String, message: String },
}

impl LoadError {
    pub fn hint(&self) -> Option<String> {
        Some(match self {
            LoadError::NotFound { .. } => {
                "pass the directory that holds the migration files with --migrations".into()
            }
            LoadError::Io { .. } => "check the path and its permissions".into(),
            LoadError::Empty { .. } => {
                "add a migration such as 0001_init.up.sql, or point --migrations elsewhere".into()
            }
            LoadError::UnknownLayout { .. } => {
                let all: Vec<String> = Format::ALL
                    .iter()
                    .map(|f| format!("{f}: {}", f.layout()))
                    .collect();
                format!("name the format with --format; known layouts are {}", all.join("; "))
            }
            LoadError::Mixed { .. } => {
                "keep one tool's migrations per directory, or name the format with --format".into()
            }
            LoadError::DuplicateVersion { .. } => {
                "give one of them a new, higher version; versions must be unique".into()
            }
            LoadError::NotUtf8 { .. } => "save the file as UTF-8".into(),
            LoadError::Split { source, .. } => source.hint().into(),
            LoadError::Invalid { hint, .. } => hint.clone(),
            LoadError::Marker { .. } => {
                "see the tool's documentation for its section markers".into()
            }
            LoadError::DownWithoutUp { .. } => {
                "rename it to match its up migration, or delete it".into()
            }
            LoadError::Git { .. } => {
                "fetch the revision first (actions/checkout with fetch-depth: 0, or `git fetch origin main`)".into()
            }
        })
    }
}

/// What [`detect`] found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Detected {
    pub format: Format,
    /// Formats with the same file layout (`0001_x.up.sql` is pgkeel, golang-migrate or sqlx);
    /// the database's history tables can tell them apart.
    pub alternatives: Vec<Format>,
}

/// Files the loaders never treat as migrations.
fn ignored(rel: &str) -> bool {
    let base = rel.rsplit('/').next().unwrap_or(rel);
    base.starts_with('.')
        || base.eq_ignore_ascii_case("README.md")
        || base.eq_ignore_ascii_case("readme")
}

/// Which format the files in `tree` are in.
///
/// # Errors
///
/// When the directory is missing or empty, nothing looks like any format, or two formats'
/// files are mixed.
pub fn detect(tree: &Tree) -> Result<Detected, LoadError> {
    let files = tree.files()?;
    let files: Vec<&String> = files.iter().filter(|f| !ignored(f)).collect();
    if files.is_empty() {
        return Err(LoadError::Empty {
            path: tree.display(""),
        });
    }
    if files.iter().any(|f| *f == "meta/_journal.json") {
        return Ok(Detected::only(Format::Drizzle));
    }
    if files
        .iter()
        .any(|f| *f == "migration_lock.toml" || f.ends_with("/migration.sql"))
    {
        return Ok(Detected::only(Format::Prisma));
    }
    // Each SQL file votes for a format; two different votes are an error.
    let mut vote: Option<(Format, &str)> = None;
    let mut numbered = false;
    for rel in files
        .iter()
        .filter(|f| f.ends_with(".sql") && !f.contains('/'))
    {
        let claim = if flyway::is_flyway_name(rel) {
            Some(Format::Flyway)
        } else {
            let text = tree.read(rel)?;
            let text = String::from_utf8_lossy(&text);
            if goose::has_markers(&text) {
                Some(Format::Goose)
            } else if dbmate::has_markers(&text) {
                Some(Format::Dbmate)
            } else {
                numbered |= split_numbered(rel).is_some();
                None
            }
        };
        if let Some(claim) = claim {
            match vote {
                Some((first, first_file)) if first != claim => {
                    return Err(LoadError::Mixed {
                        path: tree.display(""),
                        first,
                        first_file: tree.display(first_file),
                        second: claim,
                        second_file: tree.display(rel),
                    })
                }
                Some(_) => {}
                None => vote = Some((claim, rel)),
            }
        }
    }
    if let Some((format, _)) = vote {
        return Ok(Detected::only(format));
    }
    if numbered {
        if tree.is_supabase() {
            return Ok(Detected::only(Format::Supabase));
        }
        return Ok(Detected {
            format: Format::Pgkeel,
            alternatives: vec![Format::GolangMigrate, Format::Sqlx],
        });
    }
    let found: Vec<&str> = files.iter().take(3).map(|f| f.as_str()).collect();
    Err(LoadError::UnknownLayout {
        path: tree.display(""),
        found: format!(
            "found {}{}",
            found.join(", "),
            if files.len() > 3 { ", …" } else { "" }
        ),
    })
}

impl Detected {
    fn only(format: Format) -> Detected {
        Detected {
            format,
            alternatives: Vec::new(),
        }
    }
}

/// The migrations in `tree`, read as `format`, sorted by version.
///
/// # Errors
///
/// See [`LoadError`]: unreadable or non-UTF-8 files, names that do not fit the format,
/// duplicate versions, a down migration without its up, a file the splitter rejects.
pub fn load(tree: &Tree, format: Format) -> Result<Vec<Migration>, LoadError> {
    let files = tree.files()?;
    let files: Vec<String> = files.into_iter().filter(|f| !ignored(f)).collect();
    if files.is_empty() {
        return Err(LoadError::Empty {
            path: tree.display(""),
        });
    }
    let mut migrations = match format {
        Format::Pgkeel => pgkeel::load(tree, &files)?,
        Format::GolangMigrate => golang_migrate::load(tree, &files)?,
        Format::Prisma => prisma::load(tree, &files)?,
        Format::Drizzle => drizzle::load(tree, &files)?,
        Format::Flyway => flyway::load(tree, &files)?,
        Format::Dbmate => dbmate::load(tree, &files)?,
        Format::Goose => goose::load(tree, &files)?,
        Format::Sqlx => sqlx::load(tree, &files)?,
        Format::Supabase => supabase::load(tree, &files)?,
    };
    if migrations.is_empty() {
        return Err(LoadError::UnknownLayout {
            path: tree.display(""),
            found: format!(
                "no file is named like {format} migrations ({})",
                format.layout()
            ),
        });
    }
    migrations.sort_by(|a, b| a.version.cmp(&b.version));
    for pair in migrations.windows(2) {
        if pair[0].version == pair[1].version {
            return Err(LoadError::DuplicateVersion {
                version: pair[0].version.to_string(),
                first: pair[0].up.path.clone(),
                second: pair[1].up.path.clone(),
            });
        }
    }
    for m in &migrations {
        check_splits(&m.up)?;
        if let Some(down) = &m.down {
            check_splits(down)?;
        }
    }
    Ok(migrations)
}

/// Splits now, so a broken file is reported before anything runs.
fn check_splits(script: &Script) -> Result<(), LoadError> {
    super::statement::split(&script.sql)
        .map(|_| ())
        .map_err(|source| LoadError::Split {
            path: script.path.clone(),
            line: source.line() + script.first_line - 1,
            column: source.column(),
            source,
        })
}

/// A file as text: the exact bytes (for checksums) and the UTF-8 string.
pub(crate) fn read_text(tree: &Tree, rel: &str) -> Result<(Arc<[u8]>, String), LoadError> {
    let bytes = tree.read(rel)?;
    match String::from_utf8(bytes) {
        Ok(text) => {
            let bytes: Arc<[u8]> = Arc::from(text.as_bytes());
            Ok((bytes, text))
        }
        Err(e) => {
            let offset = e.utf8_error().valid_up_to();
            let line = 1 + e.as_bytes()[..offset]
                .iter()
                .filter(|b| **b == b'\n')
                .count();
            Err(LoadError::NotUtf8 {
                path: tree.display(rel),
                line,
                offset,
            })
        }
    }
}

/// Which half of a reversible pair a file is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Direction {
    Up,
    Down,
    /// No `.up`/`.down` suffix: the file is the up migration.
    Single,
}

/// `0001_create_users.up.sql` → (`0001`, `create_users`, Up). The version is the leading
/// digits; the name is what follows one `_` (or nothing). Only top-level `.sql` files.
pub(crate) fn split_numbered(rel: &str) -> Option<(&str, &str, Direction)> {
    if rel.contains('/') {
        return None;
    }
    let stem = rel.strip_suffix(".sql")?;
    let (stem, direction) = if let Some(s) = stem.strip_suffix(".up") {
        (s, Direction::Up)
    } else if let Some(s) = stem.strip_suffix(".down") {
        (s, Direction::Down)
    } else {
        (stem, Direction::Single)
    };
    let digits = stem.bytes().take_while(u8::is_ascii_digit).count();
    if digits == 0 {
        return None;
    }
    let (version, rest) = stem.split_at(digits);
    let name = match rest {
        "" => "",
        _ => rest.strip_prefix('_')?,
    };
    Some((version, name, direction))
}

/// Pairs `N_name.up.sql` with `N_name.down.sql` (and takes `N_name.sql` as an up file).
/// Shared by the formats whose files differ only in their history table.
pub(crate) fn load_numbered_pairs(
    tree: &Tree,
    files: &[String],
    allow_single: bool,
) -> Result<Vec<Migration>, LoadError> {
    use std::collections::BTreeMap;
    struct Pair {
        name: String,
        up: Option<Script>,
        down: Option<Script>,
    }
    let mut by_version: BTreeMap<String, Pair> = BTreeMap::new();
    for rel in files {
        let Some((version, name, direction)) = split_numbered(rel) else {
            continue;
        };
        if direction == Direction::Single && !allow_single {
            return Err(LoadError::Invalid {
                path: tree.display(rel),
                message: "has neither `.up.sql` nor `.down.sql` at the end of its name".into(),
                hint: format!("rename it to {}.up.sql", rel.trim_end_matches(".sql")),
            });
        }
        let (bytes, text) = read_text(tree, rel)?;
        let script = Script::whole_file(tree.display(rel), bytes, text);
        let pair = by_version.entry(version.to_string()).or_insert(Pair {
            name: name.to_string(),
            up: None,
            down: None,
        });
        let slot = match direction {
            Direction::Up | Direction::Single => &mut pair.up,
            Direction::Down => &mut pair.down,
        };
        if let Some(existing) = slot {
            return Err(LoadError::DuplicateVersion {
                version: version.to_string(),
                first: existing.path.clone(),
                second: script.path,
            });
        }
        *slot = Some(script);
    }
    by_version
        .into_iter()
        .map(|(version, pair)| match pair.up {
            Some(up) => Ok(Migration {
                version: Version::new(version),
                name: pair.name,
                up,
                down: pair.down,
                journal_millis: None,
            }),
            None => Err(LoadError::DownWithoutUp {
                down: pair.down.map(|d| d.path).unwrap_or_default(),
            }),
        })
        .collect()
}

#[cfg(test)]
pub(crate) mod tests;

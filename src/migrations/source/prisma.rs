//! Prisma Migrate: `prisma/migrations/<timestamp>_<name>/migration.sql`, one folder per
//! migration, beside `migration_lock.toml`. Up only.
//!
//! Facts from Prisma's own code:
//! - Every folder is a migration and must hold `migration.sql`; files at the top level other
//!   than the lock file are not migrations (prisma/prisma
//!   `packages/migrate/src/utils/listMigrations.ts`).
//! - Folders run in lexicographic order of their names (same file). pgkeel orders by the
//!   folder's leading number, so a set of names whose two orders differ is refused rather
//!   than run in an order Prisma would not use.
//! - The lock file's provider is the first line starting with `provider`, the text after
//!   `provider = ` with quotes trimmed, and must equal the connector's name, `postgresql`; a
//!   missing lock file is accepted (prisma-engines
//!   `schema-engine/connectors/schema-connector/src/migrations_directory.rs`).
//! - Prisma sends the whole script as one simple-query message (prisma-engines
//!   `sql-schema-connector/src/flavour/postgres/connection.rs`), so it runs in one implicit
//!   transaction: the script is a single transactional unit here too.
//!
//! The version is the folder's leading digits and the name the rest after `_`, so
//! [`Migration::label`] gives back the folder name, which is Prisma's `migration_name`.

use std::collections::BTreeMap;

use super::{read_text, LoadError, Tree};
use crate::migrations::{Migration, Script, Version};

const LOCK_FILE: &str = "migration_lock.toml";
const SCRIPT: &str = "migration.sql";
/// The provider name Prisma's PostgreSQL connector compares the lock file with.
const PROVIDER: &str = "postgresql";

pub(super) fn load(tree: &Tree, files: &[String]) -> Result<Vec<Migration>, LoadError> {
    if files.iter().any(|f| f == LOCK_FILE) {
        check_lock_file(tree)?;
    }
    // Folder → whether it holds migration.sql. Deeper files only prove the folder exists.
    let mut folders: BTreeMap<&str, bool> = BTreeMap::new();
    for rel in files {
        if let Some((folder, rest)) = rel.split_once('/') {
            let has_script = folders.entry(folder).or_insert(false);
            *has_script |= rest == SCRIPT;
        }
    }
    let mut migrations = Vec::with_capacity(folders.len());
    for (folder, has_script) in folders {
        let rel = format!("{folder}/{SCRIPT}");
        if !has_script {
            return Err(LoadError::Invalid {
                path: tree.display(folder),
                message: format!("has no {SCRIPT}; Prisma treats every folder here as a migration"),
                hint: format!("add {rel}, or move the folder out of the migrations directory"),
            });
        }
        let (version, name) = split_folder(folder).ok_or_else(|| LoadError::Invalid {
            path: tree.display(folder),
            message: "the folder name does not start with a timestamp followed by `_`".into(),
            hint: "name it like Prisma does, <timestamp>_<name> (for example 20240105120000_init)"
                .into(),
        })?;
        let (bytes, text) = read_text(tree, &rel)?;
        migrations.push(Migration {
            version: Version::new(version),
            name: name.to_string(),
            up: Script::whole_file(tree.display(&rel), bytes, text),
            down: None,
            journal_millis: None,
        });
    }
    check_order(tree, &migrations)?;
    Ok(migrations)
}

/// `20240105120000_add_users` → (`20240105120000`, `add_users`); a bare number has an empty
/// name. Anything else is not a name pgkeel can turn back into the folder name.
fn split_folder(folder: &str) -> Option<(&str, &str)> {
    let digits = folder.bytes().take_while(u8::is_ascii_digit).count();
    if digits == 0 {
        return None;
    }
    let (version, rest) = folder.split_at(digits);
    match rest {
        "" => Some((version, "")),
        _ => Some((version, rest.strip_prefix('_')?)),
    }
}

/// Prisma runs folders in name order; pgkeel in numeric order. They agree unless numbers of
/// different lengths interleave (`2_a` runs after `10_b` in Prisma), which is refused.
fn check_order(tree: &Tree, migrations: &[Migration]) -> Result<(), LoadError> {
    let mut by_number: Vec<&Migration> = migrations.iter().collect();
    by_number.sort_by(|a, b| a.version.cmp(&b.version));
    for pair in by_number.windows(2) {
        let (a, b) = (pair[0].version.as_str(), pair[1].version.as_str());
        // Digits compare the same in Prisma's locale order and in byte order; a shorter
        // prefix sorts first in both.
        if pair[0].version != pair[1].version && a > b {
            return Err(LoadError::Invalid {
                path: tree.display(&pair[1].label()),
                message: format!(
                    "Prisma applies it before {} (folder names sort as text), pgkeel after it (as numbers)",
                    pair[0].label()
                ),
                hint: "give every folder a timestamp of the same length, as `prisma migrate dev` does"
                    .into(),
            });
        }
    }
    Ok(())
}

/// Refuses a lock file written for another database: Prisma itself refuses to deploy it.
fn check_lock_file(tree: &Tree) -> Result<(), LoadError> {
    let (_, text) = read_text(tree, LOCK_FILE)?;
    let hint = "these migrations were generated for another database; \
                point --migrations at the PostgreSQL project's prisma/migrations";
    match provider(&text) {
        Some((_, PROVIDER)) => Ok(()),
        Some((line, other)) => Err(LoadError::Invalid {
            path: format!("{}:{line}", tree.display(LOCK_FILE)),
            message: format!("provider is \"{other}\", not \"{PROVIDER}\""),
            hint: hint.into(),
        }),
        None => Err(LoadError::Invalid {
            path: tree.display(LOCK_FILE),
            message: "has no `provider = \"…\"` line".into(),
            hint: format!("Prisma writes provider = \"{PROVIDER}\" there; restore it"),
        }),
    }
}

/// The 1-based line and value of the lock file's provider, read the way Prisma reads it.
fn provider(text: &str) -> Option<(usize, &str)> {
    text.lines().enumerate().find_map(|(i, line)| {
        let rest = line.strip_prefix("provider")?;
        let value = rest.trim_start().strip_prefix('=').unwrap_or(rest).trim();
        Some((i + 1, value.trim_matches('"')))
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::migrations::source::{detect, load as load_any, Format};

    fn write(dir: &std::path::Path, rel: &str, text: &str) {
        let path = dir.join(rel);
        std::fs::create_dir_all(path.parent().expect("parent")).expect("mkdir");
        std::fs::write(path, text).expect("write");
    }

    const LOCK: &str = "# Please do not edit this file manually\n\
                        # It should be added in your version-control system (e.g., Git)\n\
                        provider = \"postgresql\"\n";

    #[test]
    fn folders_become_migrations_named_like_prisma() {
        let dir = tempfile::tempdir().expect("tempdir");
        write(dir.path(), LOCK_FILE, LOCK);
        write(
            dir.path(),
            "20240105120000_add_posts/migration.sql",
            "CREATE TABLE posts ();\n",
        );
        write(
            dir.path(),
            "0_init/migration.sql",
            "CREATE TABLE users ();\n",
        );
        write(dir.path(), "README.md", "notes\n");
        let tree = Tree::Dir(dir.path().to_path_buf());
        assert_eq!(detect(&tree).expect("detect").format, Format::Prisma);
        let ms = load_any(&tree, Format::Prisma).expect("load");
        let labels: Vec<String> = ms.iter().map(Migration::label).collect();
        assert_eq!(labels, ["0_init", "20240105120000_add_posts"]);
        assert_eq!(ms[1].name, "add_posts");
        assert!(ms[1]
            .up
            .path
            .ends_with("20240105120000_add_posts/migration.sql"));
        assert!(ms.iter().all(|m| m.down.is_none() && m.up.transaction));
    }

    #[test]
    fn another_provider_is_refused_with_its_line() {
        let dir = tempfile::tempdir().expect("tempdir");
        write(dir.path(), LOCK_FILE, &LOCK.replace("postgresql", "mysql"));
        write(dir.path(), "1_init/migration.sql", "SELECT 1;\n");
        let err = load_any(&Tree::Dir(dir.path().to_path_buf()), Format::Prisma).unwrap_err();
        let msg = err.to_string();
        assert!(
            msg.contains("migration_lock.toml:3: provider is \"mysql\""),
            "{msg}"
        );
        assert!(err.hint().is_some_and(|h| h.contains("another database")));

        write(dir.path(), LOCK_FILE, "# empty\n");
        let err = load_any(&Tree::Dir(dir.path().to_path_buf()), Format::Prisma).unwrap_err();
        assert!(err.to_string().contains("has no `provider"), "{err}");

        std::fs::remove_file(dir.path().join(LOCK_FILE)).expect("rm");
        let ms = load_any(&Tree::Dir(dir.path().to_path_buf()), Format::Prisma);
        assert!(ms.is_ok(), "Prisma accepts a missing lock file: {ms:?}");
    }

    #[test]
    fn a_folder_without_its_script_or_timestamp_is_an_error() {
        let dir = tempfile::tempdir().expect("tempdir");
        write(dir.path(), LOCK_FILE, LOCK);
        write(dir.path(), "1_init/migration.sql", "SELECT 1;\n");
        write(dir.path(), "2_next/notes.txt", "x\n");
        let err = load_any(&Tree::Dir(dir.path().to_path_buf()), Format::Prisma).unwrap_err();
        assert!(
            err.to_string().ends_with(
                "2_next: has no migration.sql; Prisma treats every folder here as a migration"
            ),
            "{err}"
        );

        std::fs::remove_dir_all(dir.path().join("2_next")).expect("rm");
        write(dir.path(), "init/migration.sql", "SELECT 1;\n");
        let err = load_any(&Tree::Dir(dir.path().to_path_buf()), Format::Prisma).unwrap_err();
        assert!(
            err.to_string().contains("does not start with a timestamp"),
            "{err}"
        );
    }

    #[test]
    fn split_errors_carry_the_script_path_and_line() {
        let dir = tempfile::tempdir().expect("tempdir");
        write(
            dir.path(),
            "1_init/migration.sql",
            "SELECT 1;\n\nSELECT $x$ never closed;\n",
        );
        let err = load_any(&Tree::Dir(dir.path().to_path_buf()), Format::Prisma).unwrap_err();
        assert!(err.to_string().contains("1_init/migration.sql:3:"), "{err}");
    }

    #[test]
    fn number_order_must_match_prisma_name_order() {
        let dir = tempfile::tempdir().expect("tempdir");
        write(dir.path(), "2_a/migration.sql", "SELECT 1;\n");
        write(dir.path(), "10_b/migration.sql", "SELECT 1;\n");
        let err = load_any(&Tree::Dir(dir.path().to_path_buf()), Format::Prisma).unwrap_err();
        assert!(
            err.to_string().contains("Prisma applies it before 2_a"),
            "{err}"
        );
    }

    #[test]
    fn provider_is_read_like_prisma_reads_it() {
        assert_eq!(provider(LOCK), Some((3, "postgresql")));
        assert_eq!(
            provider("provider=\"cockroachdb\""),
            Some((1, "cockroachdb"))
        );
        assert_eq!(
            provider("  provider = \"x\""),
            None,
            "Prisma needs it at the line start"
        );
        assert_eq!(split_folder("20240105120000"), Some(("20240105120000", "")));
        assert_eq!(split_folder("1-x"), None);
    }
}

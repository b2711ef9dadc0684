//! Drizzle: `drizzle/NNNN_name.sql` files listed in `drizzle/meta/_journal.json`
//! (`{version, dialect, entries: [{idx, version, when, tag, breakpoints}]}`). Up only.
//!
//! Facts from drizzle-orm's migrator (drizzle-orm `src/migrator.ts`, checked against the
//! 0.44 build that `scripts/test-tools.sh` installs):
//! - The journal alone decides which migrations exist and in which order: each entry's file
//!   is `<tag>.sql`; a `.sql` file the journal does not list never runs. pgkeel refuses both
//!   an unlisted file and an entry without its file, since either is a half-finished edit.
//! - An entry's `when` (milliseconds) is what the history table stores (`created_at`), and
//!   a migration counts as applied when its `when` is not newer than the newest row.
//! - A file is split at `--> statement-breakpoint` lines and every piece runs in one
//!   transaction; the marker is a SQL comment, so pgkeel's own splitter handles the file.
//! - The journal's `dialect` is `postgresql` (`pg` before drizzle-kit 0.21); another dialect
//!   means the files are another database's.
//!
//! The version is the tag's leading digits and the name the rest after `_`
//! (`0003_brave_hulk`), so [`Migration::label`] gives back the tag.

use std::collections::BTreeSet;

use serde::Deserialize;

use super::{read_text, split_numbered, Direction, LoadError, Tree};
use crate::migrations::{Migration, Script, Version};

const JOURNAL: &str = "meta/_journal.json";

#[derive(Deserialize)]
struct Journal {
    dialect: Option<String>,
    entries: Vec<Entry>,
}

#[derive(Deserialize)]
struct Entry {
    when: i64,
    tag: String,
}

pub(super) fn load(tree: &Tree, files: &[String]) -> Result<Vec<Migration>, LoadError> {
    if !files.iter().any(|f| f == JOURNAL) {
        return Err(LoadError::Invalid {
            path: tree.display(JOURNAL),
            message: "does not exist; Drizzle lists its migrations there".into(),
            hint:
                "run `drizzle-kit generate`, or point --migrations at the folder that holds meta/"
                    .into(),
        });
    }
    let (_, text) = read_text(tree, JOURNAL)?;
    let journal = parse_journal(tree, &text)?;
    let journal_path = tree.display(JOURNAL);
    let at = |needle: &str| match line_of(&text, needle) {
        Some(line) => format!("{journal_path}:{line}"),
        None => journal_path.clone(),
    };
    if let Some(dialect) = journal.dialect.as_deref() {
        if dialect != "postgresql" && dialect != "pg" {
            return Err(LoadError::Invalid {
                path: at("\"dialect\""),
                message: format!("dialect is \"{dialect}\", not \"postgresql\""),
                hint: "these migrations were generated for another database; \
                       point --migrations at the PostgreSQL project's drizzle folder"
                    .into(),
            });
        }
    }

    let on_disk: BTreeSet<&str> = files
        .iter()
        .filter(|f| !f.contains('/'))
        .filter_map(|f| f.strip_suffix(".sql"))
        .collect();
    let mut listed = BTreeSet::new();
    let mut migrations: Vec<Migration> = Vec::with_capacity(journal.entries.len());
    for entry in &journal.entries {
        let tag = entry.tag.as_str();
        let quoted_tag = serde_json::to_string(tag).unwrap_or_default();
        let rel = format!("{tag}.sql");
        let Some((version, name, Direction::Single)) = split_numbered(&rel) else {
            return Err(LoadError::Invalid {
                path: at(&quoted_tag),
                message: format!("tag {quoted_tag} does not start with a number followed by `_`"),
                hint: "use drizzle-kit's default prefix (`index`) or `timestamp`, which number every tag"
                    .into(),
            });
        };
        if !on_disk.contains(tag) {
            return Err(LoadError::Invalid {
                path: at(&quoted_tag),
                message: format!(
                    "lists {quoted_tag}, but {} does not exist",
                    tree.display(&rel)
                ),
                hint: "restore the file, or remove its entry from the journal".into(),
            });
        }
        if !listed.insert(tag) {
            return Err(LoadError::DuplicateVersion {
                version: version.to_string(),
                first: journal_path.clone(),
                second: at(&quoted_tag),
            });
        }
        let (bytes, sql) = read_text(tree, &rel)?;
        let migration = Migration {
            version: Version::new(version),
            name: name.to_string(),
            up: Script::whole_file(tree.display(&rel), bytes, sql),
            down: None,
            journal_millis: Some(entry.when),
        };
        // Drizzle runs entries in journal order; pgkeel sorts by number. Refuse a journal on
        // which the two disagree rather than run migrations in another order.
        if let Some(previous) = migrations.last() {
            if previous.version >= migration.version {
                return Err(LoadError::Invalid {
                    path: at(&quoted_tag),
                    message: format!(
                        "lists {} after {}, but its number is not higher",
                        migration.label(),
                        previous.label()
                    ),
                    hint: "renumber the file and its tag so journal order and numbers agree".into(),
                });
            }
        }
        migrations.push(migration);
    }
    if let Some(stray) = on_disk.iter().find(|stem| !listed.contains(*stem)) {
        return Err(LoadError::Invalid {
            path: tree.display(&format!("{stray}.sql")),
            message: format!("is not listed in {JOURNAL}, so Drizzle would never run it"),
            hint:
                "generate migrations with `drizzle-kit generate` (or `--custom`), which adds the \
                   journal entry; or delete the file"
                    .into(),
        });
    }
    Ok(migrations)
}

/// The journal, or an error at the line and column where it stops being one.
fn parse_journal(tree: &Tree, text: &str) -> Result<Journal, LoadError> {
    serde_json::from_str(text).map_err(|e| {
        // serde_json appends " at line L column C"; the position goes in front instead.
        let full = e.to_string();
        let suffix = format!(" at line {} column {}", e.line(), e.column());
        let message = full.strip_suffix(&suffix).unwrap_or(&full);
        LoadError::Invalid {
            path: format!("{}:{}:{}", tree.display(JOURNAL), e.line(), e.column()),
            message: format!("not a Drizzle journal: {message}"),
            hint: "fix the JSON (drizzle-kit writes {\"version\", \"dialect\", \"entries\": \
                   [{\"idx\", \"version\", \"when\", \"tag\", \"breakpoints\"}]})"
                .into(),
        }
    })
}

/// The 1-based line of the first occurrence of `needle`, to point errors at journal entries.
fn line_of(text: &str, needle: &str) -> Option<usize> {
    let at = text.find(needle)?;
    Some(1 + text[..at].bytes().filter(|b| *b == b'\n').count())
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

    fn journal(entries: &[(&str, i64)]) -> String {
        let entries: Vec<String> = entries
            .iter()
            .enumerate()
            .map(|(i, (tag, when))| {
                format!(
                    "    {{\n      \"idx\": {i},\n      \"version\": \"7\",\n      \"when\": {when},\n      \"tag\": \"{tag}\",\n      \"breakpoints\": true\n    }}"
                )
            })
            .collect();
        format!(
            "{{\n  \"version\": \"7\",\n  \"dialect\": \"postgresql\",\n  \"entries\": [\n{}\n  ]\n}}",
            entries.join(",\n")
        )
    }

    fn project(entries: &[(&str, i64)]) -> tempfile::TempDir {
        let dir = tempfile::tempdir().expect("tempdir");
        write(dir.path(), JOURNAL, &journal(entries));
        write(dir.path(), "meta/0000_snapshot.json", "{}");
        for (tag, _) in entries {
            write(
                dir.path(),
                &format!("{tag}.sql"),
                "CREATE TABLE a (id int);\n--> statement-breakpoint\nCREATE TABLE b (id int);\n",
            );
        }
        dir
    }

    fn load_dir(dir: &tempfile::TempDir) -> Result<Vec<Migration>, LoadError> {
        load_any(&Tree::Dir(dir.path().to_path_buf()), Format::Drizzle)
    }

    #[test]
    fn journal_entries_become_migrations() {
        let dir = project(&[
            ("0000_init", 1_700_000_000_000),
            ("0001_brave_hulk", 1_700_000_100_000),
        ]);
        let tree = Tree::Dir(dir.path().to_path_buf());
        assert_eq!(detect(&tree).expect("detect").format, Format::Drizzle);
        let ms = load_dir(&dir).expect("load");
        assert_eq!(ms.len(), 2);
        assert_eq!(ms[1].label(), "0001_brave_hulk");
        assert_eq!(ms[1].name, "brave_hulk");
        assert_eq!(ms[1].journal_millis, Some(1_700_000_100_000));
        assert!(ms[0].up.path.ends_with("0000_init.sql"));
        let statements = crate::migrations::split(&ms[0].up.sql).expect("split");
        assert_eq!(statements.len(), 2, "the breakpoint marker is a comment");
    }

    #[test]
    fn a_file_missing_from_the_journal_or_disk_is_an_error() {
        let dir = project(&[("0000_init", 1)]);
        write(dir.path(), "0001_extra.sql", "SELECT 1;\n");
        let err = load_dir(&dir).unwrap_err().to_string();
        assert!(
            err.contains("0001_extra.sql: is not listed in meta/_journal.json"),
            "{err}"
        );

        std::fs::remove_file(dir.path().join("0001_extra.sql")).expect("rm");
        std::fs::remove_file(dir.path().join("0000_init.sql")).expect("rm");
        let err = load_dir(&dir).unwrap_err().to_string();
        assert!(
            err.contains("meta/_journal.json:9: lists \"0000_init\", but")
                && err.contains("0000_init.sql does not exist"),
            "{err}"
        );
    }

    #[test]
    fn malformed_json_gives_line_and_column() {
        let dir = project(&[("0000_init", 1)]);
        write(
            dir.path(),
            JOURNAL,
            "{\n  \"version\": \"7\",\n  \"entries\": [\n    {\"tag\": }\n  ]\n}\n",
        );
        let err = load_dir(&dir).unwrap_err().to_string();
        assert!(
            err.contains("meta/_journal.json:4:13: not a Drizzle journal: expected value"),
            "{err}"
        );

        write(
            dir.path(),
            JOURNAL,
            "{\"entries\": [{\"tag\": \"0000_init\"}]}",
        );
        let err = load_dir(&dir).unwrap_err().to_string();
        assert!(err.contains("missing field `when`"), "{err}");
    }

    #[test]
    fn another_dialect_is_refused() {
        let dir = project(&[("0000_init", 1)]);
        write(
            dir.path(),
            JOURNAL,
            &journal(&[("0000_init", 1)]).replace("postgresql", "sqlite"),
        );
        let err = load_dir(&dir).unwrap_err().to_string();
        assert!(
            err.contains("meta/_journal.json:3: dialect is \"sqlite\""),
            "{err}"
        );
        write(
            dir.path(),
            JOURNAL,
            &journal(&[("0000_init", 1)]).replace("postgresql", "pg"),
        );
        assert!(
            load_dir(&dir).is_ok(),
            "drizzle-kit before 0.21 wrote \"pg\""
        );
    }

    #[test]
    fn journal_order_must_match_numbers_and_tags_must_be_numbered() {
        let dir = project(&[("0001_b", 2), ("0000_a", 1)]);
        let err = load_dir(&dir).unwrap_err().to_string();
        assert!(err.contains("lists 0000_a after 0001_b"), "{err}");

        let dir = project(&[("init", 1)]);
        let err = load_dir(&dir).unwrap_err().to_string();
        assert!(
            err.contains("tag \"init\" does not start with a number"),
            "{err}"
        );
    }
}

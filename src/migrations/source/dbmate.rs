//! dbmate: `<version>_<name>.sql`, where the version is the file name's leading digits and is
//! stored as that text. One file holds both directions: `-- migrate:up` and
//! `-- migrate:down` start the sections, and `transaction:false` after either runs that
//! direction outside a transaction.
//!
//! Rules taken from dbmate's own code (amacneil/dbmate `pkg/dbmate/migration.go`, the file
//! pattern `^(\d+).*\.sql$` in `pkg/dbmate/db.go`): a directive is a line starting with
//! `--`, optional whitespace, `migrate:up` or `migrate:down`, then the end of the line or
//! whitespace and options (`key:value` pairs; `transaction` is the only one dbmate reads);
//! only blank and comment lines may precede `-- migrate:up`; the down section is required.
//! dbmate also accepts several up/down pairs in one file; pgkeel refuses that, since dbmate
//! records the file's version once per pair and so cannot apply such a file in one go either.

use std::sync::Arc;

use super::{read_text, LoadError, Tree};
use crate::migrations::{Migration, Script, Version};

pub(super) fn load(tree: &Tree, files: &[String]) -> Result<Vec<Migration>, LoadError> {
    let mut out = Vec::new();
    // dbmate reads only the directory itself, not subdirectories.
    for rel in files.iter().filter(|f| !f.contains('/')) {
        let Some((version, name)) = version_and_name(rel) else {
            continue;
        };
        let (file, text) = read_text(tree, rel)?;
        let path = tree.display(rel);
        let parsed = parse(&path, &text)?;
        let script = |section: &Section| Script {
            path: path.clone(),
            file: Arc::clone(&file),
            sql: text[section.start..section.end].to_string(),
            first_line: section.first_line,
            transaction: section.transaction,
        };
        out.push(Migration {
            version: Version::new(version),
            name: name.to_string(),
            up: script(&parsed.up),
            down: Some(script(&parsed.down)),
            journal_millis: None,
        });
    }
    Ok(out)
}

pub(super) fn has_markers(text: &str) -> bool {
    text.contains("-- migrate:up")
}

/// `20240105120000_create_users.sql` → (`20240105120000`, `create_users`).
fn version_and_name(rel: &str) -> Option<(&str, &str)> {
    let stem = rel.strip_suffix(".sql")?;
    let digits = stem.bytes().take_while(u8::is_ascii_digit).count();
    if digits == 0 {
        return None;
    }
    let (version, rest) = stem.split_at(digits);
    Some((version, rest.strip_prefix('_').unwrap_or(rest)))
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Directive {
    Up,
    Down,
}

/// The directive on `line` (without its line break) and the text after it.
fn directive(line: &str) -> Option<(Directive, &str)> {
    let rest = line.strip_prefix("--")?.trim_start();
    let (found, after) = if let Some(after) = rest.strip_prefix("migrate:up") {
        (Directive::Up, after)
    } else {
        (Directive::Down, rest.strip_prefix("migrate:down")?)
    };
    // `-- migrate:upgrade` is a comment, not a directive.
    if after.is_empty() || after.starts_with(|c: char| c.is_ascii_whitespace()) {
        Some((found, after))
    } else {
        None
    }
}

/// Whether the options after a directive allow a transaction: anything but
/// `transaction:false` does, as in dbmate's `migrationOptions.Transaction`.
fn transaction(options: &str) -> bool {
    !options
        .split_ascii_whitespace()
        .filter_map(|pair| {
            let mut parts = pair.split(':');
            match (parts.next(), parts.next(), parts.next()) {
                (Some(key), Some(value), None) => Some((key, value)),
                _ => None,
            }
        })
        .any(|(key, value)| key == "transaction" && value == "false")
}

#[derive(Debug)]
struct Section {
    start: usize,
    end: usize,
    first_line: usize,
    transaction: bool,
}

#[derive(Debug)]
struct Parsed {
    up: Section,
    down: Section,
}

fn marker(path: &str, line: Option<usize>, message: &str) -> LoadError {
    LoadError::Marker {
        path: path.to_string(),
        line,
        message: message.to_string(),
    }
}

fn parse(path: &str, text: &str) -> Result<Parsed, LoadError> {
    let mut up: Option<(usize, Section)> = None;
    let mut down: Option<Section> = None;
    let mut offset = 0;
    for (index, raw) in text.split_inclusive('\n').enumerate() {
        let number = index + 1;
        let line_start = offset;
        offset += raw.len();
        let line = raw.trim_end_matches('\n');
        let Some((found, options)) = directive(line) else {
            if up.is_none() {
                let trimmed = line.trim();
                if !trimmed.is_empty() && !trimmed.starts_with("--") {
                    return Err(marker(
                        path,
                        Some(number),
                        "SQL before `-- migrate:up`: dbmate migrations start with their `-- migrate:up` section",
                    ));
                }
            }
            continue;
        };
        let section = Section {
            start: offset,
            end: text.len(),
            first_line: number + 1,
            transaction: transaction(options),
        };
        match (found, &mut up, &down) {
            (Directive::Up, None, _) => up = Some((number, section)),
            (Directive::Up, Some(_), _) => {
                return Err(marker(
                    path,
                    Some(number),
                    "a second `-- migrate:up` section: pgkeel runs one up/down pair per file; move this pair into a file of its own",
                ))
            }
            (Directive::Down, None, _) => {
                return Err(marker(
                    path,
                    Some(number),
                    "`-- migrate:down` before `-- migrate:up`",
                ))
            }
            (Directive::Down, Some((_, up)), None) => {
                up.end = line_start;
                down = Some(section);
            }
            (Directive::Down, Some(_), Some(_)) => {
                return Err(marker(
                    path,
                    Some(number),
                    "a second `-- migrate:down` section",
                ))
            }
        }
    }
    let Some((up_line, up)) = up else {
        return Err(marker(
            path,
            Some(1),
            "no `-- migrate:up` section: dbmate requires one",
        ));
    };
    let Some(down) = down else {
        return Err(marker(
            path,
            Some(up_line),
            "no `-- migrate:down` section after this `-- migrate:up`: dbmate requires one (it may be empty)",
        ));
    };
    Ok(Parsed { up, down })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parsed(text: &str) -> Parsed {
        parse("m.sql", text).unwrap_or_else(|e| panic!("{e}"))
    }

    fn error(text: &str) -> String {
        parse("m.sql", text).map(|_| ()).unwrap_err().to_string()
    }

    #[test]
    fn sections_and_lines() {
        let text = "-- header\n-- migrate:up\ncreate table t (id int);\n\n-- migrate:down\ndrop table t;\n";
        let p = parsed(text);
        assert_eq!(&text[p.up.start..p.up.end], "create table t (id int);\n\n");
        assert_eq!(p.up.first_line, 3);
        assert_eq!(&text[p.down.start..p.down.end], "drop table t;\n");
        assert_eq!(p.down.first_line, 6);
        assert!(p.up.transaction && p.down.transaction);
    }

    #[test]
    fn transaction_false_per_direction() {
        let text = "-- migrate:up transaction:false\ncreate index concurrently i on t (a);\n-- migrate:down\ndrop index i;\n";
        let p = parsed(text);
        assert!(!p.up.transaction);
        assert!(p.down.transaction);
        let p = parsed("--migrate:up\nselect 1;\n--   migrate:down   foo:bar transaction:false\r\nselect 2;\r\n");
        assert!(p.up.transaction);
        assert!(!p.down.transaction, "options after spaces and before CRLF");
        assert!(transaction("transaction:true"));
        assert!(
            transaction("transaction:false:x"),
            "malformed pairs are ignored"
        );
    }

    #[test]
    fn empty_down_section() {
        let text = "-- migrate:up\nselect 1;\n-- migrate:down\n";
        let p = parsed(text);
        assert_eq!(p.down.start, p.down.end);
    }

    #[test]
    fn directives_need_a_word_boundary() {
        assert_eq!(directive("-- migrate:upgrade"), None);
        assert_eq!(directive(" -- migrate:up"), None, "must start the line");
        assert_eq!(directive("-- migrate:up"), Some((Directive::Up, "")));
        assert_eq!(
            directive("--migrate:down x:y"),
            Some((Directive::Down, " x:y"))
        );
    }

    #[test]
    fn bad_files() {
        assert!(error("create table t (id int);\n-- migrate:up\n")
            .starts_with("m.sql:1: SQL before `-- migrate:up`"));
        assert!(error("-- just a comment\n").starts_with("m.sql:1: no `-- migrate:up`"));
        assert!(error("\n-- migrate:up\nselect 1;\n").starts_with("m.sql:2: no `-- migrate:down`"));
        assert!(error("-- migrate:down\n-- migrate:up\n")
            .starts_with("m.sql:1: `-- migrate:down` before"));
        assert!(error("-- migrate:up\n-- migrate:down\n-- migrate:down\n")
            .starts_with("m.sql:3: a second `-- migrate:down`"));
        assert!(
            error("-- migrate:up\n-- migrate:down\n-- migrate:up\n-- migrate:down\n")
                .starts_with("m.sql:3: a second `-- migrate:up`")
        );
    }

    #[test]
    fn names() {
        assert_eq!(
            version_and_name("20240105_create.sql"),
            Some(("20240105", "create"))
        );
        assert_eq!(version_and_name("001.sql"), Some(("001", "")));
        assert_eq!(version_and_name("1-dash.sql"), Some(("1", "-dash")));
        assert_eq!(version_and_name("x1_a.sql"), None);
        assert_eq!(version_and_name("1_a.txt"), None);
    }

    #[test]
    fn loads_a_directory_keeping_version_text() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(
            dir.path().join("0002_b.sql"),
            "-- migrate:up\nselect 2;\n-- migrate:down\n",
        )
        .unwrap();
        std::fs::write(
            dir.path().join("0010_c.sql"),
            "-- migrate:up\nselect 10;\n-- migrate:down\n",
        )
        .unwrap();
        std::fs::write(dir.path().join("schema.sql"), "create table x ();").unwrap();
        let tree = Tree::Dir(dir.path().to_path_buf());
        let m = super::super::load(&tree, crate::migrations::Format::Dbmate).unwrap();
        let versions: Vec<&str> = m.iter().map(|m| m.version.as_str()).collect();
        assert_eq!(versions, ["0002", "0010"]);
        assert_eq!(m[0].up.sql, "select 2;\n");
        assert_eq!(m[0].up.first_line, 2);
        assert_eq!(m[0].down.as_ref().unwrap().sql, "");
    }

    #[test]
    fn the_example_project_loads() {
        let m = crate::migrations::source::tests::example(crate::migrations::Format::Dbmate);
        let got: Vec<(&str, bool)> = m
            .iter()
            .map(|m| (m.version.as_str(), m.up.transaction))
            .collect();
        assert_eq!(
            got,
            [
                ("20240105120000", true),
                ("20240112093000", true),
                ("20240120170000", false)
            ]
        );
        assert!(m.iter().all(|m| m.down.is_some()));
        assert!(!m[2].down.as_ref().is_some_and(|d| d.transaction));
    }
}

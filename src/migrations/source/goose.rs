//! goose: `<version>_<name>.sql`, one file holding both directions between annotations:
//! `-- +goose Up`, `-- +goose Down`, `-- +goose StatementBegin` / `StatementEnd` around
//! statements goose must not cut at `;`, and `-- +goose NO TRANSACTION`, which runs both
//! directions outside a transaction.
//!
//! Rules taken from goose's own parser and file collector (pressly/goose
//! `internal/sqlparser/parser.go`, `provider_collect.go`, `migration.go` `NumericComponent`):
//! the version is the integer before the first `_` and must be at least 1; files without one
//! are not migrations; annotations are matched case-insensitively on lines that start with
//! `--` and contain `+goose`, and an unknown annotation is an error; nothing but comments may
//! precede `-- +goose Up`; the Down section is optional.
//!
//! Each direction's [`Script::sql`] is its section (the lines after its annotation), so line
//! numbers stay those of the file. Annotation lines stay in as SQL comments. Where a
//! `StatementBegin` block ends without `;`, a `;` is put in front of its `StatementEnd` line:
//! goose ends the statement there, and pgkeel's splitter would otherwise run it into the next.

use std::sync::Arc;

use super::{read_text, LoadError, Tree};
use crate::migrations::{Migration, Script, Version};

/// How to run goose itself when a project needs what pgkeel does not do.
const COMMAND_MODE: &str = "pgkeel migrate up --command \"goose up\"";

pub(super) fn load(tree: &Tree, files: &[String]) -> Result<Vec<Migration>, LoadError> {
    let mut out = Vec::new();
    for rel in files.iter().filter(|f| !f.contains('/')) {
        if let Some(stem) = rel.strip_suffix(".go") {
            // goose skips Go test files and files without a version, as here.
            if !stem.ends_with("_test") && numeric_component(rel).is_some() {
                return Err(LoadError::Invalid {
                    path: tree.display(rel),
                    message: "is a Go migration; pgkeel runs SQL migrations only".into(),
                    hint: format!(
                        "let goose run this project's migrations through pgkeel: {COMMAND_MODE}"
                    ),
                });
            }
            continue;
        }
        if !rel.ends_with(".sql") {
            continue;
        }
        let Some((version, name)) = numeric_component(rel) else {
            continue;
        };
        let (file, text) = read_text(tree, rel)?;
        let path = tree.display(rel);
        let parsed = parse(&path, &text)?;
        let script = |section: &Section| Script {
            path: path.clone(),
            file: Arc::clone(&file),
            sql: section.sql(&text),
            first_line: section.first_line,
            transaction: parsed.transaction,
        };
        out.push(Migration {
            version: Version::new(version),
            name: name.to_string(),
            up: script(&parsed.up),
            down: parsed.down.as_ref().map(script),
            journal_millis: None,
        });
    }
    Ok(out)
}

pub(super) fn has_markers(text: &str) -> bool {
    text.to_ascii_lowercase().contains("-- +goose up")
}

/// `00001_create_users.sql` → (`00001`, `create_users`): the digits before the first `_`, as
/// goose's `NumericComponent` reads them (an integer of at least 1).
fn numeric_component(rel: &str) -> Option<(&str, &str)> {
    let stem = rel
        .strip_suffix(".sql")
        .or_else(|| rel.strip_suffix(".go"))?;
    let (version, name) = stem.split_once('_')?;
    if version.is_empty() || !version.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    match version.parse::<i64>() {
        Ok(n) if n >= 1 => Some((version, name)),
        _ => None,
    }
}

/// One direction's part of the file.
#[derive(Debug)]
struct Section {
    /// Byte range of the lines after the direction's annotation.
    start: usize,
    end: usize,
    first_line: usize,
    /// Byte offsets (inside the range) where a `;` closes an unterminated StatementBegin block.
    terminators: Vec<usize>,
}

impl Section {
    fn new(start: usize, first_line: usize) -> Section {
        Section {
            start,
            end: start,
            first_line,
            terminators: Vec::new(),
        }
    }

    fn sql(&self, text: &str) -> String {
        let mut sql = String::with_capacity(self.end - self.start + self.terminators.len());
        let mut at = self.start;
        for &t in &self.terminators {
            sql.push_str(&text[at..t]);
            sql.push(';');
            at = t;
        }
        sql.push_str(&text[at..self.end]);
        sql
    }
}

#[derive(Debug)]
struct Parsed {
    up: Section,
    down: Option<Section>,
    transaction: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Annotation {
    Up,
    Down,
    StatementBegin,
    StatementEnd,
    NoTransaction,
    EnvsubOn,
    EnvsubOff,
}

/// Where the parser is: before `Up`, in a direction, or inside a StatementBegin block.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum State {
    Start,
    Up,
    Down,
    /// In a block of the Up (false) or Down (true) section, opened at `line`, with its SQL
    /// starting at byte `start`.
    Block {
        down: bool,
        line: usize,
        start: usize,
    },
}

fn marker(path: &str, line: usize, message: impl Into<String>) -> LoadError {
    LoadError::Marker {
        path: path.to_string(),
        line: Some(line),
        message: message.into(),
    }
}

/// Reads the annotation on a line that goose treats as one, as goose's `extractAnnotation`
/// does: every `--` and the first `+goose` removed, the rest compared without case.
fn annotation(line: &str) -> Result<Annotation, String> {
    if line.starts_with([' ', '\t']) {
        return Err("a goose annotation must start at the beginning of the line".into());
    }
    let rest = line.replace("--", "");
    let rest = rest.replacen("+goose", "", 1);
    if rest.contains("+goose") {
        return Err("more than one `+goose` on one line".into());
    }
    let word = rest.trim();
    const KNOWN: [(&str, Annotation); 7] = [
        ("Up", Annotation::Up),
        ("Down", Annotation::Down),
        ("StatementBegin", Annotation::StatementBegin),
        ("StatementEnd", Annotation::StatementEnd),
        ("NO TRANSACTION", Annotation::NoTransaction),
        ("ENVSUB ON", Annotation::EnvsubOn),
        ("ENVSUB OFF", Annotation::EnvsubOff),
    ];
    if word.is_empty() {
        return Err("empty goose annotation".into());
    }
    KNOWN
        .iter()
        .find(|(name, _)| name.eq_ignore_ascii_case(word))
        .map(|(_, a)| *a)
        .ok_or_else(|| {
            format!(
                "unknown goose annotation `{word}` (known: Up, Down, StatementBegin, StatementEnd, NO TRANSACTION, ENVSUB ON, ENVSUB OFF)"
            )
        })
}

/// True when the last statement of a StatementBegin block has no `;` of its own.
fn unterminated(block: &str) -> bool {
    // A block the splitter rejects is reported by the loader's split check, with its line.
    match crate::migrations::split(block) {
        Ok(statements) => statements
            .last()
            .is_some_and(|s| !s.sql().trim_end().ends_with(';')),
        Err(_) => false,
    }
}

fn parse(path: &str, text: &str) -> Result<Parsed, LoadError> {
    let mut state = State::Start;
    let mut up: Option<Section> = None;
    let mut down: Option<Section> = None;
    let mut transaction = true;
    let mut offset = 0;
    for (index, raw) in text.split_inclusive('\n').enumerate() {
        let number = index + 1;
        let line_start = offset;
        offset += raw.len();
        let line = raw.trim_end_matches('\n').trim_end_matches('\r');
        let trimmed = line.trim();
        let is_annotation = trimmed.starts_with("--") && line.contains("+goose");
        if !is_annotation {
            if state == State::Start && !trimmed.is_empty() && !trimmed.starts_with("--") {
                return Err(marker(
                    path,
                    number,
                    "SQL before `-- +goose Up`: a goose migration starts with its `-- +goose Up` annotation",
                ));
            }
            continue;
        }
        let found = annotation(line).map_err(|m| marker(path, number, m))?;
        match (found, state) {
            (Annotation::Up, State::Start) => {
                state = State::Up;
                up = Some(Section::new(offset, number + 1));
            }
            (Annotation::Up, _) => {
                return Err(marker(path, number, "a second `-- +goose Up` annotation"));
            }
            (Annotation::Down, State::Up) => {
                if let Some(up) = &mut up {
                    up.end = line_start;
                }
                state = State::Down;
                down = Some(Section::new(offset, number + 1));
            }
            (Annotation::Down, State::Start) => {
                return Err(marker(
                    path,
                    number,
                    "`-- +goose Down` before `-- +goose Up`",
                ));
            }
            (Annotation::Down, State::Down) => {
                return Err(marker(path, number, "a second `-- +goose Down` annotation"));
            }
            (Annotation::StatementBegin, State::Up | State::Down) => {
                state = State::Block {
                    down: state == State::Down,
                    line: number,
                    start: offset,
                };
            }
            (Annotation::StatementBegin, State::Start) => {
                return Err(marker(
                    path,
                    number,
                    "`-- +goose StatementBegin` before `-- +goose Up`",
                ));
            }
            (Annotation::StatementEnd, State::Block { down: d, start, .. }) => {
                if unterminated(&text[start..line_start]) {
                    let section = if d { &mut down } else { &mut up };
                    if let Some(section) = section {
                        section.terminators.push(line_start);
                    }
                }
                state = if d { State::Down } else { State::Up };
            }
            (Annotation::StatementEnd, _) => {
                return Err(marker(
                    path,
                    number,
                    "`-- +goose StatementEnd` without a `-- +goose StatementBegin` before it",
                ));
            }
            (Annotation::Down | Annotation::StatementBegin, State::Block { line, .. }) => {
                return Err(marker(
                    path,
                    number,
                    format!("the `-- +goose StatementBegin` on line {line} has no `-- +goose StatementEnd` before this annotation"),
                ));
            }
            (Annotation::NoTransaction, _) => transaction = false,
            (Annotation::EnvsubOn, _) => {
                return Err(LoadError::Invalid {
                    path: format!("{path}:{number}"),
                    message: "`-- +goose ENVSUB ON`: pgkeel does not substitute environment variables into migrations".into(),
                    hint: format!(
                        "write the values into the file, or let goose run the migrations through pgkeel: {COMMAND_MODE}"
                    ),
                });
            }
            (Annotation::EnvsubOff, _) => {}
        }
    }
    match state {
        State::Start => Err(LoadError::Marker {
            path: path.to_string(),
            line: Some(1),
            message: "no `-- +goose Up` annotation: a goose migration starts with one".into(),
        }),
        State::Block { line, .. } => Err(marker(
            path,
            line,
            "`-- +goose StatementBegin` has no `-- +goose StatementEnd`",
        )),
        State::Up | State::Down => {
            let mut up = up.ok_or_else(|| marker(path, 1, "no `-- +goose Up` annotation"))?;
            match &mut down {
                Some(down) => down.end = text.len(),
                None => up.end = text.len(),
            }
            Ok(Parsed {
                up,
                down,
                transaction,
            })
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sections(text: &str) -> (String, usize, Option<(String, usize)>, bool) {
        let p = parse("m.sql", text).unwrap_or_else(|e| panic!("{e}"));
        (
            p.up.sql(text),
            p.up.first_line,
            p.down.as_ref().map(|d| (d.sql(text), d.first_line)),
            p.transaction,
        )
    }

    fn error(text: &str) -> String {
        parse("m.sql", text).map(|_| ()).unwrap_err().to_string()
    }

    #[test]
    fn up_and_down_sections_with_their_lines() {
        let text = "-- a comment\n\n-- +goose Up\nCREATE TABLE t (id int);\n\n-- +goose Down\nDROP TABLE t;\n";
        let (up, up_line, down, tx) = sections(text);
        assert_eq!(up, "CREATE TABLE t (id int);\n\n");
        assert_eq!(up_line, 4);
        assert_eq!(down, Some(("DROP TABLE t;\n".to_string(), 7)));
        assert!(tx);
        // Statement lines in the section plus first_line - 1 are the file's lines.
        let stmts = crate::migrations::split(&up).unwrap();
        assert_eq!(stmts[0].start_line() + up_line - 1, 4);
    }

    #[test]
    fn annotations_ignore_case_and_crlf() {
        // The annotation word ignores case; `+goose` itself does not, as in goose.
        let text = "-- +goose UP\r\nSELECT 1;\r\n-- +goose down\r\nSELECT 2;\r\n";
        let (up, line, down, _) = sections(text);
        assert_eq!(up, "SELECT 1;\r\n");
        assert_eq!(line, 2);
        assert_eq!(down.unwrap().0, "SELECT 2;\r\n");
        assert!(error("-- +GOOSE Up\nSELECT 1;\n").starts_with("m.sql:2: SQL before"));
    }

    #[test]
    fn down_is_optional() {
        let (up, _, down, _) = sections("-- +goose Up\nSELECT 1;");
        assert_eq!(up, "SELECT 1;");
        assert!(down.is_none());
    }

    #[test]
    fn no_transaction_applies_to_both_directions() {
        let text = "-- +goose NO TRANSACTION\n-- +goose Up\nCREATE INDEX CONCURRENTLY i ON t (a);\n-- +goose Down\nDROP INDEX CONCURRENTLY i;\n";
        assert!(!sections(text).3);
        let text = "-- +goose Up\nSELECT 1;\n-- +goose Down\n-- +goose NO TRANSACTION\nSELECT 2;\n";
        assert!(!sections(text).3, "the annotation counts wherever it is");
    }

    #[test]
    fn statement_blocks_keep_their_text_and_lines() {
        let text = "-- +goose Up\n-- +goose StatementBegin\nCREATE FUNCTION f() RETURNS int AS $$\nBEGIN\n  RETURN 1;\nEND;\n$$ LANGUAGE plpgsql;\n-- +goose StatementEnd\n\n-- +goose Down\nDROP FUNCTION f();\n";
        let (up, line, _, _) = sections(text);
        assert_eq!(line, 2);
        let stmts = crate::migrations::split(&up).unwrap();
        assert_eq!(stmts.len(), 1);
        assert_eq!(stmts[0].start_line() + line - 1, 3);
    }

    #[test]
    fn a_block_without_semicolon_ends_at_statement_end() {
        let text =
            "-- +goose Up\n-- +goose StatementBegin\nSELECT 1\n-- +goose StatementEnd\nSELECT 2;\n";
        let (up, line, _, _) = sections(text);
        assert_eq!(
            up,
            "-- +goose StatementBegin\nSELECT 1\n;-- +goose StatementEnd\nSELECT 2;\n"
        );
        let stmts = crate::migrations::split(&up).unwrap();
        assert_eq!(stmts.len(), 2);
        assert_eq!(stmts[1].start_line() + line - 1, 5, "lines unchanged");
    }

    #[test]
    fn missing_up_is_an_error_with_its_line() {
        assert_eq!(
            error("-- header\nCREATE TABLE t (id int);\n-- +goose Down\n"),
            "m.sql:2: SQL before `-- +goose Up`: a goose migration starts with its `-- +goose Up` annotation"
        );
        assert!(error("-- nothing here\n").starts_with("m.sql:1: no `-- +goose Up`"));
        assert!(
            error("-- +goose Down\nSELECT 1;\n").starts_with("m.sql:1: `-- +goose Down` before")
        );
    }

    #[test]
    fn unbalanced_blocks_are_errors() {
        assert_eq!(
            error("-- +goose Up\n-- +goose StatementBegin\nSELECT 1;\n"),
            "m.sql:2: `-- +goose StatementBegin` has no `-- +goose StatementEnd`"
        );
        assert!(
            error("-- +goose Up\n-- +goose StatementBegin\nSELECT 1;\n-- +goose Down\n")
                .starts_with("m.sql:4: the `-- +goose StatementBegin` on line 2")
        );
        assert!(error("-- +goose Up\nSELECT 1;\n-- +goose StatementEnd\n")
            .starts_with("m.sql:3: `-- +goose StatementEnd` without"));
    }

    #[test]
    fn bad_annotations_are_errors() {
        assert!(error("-- +goose Up\n-- +goose Sideways\n")
            .contains("m.sql:2: unknown goose annotation `Sideways`"));
        assert!(error("-- +goose Up\n  -- +goose Down\n")
            .contains("m.sql:2: a goose annotation must start"));
        assert!(error("-- +goose Up\n-- +goose Up\n").contains("m.sql:2: a second `-- +goose Up`"));
        assert!(
            error("-- +goose Up\n-- +goose Down\n-- +goose Down\n").contains("m.sql:3: a second")
        );
        let envsub = error("-- +goose Up\n-- +goose ENVSUB ON\nSELECT '${X}';\n");
        assert!(
            envsub.starts_with("m.sql:2: `-- +goose ENVSUB ON`"),
            "{envsub}"
        );
        sections("-- +goose Up\n-- +goose ENVSUB OFF\nSELECT 1;\n");
    }

    #[test]
    fn versions_as_goose_reads_them() {
        assert_eq!(numeric_component("00001_init.sql"), Some(("00001", "init")));
        assert_eq!(
            numeric_component("20240101120000_a_b.sql"),
            Some(("20240101120000", "a_b"))
        );
        assert_eq!(numeric_component("3_x.go"), Some(("3", "x")));
        assert_eq!(numeric_component("0_zero.sql"), None, "versions start at 1");
        assert_eq!(numeric_component("1.sql"), None, "goose needs the `_`");
        assert_eq!(numeric_component("v1_x.sql"), None);
        assert_eq!(numeric_component("helpers.go"), None);
    }

    fn tree(files: &[(&str, &str)]) -> (tempfile::TempDir, Tree) {
        let dir = tempfile::tempdir().unwrap();
        for (name, text) in files {
            std::fs::write(dir.path().join(name), text).unwrap();
        }
        let tree = Tree::Dir(dir.path().to_path_buf());
        (dir, tree)
    }

    #[test]
    fn loads_a_directory() {
        let (_dir, tree) = tree(&[
            (
                "00002_add.sql",
                "-- +goose Up\nALTER TABLE t ADD b int;\n-- +goose Down\nALTER TABLE t DROP b;\n",
            ),
            ("00001_init.sql", "-- +goose Up\nCREATE TABLE t (a int);\n"),
            ("notes.sql", "not a migration"),
            ("helpers.go", "package migrations"),
        ]);
        let migrations = super::super::load(&tree, crate::migrations::Format::Goose).unwrap();
        let got: Vec<(String, bool)> = migrations
            .iter()
            .map(|m| (m.label(), m.down.is_some()))
            .collect();
        assert_eq!(
            got,
            [
                ("00001_init".to_string(), false),
                ("00002_add".to_string(), true)
            ]
        );
    }

    #[test]
    fn go_migrations_point_to_command_mode() {
        let (_dir, tree) = tree(&[
            ("00001_init.sql", "-- +goose Up\nSELECT 1;\n"),
            ("00002_backfill.go", "package migrations"),
        ]);
        let e = super::super::load(&tree, crate::migrations::Format::Goose).unwrap_err();
        assert!(
            e.to_string()
                .ends_with("00002_backfill.go: is a Go migration; pgkeel runs SQL migrations only"),
            "{e}"
        );
        assert!(e.hint().unwrap().contains("--command \"goose up\""));
    }

    #[test]
    fn the_example_project_loads() {
        let m = crate::migrations::source::tests::example(crate::migrations::Format::Goose);
        assert_eq!(m.len(), 3);
        assert!(m.iter().all(|m| m.down.is_some() && m.up.transaction));
        let function = crate::migrations::split(&m[2].up.sql).unwrap();
        assert_eq!(function.len(), 1, "the function body is one statement");
        assert_eq!(function[0].start_line() + m[2].up.first_line - 1, 3);
    }
}

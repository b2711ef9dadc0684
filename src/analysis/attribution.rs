//! Which statement of a migration caused a schema change: the statement that names the most
//! of the change's objects (its table, and the index, constraint, column or function itself),
//! the earliest on a tie. Identifiers are compared as PostgreSQL folds them: unquoted words
//! case-insensitively, quoted ones exactly.

use crate::diff::Change;
use crate::migrations::lexer::{Lexer, TokenKind};
use crate::migrations::{split, Script};

/// The 1-based line in the script's file of the statement that most likely made `change`.
pub fn line_of(change: &Change, script: &Script) -> Option<usize> {
    let names = names(change);
    if names.is_empty() {
        return None;
    }
    let table = change.table().map(|t| t.name.as_str());
    let statements = split(&script.sql).ok()?;
    let mut best: Option<(usize, usize)> = None;
    for s in &statements {
        let idents = identifiers(s.sql());
        // The object's own name says most; its table as the statement's subject (`ALTER
        // TABLE t …`, `CREATE INDEX … ON t`) more than a mere mention (`REFERENCES t`).
        let score: usize = names
            .iter()
            .map(|n| match idents.iter().position(|i| i == n) {
                None => 0,
                Some(_) if Some(n.as_str()) != table => 3,
                Some(pos) if pos < SUBJECT_WINDOW => 2,
                Some(_) => 1,
            })
            .sum();
        if score > 0 && best.is_none_or(|(b, _)| score > b) {
            best = Some((score, s.start_line() + script.first_line - 1));
        }
    }
    best.map(|(_, line)| line)
}

/// A statement's subject is among its first identifiers: `ALTER TABLE [IF EXISTS] [ONLY] t`,
/// `CREATE [UNIQUE] INDEX [CONCURRENTLY] name ON t`.
const SUBJECT_WINDOW: usize = 7;

/// The object names a change carries (values of `name`, `table`, `column` fields).
fn names(change: &Change) -> Vec<String> {
    let mut out = Vec::new();
    if let Ok(value) = serde_json::to_value(change) {
        collect(&value, 0, &mut out);
    }
    out.sort();
    out.dedup();
    out
}

fn collect(value: &serde_json::Value, depth: usize, out: &mut Vec<String>) {
    // Deep values are definitions (column lists of a new table), not the change's subject.
    if depth > 3 {
        return;
    }
    match value {
        serde_json::Value::Object(map) => {
            for (k, v) in map {
                match (k.as_str(), v) {
                    (
                        "name" | "column" | "index" | "constraint" | "trigger" | "policy",
                        serde_json::Value::String(s),
                    ) => {
                        out.push(s.clone());
                    }
                    ("definition", serde_json::Value::String(d)) if depth <= 1 => {
                        out.extend(parenthesized_identifiers(d));
                    }
                    ("columns" | "definition" | "labels" | "attributes", _) => {}
                    _ => collect(v, depth + 1, out),
                }
            }
        }
        serde_json::Value::Array(items) => {
            for v in items {
                collect(v, depth + 1, out);
            }
        }
        _ => {}
    }
}

/// The columns of an index or constraint definition: identifiers inside its parentheses.
fn parenthesized_identifiers(definition: &str) -> Vec<String> {
    let mut depth = 0usize;
    let mut out = Vec::new();
    for t in Lexer::new(definition).filter_map(Result::ok) {
        match t.kind {
            TokenKind::OpenParen => depth += 1,
            TokenKind::CloseParen => depth = depth.saturating_sub(1),
            TokenKind::Word if depth > 0 => out.push(t.text(definition).to_ascii_lowercase()),
            _ => {}
        }
    }
    out
}

/// Identifiers in `sql` as the server would read them.
fn identifiers(sql: &str) -> Vec<String> {
    Lexer::new(sql)
        .filter_map(Result::ok)
        .filter_map(|t| match t.kind {
            TokenKind::Word => Some(t.text(sql).to_ascii_lowercase()),
            TokenKind::QuotedIdent => {
                let text = t.text(sql);
                text.strip_prefix('"')
                    .and_then(|x| x.strip_suffix('"'))
                    .map(|x| x.replace("\"\"", "\""))
            }
            _ => None,
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use super::*;
    use crate::catalog::model::QName;

    #[test]
    fn the_statement_naming_the_object_wins() {
        let sql = "CREATE TABLE a (id int);\n\nCREATE TABLE b (id int);\nALTER TABLE b\n  ADD COLUMN \"Note\" text;\n";
        let script = Script::whole_file("m.sql".into(), Arc::from(sql.as_bytes()), sql.into());
        let change = Change::DropConstraint {
            table: QName::new("public", "b"),
            constraint: crate::catalog::model::Constraint {
                name: "Note".into(),
                kind: "c".into(),
                definition: "CHECK (true)".into(),
                validated: true,
                references: None,
                comment: None,
            },
        };
        assert_eq!(line_of(&change, &script), Some(4));
    }

    #[test]
    fn a_table_as_subject_beats_a_table_mentioned() {
        let sql = "CREATE TABLE orders (id int, account_id int REFERENCES accounts (id));\nALTER TABLE accounts DROP COLUMN note;\n";
        let script = Script::whole_file("m.sql".into(), Arc::from(sql.as_bytes()), sql.into());
        let change = Change::DropConstraint {
            table: QName::new("public", "accounts"),
            constraint: crate::catalog::model::Constraint {
                name: "accounts_note_check".into(),
                kind: "c".into(),
                definition: "CHECK (note <> '')".into(),
                validated: true,
                references: None,
                comment: None,
            },
        };
        assert_eq!(line_of(&change, &script), Some(2));
    }
}

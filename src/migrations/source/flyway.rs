//! Flyway: `V<version>__<description>.sql` versioned migrations, `U<version>__…` undo
//! migrations (the `down` of the same version), and `R__<description>.sql` repeatable ones,
//! in the directory and its subdirectories. A `V1__x.sql.conf` beside a script may say
//! `executeInTransaction=false`.
//!
//! Naming rules taken from Flyway's own code (flyway/flyway, flyway-core:
//! `internal/resource/ResourceNameParser.java`, `api/MigrationVersion.java`,
//! `internal/sqlscript/SqlScriptMetadata.java`, `api/callback/Event.java`): the prefix comes
//! off, the rest splits at the first `__`; a version is digits separated by `.` or `_`
//! (`V1_1` is version 1.1), compared part by part as numbers with trailing zero parts
//! ignored, so `1.0` and `1` are the same version; a description has `_` read as spaces;
//! the `.sql` suffix is matched without case.
//!
//! Stricter than Flyway, which skips names it cannot read: any other `.sql` file is an error,
//! and so are what pgkeel cannot do as Flyway would: callback scripts (`afterMigrate.sql`, …),
//! baseline migrations (`B…`), `${…}` placeholders (Flyway substitutes them, or fails when
//! one has no value), and `shouldExecute` conditions.

use std::cmp::Ordering;
use std::collections::BTreeMap;

use super::{read_text, LoadError, Tree};
use crate::migrations::{Migration, Script, Version};

/// How to run Flyway itself when a project needs what pgkeel does not do.
const COMMAND_MODE: &str = "pgkeel migrate up --command \"flyway migrate\"";

/// Flyway's callback events: a script named after one runs at that event, not as a migration.
const CALLBACKS: [&str; 42] = [
    "afterBaseline",
    "afterBaselineError",
    "afterClean",
    "afterCleanError",
    "afterConnect",
    "afterEachMigrate",
    "afterEachMigrateError",
    "afterEachMigrateStatement",
    "afterEachMigrateStatementError",
    "afterEachUndo",
    "afterEachUndoError",
    "afterEachUndoStatement",
    "afterEachUndoStatementError",
    "afterInfo",
    "afterInfoError",
    "afterInfoOperationFinish",
    "afterMigrate",
    "afterMigrateApplied",
    "afterMigrateError",
    "afterMigrateOperationFinish",
    "afterRepair",
    "afterRepairError",
    "afterUndo",
    "afterUndoError",
    "afterValidate",
    "afterValidateError",
    "afterVersioned",
    "beforeBaseline",
    "beforeClean",
    "beforeConnect",
    "beforeCreateSchema",
    "beforeEachMigrate",
    "beforeEachMigrateStatement",
    "beforeEachUndo",
    "beforeEachUndoStatement",
    "beforeInfo",
    "beforeMigrate",
    "beforeRepair",
    "beforeRepeatables",
    "beforeUndo",
    "beforeValidate",
    "createSchema",
];

pub(super) fn is_flyway_name(rel: &str) -> bool {
    rel.contains("__") && matches!(rel.as_bytes().first(), Some(b'V' | b'U' | b'R'))
}

/// What a file name says.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Name {
    /// `V…` (`undo: false`) or `U…` (`undo: true`), with the version as Flyway writes it in its
    /// history table (`_` as `.`) and the description as written in the name.
    Versioned {
        undo: bool,
        version: String,
        description: String,
    },
    Repeatable {
        description: String,
    },
}

fn invalid(path: String, message: impl Into<String>, hint: impl Into<String>) -> LoadError {
    LoadError::Invalid {
        path,
        message: message.into(),
        hint: hint.into(),
    }
}

/// Reads a base file name ending in `.sql` (any case) the way Flyway's `ResourceNameParser`
/// does. `Err` says why the name is not a migration pgkeel can run.
pub(crate) fn parse_name(base: &str) -> Result<Name, (String, String)> {
    let hint = || {
        "name versioned migrations V<version>__<description>.sql (version digits separated by `.` or `_`), undo migrations U<version>__<description>.sql, repeatable ones R__<description>.sql".to_string()
    };
    let Some(stem) = strip_sql(base) else {
        return Err(("is not a .sql file".into(), hint()));
    };
    if let Some(event) = CALLBACKS.iter().find(|e| stem.starts_with(*e)) {
        return Err((
            format!("is a Flyway callback script (`{event}`); pgkeel does not run callbacks"),
            format!("run Flyway itself through pgkeel: {COMMAND_MODE}"),
        ));
    }
    let mut chars = stem.chars();
    let prefix = chars.next();
    let rest = chars.as_str();
    let (version, description) = rest.split_once("__").unwrap_or((rest, ""));
    match prefix {
        Some('R') if version.is_empty() => Ok(Name::Repeatable {
            description: description.to_string(),
        }),
        Some('R') => Err((
            format!("is a repeatable migration with a version (`{version}`)"),
            format!("name it R__{description}.sql"),
        )),
        Some(p @ ('V' | 'U')) => {
            if !valid_version(version) {
                return Err((format!("has no valid Flyway version (`{version}`)"), hint()));
            }
            Ok(Name::Versioned {
                undo: p == 'U',
                version: version.replace('_', "."),
                description: description.to_string(),
            })
        }
        Some('B') => Err((
            "is a Flyway baseline migration; pgkeel does not run baseline migrations".into(),
            format!("run Flyway itself through pgkeel: {COMMAND_MODE}"),
        )),
        _ => Err((
            "does not start with a Flyway prefix (V, U or R)".into(),
            hint(),
        )),
    }
}

fn strip_sql(base: &str) -> Option<&str> {
    let cut = base.len().checked_sub(4)?;
    let (stem, suffix) = (base.get(..cut)?, base.get(cut..)?);
    suffix.eq_ignore_ascii_case(".sql").then_some(stem)
}

/// Digits separated by single `.` or `_`, as `MigrationVersion` accepts them.
fn valid_version(version: &str) -> bool {
    !version.is_empty()
        && version
            .split(['.', '_'])
            .all(|part| !part.is_empty() && part.bytes().all(|b| b.is_ascii_digit()))
}

/// Flyway's order of versions: parts compared as numbers, missing parts as 0.
pub(crate) fn compare_versions(a: &str, b: &str) -> Ordering {
    let parts = |v: &str| -> Vec<String> {
        v.split(['.', '_'])
            .map(|p| {
                let p = p.trim_start_matches('0');
                p.to_string()
            })
            .collect()
    };
    let (a, b) = (parts(a), parts(b));
    let zero = String::new();
    for i in 0..a.len().max(b.len()) {
        let (x, y) = (a.get(i).unwrap_or(&zero), b.get(i).unwrap_or(&zero));
        let order = x.len().cmp(&y.len()).then_with(|| x.cmp(y));
        if order != Ordering::Equal {
            return order;
        }
    }
    Ordering::Equal
}

/// Settings from a script's `.sql.conf` file that pgkeel honours.
#[derive(Debug, Clone, Copy)]
struct ScriptConfig {
    transaction: bool,
    placeholders: bool,
}

impl Default for ScriptConfig {
    fn default() -> Self {
        ScriptConfig {
            transaction: true,
            placeholders: true,
        }
    }
}

fn script_config(tree: &Tree, rel: &str) -> Result<ScriptConfig, LoadError> {
    let mut config = ScriptConfig::default();
    let (_, text) = read_text(tree, rel)?;
    let path = tree.display(rel);
    let boolean = |key: &str, value: &str| match value.to_ascii_lowercase().as_str() {
        "true" => Ok(true),
        "false" => Ok(false),
        _ => Err(invalid(
            path.clone(),
            format!("`{key}` must be true or false, not `{value}`"),
            "write `true` or `false`",
        )),
    };
    for line in text.lines() {
        let line = line.trim();
        if line.is_empty() || line.starts_with('#') || line.starts_with('!') {
            continue;
        }
        let (key, value) = line.split_once('=').unwrap_or((line, ""));
        let (key, value) = (key.trim(), value.trim());
        match key {
            "executeInTransaction" => config.transaction = boolean(key, value)?,
            "placeholderReplacement" => config.placeholders = boolean(key, value)?,
            "encoding" if value.eq_ignore_ascii_case("UTF-8") || value.eq_ignore_ascii_case("UTF8") => {}
            "encoding" => {
                return Err(invalid(
                    path.clone(),
                    format!("encoding `{value}`: pgkeel reads migrations as UTF-8"),
                    "convert the script to UTF-8 and drop the setting",
                ))
            }
            "shouldExecute" => {
                return Err(invalid(
                    path.clone(),
                    "`shouldExecute`: pgkeel does not run migrations conditionally",
                    format!("run Flyway itself through pgkeel: {COMMAND_MODE}"),
                ))
            }
            _ => {
                return Err(invalid(
                    path.clone(),
                    format!("unknown script setting `{key}`"),
                    "Flyway script settings are executeInTransaction, encoding, placeholderReplacement and shouldExecute",
                ))
            }
        }
    }
    Ok(config)
}

/// The first `${` of a placeholder in `text`, as (line, column).
fn placeholder(text: &str) -> Option<(usize, &str)> {
    let at = text.find("${")?;
    let line = 1 + text[..at].matches('\n').count();
    let rest = &text[at..];
    let end = rest.find(['}', '\n']).map_or(rest.len(), |e| e + 1);
    Some((line, &rest[..end]))
}

fn script(tree: &Tree, rel: &str, config: ScriptConfig) -> Result<Script, LoadError> {
    let (bytes, text) = read_text(tree, rel)?;
    if config.placeholders {
        if let Some((line, found)) = placeholder(&text) {
            return Err(invalid(
                format!("{}:{line}", tree.display(rel)),
                format!("`{found}` is a Flyway placeholder; pgkeel does not substitute placeholders"),
                format!(
                    "if the text is meant literally, put `placeholderReplacement=false` in {rel}.conf; otherwise run Flyway itself through pgkeel: {COMMAND_MODE}"
                ),
            ));
        }
    }
    let mut script = Script::whole_file(tree.display(rel), bytes, text);
    script.transaction = config.transaction;
    Ok(script)
}

pub(super) fn load(tree: &Tree, files: &[String]) -> Result<Vec<Migration>, LoadError> {
    struct Pair {
        name: String,
        up: Option<(String, Script)>,
        down: Option<(String, Script)>,
    }
    // Keyed by the version without trailing zero parts or leading zeros, so `1.0` meets `1`.
    let mut versioned: BTreeMap<Vec<String>, Pair> = BTreeMap::new();
    let mut out = Vec::new();
    let mut repeatable: BTreeMap<String, String> = BTreeMap::new();
    for rel in files {
        let base = rel.rsplit('/').next().unwrap_or(rel);
        if strip_sql(base).is_none() {
            continue;
        }
        let name = parse_name(base)
            .map_err(|(message, hint)| invalid(tree.display(rel), message, hint))?;
        let conf = format!("{rel}.conf");
        let config = if files.contains(&conf) {
            script_config(tree, &conf)?
        } else {
            ScriptConfig::default()
        };
        match name {
            Name::Repeatable { description } => {
                let key = description.replace('_', " ");
                if let Some(first) = repeatable.insert(key.clone(), tree.display(rel)) {
                    return Err(LoadError::DuplicateVersion {
                        version: format!("R__{key}"),
                        first,
                        second: tree.display(rel),
                    });
                }
                out.push(Migration {
                    version: Version::repeatable(key),
                    name: description,
                    up: script(tree, rel, config)?,
                    down: None,
                    journal_millis: None,
                });
            }
            Name::Versioned {
                undo,
                version,
                description,
            } => {
                let pair = versioned.entry(canonical(&version)).or_insert(Pair {
                    name: String::new(),
                    up: None,
                    down: None,
                });
                let slot = if undo { &mut pair.down } else { &mut pair.up };
                if let Some((_, existing)) = slot {
                    return Err(LoadError::DuplicateVersion {
                        version,
                        first: existing.path.clone(),
                        second: tree.display(rel),
                    });
                }
                *slot = Some((version, script(tree, rel, config)?));
                if !undo {
                    pair.name = description;
                }
            }
        }
    }
    for pair in versioned.into_values() {
        match pair.up {
            Some((version, up)) => out.push(Migration {
                version: Version::new(version),
                name: pair.name,
                up,
                down: pair.down.map(|(_, d)| d),
                journal_millis: None,
            }),
            None => {
                return Err(LoadError::DownWithoutUp {
                    down: pair.down.map(|(_, d)| d.path).unwrap_or_default(),
                })
            }
        }
    }
    Ok(out)
}

/// A version's parts without leading zeros, trailing zero parts dropped: equal for versions
/// Flyway treats as equal.
pub(crate) fn canonical(version: &str) -> Vec<String> {
    let mut parts: Vec<String> = version
        .split(['.', '_'])
        .map(|p| p.trim_start_matches('0').to_string())
        .collect();
    while parts.len() > 1 && parts.last().is_some_and(String::is_empty) {
        parts.pop();
    }
    parts
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::migrations::Format;

    fn versioned(undo: bool, version: &str, description: &str) -> Name {
        Name::Versioned {
            undo,
            version: version.into(),
            description: description.into(),
        }
    }

    #[test]
    fn names_as_flyway_reads_them() {
        assert_eq!(
            parse_name("V1__init.sql"),
            Ok(versioned(false, "1", "init"))
        );
        assert_eq!(
            parse_name("V1_1__add_col.sql"),
            Ok(versioned(false, "1.1", "add_col"))
        );
        assert_eq!(
            parse_name("V2.0.3__x__y.SQL"),
            Ok(versioned(false, "2.0.3", "x__y"))
        );
        assert_eq!(
            parse_name("U1_1__add_col.sql"),
            Ok(versioned(true, "1.1", "add_col"))
        );
        assert_eq!(parse_name("V7.sql"), Ok(versioned(false, "7", "")));
        assert_eq!(
            parse_name("R__refresh_views.sql"),
            Ok(Name::Repeatable {
                description: "refresh_views".into()
            })
        );
    }

    #[test]
    fn bad_names() {
        let message = |n: &str| parse_name(n).unwrap_err().0;
        assert!(message("X1__foo.sql").contains("Flyway prefix"));
        assert!(message("V1.a__foo.sql").contains("no valid Flyway version (`1.a`)"));
        assert!(message("V1..2__foo.sql").contains("no valid"));
        assert!(message("V__foo.sql").contains("no valid"));
        assert!(message("R1__foo.sql").contains("repeatable migration with a version"));
        assert!(message("B5__base.sql").contains("baseline migration"));
        assert!(message("afterMigrate.sql").contains("callback script (`afterMigrate`)"));
        assert!(message("beforeEachMigrate__log.sql").contains("callback"));
    }

    #[test]
    fn versions_compare_as_flyway_does() {
        assert_eq!(compare_versions("1.0", "1"), Ordering::Equal);
        assert_eq!(compare_versions("01.2", "1.2.0"), Ordering::Equal);
        assert_eq!(compare_versions("1.10", "1.9"), Ordering::Greater);
        assert_eq!(compare_versions("2", "10"), Ordering::Less);
        assert_eq!(canonical("1.0.0"), canonical("1"));
        assert_ne!(canonical("1.0.1"), canonical("1.1"));
    }

    #[test]
    fn script_settings() {
        assert!(placeholder("SELECT 1;\nSELECT '${flyway:user}';")
            .is_some_and(|(l, p)| l == 2 && p == "${flyway:user}"));
        assert!(placeholder("SELECT $$ {x} $$;").is_none());
    }

    fn tree(files: &[(&str, &str)]) -> (tempfile::TempDir, Tree) {
        let dir = tempfile::tempdir().unwrap();
        for (name, text) in files {
            let path = dir.path().join(name);
            std::fs::create_dir_all(path.parent().unwrap()).unwrap();
            std::fs::write(path, text).unwrap();
        }
        let tree = Tree::Dir(dir.path().to_path_buf());
        (dir, tree)
    }

    #[test]
    fn loads_versioned_undo_and_repeatable() {
        let (_d, tree) = tree(&[
            ("V1__create.sql", "CREATE TABLE t (a int);"),
            ("U1__create.sql", "DROP TABLE t;"),
            ("V1_1__index.sql", "CREATE INDEX CONCURRENTLY i ON t (a);"),
            (
                "V1_1__index.sql.conf",
                "# no transaction\nexecuteInTransaction=false\n",
            ),
            ("nested/V2__more.sql", "ALTER TABLE t ADD b int;"),
            ("R__a_view.sql", "CREATE OR REPLACE VIEW v AS SELECT 1;"),
            ("flyway.conf", "flyway.url=x"),
        ]);
        let m = super::super::load(&tree, Format::Flyway).unwrap();
        let got: Vec<(String, String, bool, bool)> = m
            .iter()
            .map(|m| {
                (
                    m.version.to_string(),
                    m.name.clone(),
                    m.down.is_some(),
                    m.up.transaction,
                )
            })
            .collect();
        assert_eq!(
            got,
            [
                ("1".into(), "create".into(), true, true),
                ("1.1".into(), "index".into(), false, false),
                ("2".into(), "more".into(), false, true),
                ("R__a view".into(), "a_view".into(), false, true),
            ]
        );
        assert_eq!(m[0].down.as_ref().unwrap().sql, "DROP TABLE t;");
    }

    #[test]
    fn load_errors() {
        let err = |files: &[(&str, &str)]| {
            let (_d, tree) = tree(files);
            super::super::load(&tree, Format::Flyway)
                .unwrap_err()
                .to_string()
        };
        assert!(
            err(&[("V1__a.sql", ""), ("V1.0__b.sql", "")]).starts_with("version 1 appears twice")
        );
        assert!(err(&[("V1__a.sql", ""), ("U2__a.sql", "")])
            .ends_with("U2__a.sql has no matching up migration"));
        assert!(
            err(&[("V1__a.sql", ""), ("R__v.sql", ""), ("R__v.SQL", "")])
                .contains("R__v appears twice")
        );
        assert!(err(&[("V1__a.sql", ""), ("X1__b.sql", "")])
            .contains("X1__b.sql: does not start with a Flyway prefix"));
        let e = err(&[("V1__a.sql", "SELECT 1;\nCREATE SCHEMA ${schema};\n")]);
        assert!(
            e.contains("V1__a.sql:2: `${schema}` is a Flyway placeholder"),
            "{e}"
        );
        let (_d, t) = tree(&[
            ("V1__a.sql", "SELECT '${x}';"),
            ("V1__a.sql.conf", "placeholderReplacement=false"),
        ]);
        super::super::load(&t, Format::Flyway).unwrap();
        assert!(
            err(&[("V1__a.sql", ""), ("V1__a.sql.conf", "shouldExecute=true")])
                .contains("conditionally")
        );
        assert!(err(&[
            ("V1__a.sql", ""),
            ("V1__a.sql.conf", "executeInTransaction=maybe")
        ])
        .contains("true or false"));
    }

    #[test]
    fn the_example_project_loads() {
        let m = crate::migrations::source::tests::example(Format::Flyway);
        let got: Vec<&str> = m.iter().map(|m| m.version.as_str()).collect();
        assert_eq!(got, ["1", "1.1", "2"]);
        assert!(m.iter().all(|m| m.down.is_some()));
        assert_eq!(m[1].name, "add_display_name");
    }
}

//! Flyway's `flyway_schema_history`: a row per run, in `installed_rank` order, with the
//! version (`NULL` for repeatable migrations), the description (the name with `_` as spaces),
//! the type (`SQL` for SQL migrations), the script's file name, Flyway's CRC-32 checksum as a
//! signed integer, who and when, the execution time in milliseconds, and `success`.
//!
//! Verified against flyway/flyway: the PostgreSQL DDL, primary key and `_s_idx` index in
//! `flyway-database-postgresql/…/PostgreSQLDatabase.java` (`getRawCreateScript`); the insert
//! in `internal/database/base/Database.java` (`getInsertStatement`, `installed_by` =
//! `current_user`); `installed_rank` = last rank + 1 and the 200/1000-character limits in
//! `internal/schemahistory/SchemaHistory.java` and `internal/util/AbbreviationUtils.java`;
//! the checksum in `internal/resolver/ChecksumCalculator.java` (CRC-32 of the file's lines as
//! UTF-8, line breaks — `\n`, `\r\n` or `\r`, as Java's `readLine` splits — left out, a byte
//! order mark at the start dropped); how rows are read in
//! `internal/info/MigrationInfoServiceImpl.java` (`SCHEMA` rows are markers, a successful
//! `DELETE` row cancels the version or repeatable before it, a `BASELINE` row stands for
//! every version up to it, a repeatable is current only if its latest row's checksum matches
//! the file). A failed non-transactional run leaves a `success = false` row, which
//! `flyway repair` deletes (`Database.getDeleteStatement`); pgkeel replaces it the same way.
//!
//! Undo rows (`UNDO_SQL`) are written by Flyway Teams, whose code is not public, so their
//! shape is not verified against source: pgkeel writes the undone version with the undo
//! script's description, file name and checksum, as a Teams `flyway undo` records its run.
//! Flyway Community reads such rows only with the `flyway-proprietary` module on its class
//! path, which its command-line distribution ships (Flyway 9.8.0 release notes); without it,
//! `CoreMigrationType` has no `UNDO_SQL` and Flyway stops on the unknown type.

use std::cmp::Ordering;
use std::collections::BTreeMap;

use super::{column, required, Applied, History, HistoryError, Rows, Run};
use crate::migrations::source::{flyway_version_cmp, flyway_version_key};
use crate::migrations::{Migration, Script, Version};
use crate::pg::quote::literal;

pub struct Flyway;

pub static TABLE: Flyway = Flyway;

const NAME: &str = "flyway_schema_history";

/// Flyway's checksum of a script: CRC-32 over the file without its line breaks and without a
/// leading byte-order mark, as a signed 32-bit integer.
pub fn checksum(file: &[u8]) -> i32 {
    let body = file.strip_prefix("\u{feff}".as_bytes()).unwrap_or(file);
    let mut crc = crc32fast::Hasher::new();
    // Every `\r` and `\n` belongs to a line break, which Java's `readLine` drops.
    for line in body.split(|b| *b == b'\n' || *b == b'\r') {
        crc.update(line);
    }
    // Java stores the CRC's 32 bits in an `int`.
    i32::from_be_bytes(crc.finalize().to_be_bytes())
}

/// `AbbreviationUtils.abbreviateDescription`: at most 200 characters.
fn abbreviate_description(description: &str) -> String {
    if description.chars().count() <= 200 {
        return description.to_string();
    }
    let kept: String = description.chars().take(197).collect();
    format!("{kept}...")
}

/// `AbbreviationUtils.abbreviateScript`: at most 1000 characters, the first three replaced by
/// `...` when cut.
fn abbreviate_script(script: &str) -> String {
    if script.chars().count() <= 1000 {
        return script.to_string();
    }
    let kept: String = script.chars().take(1000).skip(3).collect();
    format!("...{kept}")
}

/// The script's file name: what Flyway records for a script at the top of its location. For
/// one in a subdirectory Flyway records the path below the location, which a [`Script`] does
/// not keep; Flyway shows the column but never validates it.
fn file_name(script: &Script) -> &str {
    // At a git revision the path ends in `@<rev>`, which may itself hold `/`.
    let path = script.path.as_str();
    let lower = path.to_ascii_lowercase();
    let path = match lower.rfind(".sql@") {
        Some(at) => &path[..at + 4],
        None => path,
    };
    path.rsplit('/').next().unwrap_or(path)
}

/// The description in a file name: what follows the first `__`, `_` read as spaces.
fn description_of(file: &str) -> String {
    let stem = file
        .len()
        .checked_sub(4)
        .and_then(|cut| file.get(..cut))
        .unwrap_or(file);
    stem.split_once("__")
        .map_or("", |(_, d)| d)
        .replace('_', " ")
}

fn description(m: &Migration) -> String {
    if m.version.is_repeatable() {
        m.version.as_str().to_string()
    } else {
        m.name.replace('_', " ")
    }
}

/// SQL matching the rows of `m`.
fn key(m: &Migration) -> String {
    if m.version.is_repeatable() {
        format!(
            "version IS NULL AND description = {}",
            literal(&abbreviate_description(&description(m)))
        )
    } else {
        format!("version = {}", literal(m.version.as_str()))
    }
}

struct Row<'a> {
    version: Option<&'a Version>,
    description: String,
    kind: &'a str,
    script: String,
    checksum: Option<i32>,
    millis: u128,
    success: bool,
}

/// An insert ranked after every existing row.
fn insert(row: &Row) -> String {
    let checksum = row
        .checksum
        .map_or_else(|| "NULL".to_string(), |c| c.to_string());
    format!(
        "INSERT INTO flyway_schema_history (installed_rank, version, description, type, script, checksum, installed_by, execution_time, success)\n\
         SELECT COALESCE(max(installed_rank), 0) + 1, {version}, {description}, {kind}, {script}, {checksum}, current_user, {millis}, {success} FROM flyway_schema_history;",
        version = row
            .version
            .filter(|v| !v.is_repeatable())
            .map_or_else(|| "NULL".to_string(), |v| literal(v.as_str())),
        description = literal(&abbreviate_description(&row.description)),
        kind = literal(row.kind),
        script = literal(&abbreviate_script(&row.script)),
        millis = row.millis.min(i32::MAX as u128),
        success = row.success,
    )
}

impl Flyway {
    /// Replaces a failed row of the migration, as `flyway repair` would, and records this run.
    fn record_run(&self, run: &Run, success: bool) -> String {
        let m = run.migration;
        format!(
            "DELETE FROM flyway_schema_history WHERE NOT success AND {};\n{}",
            key(m),
            insert(&Row {
                version: Some(&m.version),
                description: description(m),
                kind: "SQL",
                script: file_name(&m.up).to_string(),
                checksum: Some(checksum(&m.up.file)),
                millis: run.duration.as_millis(),
                success,
            })
        )
    }
}

/// The migration on disk that a row's version names, in Flyway's sense of equal versions.
fn on_disk_version<'m>(on_disk: &'m [Migration], version: &str) -> Option<&'m Migration> {
    let wanted = flyway_version_key(version);
    on_disk
        .iter()
        .find(|m| !m.version.is_repeatable() && flyway_version_key(m.version.as_str()) == wanted)
}

impl History for Flyway {
    fn table(&self) -> &'static str {
        NAME
    }

    fn create(&self) -> String {
        // Flyway's DDL for PostgreSQL, run only when the current schema has no such table
        // (Flyway's table lives in the default schema, which is `current_schema()`).
        "DO $pgkeel$\n\
         BEGIN\n\
         \x20   IF NOT EXISTS (SELECT 1 FROM pg_tables WHERE schemaname = current_schema() AND tablename = 'flyway_schema_history') THEN\n\
         \x20       CREATE TABLE \"flyway_schema_history\" (\n\
         \x20           \"installed_rank\" INT NOT NULL,\n\
         \x20           \"version\" VARCHAR(50),\n\
         \x20           \"description\" VARCHAR(200) NOT NULL,\n\
         \x20           \"type\" VARCHAR(20) NOT NULL,\n\
         \x20           \"script\" VARCHAR(1000) NOT NULL,\n\
         \x20           \"checksum\" INTEGER,\n\
         \x20           \"installed_by\" VARCHAR(100) NOT NULL,\n\
         \x20           \"installed_on\" TIMESTAMP NOT NULL DEFAULT now(),\n\
         \x20           \"execution_time\" INTEGER NOT NULL,\n\
         \x20           \"success\" BOOLEAN NOT NULL\n\
         \x20       );\n\
         \x20       ALTER TABLE \"flyway_schema_history\" ADD CONSTRAINT \"flyway_schema_history_pk\" PRIMARY KEY (\"installed_rank\");\n\
         \x20       CREATE INDEX \"flyway_schema_history_s_idx\" ON \"flyway_schema_history\" (\"success\");\n\
         \x20   END IF;\n\
         END\n\
         $pgkeel$;"
            .to_string()
    }

    fn select(&self) -> String {
        // `installed_on` is a timestamp without time zone written by now(): read it in the
        // session's zone.
        "SELECT installed_rank::text, version, description, type, script, checksum::text, \
         to_char(installed_on::timestamptz AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"'), \
         installed_by, success::text \
         FROM flyway_schema_history ORDER BY installed_rank"
            .to_string()
    }

    fn parse(&self, rows: &Rows, on_disk: &[Migration]) -> Result<Vec<Applied>, HistoryError> {
        let mut ordered = Vec::with_capacity(rows.len());
        for row in rows {
            let rank = required(NAME, row, 0, "installed_rank")?;
            let rank: i64 = rank.parse().map_err(|_| HistoryError {
                table: NAME,
                message: format!("installed_rank `{rank}` is not a number"),
            })?;
            ordered.push((rank, row));
        }
        ordered.sort_by_key(|(rank, _)| *rank);

        // The latest state of each version (keyed as Flyway compares them) and repeatable.
        let mut versioned: BTreeMap<Vec<String>, Applied> = BTreeMap::new();
        let mut repeatable: BTreeMap<String, Applied> = BTreeMap::new();
        let mut baseline: Option<String> = None;
        for (_, row) in ordered {
            let version = column(NAME, row, 1)?;
            let description = required(NAME, row, 2, "description")?;
            let kind = required(NAME, row, 3, "type")?.to_ascii_uppercase();
            let success = super::is_true(column(NAME, row, 8)?);
            let checksum = column(NAME, row, 5)?.map(str::to_string);
            let applied_at = column(NAME, row, 6)?.map(str::to_string);
            let applied_by = column(NAME, row, 7)?.map(str::to_string);
            let Some(version) = version else {
                match kind.as_str() {
                    "SCHEMA" | "BASELINE" => {}
                    "DELETE" if success => {
                        repeatable.remove(description);
                    }
                    _ => {
                        let disk = on_disk.iter().find(|m| {
                            m.version.is_repeatable() && m.version.as_str() == description
                        });
                        repeatable.insert(
                            description.to_string(),
                            Applied {
                                version: Version::repeatable(description),
                                name: Some(disk.map_or_else(
                                    || description.replace(' ', "_"),
                                    |m| m.name.clone(),
                                )),
                                checksum,
                                success,
                                applied_at,
                                applied_by,
                            },
                        );
                    }
                }
                continue;
            };
            let slot = flyway_version_key(version);
            let disk = on_disk_version(on_disk, version);
            let applied = |checksum: Option<String>, success: bool| Applied {
                version: disk.map_or_else(|| Version::new(version), |m| m.version.clone()),
                name: Some(match disk {
                    Some(m) => m.name.clone(),
                    None if kind == "BASELINE" => description.to_string(),
                    None => description.replace(' ', "_"),
                }),
                checksum,
                success,
                applied_at: applied_at.clone(),
                applied_by: applied_by.clone(),
            };
            match kind.as_str() {
                "SCHEMA" => {}
                "BASELINE" => {
                    if success
                        && baseline
                            .as_deref()
                            .is_none_or(|b| flyway_version_cmp(version, b) == Ordering::Greater)
                    {
                        baseline = Some(version.to_string());
                    }
                    versioned.insert(slot, applied(None, success));
                }
                "DELETE" => {
                    if success {
                        versioned.remove(&slot);
                    }
                }
                undo if undo.starts_with("UNDO_") => {
                    if success {
                        versioned.remove(&slot);
                    } else {
                        // A failed undo leaves the version half reverted.
                        versioned.insert(slot, applied(checksum, false));
                    }
                }
                _ => {
                    versioned.insert(slot, applied(checksum, success));
                }
            }
        }
        // Everything up to the baseline counts as applied, without a checksum to compare.
        if let Some(baseline) = &baseline {
            for m in on_disk.iter().filter(|m| !m.version.is_repeatable()) {
                if flyway_version_cmp(m.version.as_str(), baseline) != Ordering::Greater {
                    versioned
                        .entry(flyway_version_key(m.version.as_str()))
                        .or_insert_with(|| Applied {
                            version: m.version.clone(),
                            name: Some(m.name.clone()),
                            checksum: None,
                            success: true,
                            applied_at: None,
                            applied_by: None,
                        });
                }
            }
        }
        let mut out: Vec<Applied> = versioned
            .into_values()
            .chain(repeatable.into_values())
            .collect();
        out.sort_by(|a, b| a.version.cmp(&b.version));
        Ok(out)
    }

    fn checksum(&self, m: &Migration) -> Option<String> {
        Some(checksum(&m.up.file).to_string())
    }

    fn record_applied(&self, run: &Run) -> String {
        self.record_run(run, true)
    }

    fn record_reverted(&self, run: &Run) -> String {
        let m = run.migration;
        match (&m.down, m.version.is_repeatable()) {
            (Some(down), false) => insert(&Row {
                version: Some(&m.version),
                description: description_of(file_name(down)),
                kind: "UNDO_SQL",
                script: file_name(down).to_string(),
                checksum: Some(checksum(&down.file)),
                millis: run.duration.as_millis(),
                success: true,
            }),
            // Without an undo script (repeatables never have one), Flyway's own way to cancel
            // a row is a `DELETE` marker, as `flyway repair` writes for a removed migration.
            _ => insert(&Row {
                version: Some(&m.version),
                description: description(m),
                kind: "DELETE",
                script: file_name(&m.up).to_string(),
                checksum: None,
                millis: 0,
                success: true,
            }),
        }
    }

    fn record_dirty(&self, run: &Run) -> Option<String> {
        Some(self.record_run(run, false))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::migrations::history::fixtures::{rows, run, with_file};

    #[test]
    fn checksum_matches_flyways_algorithm() {
        // Expected values computed independently with Python, as Flyway does it: decode as
        // UTF-8, drop a leading U+FEFF, split with re.split(r'\r\n|\r|\n') (a trailing empty
        // piece is no line), then zlib.crc32 over the lines' UTF-8 bytes in order, read as a
        // signed 32-bit integer.
        let cases: [(&[u8], i32); 7] = [
            (b"", 0),
            (b"CREATE TABLE t (id int);\n", 92_137_680),
            (b"CREATE TABLE t (id int);", 92_137_680),
            (b"CREATE TABLE t (id int);\r\n", 92_137_680),
            (
                b"\xef\xbb\xbfSELECT 1;\r\nSELECT 2;\rSELECT 3;\n\n",
                1_589_608_666,
            ),
            (b"SELECT 1;\nSELECT 2;\nSELECT 3;", 1_589_608_666),
            // A byte-order mark that does not start the file is text.
            ("\nSELECT '\u{feff}';\n".as_bytes(), -1_855_377_660),
        ];
        for (file, expected) in cases {
            assert_eq!(
                checksum(file),
                expected,
                "{:?}",
                String::from_utf8_lossy(file)
            );
        }
    }

    fn versioned(version: &str, name: &str, text: &str) -> Migration {
        with_file(
            Version::new(version),
            name,
            &format!("V{}__{name}.sql", version.replace('.', "_")),
            text.as_bytes(),
        )
    }

    fn repeatable(description: &str, text: &str) -> Migration {
        let name = description.replace(' ', "_");
        with_file(
            Version::repeatable(description),
            &name,
            &format!("R__{name}.sql"),
            text.as_bytes(),
        )
    }

    #[test]
    fn reads_what_flyway_writes() {
        let disk = [
            versioned("1", "create_users", "CREATE TABLE users ();"),
            versioned("1.1", "add_email", "ALTER TABLE users ADD email text;"),
            versioned("2", "broken", "SELECT 1;"),
            repeatable("user view", "CREATE VIEW v AS SELECT 1;"),
        ];
        let view_sum = checksum(b"CREATE VIEW v AS SELECT 1;").to_string();
        let applied = TABLE
            .parse(
                &rows(&[
                    &[
                        "1",
                        "1",
                        "create users",
                        "SQL",
                        "V1__create_users.sql",
                        "-12",
                        "2024-01-01T00:00:00Z",
                        "app",
                        "t",
                    ],
                    &[
                        "3",
                        "NULL",
                        "user view",
                        "SQL",
                        "R__user_view.sql",
                        "99",
                        "x",
                        "app",
                        "t",
                    ],
                    &[
                        "2",
                        "1.1",
                        "add email",
                        "SQL",
                        "V1_1__add_email.sql",
                        "7",
                        "x",
                        "app",
                        "t",
                    ],
                    &[
                        "4",
                        "NULL",
                        "user view",
                        "SQL",
                        "R__user_view.sql",
                        &view_sum,
                        "x",
                        "app",
                        "t",
                    ],
                    &[
                        "5",
                        "2",
                        "broken",
                        "SQL",
                        "V2__broken.sql",
                        "5",
                        "x",
                        "app",
                        "f",
                    ],
                ]),
                &disk,
            )
            .unwrap();
        let got: Vec<(String, Option<&str>, Option<&str>, bool)> = applied
            .iter()
            .map(|a| {
                (
                    a.version.to_string(),
                    a.name.as_deref(),
                    a.checksum.as_deref(),
                    a.success,
                )
            })
            .collect();
        assert_eq!(
            got,
            [
                ("1".into(), Some("create_users"), Some("-12"), true),
                ("1.1".into(), Some("add_email"), Some("7"), true),
                ("2".into(), Some("broken"), Some("5"), false),
                (
                    "R__user view".into(),
                    Some("user_view"),
                    Some(view_sum.as_str()),
                    true
                ),
            ]
        );
        assert_eq!(applied[0].applied_by.as_deref(), Some("app"));
        // The repeatable is current: its latest row's checksum is the file's.
        assert_eq!(applied[3].checksum, TABLE.checksum(&disk[3]));
    }

    #[test]
    fn undo_delete_schema_and_baseline_rows() {
        let disk = [
            versioned("1", "a", ""),
            versioned("2", "b", ""),
            versioned("3", "c", ""),
            versioned("4", "d", ""),
            versioned("5", "e", ""),
        ];
        let applied = TABLE
            .parse(
                &rows(&[
                    &[
                        "0",
                        "NULL",
                        "<< Flyway Schema Creation >>",
                        "SCHEMA",
                        "\"app\"",
                        "NULL",
                        "x",
                        "u",
                        "t",
                    ],
                    &[
                        "1",
                        "2",
                        "<< Flyway Baseline >>",
                        "BASELINE",
                        "<< Flyway Baseline >>",
                        "NULL",
                        "x",
                        "u",
                        "t",
                    ],
                    &["2", "3", "c", "SQL", "V3__c.sql", "1", "x", "u", "t"],
                    &["3", "4", "d", "SQL", "V4__d.sql", "1", "x", "u", "t"],
                    &["4", "5", "e", "SQL", "V5__e.sql", "1", "x", "u", "t"],
                    &["5", "5", "e", "UNDO_SQL", "U5__e.sql", "2", "x", "u", "t"],
                    &["6", "4", "d", "DELETE", "V4__d.sql", "NULL", "x", "u", "t"],
                    &["7", "3.0", "c", "UNDO_SQL", "U3__c.sql", "2", "x", "u", "f"],
                ]),
                &disk,
            )
            .unwrap();
        let got: Vec<(&str, bool, bool)> = applied
            .iter()
            .map(|a| (a.version.as_str(), a.success, a.checksum.is_some()))
            .collect();
        // 1 is below the baseline, 2 is the baseline, 3's undo failed, 4 was deleted, 5 undone.
        assert_eq!(
            got,
            [("1", true, false), ("2", true, false), ("3", false, true)]
        );
    }

    #[test]
    fn bad_rows() {
        assert!(TABLE
            .parse(
                &rows(&[&["one", "1", "d", "SQL", "s", "1", "x", "u", "t"]]),
                &[]
            )
            .is_err());
        assert!(TABLE
            .parse(
                &rows(&[&["1", "1", "NULL", "SQL", "s", "1", "x", "u", "t"]]),
                &[]
            )
            .is_err());
        assert!(TABLE.parse(&rows(&[&["1", "1", "d", "SQL"]]), &[]).is_err());
    }

    #[test]
    fn writes_rows_as_flyway_does() {
        let m = versioned("1.1", "add_email", "ALTER TABLE users ADD email text;\n");
        let sum = checksum(b"ALTER TABLE users ADD email text;");
        assert_eq!(
            TABLE.record_applied(&run(&m)),
            format!(
                "DELETE FROM flyway_schema_history WHERE NOT success AND version = '1.1';\n\
                 INSERT INTO flyway_schema_history (installed_rank, version, description, type, script, checksum, installed_by, execution_time, success)\n\
                 SELECT COALESCE(max(installed_rank), 0) + 1, '1.1', 'add email', 'SQL', 'V1_1__add_email.sql', {sum}, current_user, 1500, true FROM flyway_schema_history;"
            )
        );
        // A checksum whose top bit is set is written as a negative int, as Java's is.
        let d = versioned("9", "x", "\nSELECT '\u{feff}';\n");
        let dirty = TABLE.record_dirty(&run(&d)).unwrap();
        assert!(
            dirty.contains("'9', 'x', 'SQL', 'V9__x.sql', -1855377660, current_user, 1500, false"),
            "{dirty}"
        );
        let r = repeatable("user view", "SELECT 1;");
        let sql = TABLE.record_applied(&run(&r));
        assert!(
            sql.contains("WHERE NOT success AND version IS NULL AND description = 'user view';"),
            "{sql}"
        );
        assert!(
            sql.contains("+ 1, NULL, 'user view', 'SQL', 'R__user_view.sql',"),
            "{sql}"
        );
    }

    #[test]
    fn reverts_with_an_undo_row() {
        let mut m = versioned("3", "add_index", "CREATE INDEX i ON t (a);");
        let mut down = Script::whole_file(
            "db/migration/U3__drop_index.sql@origin/feature/x".into(),
            std::sync::Arc::from(&b"DROP INDEX i;"[..]),
            "DROP INDEX i;".into(),
        );
        down.first_line = 1;
        m.down = Some(down);
        let sql = TABLE.record_reverted(&run(&m));
        let sum = checksum(b"DROP INDEX i;");
        assert!(
            sql.contains(&format!("+ 1, '3', 'drop index', 'UNDO_SQL', 'U3__drop_index.sql', {sum}, current_user, 1500, true")),
            "{sql}"
        );
        let r = repeatable("v", "SELECT 1;");
        assert!(TABLE
            .record_reverted(&run(&r))
            .contains("+ 1, NULL, 'v', 'DELETE',"));
    }

    #[test]
    fn long_descriptions_are_cut_as_flyway_cuts_them() {
        let long = "x".repeat(250);
        let cut = abbreviate_description(&long);
        assert_eq!(cut.chars().count(), 200);
        assert!(cut.ends_with("xxx..."));
        let script = format!("abc{}", "y".repeat(1200));
        let cut = abbreviate_script(&script);
        assert_eq!(cut.chars().count(), 1000);
        assert!(cut.starts_with("...yyy"));
        assert_eq!(abbreviate_description("short"), "short");
    }
}

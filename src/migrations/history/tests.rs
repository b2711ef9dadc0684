//! History tables read back what they write, without a database: the SQL each one emits is
//! checked against the table's layout in the integration tests.

use std::sync::Arc;
use std::time::Duration;

use super::*;
use crate::migrations::Script;

fn m(v: &str, name: &str, sql: &str) -> Migration {
    Migration {
        version: Version::new(v),
        name: name.into(),
        up: Script::whole_file(
            format!("{v}_{name}.sql"),
            Arc::from(sql.as_bytes()),
            sql.into(),
        ),
        down: None,
        journal_millis: None,
    }
}

fn row(cols: &[Option<&str>]) -> Vec<Option<String>> {
    cols.iter().map(|c| c.map(str::to_string)).collect()
}

#[test]
fn golang_migrate_counts_everything_up_to_the_current_version() {
    let h = of(Format::GolangMigrate);
    let disk = [m("1", "a", ""), m("2", "b", ""), m("3", "c", "")];
    let applied = h
        .parse(&[row(&[Some("2"), Some("f")])], &disk)
        .expect("parse");
    let got: Vec<(String, bool)> = applied
        .iter()
        .map(|a| (a.version.to_string(), a.success))
        .collect();
    assert_eq!(got, [("1".to_string(), true), ("2".to_string(), true)]);
    let dirty = h
        .parse(&[row(&[Some("3"), Some("t")])], &disk)
        .expect("parse");
    assert!(!dirty[2].success, "dirty current version");
    assert!(h
        .parse(
            &[row(&[Some("1"), Some("f")]), row(&[Some("2"), Some("f")])],
            &disk
        )
        .is_err());
    let run = Run {
        migration: &disk[1],
        previous: Some(&disk[0]),
        duration: Duration::ZERO,
        statements: vec![],
        git_sha: None,
        run_url: None,
        error: None,
    };
    assert!(h.record_reverted(&run).contains("VALUES (1, false)"));
    assert!(h
        .record_dirty(&run)
        .is_some_and(|s| s.contains("VALUES (2, true)")));
}

#[test]
fn sqlx_checksum_is_sha384_of_the_script() {
    let h = of(Format::Sqlx);
    // printf 'SELECT 1;\n' | sha384sum
    assert_eq!(
        h.checksum(&m("1", "x", "SELECT 1;\n")).as_deref(),
        Some("24454095d8d7876ca8e842f34296ca645c83e0f7b50f048c99db4b2ff4da659267afc4ef3e994f3d74e18c741165d931")
    );
}

#[test]
fn pgkeel_rows_round_trip_including_repeatables() {
    let h = of(Format::Pgkeel);
    let rows = [
        row(&[
            Some("0001"),
            Some("init"),
            Some("abc"),
            Some("applied"),
            Some("2026-01-01T00:00:00Z"),
            Some("app"),
        ]),
        row(&[
            Some("R__views"),
            Some("views"),
            Some("def"),
            Some("dirty"),
            None,
            None,
        ]),
    ];
    let applied = h.parse(&rows, &[]).expect("parse");
    assert_eq!(applied[0].version, Version::new("1"));
    assert!(applied[0].success);
    assert_eq!(applied[0].applied_by.as_deref(), Some("app"));
    assert_eq!(applied[1].version, Version::repeatable("views"));
    assert!(!applied[1].success);
    assert!(
        h.parse(&[row(&[None])], &[]).is_err(),
        "a row without a version"
    );
}

#[test]
fn exists_sql_quotes_the_table_as_a_literal() {
    assert_eq!(
        exists_sql("drizzle.__drizzle_migrations"),
        "SELECT (to_regclass('drizzle.__drizzle_migrations') IS NOT NULL)::text"
    );
    assert!(exists_sql("a'b").contains("'a''b'"));
}

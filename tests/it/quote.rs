//! Hostile identifiers and literals survive the round trip through the server as data.

use crate::support::TestDb;
use pgkeel::pg::quote;

const HOSTILE: &[&str] = &[
    "x'); DROP TABLE t; --",
    "\"; DROP TABLE t; --",
    "Mixed Case",
    "select",
    "ünï\"cødé ☃",
    "back\\slash'quote",
    "$$dollar$$",
    "trailing space ",
    "",
];

#[test]
fn hostile_identifiers_round_trip() {
    let db = TestDb::new();
    for name in HOSTILE.iter().filter(|n| !n.is_empty()) {
        let sql = format!(
            "CREATE SCHEMA {s}; CREATE TABLE {t} ({c} int);",
            s = quote::ident(name),
            t = quote::qualified(name, name),
            c = quote::ident(name),
        );
        db.execute(&sql);
        let found = db.query_strings(&format!(
            "SELECT a.attname::text FROM pg_attribute a JOIN pg_class c ON c.oid = a.attrelid
              JOIN pg_namespace n ON n.oid = c.relnamespace
             WHERE n.nspname = {lit} AND c.relname = {lit} AND a.attnum > 0",
            lit = quote::literal(name)
        ));
        assert_eq!(found, vec![name.to_string()], "identifier {name:?}");
    }
}

#[test]
fn hostile_literals_round_trip_under_both_string_settings() {
    let db = TestDb::new();
    for setting in ["on", "off"] {
        for value in HOSTILE {
            let spec = db.spec.clone();
            let sql = format!("SELECT {}::text", quote::literal(value));
            let set = format!("SET standard_conforming_strings = {setting}");
            let back = crate::support::run_blocking(async move {
                let c = pgkeel::pg::connect(&spec).await.unwrap();
                c.pg().batch_execute(&set).await.unwrap();
                c.pg()
                    .query_one(&sql, &[])
                    .await
                    .unwrap()
                    .get::<_, String>(0)
            });
            assert_eq!(
                back, *value,
                "literal {value:?} with standard_conforming_strings={setting}"
            );
        }
    }
}

//! `pgkeel.yml`: discovery, precedence, and errors with file:line.

use crate::support::{pgkeel, run, temp_dir, TestDb};

#[test]
fn unknown_key_is_an_error_with_file_and_line() {
    let dir = temp_dir();
    std::fs::write(
        dir.path().join("pgkeel.yml"),
        "schemas: [public]\nsandbox:\n  pg_verison: 15\n",
    )
    .unwrap();
    let r = run(pgkeel(dir.path()).args(["check"]));
    assert_eq!(r.code, 2, "{r:?}");
    assert!(r.stderr.contains("pgkeel.yml:3:"), "{r:?}");
    assert!(r.stderr.contains("unknown key `pg_verison`"), "{r:?}");
}

#[test]
fn file_supplies_the_url_and_schemas_and_flags_win() {
    let db = TestDb::new();
    let dir = temp_dir();
    std::fs::write(
        dir.path().join("pgkeel.yml"),
        format!(
            "database_url: {}\nschemas: [public, missing_one]\n",
            db.url()
        ),
    )
    .unwrap();
    // From the file: connects, and a schema the file names but the db lacks is a finding.
    let r = run(pgkeel(dir.path()).args(["check", "--format", "json"]));
    assert_eq!(r.code, 1, "{r:?}");
    assert_eq!(r.json()["database"], db.name.as_str());
    assert_eq!(r.json()["schemas"][1]["exists"], false);
    // Environment beats the file.
    let r = run(pgkeel(dir.path())
        .args(["check", "--format", "json", "--schema", "public"])
        .env("DATABASE_URL", "postgres://u@127.0.0.1:1/env_wins"));
    assert_eq!(r.code, 3, "env URL must be used: {r:?}");
    // The flag beats both.
    let r = run(pgkeel(dir.path())
        .args([
            "check",
            "--format",
            "json",
            "--schema",
            "public",
            "--database-url",
            &db.url(),
        ])
        .env("DATABASE_URL", "postgres://u@127.0.0.1:1/env_wins"));
    assert_eq!(r.code, 0, "{r:?}");
}

#[test]
fn explicit_config_path_that_is_missing_is_an_error() {
    let dir = temp_dir();
    let r = run(pgkeel(dir.path()).args(["--config", "nope.yml", "check"]));
    assert_eq!(r.code, 2, "{r:?}");
    assert!(r.stderr.contains("cannot read nope.yml"), "{r:?}");
}

#[test]
fn the_documented_example_file_is_valid() {
    let text = std::fs::read_to_string(crate::support::repo_root().join("examples/pgkeel.yml"))
        .expect("examples/pgkeel.yml exists");
    pgkeel::config::parse(&text).expect("examples/pgkeel.yml parses");
}

//! `pgkeel inspect` and `pgkeel diff --from --to` as a user runs them.

use crate::support::{pgkeel, run, temp_dir, TestDb};

const BEFORE: &str = "
CREATE TYPE mood AS ENUM ('sad', 'ok');
CREATE TABLE products (id int PRIMARY KEY, name varchar(10) NOT NULL, status text DEFAULT 'new', old_column text);
CREATE TABLE orders (id int PRIMARY KEY, product_id int REFERENCES products(id));
CREATE VIEW product_names AS SELECT id, name FROM products;
";

const AFTER: &str = "
CREATE TYPE mood AS ENUM ('sad', 'ok', 'happy');
CREATE TABLE products (id int PRIMARY KEY, name text NOT NULL, status text DEFAULT 'draft', component_price real, replaced_by int);
CREATE TABLE orders (id int PRIMARY KEY, product_id int REFERENCES products(id), product_slug text);
CREATE TABLE product_components (id int PRIMARY KEY, product_id int NOT NULL REFERENCES products(id));
CREATE INDEX orders_product_slug ON orders (product_slug);
CREATE VIEW product_names AS SELECT id, name FROM products;
";

fn pair() -> (TestDb, TestDb) {
    let a = TestDb::new();
    let b = TestDb::new();
    a.execute(BEFORE);
    b.execute(AFTER);
    (a, b)
}

#[test]
fn inspect_is_byte_identical_across_runs_and_databases() {
    let (a, _) = pair();
    let c = TestDb::new();
    c.execute(BEFORE);
    let dir = temp_dir();
    let first = run(pgkeel(dir.path()).args(["inspect", "--database-url", &a.url()]));
    assert_eq!(first.code, 0, "{first:?}");
    let again = run(pgkeel(dir.path()).args(["inspect", "--database-url", &a.url()]));
    let other = run(pgkeel(dir.path()).args(["inspect", "--database-url", &c.url()]));
    assert_eq!(first.stdout, again.stdout);
    assert_eq!(
        first.stdout, other.stdout,
        "same schema in another database must give the same bytes"
    );
    let doc = first.json();
    assert_eq!(doc["version"], 1);
    assert!(doc["schema"]["tables"].as_array().unwrap().len() == 2);
}

#[test]
fn diff_sql_applies_and_leaves_nothing_and_exit_code_reports_differences() {
    let (a, b) = pair();
    let dir = temp_dir();
    let sql = run(pgkeel(dir.path()).args([
        "diff",
        "--from",
        &a.url(),
        "--to",
        &b.url(),
        "--format",
        "sql",
    ]));
    assert_eq!(sql.code, 0, "{sql:?}");
    assert!(
        sql.stdout
            .contains("ALTER TYPE \"public\".\"mood\" ADD VALUE 'happy'"),
        "{sql:?}"
    );
    let with_code =
        run(pgkeel(dir.path()).args(["diff", "--from", &a.url(), "--to", &b.url(), "--exit-code"]));
    assert_eq!(with_code.code, 1, "{with_code:?}");
    a.execute(&format!("BEGIN;\n{}COMMIT;", sql.stdout));
    let after = run(pgkeel(dir.path()).args([
        "diff",
        "--from",
        &a.url(),
        "--to",
        &b.url(),
        "--exit-code",
        "--format",
        "json",
    ]));
    assert_eq!(after.code, 0, "{after:?}");
    assert_eq!(after.json()["has_changes"], false);
}

#[test]
fn diff_between_snapshot_files_and_json_contract() {
    let (a, b) = pair();
    let dir = temp_dir();
    for (db, file) in [(&a, "before.json"), (&b, "after.json")] {
        let r = run(pgkeel(dir.path()).args(["inspect", "--database-url", &db.url()]));
        assert_eq!(r.code, 0, "{r:?}");
        std::fs::write(dir.path().join(file), r.stdout).unwrap();
    }
    let r = run(pgkeel(dir.path()).args([
        "diff",
        "--from",
        "before.json",
        "--to",
        "after.json",
        "--format",
        "json",
    ]));
    assert_eq!(r.code, 0, "{r:?}");
    let doc = r.json();
    assert_eq!(doc["version"], 1);
    assert_eq!(doc["command"], "diff");
    assert_eq!(doc["has_changes"], true);
    assert_eq!(doc["verdict"], "breaking");
    assert_eq!(doc["summary"]["tables_added"], 1);
    assert_eq!(doc["summary"]["tables_changed"], 2);
    let changes = doc["changes"].as_array().unwrap();
    let dropped = changes
        .iter()
        .find(|c| {
            c["description"]
                .as_str()
                .unwrap()
                .starts_with("removed column public.products.old_column")
        })
        .expect("dropped column reported");
    assert_eq!(dropped["classification"]["class"], "breaking");
    assert!(doc["sql"]
        .as_str()
        .unwrap()
        .contains("DROP COLUMN \"old_column\""));
    assert!(doc["steps"]
        .as_array()
        .unwrap()
        .iter()
        .all(|s| s["lock"].is_string()));

    // The reports, as a reviewer sees them.
    let human =
        run(pgkeel(dir.path()).args(["diff", "--from", "before.json", "--to", "after.json"]));
    insta::assert_snapshot!("diff_human", human.stdout);
    let md = run(pgkeel(dir.path()).args([
        "diff",
        "--from",
        "before.json",
        "--to",
        "after.json",
        "--format",
        "markdown",
    ]));
    insta::assert_snapshot!("diff_markdown", md.stdout);
}

#[test]
fn identical_schemas_say_so() {
    let a = TestDb::new();
    let b = TestDb::new();
    a.execute(BEFORE);
    b.execute(BEFORE);
    let dir = temp_dir();
    let r =
        run(pgkeel(dir.path()).args(["diff", "--from", &a.url(), "--to", &b.url(), "--exit-code"]));
    assert_eq!(r.code, 0, "{r:?}");
    assert!(r.stdout.contains("no differences"), "{r:?}");
}

#[test]
fn unmigratable_changes_are_refused_by_name_for_sql() {
    let a = TestDb::new();
    let b = TestDb::new();
    a.execute("CREATE TABLE m (d date NOT NULL)");
    b.execute("CREATE TABLE m (d date NOT NULL) PARTITION BY RANGE (d)");
    let dir = temp_dir();
    let r = run(pgkeel(dir.path()).args([
        "diff",
        "--from",
        &a.url(),
        "--to",
        &b.url(),
        "--format",
        "sql",
    ]));
    assert_eq!(r.code, 2, "{r:?}");
    assert!(r.stderr.contains("cannot migrate table public.m"), "{r:?}");
    assert!(r.stderr.contains("--allow-recreate"), "{r:?}");
    let r = run(pgkeel(dir.path()).args([
        "diff",
        "--from",
        &a.url(),
        "--to",
        &b.url(),
        "--format",
        "sql",
        "--allow-recreate",
    ]));
    assert_eq!(r.code, 0, "{r:?}");
    assert!(r.stdout.contains("DROP TABLE \"public\".\"m\""), "{r:?}");
}

#[test]
fn bad_sides_are_usage_errors() {
    let dir = temp_dir();
    let r = run(pgkeel(dir.path()).args(["diff", "--from", "nope.json", "--to", "also-nope.json"]));
    assert_eq!(r.code, 2, "{r:?}");
    assert!(
        r.stderr
            .contains("neither a postgres:// URL nor an existing snapshot file"),
        "{r:?}"
    );
    std::fs::write(dir.path().join("junk.json"), "{\"version\": 7}").unwrap();
    let r = run(pgkeel(dir.path()).args(["diff", "--from", "junk.json", "--to", "junk.json"]));
    assert_eq!(r.code, 2, "{r:?}");
    assert!(r.stderr.contains("snapshot format 7"), "{r:?}");
}

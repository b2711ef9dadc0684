//! `pgkeel diff --migrations`: a PR's migrations previewed in a throwaway database, for every
//! tool's format, in a temporary git repository whose base commit holds the example project plus
//! a table, and whose PR commit adds a migration with a safe, a hazardous and a breaking change.

use std::path::{Path, PathBuf};

use crate::support::{admin_spec, git, pgkeel, repo_root, run, temp_dir, Run, TestDb};

/// Where each example keeps its migrations, relative to the example directory.
fn migrations_dir(tool: &str) -> &'static str {
    match tool {
        "prisma" => "prisma/migrations",
        "drizzle" => "drizzle",
        "supabase" => "supabase/migrations",
        _ => "migrations",
    }
}

fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).expect("mkdir");
    for entry in std::fs::read_dir(from).expect("read_dir") {
        let entry = entry.expect("entry");
        let target = to.join(entry.file_name());
        if entry.path().is_dir() {
            copy_dir(&entry.path(), &target);
        } else {
            std::fs::copy(entry.path(), target).expect("copy");
        }
    }
}

/// Writes a migration with `up` (and `down`) in `tool`'s layout; returns its file, relative to
/// the migrations directory.
fn write_migration(tool: &str, dir: &Path, seq: u32, name: &str, up: &str, down: &str) -> String {
    let version = format!("9000000000000{seq}");
    let (file, text) = match tool {
        "pgkeel" | "golang-migrate" | "sqlx" => {
            std::fs::write(dir.join(format!("{version}_{name}.down.sql")), down).expect("down");
            (format!("{version}_{name}.up.sql"), up.to_string())
        }
        "dbmate" => (
            format!("{version}_{name}.sql"),
            format!("-- migrate:up\n{up}\n-- migrate:down\n{down}\n"),
        ),
        "goose" => (
            format!("{version}_{name}.sql"),
            format!("-- +goose Up\n{up}\n-- +goose Down\n{down}\n"),
        ),
        "flyway" => {
            std::fs::write(dir.join(format!("U9{seq}__{name}.sql")), down).expect("undo");
            (format!("V9{seq}__{name}.sql"), up.to_string())
        }
        "prisma" => {
            std::fs::create_dir_all(dir.join(format!("{version}_{name}"))).expect("mkdir");
            (format!("{version}_{name}/migration.sql"), up.to_string())
        }
        "supabase" => (format!("{version}_{name}.sql"), up.to_string()),
        "drizzle" => {
            let journal_path = dir.join("meta/_journal.json");
            let mut journal: serde_json::Value =
                serde_json::from_str(&std::fs::read_to_string(&journal_path).expect("journal"))
                    .expect("journal json");
            let entries = journal["entries"].as_array_mut().expect("entries");
            let idx = entries.len();
            let when = entries.last().and_then(|e| e["when"].as_i64()).unwrap_or(0) + 1000;
            let tag = format!("{idx:04}_{name}");
            entries.push(serde_json::json!({"idx": idx, "version": "7", "when": when, "tag": tag, "breakpoints": true}));
            std::fs::write(
                &journal_path,
                serde_json::to_string_pretty(&journal).expect("json"),
            )
            .expect("write journal");
            (
                format!("{tag}.sql"),
                up.replace(";\n", ";\n--> statement-breakpoint\n"),
            )
        }
        other => panic!("no writer for {other}"),
    };
    std::fs::write(dir.join(&file), text).expect("write");
    file
}

/// A git repository with the example (plus a `pr_target` table) committed as the base.
fn project(tool: &str) -> (tempfile::TempDir, PathBuf) {
    let repo = temp_dir();
    let example = repo_root().join("examples").join(tool);
    copy_dir(&example, repo.path());
    let dir = repo.path().join(migrations_dir(tool));
    write_migration(
        tool,
        &dir,
        1,
        "pr_target",
        "CREATE TABLE pr_target (id bigint PRIMARY KEY, note text, legacy text);\n",
        "DROP TABLE pr_target;\n",
    );
    git(repo.path(), &["init", "-q"]);
    git(repo.path(), &["add", "."]);
    git(repo.path(), &["commit", "-qm", "base"]);
    (repo, dir)
}

const PR_UP: &str = "CREATE TABLE pr_new (id bigint PRIMARY KEY);\nCREATE INDEX pr_target_note ON pr_target (note);\nALTER TABLE pr_target DROP COLUMN legacy;\n";
const PR_DOWN: &str = "ALTER TABLE pr_target ADD COLUMN legacy text;\nDROP INDEX pr_target_note;\nDROP TABLE pr_new;\n";

fn preview(repo: &Path, tool: &str, extra: &[&str]) -> Run {
    preview_against(repo, tool, "HEAD~1", extra)
}

fn preview_against(repo: &Path, tool: &str, base: &str, extra: &[&str]) -> Run {
    let mut cmd = pgkeel(repo);
    cmd.args([
        "diff",
        "--migrations",
        migrations_dir(tool),
        "--base-ref",
        base,
        "-q",
    ])
    .args(extra)
    .env("PGKEEL_SANDBOX_URL", admin_spec().to_url_with_password());
    run(&mut cmd)
}

#[test]
fn every_format_previews_a_pr_with_safe_hazardous_and_breaking_changes() {
    for tool in pgkeel::migrations::Format::ALL.map(|f| f.name()) {
        let (repo, dir) = project(tool);
        let file = write_migration(tool, &dir, 2, "pr_change", PR_UP, PR_DOWN);
        git(repo.path(), &["add", "."]);
        git(repo.path(), &["commit", "-qm", "pr"]);

        let r = preview(repo.path(), tool, &["--format", "json"]);
        assert_eq!(r.code, 1, "{tool}: breaking exits 1: {r:?}");
        let doc = r.json();
        assert_eq!(doc["verdict"], "breaking", "{tool}");
        assert_eq!(doc["tool"], tool, "{tool}");
        let new = doc["new_migrations"].as_array().expect("new_migrations");
        assert_eq!(
            new.len(),
            1,
            "{tool}: only the PR's migration is new: {doc:#}"
        );
        assert!(
            new[0]["path"].as_str().is_some_and(|p| p.ends_with(&file)),
            "{tool}: {doc:#}"
        );
        assert_eq!(new[0]["statements"], 3, "{tool}");
        let changes = doc["changes"].as_array().expect("changes");
        let find = |needle: &str| {
            changes
                .iter()
                .find(|c| {
                    c["description"]
                        .as_str()
                        .is_some_and(|d| d.contains(needle))
                })
                .unwrap_or_else(|| panic!("{tool}: no change mentioning {needle}: {doc:#}"))
        };
        let dropped = find("removed column public.pr_target.legacy");
        assert_eq!(dropped["class"], "breaking", "{tool}");
        assert_eq!(dropped["lock"], "ACCESS_EXCLUSIVE", "{tool}");
        assert!(
            dropped["path"].as_str().is_some_and(|p| p.ends_with(&file)),
            "{tool}"
        );
        let index = find("added index pr_target_note");
        assert_eq!(index["class"], "hazard", "{tool}");
        assert_eq!(index["lock"], "SHARE", "{tool}");
        assert_eq!(index["scans"], true, "{tool}");
        let table = find("added table public.pr_new");
        assert_eq!(table["class"], "safe", "{tool}");
        // Lines point at the statements, counted in the file (after any section marker).
        let offset = match tool {
            "dbmate" | "goose" => 1,
            _ => 0,
        };
        let drizzle = usize::from(tool == "drizzle");
        assert_eq!(table["line"], 1 + offset, "{tool}");
        assert_eq!(index["line"], 2 + offset + drizzle, "{tool}");
        assert_eq!(dropped["line"], 3 + offset + 2 * drizzle, "{tool}");
        let rollback = &new[0]["rollback"];
        let has_down = pgkeel::migrations::Format::from_name(tool).is_some_and(|f| f.has_down());
        assert_eq!(
            rollback["kind"],
            if has_down { "down" } else { "generated" },
            "{tool}: {rollback}"
        );
        if !has_down {
            assert!(
                rollback["sql"]
                    .as_str()
                    .is_some_and(|s| s.contains("DROP TABLE \"public\".\"pr_new\"")),
                "{tool}: {rollback}"
            );
            assert!(
                rollback["data_loss"].to_string().contains("pr_new"),
                "{tool}: {rollback}"
            );
        }
        assert_eq!(doc["summary"]["breaking"], 1, "{tool}");
        assert_eq!(doc["summary"]["hazards"], 1, "{tool}");

        let r = preview(repo.path(), tool, &["--fail-on", "never"]);
        assert_eq!(r.code, 0, "{tool}: {r:?}");
        assert!(
            r.stdout.contains("RECOMMENDATION: Breaking: 1 change"),
            "{tool}: {r:?}"
        );
    }
}

#[test]
fn check_down_finds_a_down_script_that_does_not_restore_the_schema() {
    let (repo, dir) = project("pgkeel");
    write_migration(
        "pgkeel",
        &dir,
        2,
        "pr_change",
        PR_UP,
        "DROP TABLE pr_new;\n",
    );
    git(repo.path(), &["add", "."]);
    git(repo.path(), &["commit", "-qm", "pr"]);
    let r = preview(repo.path(), "pgkeel", &["--check-down", "--format", "json"]);
    let doc = r.json();
    let rollback = &doc["new_migrations"][0]["rollback"];
    assert_eq!(rollback["ok"], false, "{rollback}");
    assert!(
        rollback["checked"]
            .as_str()
            .is_some_and(|c| c.contains("still differs") && c.contains("legacy")),
        "{rollback}"
    );

    std::fs::write(dir.join("90000000000002_pr_change.down.sql"), PR_DOWN).expect("write");
    git(repo.path(), &["commit", "-qam", "fix down"]);
    let r = preview_against(
        repo.path(),
        "pgkeel",
        "HEAD~2",
        &["--check-down", "--format", "json"],
    );
    let doc = r.json();
    let rollback = &doc["new_migrations"][0]["rollback"];
    assert_eq!(rollback["ok"], true, "{rollback}");
}

/// Timings vary; everything else in the markdown is stable.
fn without_timings(md: &str) -> String {
    let mut out = String::with_capacity(md.len());
    let mut rest = md;
    while let Some(i) = rest.find(" ms") {
        let head = &rest[..i];
        let digits = head.len() - head.trim_end_matches(|c: char| c.is_ascii_digit()).len();
        out.push_str(&head[..head.len() - digits]);
        out.push_str(if digits > 0 { "N ms" } else { " ms" });
        rest = &rest[i + 3..];
    }
    out.push_str(rest);
    out.replace(&format!("PostgreSQL {}", server_major()), "PostgreSQL N")
}

fn server_major() -> u32 {
    let spec = admin_spec();
    crate::support::run_blocking(async move {
        let c = pgkeel::pg::connect(&spec).await.expect("connect");
        c.server_version_num().await.expect("version") / 10000
    })
}

#[test]
fn the_markdown_report_is_stable() {
    let (repo, dir) = project("pgkeel");
    write_migration("pgkeel", &dir, 2, "pr_change", PR_UP, PR_DOWN);
    git(repo.path(), &["add", "."]);
    git(repo.path(), &["commit", "-qm", "pr"]);
    // The embedded default: pgkeel starts its own throwaway server.
    let r = run(pgkeel(repo.path()).args([
        "diff",
        "--migrations",
        "migrations",
        "--base-ref",
        "HEAD~1",
        "-q",
        "--format",
        "markdown",
        "--check-down",
    ]));
    assert_eq!(r.code, 1, "{r:?}");
    insta::assert_snapshot!("preview_markdown", without_timings(&r.stdout));
}

#[test]
fn a_migration_failing_in_the_sandbox_exits_4_with_file_and_line() {
    let (repo, dir) = project("pgkeel");
    write_migration(
        "pgkeel",
        &dir,
        2,
        "broken",
        "CREATE TABLE ok (id int);\nALTER TABLE nope ADD COLUMN x int;\n",
        "",
    );
    git(repo.path(), &["add", "."]);
    git(repo.path(), &["commit", "-qm", "pr"]);
    let r = preview(repo.path(), "pgkeel", &[]);
    assert_eq!(r.code, 4, "{r:?}");
    assert!(r.stderr.contains("migrations/90000000000002_broken.up.sql:2: relation \"nope\" does not exist (SQLSTATE 42P01)"), "{r:?}");
}

#[test]
fn a_database_base_clones_its_schema_and_previews_only_pending_migrations_without_writing_it() {
    let db = TestDb::new();
    let p = crate::support::migrated_project(&db, &[]);
    let migrations = p.path().join("migrations");
    db.execute("INSERT INTO accounts (email) VALUES ('a@example.com')");
    std::fs::copy(
        repo_root().join("examples/demo/0004_orders.up.sql"),
        migrations.join("0004_orders.up.sql"),
    )
    .expect("copy");

    // A role that can read everything and write nothing: any write would fail the run.
    let role = format!("ro_{}", db.name);
    db.execute(&format!(
        "CREATE ROLE {role} LOGIN; GRANT pg_read_all_data TO {role}; ALTER ROLE {role} SET default_transaction_read_only = on"
    ));
    let ro_url = db.url().replacen("postgres@", &format!("{role}@"), 1);
    let before = db.query_strings("SELECT md5(string_agg(t::text, ',' ORDER BY t::text)) FROM (SELECT * FROM pgkeel.migrations) t");

    let mut cmd = pgkeel(p.path());
    cmd.args([
        "diff",
        "--migrations",
        "migrations",
        "--database-url",
        &ro_url,
        "--format",
        "json",
        "-q",
    ])
    .env("PGKEEL_SANDBOX_URL", admin_spec().to_url_with_password());
    let r = run(&mut cmd);
    assert_eq!(r.code, 1, "{r:?}");
    let doc = r.json();
    let new: Vec<&str> = doc["new_migrations"]
        .as_array()
        .expect("array")
        .iter()
        .filter_map(|m| m["migration"].as_str())
        .collect();
    assert_eq!(new, ["0004_orders"], "only the pending migration: {doc:#}");
    assert_eq!(doc["summary"]["tables_added"], 1, "{doc:#}");
    assert_eq!(
        db.query_strings("SELECT count(*)::text FROM accounts"),
        ["1"]
    );
    let after = db.query_strings("SELECT md5(string_agg(t::text, ',' ORDER BY t::text)) FROM (SELECT * FROM pgkeel.migrations) t");
    assert_eq!(before, after, "the target's history is untouched");
    assert!(!db
        .query_strings("SELECT tablename::text FROM pg_tables WHERE schemaname = 'public'")
        .contains(&"orders".to_string()));
    db.execute(&format!("DROP OWNED BY {role}; DROP ROLE {role}"));
}

#[test]
fn command_mode_previews_the_teams_own_tool() {
    let Some(tool) = crate::support::installed_tool("dbmate") else {
        return;
    };
    let (repo, dir) = project("dbmate");
    write_migration("dbmate", &dir, 2, "pr_change", PR_UP, PR_DOWN);
    git(repo.path(), &["add", "."]);
    git(repo.path(), &["commit", "-qm", "pr"]);
    let command = format!(
        "{} --no-dump-schema --migrations-dir migrations up",
        tool.display()
    );
    let mut cmd = pgkeel(repo.path());
    cmd.args([
        "diff",
        "--command",
        &command,
        "--base-ref",
        "HEAD~1",
        "--format",
        "json",
        "-q",
    ])
    .env("PGKEEL_SANDBOX_URL", admin_spec().to_url_with_password());
    let r = run(&mut cmd);
    assert_eq!(r.code, 1, "{r:?}");
    let doc = r.json();
    let descriptions = doc["changes"].to_string();
    assert!(
        descriptions.contains("removed column public.pr_target.legacy"),
        "{doc:#}"
    );
    assert!(
        descriptions.contains("added table public.pr_new"),
        "{doc:#}"
    );
    assert!(
        !descriptions.contains("schema_migrations"),
        "history tables are not schema: {doc:#}"
    );
}

//! pgkeel inside a GitHub Actions step, against a real loopback HTTP server standing in for
//! the GitHub API (`GITHUB_API_URL` points at it): the sticky PR comment (found across pages,
//! updated in place, not written when unchanged, modes, too long, fork 403), no comment
//! outside pull requests, GHES's `/api/v3`, the environment-protection gate, the drift issue
//! (opened, left alone, updated, closed), and the step's summary, outputs and annotations.

use std::path::{Path, PathBuf};
use std::process::Command;

use serde_json::{json, Value};

use crate::support::action_runner::{parse_commands, parse_outputs, WorkflowCommand};
use crate::support::github_api::{protected_environment, FakeGithub, TOKEN};
use crate::support::{admin_spec, migrated_project, pgkeel, run, temp_dir, Run, TestDb};

/// The files and variables of one Actions step.
struct Step {
    dir: tempfile::TempDir,
}

impl Step {
    fn new() -> Step {
        Step { dir: temp_dir() }
    }

    fn path(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }

    /// `cmd` as a step of a run started by `event` (payload written to a file).
    fn env(&self, cmd: &mut Command, api: &FakeGithub, event: &str, payload: Value) {
        std::fs::write(self.path("event.json"), payload.to_string()).expect("event");
        for f in ["output", "summary"] {
            let _ = std::fs::remove_file(self.path(f));
        }
        cmd.env("GITHUB_ACTIONS", "true")
            .env("GITHUB_REPOSITORY", "acme/shop")
            .env("GITHUB_RUN_ID", "4242")
            .env("GITHUB_SERVER_URL", "https://github.com")
            .env("GITHUB_API_URL", api.api_url())
            .env("GITHUB_TOKEN", TOKEN)
            .env("GITHUB_EVENT_NAME", event)
            .env("GITHUB_EVENT_PATH", self.path("event.json"))
            .env("GITHUB_OUTPUT", self.path("output"))
            .env("GITHUB_STEP_SUMMARY", self.path("summary"));
    }

    fn outputs(&self) -> std::collections::BTreeMap<String, String> {
        parse_outputs(&std::fs::read_to_string(self.path("output")).unwrap_or_default())
    }

    fn summary(&self) -> String {
        std::fs::read_to_string(self.path("summary")).unwrap_or_default()
    }
}

fn pr(number: u64) -> Value {
    json!({"action": "synchronize", "number": number, "pull_request": {"number": number}})
}

fn commands(r: &Run) -> Vec<WorkflowCommand> {
    parse_commands(&[&r.stderr, &r.stdout])
}

/// A project with one migration.
fn project(sql: &str) -> tempfile::TempDir {
    let p = temp_dir();
    std::fs::create_dir(p.path().join("migrations")).expect("mkdir");
    std::fs::write(p.path().join("migrations/0001_first.up.sql"), sql).expect("write");
    p
}

/// `pgkeel diff --migrations migrations` (everything new) as a step.
fn diff(dir: &Path, step: &Step, api: &FakeGithub, event: (&str, Value), extra: &[&str]) -> Run {
    let mut cmd = pgkeel(dir);
    cmd.args(["diff", "--migrations", "migrations", "-q"])
        .args(extra)
        .env("PGKEEL_SANDBOX_URL", admin_spec().to_url_with_password());
    step.env(&mut cmd, api, event.0, event.1);
    run(&mut cmd)
}

fn gets_and_writes(api: &FakeGithub) -> (usize, Vec<String>) {
    let all = api.requests();
    let gets = all.iter().filter(|r| r.method == "GET").count();
    let writes = all
        .iter()
        .filter(|r| r.is_write())
        .map(|r| format!("{} {}", r.method, r.path))
        .collect();
    (gets, writes)
}

#[test]
fn the_sticky_comment_is_found_across_pages_and_updated_in_place() {
    let api = FakeGithub::start();
    api.state().page_cap = 2;
    for i in 0..3 {
        api.add_comment(7, "alice", &format!("looks good {i}"));
    }
    // Anyone can paste the marker; pgkeel cannot edit that comment and writes its own.
    api.add_comment(7, "mallory", "<!-- pgkeel:diff key=migrations -->");
    api.add_comment(7, "alice", "one more");
    let p = project("CREATE TABLE first (id bigint PRIMARY KEY);\n");
    let step = Step::new();

    let r = diff(
        p.path(),
        &step,
        &api,
        ("pull_request", pr(7)),
        &["--comment", "always"],
    );
    assert_eq!(r.code, 0, "{r:?}");
    let comments = api.comments(7);
    assert_eq!(comments.len(), 6, "{comments:#?}");
    let mine = comments.last().expect("comment");
    assert!(mine.bot);
    assert!(mine
        .body
        .contains("### pgkeel diff: 1 new migration against an empty database"));
    assert!(mine.body.contains("<!-- pgkeel:diff key=migrations -->"));
    assert!(mine.body.contains("<!-- pgkeel-digest:"));
    let pages: Vec<String> = api
        .requests()
        .iter()
        .filter(|r| r.method == "GET")
        .map(|r| r.path.clone())
        .collect();
    assert_eq!(pages.len(), 3, "five comments, two per page: {pages:#?}");
    assert!(pages[2].contains("page=3"), "{pages:#?}");
    for r in api.requests() {
        assert_eq!(
            r.header("authorization"),
            Some(format!("Bearer {TOKEN}").as_str())
        );
        assert_eq!(r.header("x-github-api-version"), Some("2022-11-28"));
    }

    // A new migration: the same comment (page 3 now) is edited, nothing is created.
    std::fs::write(
        p.path().join("migrations/0002_second.up.sql"),
        "CREATE TABLE second (id bigint PRIMARY KEY);\n",
    )
    .expect("write");
    api.clear_requests();
    let r = diff(
        p.path(),
        &step,
        &api,
        ("pull_request", pr(7)),
        &["--comment", "always"],
    );
    assert_eq!(r.code, 0, "{r:?}");
    let (gets, writes) = gets_and_writes(&api);
    assert_eq!(gets, 3);
    assert_eq!(
        writes,
        [format!(
            "PATCH /repos/acme/shop/issues/comments/{}",
            mine.id
        )]
    );
    let comments = api.comments(7);
    assert_eq!(comments.len(), 6);
    assert!(comments[5].body.contains("2 new migrations"));
    assert_eq!(
        comments[3].body, "<!-- pgkeel:diff key=migrations -->",
        "mallory's comment is untouched"
    );
}

#[test]
fn an_unchanged_report_writes_nothing() {
    let api = FakeGithub::start();
    let p = project("CREATE TABLE first (id bigint PRIMARY KEY);\n");
    let step = Step::new();
    let r = diff(
        p.path(),
        &step,
        &api,
        ("pull_request", pr(3)),
        &["--comment", "always"],
    );
    assert_eq!(r.code, 0, "{r:?}");
    assert_eq!(gets_and_writes(&api).1.len(), 1);
    api.clear_requests();
    // Timings in the report differ; the report does not.
    let r = diff(
        p.path(),
        &step,
        &api,
        ("pull_request", pr(3)),
        &["--comment", "always"],
    );
    assert_eq!(r.code, 0, "{r:?}");
    let (gets, writes) = gets_and_writes(&api);
    assert_eq!((gets, writes.len()), (1, 0), "{writes:?}");
}

/// A git repository whose base commit creates `t (id, gone)`, plus an uncommitted migration
/// with `sql` (`DROP` is breaking).
fn pr_project(sql: &str) -> tempfile::TempDir {
    let p = project("CREATE TABLE t (id int, gone int);\n");
    for args in [
        ["init", "-q"].as_slice(),
        &["add", "."],
        &[
            "-c",
            "user.name=t",
            "-c",
            "user.email=t@e",
            "commit",
            "-qm",
            "base",
        ],
    ] {
        assert!(Command::new("git")
            .args(args)
            .current_dir(p.path())
            .status()
            .expect("git")
            .success());
    }
    std::fs::write(p.path().join("migrations/0002_pr.up.sql"), sql).expect("write");
    p
}

const DROP: &str = "ALTER TABLE t DROP COLUMN gone;\n";

#[test]
fn comment_modes_decide_when_a_comment_is_written() {
    let no_change = "SELECT 1;\n";
    let cases: &[(&str, &str, &[&str], usize)] = &[
        // (migration, mode, extra flags, writes)
        (no_change, "on-change", &[], 0),
        (DROP, "on-change", &["--fail-on", "never"], 1),
        (DROP, "on-failure", &["--fail-on", "never"], 0),
        (DROP, "on-failure", &[], 1),
        (DROP, "never", &[], 0),
    ];
    for (sql, mode, extra, writes) in cases {
        let api = FakeGithub::start();
        let p = pr_project(sql);
        let step = Step::new();
        let mut args = vec!["--comment", mode, "--base-ref", "HEAD"];
        args.extend_from_slice(extra);
        let r = diff(p.path(), &step, &api, ("pull_request", pr(5)), &args);
        assert!(r.code == 0 || r.code == 1, "{mode}: {r:?}");
        assert_eq!(
            gets_and_writes(&api).1.len(),
            *writes,
            "{mode} {extra:?}: {r:?}"
        );
        if *mode == "never" {
            assert!(api.requests().is_empty(), "never: not even a read");
        }
    }

    // on-change keeps an existing comment current even when nothing changes any more.
    let api = FakeGithub::start();
    let p = pr_project(DROP);
    let step = Step::new();
    let r = diff(
        p.path(),
        &step,
        &api,
        ("pull_request", pr(5)),
        &["--fail-on", "never", "--base-ref", "HEAD"],
    );
    assert_eq!(r.code, 0, "{r:?}");
    std::fs::write(p.path().join("migrations/0002_pr.up.sql"), no_change).expect("write");
    api.clear_requests();
    let r = diff(
        p.path(),
        &step,
        &api,
        ("pull_request", pr(5)),
        &["--base-ref", "HEAD"],
    );
    assert_eq!(r.code, 0, "{r:?}");
    let (_, writes) = gets_and_writes(&api);
    assert_eq!(writes.len(), 1, "{writes:?}");
    assert!(writes[0].starts_with("PATCH"), "{writes:?}");
    assert!(api.comments(5)[0].body.contains("No schema changes"));
}

#[test]
fn a_forks_read_only_token_warns_and_keeps_the_summary() {
    let api = FakeGithub::start();
    api.state().read_only = true;
    let p = project("CREATE TABLE first (id bigint PRIMARY KEY);\n");
    let step = Step::new();
    let r = diff(
        p.path(),
        &step,
        &api,
        ("pull_request", pr(9)),
        &["--comment", "always"],
    );
    assert_eq!(r.code, 0, "the comment never fails the job: {r:?}");
    let warnings: Vec<WorkflowCommand> = commands(&r)
        .into_iter()
        .filter(|c| c.name == "warning")
        .collect();
    assert!(
        warnings.iter().any(|w| w
            .data
            .contains("cannot comment on PR #9: the token is read-only")),
        "{r:?}"
    );
    let summary = step.summary();
    assert!(summary.contains("Safe to deploy"), "{summary}");
    assert!(
        summary.contains("The PR comment could not be posted: the token is read-only"),
        "{summary}"
    );
    assert_eq!(step.outputs()["verdict"], "safe");
}

#[test]
fn no_comment_outside_pull_requests_but_summary_and_outputs_all_the_same() {
    for (event, payload) in [
        ("push", json!({"ref": "refs/heads/main"})),
        (
            "merge_group",
            json!({"merge_group": {"head_ref": "refs/heads/gh-readonly-queue/main/pr-7-abc"}}),
        ),
        ("schedule", json!({"schedule": "0 2 * * *"})),
    ] {
        let api = FakeGithub::start();
        let p = project("CREATE TABLE first (id bigint PRIMARY KEY);\n");
        let step = Step::new();
        let r = diff(
            p.path(),
            &step,
            &api,
            (event, payload),
            &["--comment", "always"],
        );
        assert_eq!(r.code, 0, "{event}: {r:?}");
        assert!(api.requests().is_empty(), "{event}: {:?}", api.requests());
        let out = step.outputs();
        assert_eq!(out["has-changes"], "true", "{event}");
        assert_eq!(out["verdict"], "safe", "{event}");
        assert_eq!(out["breaking"], "0");
        assert!(step.summary().contains("pgkeel diff"), "{event}");
    }
}

#[test]
fn github_enterprise_servers_api_url_is_used() {
    let api = FakeGithub::with_prefix("/api/v3");
    let p = project("CREATE TABLE first (id bigint PRIMARY KEY);\n");
    let step = Step::new();
    let r = diff(
        p.path(),
        &step,
        &api,
        ("pull_request", pr(2)),
        &["--comment", "always"],
    );
    assert_eq!(r.code, 0, "{r:?}");
    let requests = api.requests();
    assert_eq!(requests.len(), 2, "{requests:?}");
    assert!(requests
        .iter()
        .all(|r| r.path.starts_with("/api/v3/repos/acme/shop/")));
    assert_eq!(api.comments(2).len(), 1);
}

#[test]
fn a_report_too_long_for_a_comment_posts_its_head_and_a_link_to_the_run() {
    let api = FakeGithub::start();
    let mut sql = String::from("CREATE TABLE first (id bigint PRIMARY KEY);\n");
    while sql.len() < 70_000 {
        sql.push_str("-- a long explanation of why this migration exists, repeated at length\n");
    }
    let p = project(&sql);
    let step = Step::new();
    let r = diff(
        p.path(),
        &step,
        &api,
        ("pull_request", pr(4)),
        &["--comment", "always", "--artifact-name", "pgkeel-diff"],
    );
    assert_eq!(r.code, 0, "{r:?}");
    let body = &api.comments(4)[0].body;
    assert!(body.chars().count() <= 65_536, "{}", body.len());
    assert!(body.contains("Safe to deploy"), "{body}");
    assert!(body.contains("too long for a comment"), "{body}");
    assert!(
        body.contains(
            "`pgkeel-diff` artifact of [this run](https://github.com/acme/shop/actions/runs/4242)"
        ),
        "{body}"
    );
    // The summary has room: it carries the whole report.
    assert!(step.summary().contains("a long explanation"));
}

#[test]
fn a_migration_failing_in_the_sandbox_is_annotated_on_its_line() {
    let api = FakeGithub::start();
    let p = project("CREATE TABLE first (id bigint PRIMARY KEY);\n");
    std::fs::write(
        p.path().join("migrations/0002_broken.up.sql"),
        "CREATE TABLE ok (id int);\nALTER TABLE nope ADD COLUMN x int;\n",
    )
    .expect("write");
    let step = Step::new();
    let mut cmd = pgkeel(p.path());
    cmd.args([
        "diff",
        "--migrations",
        "migrations",
        "-q",
        "--comment",
        "on-failure",
    ])
    .env("PGKEEL_SANDBOX_URL", admin_spec().to_url_with_password())
    .env("GITHUB_WORKSPACE", p.path());
    step.env(&mut cmd, &api, "pull_request", pr(8));
    let r = run(&mut cmd);
    assert_eq!(r.code, 4, "{r:?}");
    let errors: Vec<WorkflowCommand> = commands(&r)
        .into_iter()
        .filter(|c| c.name == "error")
        .collect();
    assert_eq!(errors.len(), 1, "{r:?}");
    assert_eq!(
        errors[0].properties["file"],
        "migrations/0002_broken.up.sql"
    );
    assert_eq!(errors[0].properties["line"], "2");
    assert!(
        errors[0].data.contains("relation \"nope\" does not exist"),
        "{errors:?}"
    );
    let out = step.outputs();
    assert_eq!(out["verdict"], "failed");
    assert_eq!(out["has-changes"], "false");
    assert!(step.summary().contains("could not be previewed"));
    assert_eq!(api.comments(8).len(), 1, "on-failure comments on a failure");
    assert!(api.comments(8)[0]
        .body
        .contains("relation \"nope\" does not exist"));
}

#[test]
fn breaking_changes_and_hazards_are_annotated_at_most_ten_per_level() {
    let api = FakeGithub::start();
    let mut sql = String::new();
    for i in 0..12 {
        sql.push_str(&format!("CREATE TABLE t{i} (id int, gone int);\n"));
    }
    let p = project(&sql);
    let mut drops = String::new();
    for i in 0..12 {
        drops.push_str(&format!("ALTER TABLE t{i} DROP COLUMN gone;\n"));
    }
    let step = Step::new();
    let repo = p.path();
    for args in [
        ["init", "-q"].as_slice(),
        &["add", "."],
        &[
            "-c",
            "user.name=t",
            "-c",
            "user.email=t@e",
            "commit",
            "-qm",
            "base",
        ],
    ] {
        assert!(Command::new("git")
            .args(args)
            .current_dir(repo)
            .status()
            .expect("git")
            .success());
    }
    std::fs::write(repo.join("migrations/0002_drops.up.sql"), &drops).expect("write");
    let r = diff(
        repo,
        &step,
        &api,
        ("push", json!({})),
        &["--base-ref", "HEAD"],
    );
    assert_eq!(r.code, 1, "{r:?}");
    let errors: Vec<WorkflowCommand> = commands(&r)
        .into_iter()
        .filter(|c| c.name == "error")
        .collect();
    assert_eq!(errors.len(), 10, "GitHub shows 10 per level: {r:?}");
    assert!(errors
        .iter()
        .all(|e| e.properties["title"] == "breaking change"));
    assert!(errors
        .iter()
        .all(|e| e.properties["file"].ends_with("migrations/0002_drops.up.sql")));
    let lines: Vec<&str> = errors
        .iter()
        .map(|e| e.properties["line"].as_str())
        .collect();
    assert!(lines.contains(&"1") && !lines.contains(&"0"), "{lines:?}");
    assert_eq!(step.outputs()["breaking"], "12");
    assert_eq!(step.outputs()["verdict"], "breaking");
}

#[test]
fn the_environment_gate_reads_the_protection_rules() {
    let db = TestDb::new();
    let api = FakeGithub::start();
    api.set_environment(
        "production restore",
        protected_environment("production restore", &["alice", "bob"]),
    );
    api.set_environment("staging", protected_environment("staging", &["alice"]));
    api.set_environment(
        "open",
        json!({"name": "open", "protection_rules": [{"type": "branch_policy"}]}),
    );
    let step = Step::new();
    let check = |args: &[&str]| {
        let mut cmd = pgkeel(step.dir.path());
        cmd.args(["check", "--database-url", &db.url(), "-q"])
            .args(args);
        step.env(&mut cmd, &api, "workflow_dispatch", json!({}));
        run(&mut cmd)
    };

    let r = check(&[
        "--environment",
        "production restore",
        "--min-reviewers",
        "2",
    ]);
    assert_eq!(r.code, 0, "{r:?}");
    assert_eq!(
        api.requests().last().map(|r| r.path.clone()).as_deref(),
        Some("/repos/acme/shop/environments/production%20restore")
    );

    let r = check(&["--environment", "staging", "--min-reviewers", "2"]);
    assert_eq!(r.code, 1, "{r:?}");
    assert!(
        r.stderr.contains(
            "environment `staging` lists 1 required reviewer; at least 2 are required here"
        ),
        "{r:?}"
    );
    assert!(
        commands(&r).iter().any(|c| c.name == "error"
            && c.properties
                .get("title")
                .is_some_and(|t| t == "environment protection")),
        "{r:?}"
    );

    let r = check(&["--environment", "open"]);
    assert_eq!(r.code, 1, "{r:?}");
    assert!(r.stderr.contains("has no required reviewers"), "{r:?}");

    let r = check(&["--environment", "missing"]);
    assert_eq!(r.code, 1, "{r:?}");
    assert!(
        r.stderr
            .contains("environment `missing` does not exist in acme/shop"),
        "{r:?}"
    );
    assert!(
        r.stderr.contains("Required reviewers"),
        "the hint says how: {r:?}"
    );

    let r = check(&["--environment", "open", "--require-protection", "warn"]);
    assert_eq!(r.code, 0, "{r:?}");
    assert!(
        commands(&r)
            .iter()
            .any(|c| c.name == "warning" && c.data.contains("require-protection: warn")),
        "{r:?}"
    );

    api.clear_requests();
    let r = check(&["--environment", "open", "--require-protection", "off"]);
    assert_eq!(r.code, 0, "{r:?}");
    assert!(api.requests().is_empty());

    let r = check(&["--require-protection", "fail"]);
    assert_eq!(r.code, 2, "no environment named: {r:?}");

    // A bad token fails closed.
    let mut cmd = pgkeel(step.dir.path());
    cmd.args([
        "check",
        "--database-url",
        &db.url(),
        "-q",
        "--environment",
        "production restore",
    ]);
    step.env(&mut cmd, &api, "workflow_dispatch", json!({}));
    cmd.env("GITHUB_TOKEN", "wrong");
    let r = run(&mut cmd);
    assert_eq!(r.code, 3, "{r:?}");
    assert!(r.stderr.contains("HTTP 401"), "{r:?}");
    r.assert_no_secret(TOKEN);
}

#[test]
fn restore_checks_the_environment_itself_before_anything_else() {
    // A workflow may call `pgkeel restore` without the action: the binary applies the gate,
    // asking for two reviewers by default, before it reads the backup or connects.
    let db = TestDb::new();
    db.execute("CREATE TABLE kept (id int)");
    let api = FakeGithub::start();
    api.set_environment("lax", protected_environment("lax", &["alice"]));
    let step = Step::new();
    let mut cmd = pgkeel(step.dir.path());
    cmd.args([
        "restore",
        "--database-url",
        &db.url(),
        "--from",
        "latest",
        "--backups",
        "no-such-store",
        "--confirm",
        &db.name,
        "--environment",
        "lax",
    ]);
    step.env(&mut cmd, &api, "workflow_dispatch", json!({}));
    let r = run(&mut cmd);
    assert_eq!(r.code, 1, "{r:?}");
    assert!(
        r.stderr
            .contains("lists 1 required reviewer; at least 2 are required"),
        "{r:?}"
    );
    assert!(!step.path("no-such-store").exists());
    assert_eq!(
        db.query_strings("SELECT to_regclass('kept')::text"),
        ["kept"]
    );
}

#[test]
fn the_drift_issue_is_opened_left_alone_updated_and_closed() {
    let db = TestDb::new();
    let p = migrated_project(&db, &[]);
    let api = FakeGithub::start();
    api.state().page_cap = 2;
    api.add_issue("unrelated", "something else", false);
    api.add_issue("a pull request", "<!-- pgkeel:drift key=x -->", true);
    api.add_issue("another", "body", false);
    let step = Step::new();
    let drift = || {
        let mut cmd = pgkeel(p.path());
        cmd.args([
            "drift",
            "--database-url",
            &db.url(),
            "--migrations",
            "migrations",
            "-q",
            "--open-issue",
            "true",
        ])
        .env("PGKEEL_SANDBOX_URL", admin_spec().to_url_with_password());
        step.env(&mut cmd, &api, "schedule", json!({}));
        run(&mut cmd)
    };

    // No drift, no issue: nothing written.
    let r = drift();
    assert_eq!(r.code, 0, "{r:?}");
    assert!(api.writes().is_empty());
    assert_eq!(step.outputs()["drifted"], "false");

    db.execute("CREATE TABLE sneaky (id int)");
    let r = drift();
    assert_eq!(r.code, 1, "{r:?}");
    let issues = api.issues();
    assert_eq!(issues.len(), 4);
    let issue = &issues[3];
    assert_eq!(
        issue.title,
        format!("Schema drift in database `{}`", db.name)
    );
    assert_eq!(issue.labels, ["pgkeel-drift"]);
    assert!(issue.body.contains("sneaky"), "{}", issue.body);
    let out = step.outputs();
    assert_eq!(out["drifted"], "true");
    assert!(issue
        .body
        .contains(&format!("<!-- pgkeel-digest:{} -->", out["digest"])));
    assert_eq!(out["issue-url"], "https://github.com/acme/shop/issues/4");
    assert!(
        commands(&r)
            .iter()
            .any(|c| c.name == "error" && c.data.contains("1 drifted object")),
        "{r:?}"
    );

    // The same drift six hours later: found (page 2), not written.
    api.clear_requests();
    let r = drift();
    assert_eq!(r.code, 1, "{r:?}");
    assert!(api.writes().is_empty(), "{:?}", api.writes());
    assert_eq!(api.issues().len(), 4);

    // More drift: the same issue, updated.
    db.execute("CREATE TABLE sneakier (id int)");
    let r = drift();
    assert_eq!(r.code, 1, "{r:?}");
    let writes = api.writes();
    assert_eq!(writes.len(), 1, "{writes:?}");
    assert_eq!(writes[0].method, "PATCH");
    assert!(api.issues()[3].body.contains("sneakier"));

    // Drift gone: a comment, then closed.
    db.execute("DROP TABLE sneaky; DROP TABLE sneakier");
    api.clear_requests();
    let r = drift();
    assert_eq!(r.code, 0, "{r:?}");
    let writes: Vec<String> = api
        .writes()
        .iter()
        .map(|w| format!("{} {}", w.method, w.path))
        .collect();
    assert_eq!(
        writes,
        [
            "POST /repos/acme/shop/issues/4/comments",
            "PATCH /repos/acme/shop/issues/4"
        ]
    );
    assert_eq!(api.issues()[3].state, "closed");
    assert_eq!(
        api.issues()[0].state,
        "open",
        "unrelated issues are untouched"
    );
}

#[test]
fn a_command_mode_tools_output_cannot_inject_workflow_commands() {
    let api = FakeGithub::start();
    let p = temp_dir();
    let step = Step::new();
    // The team's tool echoes what it reads, which a PR controls: a lone CR starts a new runner
    // line, and `##[` is a command anywhere in a line.
    let tool = "printf 'migrating\\r::add-mask::leak-cr\\n  ::error file=x::forged\\nnote ##[warning]forged-v1\\n' >&2";
    let mut cmd = pgkeel(p.path());
    cmd.args(["diff", "--command", tool, "--comment", "never"])
        .env("PGKEEL_SANDBOX_URL", admin_spec().to_url_with_password());
    step.env(&mut cmd, &api, "push", json!({}));
    let r = run(&mut cmd);
    assert_eq!(r.code, 0, "{r:?}");
    assert!(
        r.stderr.contains("migrating"),
        "the tool's output is shown: {r:?}"
    );
    for order in [[&r.stderr, &r.stdout], [&r.stdout, &r.stderr]] {
        let cmds = parse_commands(&[order[0], order[1]]);
        assert!(
            cmds.iter()
                .all(|c| c.name == "add-mask" && c.data.replace("%5F", "_") == TOKEN),
            "{cmds:#?}\n{r:?}"
        );
    }
}

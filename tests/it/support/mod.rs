//! The test harness: one shared server per test run, a fresh database per test, and a way to
//! run the real `pgkeel` binary with a clean environment.

#![allow(dead_code)]

pub mod action_docs;
pub mod action_runner;
pub mod github_api;
pub mod http_receiver;
pub mod s3;
pub mod smtp_receiver;

use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::OnceLock;

use pgkeel::pg::{self, ConnSpec};
use pgkeel::sandbox::{scratch, Cluster, SandboxOptions};

/// The template every test database is cloned from.
const TEMPLATE: &str = "pgkeel_test_template";

enum Server {
    Sandbox(Cluster),
    External(ConnSpec),
}

/// The shared server. A sandbox is never dropped (statics are not); its watchdog removes it
/// when the test process exits.
fn server() -> &'static Server {
    static SERVER: OnceLock<Server> = OnceLock::new();
    SERVER.get_or_init(|| {
        let server = match std::env::var("PGKEEL_TEST_DATABASE_URL") {
            Ok(url) if !url.is_empty() => Server::External(
                ConnSpec::resolve(Some(&url), &|_| None).expect("PGKEEL_TEST_DATABASE_URL is invalid"),
            ),
            _ => Server::Sandbox(Cluster::start(&SandboxOptions::default()).unwrap_or_else(|e| {
                panic!(
                    "cannot start the test PostgreSQL (install it: apt-get install -y postgresql): {e}"
                )
            })),
        };
        let admin = admin_spec_of(&server);
        // Build the template once, on a private runtime (tests each have their own).
        run_blocking(async move {
            let client = pg::connect(&admin).await.expect("connect to test server");
            scratch::drop(&client, TEMPLATE).await.expect("drop stale template");
            scratch::create(&client, TEMPLATE, Some("template0")).await.expect("create template");
        });
        server
    })
}

fn admin_spec_of(server: &Server) -> ConnSpec {
    match server {
        Server::Sandbox(c) => c.conn_spec(),
        Server::External(spec) => spec.clone(),
    }
}

/// Superuser connection to the maintenance database of the shared server.
pub fn admin_spec() -> ConnSpec {
    admin_spec_of(server())
}

/// Runs a future to completion on a fresh runtime in another thread (safe from inside tests
/// that already run on a runtime, and from `Drop`).
pub fn run_blocking<F>(fut: F) -> F::Output
where
    F: std::future::Future + Send + 'static,
    F::Output: Send + 'static,
{
    std::thread::spawn(move || {
        tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .expect("runtime")
            .block_on(fut)
    })
    .join()
    .expect("harness thread panicked")
}

/// A database of the test's own, dropped at the end of the test.
pub struct TestDb {
    pub name: String,
    pub spec: ConnSpec,
}

impl TestDb {
    pub fn new() -> TestDb {
        static COUNTER: AtomicU32 = AtomicU32::new(0);
        let name = format!(
            "t_{}_{}",
            std::process::id(),
            COUNTER.fetch_add(1, Ordering::SeqCst)
        );
        let admin = admin_spec();
        let n = name.clone();
        run_blocking(async move {
            let client = pg::connect(&admin).await.expect("connect");
            scratch::create(&client, &n, Some(TEMPLATE))
                .await
                .expect("create test db");
        });
        TestDb {
            spec: admin_spec().with_dbname(&name),
            name,
        }
    }

    /// Connection URL (no password: the test server trusts local connections).
    pub fn url(&self) -> String {
        self.spec.to_url_with_password()
    }

    /// Runs SQL in this database.
    pub fn execute(&self, sql: &str) {
        let spec = self.spec.clone();
        let sql = sql.to_string();
        run_blocking(async move {
            let c = pg::connect(&spec).await.expect("connect");
            c.pg().batch_execute(&sql).await.expect("sql");
        });
    }

    /// First column of every row, as text.
    pub fn query_strings(&self, sql: &str) -> Vec<String> {
        let spec = self.spec.clone();
        let sql = sql.to_string();
        run_blocking(async move {
            let c = pg::connect(&spec).await.expect("connect");
            c.pg()
                .query(&sql, &[])
                .await
                .expect("query")
                .iter()
                .map(|r| r.get::<_, String>(0))
                .collect()
        })
    }
}

impl Drop for TestDb {
    fn drop(&mut self) {
        let admin = admin_spec();
        let name = self.name.clone();
        run_blocking(async move {
            if let Ok(c) = pg::connect(&admin).await {
                let _ = scratch::drop(&c, &name).await;
            }
        });
    }
}

/// The `pgkeel` binary with an environment free of the developer's own PostgreSQL settings,
/// and state in `state_dir` so tests never see each other's sandboxes.
pub fn pgkeel(state_dir: &Path) -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_pgkeel"));
    for var in [
        "DATABASE_URL",
        "PGKEEL_DATABASE_URL",
        "PGHOST",
        "PGPORT",
        "PGUSER",
        "PGPASSWORD",
        "PGDATABASE",
        "PGSSLMODE",
        "PGSSLROOTCERT",
        "PGCONNECT_TIMEOUT",
        "PGAPPNAME",
        "PGOPTIONS",
        "PGKEEL_FORMAT",
        "PGKEEL_COLOR",
        "PGKEEL_CONFIG",
        "PGKEEL_LOG",
        "NO_COLOR",
        // Outside the GitHub tests, pgkeel must not think it runs in Actions.
        "GITHUB_ACTIONS",
        "GITHUB_TOKEN",
        "GITHUB_OUTPUT",
        "GITHUB_STEP_SUMMARY",
        "GITHUB_EVENT_PATH",
        // A developer's own notification secrets must never receive test runs.
        "SLACK_WEBHOOK_URL",
        "PGKEEL_WEBHOOK_URL",
        "PGKEEL_SMTP_URL",
        "PGKEEL_NOTIFY",
        "PGKEEL_NOTIFY_ON",
        "PGKEEL_NOTIFY_ENVIRONMENT",
        "PGKEEL_NOTIFY_TIMEOUT",
        "PGKEEL_EMAIL_TO",
        "PGKEEL_EMAIL_FROM",
    ] {
        cmd.env_remove(var);
    }
    cmd.env("PGKEEL_STATE_DIR", state_dir)
        .current_dir(state_dir);
    cmd
}

/// A finished run, with text for assertions.
pub struct Run {
    pub code: i32,
    pub stdout: String,
    pub stderr: String,
}

impl Run {
    pub fn of(output: Output) -> Run {
        Run {
            code: output.status.code().unwrap_or(-1),
            stdout: String::from_utf8_lossy(&output.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&output.stderr).into_owned(),
        }
    }

    pub fn json(&self) -> serde_json::Value {
        serde_json::from_str(&self.stdout).unwrap_or_else(|e| {
            panic!(
                "stdout is not JSON ({e}):\n{}\nstderr:\n{}",
                self.stdout, self.stderr
            )
        })
    }

    /// Fails the test if `secret` appears anywhere in the output — except in the
    /// `::add-mask::` lines pgkeel writes inside GitHub Actions, which the runner consumes and
    /// never shows (they are how the secret gets masked).
    pub fn assert_no_secret(&self, secret: &str) {
        let shown = |text: &str| {
            text.lines()
                .filter(|l| !l.trim_start().starts_with("::add-mask::"))
                .any(|l| l.contains(secret))
        };
        assert!(
            !shown(&self.stdout) && !shown(&self.stderr),
            "secret leaked:\nstdout: {}\nstderr: {}",
            self.stdout,
            self.stderr
        );
    }
}

impl std::fmt::Debug for Run {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "exit {}\n--- stdout\n{}\n--- stderr\n{}",
            self.code, self.stdout, self.stderr
        )
    }
}

/// Runs `cmd` and collects the result.
pub fn run(cmd: &mut Command) -> Run {
    Run::of(cmd.output().expect("run pgkeel"))
}

/// A temporary directory for a test.
pub fn temp_dir() -> tempfile::TempDir {
    tempfile::Builder::new()
        .prefix("pgkeel-test-")
        .tempdir()
        .expect("tempdir")
}

/// Path to the repository root.
pub fn repo_root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// A real tool installed by `scripts/test-tools.sh` (dbmate, sqlx, drizzle-kit, node-pg-migrate,
/// zizmor, actionlint, moto_server). Under CI a missing tool fails the test; locally the test is
/// skipped with a message saying how to install it.
pub fn installed_tool(name: &str) -> Option<PathBuf> {
    let dir = tools_dir()?;
    let path = dir.join("bin").join(name);
    if path.exists() {
        return Some(path);
    }
    if std::env::var_os("CI").is_some() {
        panic!("{} is missing: run scripts/test-tools.sh", path.display());
    }
    eprintln!(
        "skipping: {} is missing (run scripts/test-tools.sh)",
        path.display()
    );
    None
}

/// Where `scripts/test-tools.sh` installs the real tools: `$PGKEEL_TOOLS_DIR`, else
/// `~/.cache/pgkeel/tools`.
pub fn tools_dir() -> Option<PathBuf> {
    std::env::var_os("PGKEEL_TOOLS_DIR")
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".cache/pgkeel/tools")))
}

/// `git` in `dir` with a fixed author; a failure fails the test.
pub fn git(dir: &Path, args: &[&str]) {
    let out = Command::new("git")
        .args(["-c", "user.name=t", "-c", "user.email=t@example.com"])
        .args(args)
        .current_dir(dir)
        .output()
        .expect("git");
    assert!(
        out.status.success(),
        "git {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// examples/pgkeel's migrations copied into `<project>/migrations`, which is returned.
pub fn example_migrations(project: &Path) -> PathBuf {
    let dir = project.join("migrations");
    std::fs::create_dir_all(&dir).expect("mkdir");
    for e in std::fs::read_dir(repo_root().join("examples/pgkeel/migrations")).expect("read") {
        let path = e.expect("entry").path();
        std::fs::copy(&path, dir.join(path.file_name().expect("name"))).expect("copy");
    }
    dir
}

/// A project holding examples/pgkeel's migrations plus `extra` (file name, SQL), applied to
/// `db` with `pgkeel migrate up`.
pub fn migrated_project(db: &TestDb, extra: &[(&str, &str)]) -> tempfile::TempDir {
    let p = temp_dir();
    let dir = example_migrations(p.path());
    for (name, sql) in extra {
        std::fs::write(dir.join(name), sql).expect("write");
    }
    let r = run(pgkeel(p.path()).args([
        "migrate",
        "up",
        "--database-url",
        &db.url(),
        "--migrations",
        "migrations",
    ]));
    assert_eq!(r.code, 0, "{r:?}");
    p
}

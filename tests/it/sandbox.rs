//! `pgkeel sandbox`: detached start/status/stop, `run`, kept data directories, clean-up when
//! pgkeel dies, and running as an unprivileged account when started by root.

use std::net::TcpStream;
use std::time::{Duration, Instant};

use crate::support::{pgkeel, run, run_blocking, temp_dir};
use pgkeel::pg::{self, ConnSpec};
use pgkeel::sandbox::{Cluster, SandboxOptions};

fn accepts(port: u16) -> bool {
    TcpStream::connect(("127.0.0.1", port)).is_ok()
}

fn wait_until(what: &str, timeout: Duration, mut cond: impl FnMut() -> bool) {
    let start = Instant::now();
    while !cond() {
        assert!(start.elapsed() < timeout, "timed out waiting for {what}");
        std::thread::sleep(Duration::from_millis(50));
    }
}

#[test]
fn start_status_stop_round_trip() {
    let state = temp_dir();
    let r =
        run(pgkeel(state.path()).args(["sandbox", "start", "--format", "json", "--name", "rt"]));
    assert_eq!(r.code, 0, "{r:?}");
    let doc = r.json();
    let url = doc["url"].as_str().unwrap().to_string();
    let port = doc["port"].as_u64().unwrap() as u16;
    let data_dir = std::path::PathBuf::from(doc["data_dir"].as_str().unwrap());
    assert!(accepts(port));
    assert!(data_dir.join("PG_VERSION").exists());

    // The printed URL works.
    let c = run(pgkeel(state.path()).args(["check", "--database-url", &url]));
    assert_eq!(c.code, 0, "{c:?}");

    // A second sandbox with the same name is refused.
    let again = run(pgkeel(state.path()).args(["sandbox", "start", "--name", "rt"]));
    assert_eq!(again.code, 2, "{again:?}");
    assert!(again.stderr.contains("already running"), "{again:?}");

    let s = run(pgkeel(state.path()).args(["sandbox", "status", "--format", "json"]));
    assert_eq!(s.code, 0, "{s:?}");
    assert_eq!(s.json()["sandboxes"][0]["name"], "rt");
    assert_eq!(s.json()["sandboxes"][0]["running"], true);

    let stop = run(pgkeel(state.path()).args(["sandbox", "stop", "--name", "rt"]));
    assert_eq!(stop.code, 0, "{stop:?}");
    assert!(stop.stdout.contains("deleted its data"), "{stop:?}");
    assert!(!accepts(port));
    assert!(!data_dir.exists(), "throwaway data removed");

    let gone = run(pgkeel(state.path()).args(["sandbox", "status", "--name", "rt"]));
    assert_eq!(gone.code, 2, "{gone:?}");
    assert!(gone.stderr.contains("no sandbox named `rt`"), "{gone:?}");
}

#[test]
fn human_start_prints_only_the_url() {
    let state = temp_dir();
    let r = run(pgkeel(state.path()).args(["sandbox", "start", "--name", "plain"]));
    assert_eq!(r.code, 0, "{r:?}");
    let url = r.stdout.trim();
    assert!(url.starts_with("postgres://postgres@127.0.0.1:"), "{r:?}");
    assert_eq!(r.stdout.lines().count(), 1, "{r:?}");
    let stop = run(pgkeel(state.path()).args(["sandbox", "stop", "--name", "plain"]));
    assert_eq!(stop.code, 0, "{stop:?}");
}

#[test]
fn run_sets_database_url_passes_the_exit_code_and_cleans_up() {
    let state = temp_dir();
    let out = state.path().join("seen");
    let script = format!(
        "echo \"$DATABASE_URL $PGPORT\" > {}; pgkeel check -q >/dev/null || exit 99; exit 7",
        out.display()
    );
    let r = run(pgkeel(state.path()).args(["sandbox", "run", "--", "sh", "-c", &script]));
    assert_eq!(r.code, 7, "{r:?}");
    let seen = std::fs::read_to_string(&out).unwrap();
    let mut parts = seen.split_whitespace();
    let url = parts.next().unwrap();
    let port: u16 = parts.next().unwrap().parse().unwrap();
    assert!(url.starts_with("postgres://postgres@127.0.0.1:"), "{seen}");
    assert!(!accepts(port), "sandbox removed after the command");
}

#[test]
fn run_reports_a_missing_program() {
    let state = temp_dir();
    let r =
        run(pgkeel(state.path()).args(["sandbox", "run", "--", "definitely-not-a-program-xyz"]));
    assert_eq!(r.code, 2, "{r:?}");
    assert!(
        r.stderr
            .contains("cannot run `definitely-not-a-program-xyz`"),
        "{r:?}"
    );
}

#[test]
fn a_kept_data_directory_survives_stop_and_start() {
    let state = temp_dir();
    let data = state.path().join("pgdata");
    let start = || {
        let r = run(pgkeel(state.path())
            .args([
                "sandbox",
                "start",
                "--format",
                "json",
                "--name",
                "kept",
                "--data-dir",
            ])
            .arg(&data));
        assert_eq!(r.code, 0, "{r:?}");
        r.json()["url"].as_str().unwrap().to_string()
    };
    let url = start();
    let spec = ConnSpec::resolve(Some(&url), &|_| None).unwrap();
    let s = spec.clone();
    run_blocking(async move {
        let c = pg::connect(&s).await.unwrap();
        c.pg()
            .batch_execute("CREATE TABLE kept_table (id int); INSERT INTO kept_table VALUES (42)")
            .await
            .unwrap();
    });
    let stop = run(pgkeel(state.path()).args(["sandbox", "stop", "--name", "kept"]));
    assert_eq!(stop.code, 0, "{stop:?}");
    assert!(stop.stdout.contains("data kept"), "{stop:?}");
    assert!(data.join("PG_VERSION").exists());

    let url = start();
    let spec = ConnSpec::resolve(Some(&url), &|_| None).unwrap();
    let v = run_blocking(async move {
        let c = pg::connect(&spec).await.unwrap();
        c.pg()
            .query_one("SELECT id FROM kept_table", &[])
            .await
            .unwrap()
            .get::<_, i32>(0)
    });
    assert_eq!(v, 42);
    let stop = run(pgkeel(state.path()).args(["sandbox", "stop", "--name", "kept"]));
    assert_eq!(stop.code, 0, "{stop:?}");
}

#[test]
fn a_non_empty_foreign_directory_is_refused() {
    let state = temp_dir();
    let data = state.path().join("notpg");
    std::fs::create_dir(&data).unwrap();
    std::fs::write(data.join("precious.txt"), "do not touch").unwrap();
    let r = run(pgkeel(state.path())
        .args(["sandbox", "start", "--name", "x", "--data-dir"])
        .arg(&data));
    assert_eq!(r.code, 2, "{r:?}");
    assert!(
        r.stderr
            .contains("neither empty nor a PostgreSQL data directory"),
        "{r:?}"
    );
    assert_eq!(
        std::fs::read_to_string(data.join("precious.txt")).unwrap(),
        "do not touch"
    );
}

#[test]
fn killing_pgkeel_still_removes_the_sandbox() {
    let state = temp_dir();
    let out = state.path().join("port");
    let script = format!("echo $PGPORT > {}; sleep 5", out.display());
    let mut child = pgkeel(state.path())
        .args(["sandbox", "run", "--", "sh", "-c", &script])
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    wait_until("the sandbox to start", Duration::from_secs(30), || {
        std::fs::read_to_string(&out).is_ok_and(|s| !s.trim().is_empty())
    });
    let port: u16 = std::fs::read_to_string(&out)
        .unwrap()
        .trim()
        .parse()
        .unwrap();
    assert!(accepts(port));
    child.kill().unwrap(); // SIGKILL: no destructor runs
    child.wait().unwrap();
    wait_until(
        "the watchdog to stop the server",
        Duration::from_secs(20),
        || !accepts(port),
    );
}

#[test]
fn unavailable_version_is_a_clear_error() {
    let state = temp_dir();
    let r = run(pgkeel(state.path()).args(["sandbox", "run", "--pg-version", "99", "--", "true"]));
    assert_eq!(r.code, 2, "{r:?}");
    assert!(
        r.stderr.contains("no postgres with major version 99 found"),
        "{r:?}"
    );
    assert!(r.stderr.contains("postgresql-99"), "{r:?}");
}

#[test]
fn library_clusters_are_independent_and_removed_on_drop() {
    let a = Cluster::start(&SandboxOptions::default()).unwrap();
    let b = Cluster::start(&SandboxOptions::default()).unwrap();
    assert_ne!(a.port(), b.port());
    let dir = a.data_dir().to_path_buf();
    let port = a.port();
    // SAFETY: geteuid has no preconditions.
    if unsafe { libc::geteuid() } == 0 {
        let status = std::fs::read_to_string(format!("/proc/{}/status", a.pid().unwrap())).unwrap();
        let uid_line = status.lines().find(|l| l.starts_with("Uid:")).unwrap();
        assert!(
            !uid_line.split_whitespace().nth(1).unwrap().eq("0"),
            "server must not run as root: {uid_line}"
        );
    }
    drop(a);
    assert!(!accepts(port));
    assert!(!dir.exists());
    assert!(accepts(b.port()));
}

//! A real SMTP server for the email tests: aiosmtpd (installed by `scripts/test-tools.sh`
//! into `$PGKEEL_TOOLS_DIR/python`), run by `smtp_receiver.py` beside this file. It requires
//! AUTH with one user and password and records each message, parsed by Python's own email
//! package, as JSON.

use std::io::{BufRead, BufReader};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

pub struct SmtpReceiver {
    child: Child,
    pub port: u16,
    dir: tempfile::TempDir,
}

impl SmtpReceiver {
    /// Starts the server, or `None` (with a message) when aiosmtpd is not installed and this
    /// is not CI; under CI a missing server fails the test.
    pub fn start(user: &str, password: &str) -> Option<SmtpReceiver> {
        let tools = super::tools_dir()?;
        let python_path = tools.join("python");
        if !python_path.join("aiosmtpd").is_dir() {
            if std::env::var_os("CI").is_some() {
                panic!(
                    "aiosmtpd is missing from {}: run scripts/test-tools.sh",
                    python_path.display()
                );
            }
            eprintln!(
                "skipping: aiosmtpd is missing from {} (run scripts/test-tools.sh)",
                python_path.display()
            );
            return None;
        }
        let dir = super::temp_dir();
        let log = std::fs::File::create(dir.path().join("server.log")).expect("log file");
        let script =
            PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/it/support/smtp_receiver.py");
        let mut child = Command::new("python3")
            .arg(script)
            .arg(dir.path())
            .args([user, password])
            .env("PYTHONPATH", &python_path)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(log)
            .spawn()
            .expect("start python3 smtp_receiver.py");
        let stdout = child.stdout.take().expect("stdout");
        let mut line = String::new();
        BufReader::new(stdout)
            .read_line(&mut line)
            .expect("read READY line");
        let port = line
            .strip_prefix("READY ")
            .and_then(|p| p.trim().parse().ok())
            .unwrap_or_else(|| {
                let log =
                    std::fs::read_to_string(dir.path().join("server.log")).unwrap_or_default();
                panic!("smtp_receiver.py did not start: {line:?}\n{log}")
            });
        Some(SmtpReceiver { child, port, dir })
    }

    /// The messages received so far, as parsed summaries.
    pub fn messages(&self) -> Vec<serde_json::Value> {
        let mut files: Vec<PathBuf> = std::fs::read_dir(self.dir.path())
            .expect("read dir")
            .filter_map(|e| e.ok().map(|e| e.path()))
            .filter(|p| p.extension().is_some_and(|x| x == "json"))
            .collect();
        files.sort();
        files
            .iter()
            .map(|p| {
                serde_json::from_str(&std::fs::read_to_string(p).expect("read message"))
                    .expect("message JSON")
            })
            .collect()
    }

    /// Waits up to `timeout` for `n` messages (the server writes them as they arrive).
    pub fn wait_for(&self, n: usize, timeout: Duration) -> Vec<serde_json::Value> {
        let deadline = Instant::now() + timeout;
        loop {
            let m = self.messages();
            if m.len() >= n || Instant::now() > deadline {
                return m;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
    }
}

impl Drop for SmtpReceiver {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

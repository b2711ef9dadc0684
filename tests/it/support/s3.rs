//! A real S3-compatible server on loopback: moto (`moto[server]` from PyPI, installed by
//! scripts/test-tools.sh). One plain server per test run, and one with IAM authentication
//! switched on for the credential tests. Each lives in a thread that never ends, and dies with
//! the test process (PR_SET_PDEATHSIG).

use std::net::{TcpListener, TcpStream};
use std::os::unix::process::CommandExt;
use std::process::{Command, Stdio};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

pub struct S3 {
    pub endpoint: String,
    /// Credentials that work (any on the plain server).
    pub key_id: String,
    pub secret: String,
}

/// Python with moto's dependencies (boto3) importable, for setting servers up.
pub fn python() -> Command {
    let mut cmd = Command::new("python3");
    if let Some(dir) = crate::support::tools_dir() {
        let lib = dir.join("moto");
        if lib.exists() {
            cmd.env("PYTHONPATH", lib);
        }
    }
    cmd.env("AWS_ACCESS_KEY_ID", "testing")
        .env("AWS_SECRET_ACCESS_KEY", "testing")
        .env("AWS_DEFAULT_REGION", "us-east-1");
    cmd
}

fn start(envs: &[(&str, &str)]) -> Option<String> {
    let bin = crate::support::installed_tool("moto_server")?;
    let port = TcpListener::bind("127.0.0.1:0")
        .ok()?
        .local_addr()
        .ok()?
        .port();
    let envs: Vec<(String, String)> = envs
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let mut cmd = Command::new(bin);
        cmd.args(["-H", "127.0.0.1", "-p", &port.to_string()])
            .stdout(Stdio::null())
            .stderr(Stdio::null());
        for (k, v) in &envs {
            cmd.env(k, v);
        }
        // SAFETY: prctl only; the server dies when this (never-ending) thread's process does.
        unsafe {
            cmd.pre_exec(|| {
                libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGKILL);
                Ok(())
            });
        }
        let child = cmd.spawn().expect("start moto_server");
        tx.send(()).ok();
        let _keep = child;
        loop {
            std::thread::park();
        }
    });
    rx.recv().ok()?;
    let deadline = Instant::now() + Duration::from_secs(60);
    while TcpStream::connect(("127.0.0.1", port)).is_err() {
        assert!(
            Instant::now() < deadline,
            "moto_server did not start on port {port}"
        );
        std::thread::sleep(Duration::from_millis(100));
    }
    Some(format!("http://127.0.0.1:{port}"))
}

/// The plain server (no authentication).
pub fn server() -> Option<&'static S3> {
    static S: OnceLock<Option<S3>> = OnceLock::new();
    S.get_or_init(|| {
        start(&[]).map(|endpoint| S3 {
            endpoint,
            key_id: "testing".into(),
            secret: "testing-secret-s3".into(),
        })
    })
    .as_ref()
}

const AUTH_SETUP: &str = r#"
import boto3, json, sys
ep = sys.argv[1]
iam = boto3.client("iam", endpoint_url=ep, region_name="us-east-1")
iam.create_user(UserName="pgkeel")
iam.put_user_policy(UserName="pgkeel", PolicyName="all", PolicyDocument=json.dumps(
    {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "*", "Resource": "*"}]}))
key = iam.create_access_key(UserName="pgkeel")["AccessKey"]
s3 = boto3.client("s3", endpoint_url=ep, region_name="us-east-1")
s3.create_bucket(Bucket="locked")
print(key["AccessKeyId"], key["SecretAccessKey"])
"#;

/// A server that checks credentials after its set-up (exactly four unauthenticated actions:
/// create a user, give it a policy, create its key, create bucket `locked`).
pub fn auth_server() -> Option<&'static S3> {
    static S: OnceLock<Option<S3>> = OnceLock::new();
    S.get_or_init(|| {
        let endpoint = start(&[("INITIAL_NO_AUTH_ACTION_COUNT", "4")])?;
        let out = python()
            .args(["-c", AUTH_SETUP, &endpoint])
            .output()
            .expect("run python3");
        assert!(
            out.status.success(),
            "auth set-up failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        let text = String::from_utf8_lossy(&out.stdout).to_string();
        let mut parts = text.split_whitespace();
        Some(S3 {
            endpoint,
            key_id: parts.next().expect("key id").to_string(),
            secret: parts.next().expect("secret").to_string(),
        })
    })
    .as_ref()
}

impl S3 {
    /// Runs a boto3 snippet with `s3` bound to a client of this server; returns stdout.
    pub fn py(&self, code: &str) -> String {
        let script = format!(
            "import boto3, sys\ns3 = boto3.client('s3', endpoint_url={:?}, region_name='us-east-1', aws_access_key_id={:?}, aws_secret_access_key={:?})\n{code}",
            self.endpoint, self.key_id, self.secret
        );
        let out = python()
            .args(["-c", &script])
            .output()
            .expect("run python3");
        assert!(
            out.status.success(),
            "boto3 failed: {}\n{script}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8_lossy(&out.stdout).to_string()
    }

    /// A new empty bucket.
    pub fn bucket(&self) -> String {
        static N: std::sync::atomic::AtomicU32 = std::sync::atomic::AtomicU32::new(0);
        let name = format!(
            "b{}-{}",
            std::process::id(),
            N.fetch_add(1, std::sync::atomic::Ordering::SeqCst)
        );
        self.py(&format!("s3.create_bucket(Bucket={name:?})"));
        name
    }

    /// Every key in `bucket`.
    pub fn keys(&self, bucket: &str) -> Vec<String> {
        self.py(&format!(
            "for page in s3.get_paginator('list_objects_v2').paginate(Bucket={bucket:?}):\n    for o in page.get('Contents', []):\n        print(o['Key'])"
        ))
        .lines()
        .map(str::to_string)
        .collect()
    }

    /// Multipart uploads in progress in `bucket`.
    pub fn uploads(&self, bucket: &str) -> usize {
        self.py(&format!(
            "print(len(s3.list_multipart_uploads(Bucket={bucket:?}).get('Uploads', [])))"
        ))
        .trim()
        .parse()
        .unwrap_or(0)
    }

    /// Sets the environment pgkeel needs to reach this server.
    pub fn env(&self, cmd: &mut Command) {
        cmd.env("AWS_ACCESS_KEY_ID", &self.key_id)
            .env("AWS_SECRET_ACCESS_KEY", &self.secret)
            .env("AWS_REGION", "us-east-1")
            .env("PGKEEL_S3_ENDPOINT", &self.endpoint)
            .env("PGKEEL_S3_PATH_STYLE", "true")
            .env_remove("AWS_PROFILE")
            .env_remove("AWS_SESSION_TOKEN");
    }
}

//! Command mode: the team's own migration tool (Rails, Django, Prisma, Liquibase, Alembic, …)
//! runs as a child process against the target, with `DATABASE_URL` set and `PGOPTIONS`
//! carrying pgkeel's `lock_timeout` and `statement_timeout`. Its output is passed through to
//! stderr as it comes (scrubbed of the password) and its last lines are kept for the report.

use std::collections::VecDeque;
use std::process::Stdio;

use tokio::io::{AsyncBufReadExt, AsyncRead, BufReader};

use super::apply::Options;
use crate::pg::ConnSpec;

/// Lines of output kept for the report.
const TAIL: usize = 40;

/// A command that ran to completion.
#[derive(Debug, Clone)]
pub struct CommandRun {
    /// The last lines of its output (stdout and stderr interleaved), scrubbed.
    pub tail: Vec<String>,
}

#[derive(Debug, thiserror::Error)]
pub enum CommandError {
    #[error("cannot start `{command}`: {source}")]
    Spawn {
        command: String,
        source: std::io::Error,
    },
    #[error("`{command}` failed with {status}{}", if .tail.is_empty() { String::new() } else { format!("; its last output:\n  {}", .tail.join("\n  ")) })]
    Failed {
        command: String,
        status: String,
        tail: Vec<String>,
    },
}

impl CommandError {
    pub fn hint(&self) -> Option<String> {
        Some(match self {
            CommandError::Spawn { .. } => "check that the command exists on PATH in this job".into(),
            CommandError::Failed { .. } => "the tool's own transactions decide what stayed applied: check its output, then `pgkeel diff` the database against what you expect".into(),
        })
    }
}

/// `PGOPTIONS` with the timeouts added to what the environment already has.
pub fn pgoptions(existing: Option<&str>, options: &Options) -> String {
    let mut parts: Vec<String> = existing
        .filter(|e| !e.trim().is_empty())
        .map(|e| vec![e.trim().to_string()])
        .unwrap_or_default();
    parts.push(format!(
        "-c lock_timeout={}",
        options.lock_timeout.as_millis()
    ));
    if let Some(t) = options.statement_timeout {
        parts.push(format!("-c statement_timeout={}", t.as_millis()));
    }
    parts.join(" ")
}

/// Runs `command` with `sh -c` against `conn`.
///
/// # Errors
///
/// When it cannot start or exits unsuccessfully.
pub async fn run(
    command: &str,
    conn: &ConnSpec,
    options: &Options,
) -> Result<CommandRun, CommandError> {
    run_in(command, conn, options, None).await
}

/// [`run`] in directory `cwd` (the working directory when `None`).
///
/// # Errors
///
/// When it cannot start or exits unsuccessfully.
pub async fn run_in(
    command: &str,
    conn: &ConnSpec,
    options: &Options,
    cwd: Option<&std::path::Path>,
) -> Result<CommandRun, CommandError> {
    let url = conn.to_url_with_password();
    let pgopts = pgoptions(std::env::var("PGOPTIONS").ok().as_deref(), options);
    tracing::info!("running `{command}` (command mode)");
    let mut child = tokio::process::Command::new("sh");
    if let Some(dir) = cwd {
        child.current_dir(dir);
    }
    let mut child = child
        .arg("-c")
        .arg(command)
        .env("DATABASE_URL", &url)
        .env("PGKEEL_DATABASE_URL", &url)
        .env("PGOPTIONS", &pgopts)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .map_err(|source| CommandError::Spawn {
            command: command.to_string(),
            source,
        })?;
    let tail = std::sync::Arc::new(std::sync::Mutex::new(VecDeque::with_capacity(TAIL)));
    let pumps = [
        child
            .stdout
            .take()
            .map(|s| tokio::spawn(pump(s, tail.clone()))),
        child
            .stderr
            .take()
            .map(|s| tokio::spawn(pump(s, tail.clone()))),
    ];
    let status = child.wait().await.map_err(|source| CommandError::Spawn {
        command: command.to_string(),
        source,
    })?;
    for pump in pumps.into_iter().flatten() {
        let _ = pump.await;
    }
    let tail: Vec<String> = tail
        .lock()
        .map(|t| t.iter().cloned().collect())
        .unwrap_or_default();
    if status.success() {
        Ok(CommandRun { tail })
    } else {
        Err(CommandError::Failed {
            command: command.to_string(),
            status: status
                .code()
                .map_or_else(|| "a signal".to_string(), |c| format!("exit status {c}")),
            tail,
        })
    }
}

/// Copies a child's output to stderr line by line and keeps the last lines.
async fn pump(
    stream: impl AsyncRead + Unpin,
    tail: std::sync::Arc<std::sync::Mutex<VecDeque<String>>>,
) {
    let mut lines = BufReader::new(stream).lines();
    while let Ok(Some(line)) = lines.next_line().await {
        let line = crate::secret::scrub(&line);
        eprintln!("  | {}", crate::secret::for_display(&line));
        if let Ok(mut t) = tail.lock() {
            if t.len() == TAIL {
                t.pop_front();
            }
            t.push_back(line);
        }
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;

    #[test]
    fn pgoptions_keep_what_was_there() {
        let opts = Options {
            lock_timeout: Duration::from_secs(5),
            statement_timeout: Some(Duration::from_secs(60)),
            ..Options::default()
        };
        assert_eq!(
            pgoptions(Some("-c search_path=app"), &opts),
            "-c search_path=app -c lock_timeout=5000 -c statement_timeout=60000"
        );
        assert_eq!(pgoptions(None, &Options::default()), "-c lock_timeout=5000");
    }
}

//! A command's notification: what the command tells it while it runs ([`Notice`], filled in
//! step by step so it survives an error), turned into a `notify::Event` and sent once the
//! command's result — `Ok` or `Err` — is known ([`deliver`]).
//!
//! Wiring a command (drift, backup, restore, deploy): flatten `cli::NotifyArgs` into its args,
//! run it through `notified` in `cli/entry.rs` with its `notify::Kind`, and fill the `Notice`
//! it is handed — a title, a summary, `changed`, facts (backup id and size, drift count…),
//! lists, and its `--format json` document via [`json_document`]. Failures need nothing: the
//! error, its hint and exit code are added here.

use std::io;
use std::time::Instant;

use crate::error::{Error, ExitCode, Outcome};
use crate::notify::{self, Event, Fact, Failure, Kind, List, Outcome as Verdict};
use crate::secret::scrub;

/// What a running command has to say in its notification.
pub struct Notice {
    kind: Kind,
    started: Instant,
    /// The headline on success ("Migrations applied"); failures get "<operation> failed".
    pub title: Option<String>,
    pub summary: Option<String>,
    /// Raise a success to a warning (hazards found, say).
    pub outcome: Option<Verdict>,
    /// Something changed or was found: `--notify-on change` sends it.
    pub changed: bool,
    /// The command's own environment name (deploy's), when `--notify-environment` is not given.
    pub environment: Option<String>,
    /// The database, host left out.
    pub database: Option<String>,
    pub facts: Vec<Fact>,
    pub lists: Vec<List>,
    /// The command's `--format json` document.
    pub document: Option<serde_json::Value>,
}

impl Notice {
    pub fn new(kind: Kind) -> Notice {
        Notice {
            kind,
            started: Instant::now(),
            title: None,
            summary: None,
            outcome: None,
            changed: false,
            environment: None,
            database: None,
            facts: Vec::new(),
            lists: Vec::new(),
            document: None,
        }
    }

    pub fn kind(&self) -> Kind {
        self.kind
    }

    /// The event for `result`, with the run taken from the environment.
    pub fn into_event(self, result: &Result<Outcome, Error>, settings: &notify::Settings) -> Event {
        self.into_event_with(result, settings, notify::RunInfo::from_env())
    }

    fn into_event_with(
        self,
        result: &Result<Outcome, Error>,
        settings: &notify::Settings,
        run: notify::RunInfo,
    ) -> Event {
        let operation = operation(self.kind);
        let (mut outcome, failure) = match result {
            Ok(Outcome::Clean) | Ok(Outcome::Passthrough(0)) => {
                (self.outcome.unwrap_or(Verdict::Success), None)
            }
            Ok(Outcome::Finding) => (
                self.outcome
                    .unwrap_or(Verdict::Warning)
                    .max(Verdict::Warning),
                None,
            ),
            Ok(Outcome::Conflict) => (
                Verdict::Failure,
                Some(Failure {
                    message: "migration history conflict: see the command's report".into(),
                    hint: None,
                    exit_code: ExitCode::HistoryConflict.code(),
                }),
            ),
            Ok(Outcome::Passthrough(code)) => (
                Verdict::Failure,
                Some(Failure {
                    message: format!("the command exited with status {code}"),
                    hint: None,
                    exit_code: *code,
                }),
            ),
            Err(e) => (
                if e.exit_code() == ExitCode::RollbackFailed {
                    Verdict::Critical
                } else {
                    Verdict::Failure
                },
                Some(Failure {
                    message: e.full_message(),
                    hint: e.hint().map(|h| scrub(&h)),
                    exit_code: e.exit_code().code(),
                }),
            ),
        };
        // A completed restore replaced a database's contents: the whole team must verify it
        // now (the runbook's "@channel CRITICAL: DB RESTORE completed").
        if self.kind == Kind::Restore && outcome == Verdict::Success {
            outcome = Verdict::Critical;
        }
        let title = match (&failure, outcome) {
            (Some(_), Verdict::Critical) => {
                format!("{operation} failed — rollback failed, a human is needed")
            }
            (Some(_), _) => format!("{operation} failed"),
            (None, _) => self
                .title
                .clone()
                .unwrap_or_else(|| format!("{operation} finished")),
        };
        let mut event = Event::new(self.kind, outcome, title);
        event.summary = self.summary;
        event.changed = self.changed;
        event.environment = settings.environment.clone().or(self.environment);
        event.database = self.database;
        event.duration = Some(self.started.elapsed());
        event.facts = self.facts;
        event.lists = self.lists;
        event.failure = failure;
        event.document = self.document;
        event.run = run;
        event
    }
}

/// "Migration", "Backup": the operation as a headline names it.
fn operation(kind: Kind) -> &'static str {
    match kind {
        Kind::Diff => "Schema diff",
        Kind::Drift => "Drift check",
        Kind::Backup => "Backup",
        Kind::Restore => "Restore",
        Kind::Migrate => "Migration",
        Kind::Deploy => "Deployment",
    }
}

/// A command's `--format json` document, rendered by `render` into memory.
pub fn json_document(
    render: impl FnOnce(&mut Vec<u8>) -> io::Result<()>,
) -> Option<serde_json::Value> {
    let mut buf = Vec::new();
    render(&mut buf).ok()?;
    serde_json::from_slice(&buf).ok()
}

/// Sends the notification for `result` (when `settings` has channels and wants it) and logs
/// each delivery: success at info, failure as a warning with its hint. Never fails: the
/// command's result is the result.
pub async fn deliver(
    notice: Notice,
    result: &Result<Outcome, Error>,
    settings: &notify::Settings,
) -> Vec<notify::DeliveryReport> {
    if !settings.is_enabled() {
        return Vec::new();
    }
    let kind = notice.kind();
    let event = notice.into_event(result, settings);
    let owned = settings.clone();
    // Delivery blocks (HTTP and SMTP clients, retry sleeps): keep it off the async workers.
    let reports = match tokio::task::spawn_blocking(move || notify::send_all(&event, &owned)).await
    {
        Ok(r) => r,
        Err(e) => {
            tracing::warn!("notifications were not sent: {e}");
            return Vec::new();
        }
    };
    for r in &reports {
        let retried = if r.attempts > 1 {
            format!(", {} attempts", r.attempts)
        } else {
            String::new()
        };
        match &r.result {
            Ok(()) => tracing::info!(
                "notified {} ({}) in {}ms{retried}",
                r.channel,
                r.target,
                r.elapsed.as_millis()
            ),
            Err(e) => {
                tracing::warn!(
                    "{}",
                    scrub(&format!(
                        "notification via {} ({}) failed: {e}; the {} result stands",
                        r.channel,
                        r.target,
                        kind.name()
                    ))
                );
                if let Some(h) = e.hint() {
                    tracing::warn!("  hint: {}", scrub(&h));
                }
            }
        }
    }
    reports
}

#[cfg(test)]
mod tests {
    use super::*;

    fn settings() -> notify::Settings {
        notify::Settings {
            environment: Some("production".into()),
            ..notify::Settings::default()
        }
    }

    fn run() -> notify::RunInfo {
        notify::RunInfo::default()
    }

    #[test]
    fn success_keeps_the_commands_title_and_facts() {
        let mut n = Notice::new(Kind::Migrate);
        n.title = Some("Migrations applied".into());
        n.changed = true;
        n.environment = Some("ignored: the flag wins".into());
        n.facts.push(Fact::new("Applied", "2"));
        let e = n.into_event_with(&Ok(Outcome::Clean), &settings(), run());
        assert_eq!(e.outcome, Verdict::Success);
        assert_eq!(e.title, "Migrations applied");
        assert_eq!(e.environment.as_deref(), Some("production"));
        assert!(e.changed && e.failure.is_none() && e.duration.is_some());
        assert_eq!(e.facts, vec![Fact::new("Applied", "2")]);
    }

    #[test]
    fn an_error_is_a_failure_with_scrubbed_message_hint_and_exit_code() {
        crate::secret::register("zzNoticeSecretzz");
        let mut n = Notice::new(Kind::Migrate);
        n.title = Some("Migrations applied".into());
        let err = Error::Usage {
            message: "bad password zzNoticeSecretzz".into(),
            hint: Some("not zzNoticeSecretzz".into()),
        };
        let e = n.into_event_with(&Err(err), &settings(), run());
        assert_eq!(e.outcome, Verdict::Failure);
        assert_eq!(e.title, "Migration failed");
        let f = e.failure.unwrap();
        assert_eq!(f.message, "bad password ***");
        assert_eq!(f.hint.as_deref(), Some("not ***"));
        assert_eq!(f.exit_code, 2);
    }

    #[test]
    fn a_finding_is_a_warning_and_a_restore_is_critical() {
        let e = Notice::new(Kind::Drift).into_event_with(&Ok(Outcome::Finding), &settings(), run());
        assert_eq!(e.outcome, Verdict::Warning);
        assert_eq!(e.title, "Drift check finished");
        let e = Notice::new(Kind::Restore).into_event_with(&Ok(Outcome::Clean), &settings(), run());
        assert_eq!(e.outcome, Verdict::Critical);
        let mut n = Notice::new(Kind::Diff);
        n.outcome = Some(Verdict::Warning);
        let e = n.into_event_with(&Ok(Outcome::Clean), &settings(), run());
        assert_eq!(e.outcome, Verdict::Warning);
    }

    #[test]
    fn json_document_reads_what_the_renderer_wrote() {
        let v =
            json_document(|out| crate::report::write_json(out, "x", &serde_json::json!({"a": 1})));
        assert_eq!(
            v,
            Some(serde_json::json!({"version": 1, "command": "x", "a": 1}))
        );
        assert_eq!(json_document(|_| Err(io::Error::other("no"))), None);
    }
}

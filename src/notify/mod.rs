//! Notifications when an operation finishes: Slack (Block Kit, via an incoming webhook), a
//! generic webhook (versioned JSON), and email (SMTP, plain text + HTML).
//!
//! Domain-free: an [`Event`] holds plain text — a kind (diff, drift, backup, restore, migrate,
//! deploy), an outcome (success, warning, failure, critical), a title, ordered facts, lists,
//! the error, the command's own JSON document and the CI run — and the renderers
//! ([`slack`], [`webhook`], [`email`]) turn it into each channel's format. The commands' report
//! layer builds the event (`report::notice`); this module never sees a schema or a migration.
//!
//! Rules every channel keeps:
//! - A notification never changes the operation's result: [`send_all`] returns a report per
//!   channel and the caller logs failures as warnings; the exit code stays the command's.
//! - Bounded: retries with backoff on 5xx/429 (honouring `Retry-After`), within a total budget
//!   (30 s by default); channels are sent in parallel, so the budget holds for all of them.
//! - Secrets stay secret: webhook URLs and the SMTP password are registered with the scrubber
//!   when read, are shown only as `scheme://host/***`, and every payload and error is scrubbed.

pub mod delivery;
pub mod email;
pub mod event;
pub mod settings;
pub mod slack;
pub mod webhook;

use std::sync::mpsc;
use std::time::{Duration, Instant};

pub use delivery::{DeliveryError, DeliveryReport, RetryPolicy};
pub use event::{Event, Fact, Failure, Kind, List, Outcome, RunInfo};
pub use settings::{Channel, ChannelKind, Settings, SetupError, WebhookUrl, When};

use crate::secret::scrub;

/// How long past the budget to wait for a channel's thread before reporting it timed out (an
/// SMTP exchange is several round trips, each bounded separately).
const GRACE: Duration = Duration::from_secs(2);

/// Sends `event` to every configured channel that `settings.when` wants it for, in parallel,
/// and reports each. Empty when nothing was to be sent.
pub fn send_all(event: &Event, settings: &Settings) -> Vec<DeliveryReport> {
    if !settings.is_enabled() {
        return Vec::new();
    }
    if !settings.when.wants(event) {
        tracing::debug!(
            "no notification: the {} {} and --notify-on asks for {}",
            event.kind.name(),
            if event.outcome.is_failure() {
                "failed"
            } else {
                "finished"
            },
            match settings.when {
                When::Always => "every run",
                When::Failure => "failures only",
                When::Change => "changes and failures only",
            }
        );
        return Vec::new();
    }
    let started = Instant::now();
    let (tx, rx) = mpsc::channel();
    let mut reports: Vec<Option<DeliveryReport>> = settings.channels.iter().map(|_| None).collect();
    for (i, channel) in settings.channels.iter().enumerate() {
        let payload = match payload(event, channel) {
            Ok(p) => p,
            Err(e) => {
                reports[i] = Some(report(channel, 0, started, Err(e)));
                continue;
            }
        };
        let (owned, policy, tx) = (channel.clone(), settings.policy.clone(), tx.clone());
        let spawned = std::thread::Builder::new()
            .name(format!("notify-{}", channel.kind()))
            .spawn(move || {
                let begun = Instant::now();
                let (attempts, result) =
                    delivery::with_retries(&policy, |timeout| payload.attempt(timeout));
                let _ = tx.send((i, report(&owned, attempts, begun, result)));
            });
        if let Err(e) = spawned {
            let e = DeliveryError::Unusable(format!("cannot start a thread: {e}"));
            reports[i] = Some(report(channel, 0, started, Err(e)));
        }
    }
    drop(tx);
    // Threads still running at the deadline are abandoned: the process is about to exit, and
    // waiting longer would break the bound.
    let deadline = started + settings.policy.budget + GRACE;
    while reports.iter().any(Option::is_none) {
        let Some(left) = deadline.checked_duration_since(Instant::now()) else {
            break;
        };
        match rx.recv_timeout(left) {
            Ok((i, r)) => reports[i] = Some(r),
            Err(_) => break,
        }
    }
    reports
        .into_iter()
        .enumerate()
        .map(|(i, r)| {
            r.unwrap_or_else(|| {
                report(
                    &settings.channels[i],
                    0,
                    started,
                    Err(DeliveryError::TimedOut(started.elapsed())),
                )
            })
        })
        .collect()
}

fn report(
    channel: &Channel,
    attempts: u32,
    since: Instant,
    result: Result<(), DeliveryError>,
) -> DeliveryReport {
    DeliveryReport {
        channel: channel.kind(),
        target: channel.target(),
        attempts,
        elapsed: since.elapsed(),
        result,
    }
}

/// A rendered, scrubbed message and where it goes.
enum Payload {
    Http {
        url: WebhookUrl,
        body: Vec<u8>,
    },
    Mail {
        server: email::SmtpServer,
        message: Box<lettre::Message>,
    },
}

impl Payload {
    fn attempt(&self, timeout: Duration) -> delivery::Attempt {
        match self {
            Payload::Http { url, body } => delivery::post_json(url.expose(), body, timeout),
            Payload::Mail { server, message } => delivery::send_mail(server, message, timeout),
        }
    }
}

fn payload(event: &Event, channel: &Channel) -> Result<Payload, DeliveryError> {
    let json = |url: &WebhookUrl, v: serde_json::Value| {
        serde_json::to_vec(&scrub_value(v))
            .map(|body| Payload::Http {
                url: url.clone(),
                body,
            })
            .map_err(|e| DeliveryError::Message(e.to_string()))
    };
    match channel {
        Channel::Slack(url) => json(url, slack::render(event)),
        Channel::Webhook(url) => json(url, webhook::render(event)),
        Channel::Email(settings) => {
            let r = email::render(event);
            let r = email::Rendered {
                subject: scrub(&r.subject),
                text: scrub(&r.text),
                html: scrub(&r.html),
            };
            email::message(&r, settings)
                .map(|m| Payload::Mail {
                    server: settings.server.clone(),
                    message: Box::new(m),
                })
                .map_err(|e| DeliveryError::Message(e.to_string()))
        }
    }
}

/// Every string in `v` (keys too) scrubbed of registered secrets. Done on the tree, not the
/// serialized text, so a masked secret can never break the JSON.
fn scrub_value(v: serde_json::Value) -> serde_json::Value {
    use serde_json::Value;
    match v {
        Value::String(s) => Value::String(scrub(&s)),
        Value::Array(items) => Value::Array(items.into_iter().map(scrub_value).collect()),
        Value::Object(map) => Value::Object(
            map.into_iter()
                .map(|(k, v)| (scrub(&k), scrub_value(v)))
                .collect(),
        ),
        other => other,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn payloads_are_scrubbed() {
        crate::secret::register("zzPayloadSecretzz");
        let mut e = Event::new(Kind::Migrate, Outcome::Failure, "Migration failed");
        e.failure = Some(Failure {
            message: "password zzPayloadSecretzz rejected".into(),
            hint: None,
            exit_code: 3,
        });
        e.document = Some(serde_json::json!({ "zzPayloadSecretzz": ["zzPayloadSecretzz", 1] }));
        let url = WebhookUrl::parse("http://127.0.0.1:9/hook", "--webhook-url").unwrap();
        for channel in [Channel::Slack(url.clone()), Channel::Webhook(url)] {
            let Ok(Payload::Http { body, .. }) = payload(&e, &channel) else {
                panic!("json payload expected");
            };
            let text = String::from_utf8(body).unwrap();
            assert!(!text.contains("zzPayloadSecretzz"), "{text}");
            assert!(text.contains("password *** rejected"), "{text}");
            serde_json::from_str::<serde_json::Value>(&text).unwrap();
        }
    }

    #[test]
    fn nothing_is_sent_when_the_rule_says_no() {
        let url = WebhookUrl::parse("http://127.0.0.1:9/hook", "--webhook-url").unwrap();
        let settings = Settings {
            channels: vec![Channel::Webhook(url)],
            when: When::Failure,
            ..Settings::default()
        };
        let e = Event::new(Kind::Migrate, Outcome::Success, "Migrations applied");
        assert!(send_all(&e, &settings).is_empty());
        assert!(send_all(&e, &Settings::none()).is_empty());
    }

    #[test]
    fn an_unreachable_receiver_is_reported_within_the_budget() {
        // Port 9 (discard) on loopback: nothing listens, the connection is refused at once.
        let url = WebhookUrl::parse("http://127.0.0.1:9/hook", "--webhook-url").unwrap();
        let settings = Settings {
            channels: vec![Channel::Webhook(url)],
            policy: RetryPolicy::with_budget(Duration::from_millis(800)),
            ..Settings::default()
        };
        let e = Event::new(Kind::Migrate, Outcome::Success, "Migrations applied");
        let start = Instant::now();
        let reports = send_all(&e, &settings);
        assert!(start.elapsed() < Duration::from_millis(800) + GRACE);
        assert_eq!(reports.len(), 1);
        let r = &reports[0];
        assert_eq!(r.channel, ChannelKind::Webhook);
        assert_eq!(r.target, "http://127.0.0.1:9/***");
        assert!(r.attempts >= 1);
        assert!(
            matches!(r.result, Err(DeliveryError::GaveUp { .. })),
            "{:?}",
            r.result
        );
    }
}

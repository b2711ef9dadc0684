//! Sending: one HTTP POST or one SMTP transaction per attempt, retried with backoff on the
//! failures that can pass (HTTP 5xx, 429 and 408, lost connections, timeouts, SMTP 4xx), and
//! never past the policy's total budget (30 s by default). `Retry-After` (seconds) is honoured;
//! when it points past the budget, the delivery gives up at once rather than wait for nothing.
//! A refusal that retrying cannot fix (HTTP 4xx, SMTP 5xx, a TLS failure) ends it at once.
//!
//! Blocking on purpose: each channel gets its own thread (see `send_all`), so a slow receiver
//! delays nothing else, and the HTTP (ureq) and SMTP (lettre) clients stay small.

use std::io::Read;
use std::time::{Duration, Instant};

use lettre::Transport;

use super::email::SmtpServer;
use super::settings::ChannelKind;
use crate::secret::scrub;

/// How hard to try.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RetryPolicy {
    /// Total time for a delivery, all attempts and waits included.
    pub budget: Duration,
    /// Wait after the first failure; doubled after each further one.
    pub first_backoff: Duration,
    pub max_backoff: Duration,
    /// Longest single attempt (also cut to what is left of the budget).
    pub attempt_timeout: Duration,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        RetryPolicy {
            budget: Duration::from_secs(30),
            first_backoff: Duration::from_millis(500),
            max_backoff: Duration::from_secs(8),
            attempt_timeout: Duration::from_secs(10),
        }
    }
}

impl RetryPolicy {
    /// The default policy with another total budget (`--notify-timeout`, for tests and slow
    /// receivers).
    pub fn with_budget(budget: Duration) -> RetryPolicy {
        RetryPolicy {
            budget,
            attempt_timeout: RetryPolicy::default().attempt_timeout.min(budget),
            ..RetryPolicy::default()
        }
    }
}

/// An attempt is not started with less time than this left.
const MIN_ATTEMPT: Duration = Duration::from_millis(200);

/// What happened to one channel's notification.
#[derive(Debug)]
pub struct DeliveryReport {
    pub channel: ChannelKind,
    /// The target as it may be shown (`https://hooks.slack.com/***`).
    pub target: String,
    pub attempts: u32,
    pub elapsed: Duration,
    pub result: Result<(), DeliveryError>,
}

impl DeliveryReport {
    pub fn delivered(&self) -> bool {
        self.result.is_ok()
    }
}

/// Why a notification was not delivered. Messages are scrubbed of secrets.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DeliveryError {
    #[error("refused with HTTP {status}{}", if .body.is_empty() { String::new() } else { format!(": {}", .body) })]
    Refused { status: u16, body: String },
    #[error("refused by the SMTP server: {message}")]
    SmtpRefused { message: String },
    #[error("gave up after {attempts} attempt{} in {:.1}s: {last}", if *.attempts == 1 { "" } else { "s" }, .elapsed.as_secs_f64())]
    GaveUp {
        attempts: u32,
        elapsed: Duration,
        last: String,
    },
    #[error("cannot reach the receiver: {0}")]
    Unusable(String),
    #[error("cannot build the message: {0}")]
    Message(String),
    #[error("no result within {:.0}s", .0.as_secs_f64())]
    TimedOut(Duration),
}

impl DeliveryError {
    pub fn hint(&self) -> Option<String> {
        match self {
            DeliveryError::Refused { status: 401 | 403 | 404 | 410, .. } => Some(
                "the webhook URL was revoked or is wrong: create a new one and update the secret"
                    .into(),
            ),
            DeliveryError::Refused { status: 400, .. } => Some(
                "the receiver rejected the message; its answer above says why".into(),
            ),
            DeliveryError::Refused { .. } => None,
            DeliveryError::SmtpRefused { .. } => Some(
                "check the user and password in --smtp-url, and the --email-from and --email-to addresses"
                    .into(),
            ),
            DeliveryError::GaveUp { .. } | DeliveryError::TimedOut(_) => Some(
                "the receiver kept failing; it may be down or rate-limiting (the operation's result is unaffected)"
                    .into(),
            ),
            DeliveryError::Unusable(_) => {
                Some("check the URL's host and its TLS certificate".into())
            }
            DeliveryError::Message(_) => None,
        }
    }
}

/// One attempt's result.
pub(crate) enum Attempt {
    Delivered,
    /// A failure that may pass; `after` is the receiver's `Retry-After`.
    Retry {
        why: String,
        after: Option<Duration>,
    },
    Fatal(DeliveryError),
}

/// Runs `attempt` (given the time it may take) until it delivers, fails for good, or the
/// budget is spent. Returns the number of attempts made.
pub(crate) fn with_retries(
    policy: &RetryPolicy,
    mut attempt: impl FnMut(Duration) -> Attempt,
) -> (u32, Result<(), DeliveryError>) {
    let start = Instant::now();
    let mut backoff = policy.first_backoff;
    let mut attempts = 0;
    loop {
        let left = policy.budget.saturating_sub(start.elapsed());
        attempts += 1;
        let (why, after) = match attempt(left.min(policy.attempt_timeout).max(MIN_ATTEMPT)) {
            Attempt::Delivered => return (attempts, Ok(())),
            Attempt::Fatal(e) => return (attempts, Err(e)),
            Attempt::Retry { why, after } => (why, after),
        };
        let wait = after.unwrap_or(backoff);
        backoff = (backoff * 2).min(policy.max_backoff);
        let left = policy.budget.saturating_sub(start.elapsed());
        if wait + MIN_ATTEMPT > left {
            let last = match after {
                Some(a) if a + MIN_ATTEMPT > left => {
                    format!(
                        "{why} (Retry-After {}s is past the time limit)",
                        a.as_secs()
                    )
                }
                _ => why,
            };
            return (
                attempts,
                Err(DeliveryError::GaveUp {
                    attempts,
                    elapsed: start.elapsed(),
                    last,
                }),
            );
        }
        tracing::debug!("notification attempt {attempts} failed ({why}); retrying in {wait:?}");
        std::thread::sleep(wait);
    }
}

/// POSTs a JSON body.
pub(crate) fn post_json(url: &str, body: &[u8], timeout: Duration) -> Attempt {
    let config = ureq::Agent::config_builder()
        .timeout_global(Some(timeout))
        .http_status_as_error(false)
        // A redirect would resend the body somewhere the user did not name.
        .max_redirects(0)
        .user_agent(concat!("pgkeel/", env!("CARGO_PKG_VERSION")))
        .build();
    let agent = ureq::Agent::new_with_config(config);
    let mut response = match agent
        .post(url)
        .header("Content-Type", "application/json")
        .send(body)
    {
        Ok(r) => r,
        Err(e) => {
            let why = scrub(&e.to_string());
            return match e {
                ureq::Error::BadUri(_)
                | ureq::Error::Http(_)
                | ureq::Error::InvalidProxyUrl
                | ureq::Error::Tls(_)
                | ureq::Error::Pem(_)
                | ureq::Error::Rustls(_)
                | ureq::Error::RequireHttpsOnly(_)
                | ureq::Error::TlsRequired => Attempt::Fatal(DeliveryError::Unusable(why)),
                _ => Attempt::Retry { why, after: None },
            };
        }
    };
    let status = response.status().as_u16();
    if (200..300).contains(&status) {
        return Attempt::Delivered;
    }
    let after = response
        .headers()
        .get("retry-after")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.trim().parse::<u64>().ok())
        .map(Duration::from_secs);
    let mut raw = Vec::new();
    let _ = response
        .body_mut()
        .as_reader()
        .take(2048)
        .read_to_end(&mut raw);
    let body: String = scrub(String::from_utf8_lossy(&raw).trim())
        .chars()
        .take(300)
        .collect();
    if status >= 500 || status == 429 || status == 408 {
        let why = if body.is_empty() {
            format!("HTTP {status}")
        } else {
            format!("HTTP {status}: {body}")
        };
        Attempt::Retry { why, after }
    } else {
        Attempt::Fatal(DeliveryError::Refused { status, body })
    }
}

/// Sends one message over SMTP.
pub(crate) fn send_mail(
    server: &SmtpServer,
    message: &lettre::Message,
    timeout: Duration,
) -> Attempt {
    let transport = match server.transport(timeout) {
        Ok(t) => t,
        Err(e) => return Attempt::Fatal(DeliveryError::Unusable(scrub(&e.to_string()))),
    };
    match transport.send(message) {
        Ok(_) => Attempt::Delivered,
        Err(e) if e.is_permanent() => Attempt::Fatal(DeliveryError::SmtpRefused {
            message: scrub(&e.to_string()),
        }),
        Err(e) if e.is_tls() => Attempt::Fatal(DeliveryError::Unusable(scrub(&e.to_string()))),
        Err(e) => Attempt::Retry {
            why: scrub(&e.to_string()),
            after: None,
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::cell::Cell;

    fn policy(budget_ms: u64) -> RetryPolicy {
        RetryPolicy {
            budget: Duration::from_millis(budget_ms),
            first_backoff: Duration::from_millis(10),
            max_backoff: Duration::from_millis(40),
            attempt_timeout: Duration::from_millis(500),
        }
    }

    #[test]
    fn retries_until_delivered() {
        let n = Cell::new(0);
        let (attempts, r) = with_retries(&policy(5000), |_| {
            n.set(n.get() + 1);
            if n.get() < 3 {
                Attempt::Retry {
                    why: "HTTP 503".into(),
                    after: None,
                }
            } else {
                Attempt::Delivered
            }
        });
        assert_eq!((attempts, r), (3, Ok(())));
    }

    #[test]
    fn fatal_stops_at_once() {
        let (attempts, r) = with_retries(&policy(5000), |_| {
            Attempt::Fatal(DeliveryError::Refused {
                status: 404,
                body: "no_service".into(),
            })
        });
        assert_eq!(attempts, 1);
        assert_eq!(
            r.unwrap_err().to_string(),
            "refused with HTTP 404: no_service"
        );
    }

    #[test]
    fn gives_up_within_the_budget() {
        let start = Instant::now();
        let (attempts, r) = with_retries(&policy(600), |timeout| {
            assert!(timeout <= Duration::from_millis(600));
            Attempt::Retry {
                why: "HTTP 500".into(),
                after: None,
            }
        });
        assert!(
            start.elapsed() < Duration::from_millis(600),
            "{:?}",
            start.elapsed()
        );
        assert!(attempts >= 3, "{attempts}");
        let text = r.unwrap_err().to_string();
        assert!(
            text.starts_with(&format!("gave up after {attempts} attempts")),
            "{text}"
        );
        assert!(text.ends_with(": HTTP 500"), "{text}");
    }

    #[test]
    fn retry_after_past_the_budget_gives_up_now() {
        let start = Instant::now();
        let (attempts, r) = with_retries(&policy(2000), |_| Attempt::Retry {
            why: "HTTP 429".into(),
            after: Some(Duration::from_secs(60)),
        });
        assert_eq!(attempts, 1);
        assert!(start.elapsed() < Duration::from_millis(100));
        assert!(r
            .unwrap_err()
            .to_string()
            .contains("HTTP 429 (Retry-After 60s is past the time limit)"));
    }

    #[test]
    fn retry_after_is_waited_for() {
        let start = Instant::now();
        let n = Cell::new(0);
        let (attempts, r) = with_retries(&policy(3000), |_| {
            n.set(n.get() + 1);
            if n.get() == 1 {
                Attempt::Retry {
                    why: "HTTP 429".into(),
                    after: Some(Duration::from_secs(1)),
                }
            } else {
                Attempt::Delivered
            }
        });
        assert_eq!((attempts, r), (2, Ok(())));
        assert!(start.elapsed() >= Duration::from_secs(1));
    }
}

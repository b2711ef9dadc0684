//! Validated notification settings: which channels, their targets (secrets registered with the
//! scrubber as soon as they are read), when to send, and the retry budget. Built by `cli` from
//! flags, environment and `pgkeel.yml`; a channel without its target is a configuration error
//! before anything runs, not a failed notification afterwards.

use std::fmt;

use super::delivery::RetryPolicy;
use super::email::EmailSettings;
use super::event::Event;
use crate::secret::{self, Secret, MASK};

/// When to send.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum When {
    /// Every run.
    #[default]
    Always,
    /// Failed or critical runs only.
    Failure,
    /// Runs that changed or found something (migrations applied, differences or drift
    /// found), and failures.
    Change,
}

impl When {
    pub const NAMES: [&'static str; 3] = ["always", "failure", "change"];

    pub fn from_name(name: &str) -> Option<When> {
        match name {
            "always" => Some(When::Always),
            "failure" => Some(When::Failure),
            "change" => Some(When::Change),
            _ => None,
        }
    }

    /// Whether `event` is worth sending under this rule. A critical event (a completed
    /// restore, a failed rollback) is always sent.
    pub fn wants(self, event: &Event) -> bool {
        match self {
            When::Always => true,
            When::Failure => event.outcome.is_failure(),
            When::Change => event.changed || event.outcome.is_failure(),
        }
    }
}

/// A channel's name, for flags, reports and logs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum ChannelKind {
    Slack,
    Webhook,
    Email,
}

impl ChannelKind {
    pub const NAMES: [&'static str; 3] = ["slack", "webhook", "email"];

    pub fn name(self) -> &'static str {
        match self {
            ChannelKind::Slack => "slack",
            ChannelKind::Webhook => "webhook",
            ChannelKind::Email => "email",
        }
    }

    pub fn from_name(name: &str) -> Option<ChannelKind> {
        match name {
            "slack" => Some(ChannelKind::Slack),
            "webhook" => Some(ChannelKind::Webhook),
            "email" => Some(ChannelKind::Email),
            _ => None,
        }
    }
}

impl fmt::Display for ChannelKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// Shortest URL part registered alone as a secret (Slack's token is 24 characters).
const TOKEN_MIN: usize = 8;

/// An http(s) URL that is a secret (a Slack webhook's path is its credential). Only
/// `scheme://host/***` is ever shown.
#[derive(Clone)]
pub struct WebhookUrl {
    secret: Secret,
    shown: String,
}

impl WebhookUrl {
    /// Validates `value` and registers it, its path and query, and any password in it as
    /// secrets, so no error text from the HTTP stack can print them either.
    pub fn parse(value: &str, what: &'static str) -> Result<WebhookUrl, SetupError> {
        let value = value.trim();
        let secret = Secret::new(value);
        let url = url::Url::parse(value).map_err(|e| SetupError::BadUrl {
            what,
            reason: e.to_string(),
        })?;
        if let Some(p) = url.password() {
            secret::register(p);
        }
        // The part after the host is the credential; register it alone too, in the form
        // the HTTP stack may print it.
        let rest = &url[url::Position::BeforePath..];
        if rest.len() > 1 {
            secret::register(rest);
        }
        if let Some(q) = url.query() {
            secret::register(q);
        }
        // Receivers echo the token alone ("no_service for <token>"): register the last path
        // segment and query values too, when long enough to be a token rather than a word.
        if let Some(last) = url.path_segments().and_then(|mut s| s.next_back()) {
            if last.len() >= TOKEN_MIN {
                secret::register(last);
            }
        }
        for (_, v) in url.query_pairs() {
            if v.len() >= TOKEN_MIN {
                secret::register(&v);
            }
        }
        if !matches!(url.scheme(), "https" | "http") {
            return Err(SetupError::BadUrl {
                what,
                reason: format!("the scheme must be https (or http), not `{}`", url.scheme()),
            });
        }
        let Some(host) = url.host_str() else {
            return Err(SetupError::BadUrl {
                what,
                reason: "it has no host".into(),
            });
        };
        let port = url.port().map(|p| format!(":{p}")).unwrap_or_default();
        Ok(WebhookUrl {
            shown: format!("{}://{host}{port}/{MASK}", url.scheme()),
            secret,
        })
    }

    /// The full URL, for the HTTP client only.
    pub fn expose(&self) -> &str {
        self.secret.expose()
    }

    /// `https://hooks.slack.com/***`.
    pub fn shown(&self) -> &str {
        &self.shown
    }
}

impl fmt::Debug for WebhookUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.shown)
    }
}

/// Where a notification goes.
#[derive(Debug, Clone)]
pub enum Channel {
    /// A Slack incoming webhook (Block Kit message).
    Slack(WebhookUrl),
    /// Any HTTP endpoint (versioned JSON document).
    Webhook(WebhookUrl),
    /// SMTP (multipart plain text + HTML).
    Email(EmailSettings),
}

impl Channel {
    pub fn kind(&self) -> ChannelKind {
        match self {
            Channel::Slack(_) => ChannelKind::Slack,
            Channel::Webhook(_) => ChannelKind::Webhook,
            Channel::Email(_) => ChannelKind::Email,
        }
    }

    /// The target as it may be shown: the host, never the secret part.
    pub fn target(&self) -> String {
        match self {
            Channel::Slack(u) | Channel::Webhook(u) => u.shown().to_string(),
            Channel::Email(e) => e.shown(),
        }
    }
}

/// Everything `send_all` needs.
#[derive(Debug, Clone, Default)]
pub struct Settings {
    pub channels: Vec<Channel>,
    pub when: When,
    /// Shown as "Environment" (production, staging…).
    pub environment: Option<String>,
    pub policy: RetryPolicy,
}

impl Settings {
    /// No channels: nothing is ever sent.
    pub fn none() -> Settings {
        Settings::default()
    }

    pub fn is_enabled(&self) -> bool {
        !self.channels.is_empty()
    }
}

/// Notification settings that cannot be used. Never carries a secret: URLs are described,
/// not quoted.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SetupError {
    #[error("--notify {channel} needs {what}")]
    Missing {
        channel: &'static str,
        what: &'static str,
        hint: &'static str,
    },
    #[error("{what} is not a usable URL: {reason}")]
    BadUrl { what: &'static str, reason: String },
    #[error("{what} `{address}` is not an email address: {reason}")]
    BadAddress {
        what: &'static str,
        address: String,
        reason: String,
    },
    #[error("--smtp-url would send the SMTP password unencrypted to {host} (tls=none)")]
    Cleartext { host: String },
    #[error("unknown {what} `{value}`")]
    Unknown {
        what: &'static str,
        value: String,
        allowed: &'static [&'static str],
    },
}

impl SetupError {
    pub fn hint(&self) -> Option<String> {
        match self {
            SetupError::Missing { hint, .. } => Some(hint.to_string()),
            SetupError::BadUrl { .. } => Some(
                "pass the full URL, e.g. https://hooks.slack.com/services/T…/B…/… (keep it in a secret)"
                    .into(),
            ),
            SetupError::BadAddress { .. } => {
                Some("write addresses as ops@example.com or \"Ops <ops@example.com>\"".into())
            }
            SetupError::Cleartext { .. } => Some(
                "use smtps://host:465 or smtp://host:587 (STARTTLS); tls=none is for a relay on this machine"
                    .into(),
            ),
            SetupError::Unknown { allowed, .. } => Some(format!("use one of {}", allowed.join(", "))),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::notify::event::{Kind, Outcome};

    #[test]
    fn webhook_url_shows_only_scheme_and_host_and_registers_the_path() {
        let u = WebhookUrl::parse(
            "https://hooks.slack.com/services/T0AAA/B0BBB/zzSecretTokenzz",
            "--slack-webhook-url",
        )
        .unwrap();
        assert_eq!(u.shown(), "https://hooks.slack.com/***");
        assert_eq!(format!("{u:?}"), "https://hooks.slack.com/***");
        let text = secret::scrub("POST /services/T0AAA/B0BBB/zzSecretTokenzz failed");
        assert!(!text.contains("zzSecretTokenzz"), "{text}");
        // Echoed alone, by a receiver's error body.
        let text = secret::scrub("no_service for zzSecretTokenzz");
        assert_eq!(text, "no_service for ***");
        WebhookUrl::parse(
            "https://example.com/hook?key=zzQueryKeyzz&a=1",
            "--webhook-url",
        )
        .unwrap();
        assert_eq!(secret::scrub("bad key zzQueryKeyzz"), "bad key ***");
    }

    #[test]
    fn webhook_url_errors_never_quote_the_url() {
        for bad in [
            "hooks.slack.com/services/x/y/zzNoSchemezz",
            "ftp://example.com/zzFtpTokenzz",
        ] {
            let e = WebhookUrl::parse(bad, "--webhook-url").unwrap_err();
            let text = format!("{e} {}", e.hint().unwrap_or_default());
            assert!(
                !text.contains("zzNoSchemezz") && !text.contains("zzFtpTokenzz"),
                "{text}"
            );
        }
    }

    #[test]
    fn when_rules() {
        let mut e = Event::new(Kind::Migrate, Outcome::Success, "Nothing to do");
        assert!(When::Always.wants(&e));
        assert!(!When::Failure.wants(&e));
        assert!(!When::Change.wants(&e));
        e.changed = true;
        assert!(When::Change.wants(&e));
        assert!(!When::Failure.wants(&e));
        e.changed = false;
        e.outcome = Outcome::Failure;
        assert!(When::Failure.wants(&e) && When::Change.wants(&e));
        e.outcome = Outcome::Critical;
        assert!(When::Failure.wants(&e));
        e.outcome = Outcome::Warning;
        assert!(!When::Failure.wants(&e));
    }
}

//! The email: SMTP settings parsed from `--smtp-url smtp[s]://user:pass@host:port`, and a
//! short multipart/alternative message (plain text and HTML) with the same facts as the Slack
//! message. Rendering is pure; sending is `delivery`'s.
//!
//! TLS: `smtps://` is TLS from the first byte (port 465); `smtp://` requires STARTTLS (port 587)
//! unless `?tls=opportunistic` or `?tls=none` says otherwise. A password is refused over
//! `tls=none` to anything but this machine, because it would cross the network in clear.

use std::fmt::Write as _;
use std::time::Duration;

use lettre::message::{header::ContentType, Mailbox, MultiPart, SinglePart};
use lettre::transport::smtp::authentication::Credentials;
use lettre::transport::smtp::client::{Tls, TlsParameters};
use lettre::{Message, SmtpTransport};

use super::event::{Event, Outcome};
use super::settings::SetupError;
use crate::secret::{self, Secret};

/// Items shown per list before "… and N more".
const MAX_LIST_ITEMS: usize = 50;

/// How the SMTP connection is protected.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SmtpTls {
    /// TLS from the first byte (`smtps://`).
    Wrapper,
    /// STARTTLS, refusing servers without it (`smtp://`).
    Required,
    /// STARTTLS when offered (`?tls=opportunistic`).
    Opportunistic,
    /// Plain text (`?tls=none`), for a relay on this machine.
    None,
}

/// Where to send, from `--smtp-url`.
#[derive(Clone)]
pub struct SmtpServer {
    pub host: String,
    pub port: u16,
    pub tls: SmtpTls,
    pub user: Option<String>,
    pub password: Option<Secret>,
}

impl std::fmt::Debug for SmtpServer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "SmtpServer({}:{}, {:?})", self.host, self.port, self.tls)
    }
}

impl SmtpServer {
    /// Parses `smtp[s]://[user[:password]@]host[:port][?tls=required|opportunistic|none]`.
    /// The URL and its password are registered as secrets first; errors never quote them.
    pub fn parse(value: &str) -> Result<SmtpServer, SetupError> {
        let value = value.trim();
        secret::register(value);
        let bad = |reason: String| SetupError::BadUrl {
            what: "--smtp-url",
            reason,
        };
        let url = url::Url::parse(value).map_err(|e| bad(e.to_string()))?;
        let password = url.password().map(|p| {
            let decoded = percent_encoding::percent_decode_str(p)
                .decode_utf8_lossy()
                .into_owned();
            secret::register(p);
            Secret::new(decoded)
        });
        let implicit = match url.scheme() {
            "smtps" => true,
            "smtp" => false,
            other => {
                return Err(bad(format!(
                    "the scheme must be smtp or smtps, not `{other}`"
                )))
            }
        };
        let host = match url.host() {
            Some(url::Host::Domain(d)) => d.to_string(),
            Some(url::Host::Ipv4(ip)) => ip.to_string(),
            Some(url::Host::Ipv6(ip)) => ip.to_string(),
            None => return Err(bad("it has no host".into())),
        };
        let mut tls = if implicit {
            SmtpTls::Wrapper
        } else {
            SmtpTls::Required
        };
        for (k, v) in url.query_pairs() {
            match (k.as_ref(), v.as_ref(), implicit) {
                ("tls", "required", false) => tls = SmtpTls::Required,
                ("tls", "opportunistic", false) => tls = SmtpTls::Opportunistic,
                ("tls", "none", false) => tls = SmtpTls::None,
                ("tls", _, true) => {
                    return Err(bad("smtps:// is always TLS; drop the tls= option".into()))
                }
                ("tls", other, false) => {
                    return Err(bad(format!(
                        "tls={other} is not one of required, opportunistic, none"
                    )))
                }
                (other, _, _) => return Err(bad(format!("unknown option `{other}`"))),
            }
        }
        let loopback = host == "localhost"
            || host
                .parse::<std::net::IpAddr>()
                .is_ok_and(|ip| ip.is_loopback());
        if tls == SmtpTls::None && password.is_some() && !loopback {
            return Err(SetupError::Cleartext { host });
        }
        let user = (!url.username().is_empty()).then(|| {
            percent_encoding::percent_decode_str(url.username())
                .decode_utf8_lossy()
                .into_owned()
        });
        Ok(SmtpServer {
            port: url.port().unwrap_or(if implicit { 465 } else { 587 }),
            host,
            tls,
            user,
            password,
        })
    }

    /// A blocking transport for one delivery attempt; `timeout` bounds each network step.
    pub fn transport(
        &self,
        timeout: Duration,
    ) -> Result<SmtpTransport, lettre::transport::smtp::Error> {
        let tls_params = || TlsParameters::new(self.host.clone());
        let builder = SmtpTransport::builder_dangerous(self.host.as_str())
            .port(self.port)
            .timeout(Some(timeout));
        let builder = match self.tls {
            SmtpTls::Wrapper => builder.tls(Tls::Wrapper(tls_params()?)),
            SmtpTls::Required => builder.tls(Tls::Required(tls_params()?)),
            SmtpTls::Opportunistic => builder.tls(Tls::Opportunistic(tls_params()?)),
            SmtpTls::None => builder.tls(Tls::None),
        };
        let builder = match (&self.user, &self.password) {
            (Some(u), Some(p)) => {
                builder.credentials(Credentials::new(u.clone(), p.expose().to_string()))
            }
            (Some(u), None) => builder.credentials(Credentials::new(u.clone(), String::new())),
            _ => builder,
        };
        Ok(builder.build())
    }
}

/// Everything `--notify email` needs.
#[derive(Debug, Clone)]
pub struct EmailSettings {
    pub server: SmtpServer,
    pub from: Mailbox,
    pub to: Vec<Mailbox>,
}

impl EmailSettings {
    pub fn new(server: SmtpServer, from: &str, to: &[String]) -> Result<EmailSettings, SetupError> {
        let mailbox = |what: &'static str, a: &str| {
            a.trim()
                .parse::<Mailbox>()
                .map_err(|e| SetupError::BadAddress {
                    what,
                    address: a.to_string(),
                    reason: e.to_string(),
                })
        };
        Ok(EmailSettings {
            server,
            from: mailbox("--email-from", from)?,
            to: to
                .iter()
                .filter(|a| !a.trim().is_empty())
                .map(|a| mailbox("--email-to", a))
                .collect::<Result<_, _>>()?,
        })
    }

    /// `ops@example.com via smtp.example.com:587`.
    pub fn shown(&self) -> String {
        let to: Vec<String> = self.to.iter().map(|m| m.email.to_string()).collect();
        format!(
            "{} via {}:{}",
            to.join(", "),
            self.server.host,
            self.server.port
        )
    }
}

/// Subject, plain text and HTML for `event`.
pub struct Rendered {
    pub subject: String,
    pub text: String,
    pub html: String,
}

pub fn render(event: &Event) -> Rendered {
    let subject: String = format!("[pgkeel] {}", event.headline())
        .chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .take(200)
        .collect();
    Rendered {
        subject,
        text: text(event),
        html: html(event),
    }
}

fn text(event: &Event) -> String {
    let mut t = String::new();
    let _ = writeln!(t, "{}", event.headline());
    if event.outcome == Outcome::Critical {
        let _ = writeln!(t, "CRITICAL: verify immediately.");
    }
    if let Some(s) = &event.summary {
        let _ = writeln!(t, "{s}");
    }
    t.push('\n');
    for f in event.all_facts() {
        let _ = writeln!(t, "{}: {}", f.label, f.value);
    }
    for l in event.lists.iter().filter(|l| !l.items.is_empty()) {
        let _ = writeln!(t, "\n{} ({}):", l.title, l.items.len());
        for item in l.items.iter().take(MAX_LIST_ITEMS) {
            let _ = writeln!(t, "  - {item}");
        }
        if l.items.len() > MAX_LIST_ITEMS {
            let _ = writeln!(t, "  … and {} more", l.items.len() - MAX_LIST_ITEMS);
        }
    }
    if let Some(f) = &event.failure {
        let _ = writeln!(t, "\nError (exit code {}):\n{}", f.exit_code, f.message);
        if let Some(h) = &f.hint {
            let _ = writeln!(t, "Hint: {h}");
        }
    }
    let run = run_line(event);
    if !run.is_empty() {
        let _ = writeln!(t, "\n{run}");
    }
    if let Some(u) = &event.run.url {
        let _ = writeln!(t, "Run: {u}");
    }
    t
}

fn run_line(event: &Event) -> String {
    let mut parts = Vec::new();
    if let Some(a) = &event.run.actor {
        parts.push(format!("By {a}"));
    }
    if let Some(b) = event.run.branch() {
        parts.push(format!("branch {b}"));
    }
    if let Some(s) = event.run.short_sha() {
        parts.push(format!("commit {s}"));
    }
    parts.join(" · ")
}

fn html(event: &Event) -> String {
    let e = html_escape;
    let color = match event.outcome {
        Outcome::Success => "#1a7f37",
        Outcome::Warning => "#9a6700",
        Outcome::Failure | Outcome::Critical => "#cf222e",
    };
    let mut h = String::from(
        "<!DOCTYPE html>\n<html><body style=\"font-family:-apple-system,Segoe UI,Helvetica,Arial,sans-serif;font-size:14px\">\n",
    );
    let _ = writeln!(
        h,
        "<h2 style=\"color:{color}\">{}</h2>",
        e(&event.headline())
    );
    if event.outcome == Outcome::Critical {
        let _ = writeln!(h, "<p><strong>CRITICAL: verify immediately.</strong></p>");
    }
    if let Some(s) = &event.summary {
        let _ = writeln!(h, "<p>{}</p>", e(s));
    }
    h.push_str("<table cellpadding=\"4\">\n");
    for f in event.all_facts() {
        let _ = writeln!(
            h,
            "<tr><th align=\"left\">{}</th><td>{}</td></tr>",
            e(&f.label),
            e(&f.value)
        );
    }
    h.push_str("</table>\n");
    for l in event.lists.iter().filter(|l| !l.items.is_empty()) {
        let _ = writeln!(h, "<h3>{} ({})</h3>\n<ul>", e(&l.title), l.items.len());
        for item in l.items.iter().take(MAX_LIST_ITEMS) {
            let _ = writeln!(h, "<li>{}</li>", e(item));
        }
        if l.items.len() > MAX_LIST_ITEMS {
            let _ = writeln!(h, "<li>… and {} more</li>", l.items.len() - MAX_LIST_ITEMS);
        }
        h.push_str("</ul>\n");
    }
    if let Some(f) = &event.failure {
        let _ = writeln!(
            h,
            "<h3>Error (exit code {})</h3>\n<pre>{}</pre>",
            f.exit_code,
            e(&f.message)
        );
        if let Some(hint) = &f.hint {
            let _ = writeln!(h, "<p><em>Hint:</em> {}</p>", e(hint));
        }
    }
    let run = run_line(event);
    if !run.is_empty() || event.run.url.is_some() {
        let _ = write!(h, "<p style=\"color:#57606a\">{}", e(&run));
        if let Some(u) = &event.run.url {
            let _ = write!(
                h,
                "{}<a href=\"{}\">View run</a>",
                if run.is_empty() { "" } else { " · " },
                e(u)
            );
        }
        h.push_str("</p>\n");
    }
    h.push_str("</body></html>\n");
    h
}

fn html_escape(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
        .replace('\'', "&#39;")
}

/// The message for `settings`, from an already-scrubbed rendering.
pub fn message(
    rendered: &Rendered,
    settings: &EmailSettings,
) -> Result<Message, lettre::error::Error> {
    let mut builder = Message::builder()
        .from(settings.from.clone())
        .subject(rendered.subject.clone());
    for to in &settings.to {
        builder = builder.to(to.clone());
    }
    builder.multipart(
        MultiPart::alternative()
            .singlepart(
                SinglePart::builder()
                    .header(ContentType::TEXT_PLAIN)
                    .body(rendered.text.clone()),
            )
            .singlepart(
                SinglePart::builder()
                    .header(ContentType::TEXT_HTML)
                    .body(rendered.html.clone()),
            ),
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::notify::event::{Fact, Failure, Kind, List, RunInfo};

    #[test]
    fn smtp_url_forms() {
        let s = SmtpServer::parse("smtps://bot%40acme.io:p%40ss-zzSmtpOnezz@mail.acme.io").unwrap();
        assert_eq!(
            (s.host.as_str(), s.port, s.tls),
            ("mail.acme.io", 465, SmtpTls::Wrapper)
        );
        assert_eq!(s.user.as_deref(), Some("bot@acme.io"));
        assert_eq!(
            s.password.as_ref().map(|p| p.expose()),
            Some("p@ss-zzSmtpOnezz")
        );
        assert!(!format!("{s:?}").contains("zzSmtpOnezz"));

        let s = SmtpServer::parse("smtp://mail.acme.io").unwrap();
        assert_eq!(
            (s.port, s.tls, s.user.is_none()),
            (587, SmtpTls::Required, true)
        );
        let s = SmtpServer::parse("smtp://u:zzSmtpTwozz@127.0.0.1:2525?tls=none").unwrap();
        assert_eq!((s.port, s.tls), (2525, SmtpTls::None));
        let s = SmtpServer::parse("smtp://relay:25?tls=opportunistic").unwrap();
        assert_eq!(s.tls, SmtpTls::Opportunistic);
    }

    #[test]
    fn smtp_url_errors_never_quote_the_password() {
        for bad in [
            "smtp://u:zzSmtpThreezz@mail.acme.io?tls=none",
            "http://u:zzSmtpThreezz@mail.acme.io",
            "smtp://u:zzSmtpThreezz@mail.acme.io?tls=maybe",
            "smtps://u:zzSmtpThreezz@mail.acme.io?tls=none",
            "smtp://u:zzSmtpThreezz@mail.acme.io?x=1",
            "u:zzSmtpThreezz@mail.acme.io",
        ] {
            let e = SmtpServer::parse(bad).unwrap_err();
            let text = format!("{e} {}", e.hint().unwrap_or_default());
            assert!(!text.contains("zzSmtpThreezz"), "{text}");
        }
        assert!(matches!(
            SmtpServer::parse("smtp://u:zzSmtpThreezz@mail.acme.io?tls=none"),
            Err(SetupError::Cleartext { .. })
        ));
    }

    #[test]
    fn addresses_are_validated() {
        let server = SmtpServer::parse("smtp://mail.acme.io").unwrap();
        let ok = EmailSettings::new(
            server.clone(),
            "pgkeel <bot@acme.io>",
            &["ops@acme.io".into(), "dba@acme.io".into()],
        )
        .unwrap();
        assert_eq!(ok.shown(), "ops@acme.io, dba@acme.io via mail.acme.io:587");
        let e = EmailSettings::new(server, "bot@acme.io", &["not an address".into()]).unwrap_err();
        assert!(
            e.to_string().starts_with("--email-to `not an address`"),
            "{e}"
        );
    }

    fn event() -> Event {
        let mut e = Event::new(Kind::Migrate, Outcome::Failure, "Migration failed");
        e.environment = Some("staging".into());
        e.facts.push(Fact::new("Applied", "1"));
        e.lists.push(List::new(
            "Applied migrations",
            (0..60).map(|i| format!("{i:04}_<b>")).collect(),
        ));
        e.failure = Some(Failure {
            message: "0002.sql:6: boom".into(),
            hint: Some("fix it".into()),
            exit_code: 4,
        });
        e.run = RunInfo {
            actor: Some("octocat".into()),
            url: Some("https://github.com/a/b/actions/runs/1?x=1&y=2".into()),
            ..RunInfo::default()
        };
        e
    }

    #[test]
    fn text_and_html_carry_the_same_facts() {
        let r = render(&event());
        assert_eq!(r.subject, "[pgkeel] ❌ Migration failed — staging");
        assert!(
            r.text.contains("Environment: staging\nApplied: 1\n"),
            "{}",
            r.text
        );
        assert!(
            r.text.contains("  - 0049_<b>\n  … and 10 more\n"),
            "{}",
            r.text
        );
        assert!(r
            .text
            .contains("Error (exit code 4):\n0002.sql:6: boom\nHint: fix it"));
        assert!(r
            .text
            .contains("Run: https://github.com/a/b/actions/runs/1?x=1&y=2"));
        assert!(r
            .html
            .contains("<tr><th align=\"left\">Environment</th><td>staging</td></tr>"));
        assert!(r.html.contains("<li>0000_&lt;b&gt;</li>"), "item escaped");
        assert!(!r.html.contains("<b>"), "no injected markup");
        assert!(r.html.contains("<pre>0002.sql:6: boom</pre>"));
        assert!(r.html.contains(
            "<a href=\"https://github.com/a/b/actions/runs/1?x=1&amp;y=2\">View run</a>"
        ));
    }

    #[test]
    fn message_is_multipart_alternative() {
        let server = SmtpServer::parse("smtp://mail.acme.io").unwrap();
        let s = EmailSettings::new(server, "bot@acme.io", &["ops@acme.io".into()]).unwrap();
        let m = message(&render(&event()), &s).unwrap();
        let raw = String::from_utf8(m.formatted()).unwrap();
        assert!(raw.contains("multipart/alternative"), "{raw}");
        assert!(
            raw.contains("text/plain") && raw.contains("text/html"),
            "{raw}"
        );
        assert!(raw.contains("To: ops@acme.io"), "{raw}");
    }

    #[test]
    fn subject_has_no_line_breaks() {
        let mut e = event();
        e.title = "a\r\nBcc: evil@x".into();
        assert!(!render(&e).subject.contains('\n'));
    }
}

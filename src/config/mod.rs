//! `pgkeel.yml`: team-wide settings committed next to the migrations. Found in the working
//! directory (or given with `--config`); flags beat environment variables, which beat the file,
//! which beats the defaults. Unknown keys are errors naming the key and its line, because a
//! misspelt safety setting that is silently ignored is worse than none.
//!
//! Only settings that something reads are accepted; later features add their own sections.

use std::path::{Path, PathBuf};

use serde::Deserialize;

/// File names looked for in the working directory, in order.
pub const FILE_NAMES: [&str; 2] = ["pgkeel.yml", "pgkeel.yaml"];

/// The file's contents. Every field is optional: absent means "no opinion".
#[derive(Debug, Default, Clone, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct FileConfig {
    /// Connection URL. Prefer the `PGKEEL_DATABASE_URL` secret: a password in a committed file
    /// is a leaked password.
    pub database_url: Option<String>,
    /// Schemas pgkeel works on (default: `public`).
    pub schemas: Option<Vec<String>>,
    #[serde(default)]
    pub sandbox: SandboxSection,
    #[serde(default)]
    pub migrations: MigrationsSection,
    #[serde(default)]
    pub drift: DriftSection,
    #[serde(default)]
    pub notify: NotifySection,
}

/// `drift:` — what `pgkeel drift` leaves out (each ignored item is still counted).
#[derive(Debug, Default, Clone, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct DriftSection {
    #[serde(default)]
    pub ignore: DriftIgnore,
}

#[derive(Debug, Default, Clone, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct DriftIgnore {
    /// Schemas.
    #[serde(default)]
    pub schemas: Vec<String>,
    /// `schema.name` patterns with `*` and `?`.
    #[serde(default)]
    pub objects: Vec<String>,
    /// grants, comments, ownership, column-order, unmodelled.
    #[serde(default)]
    pub kinds: Vec<String>,
}

/// `notify:` — who hears about finished operations. Webhook URLs and the SMTP URL are secrets
/// and have no key here: they come from SLACK_WEBHOOK_URL, PGKEEL_WEBHOOK_URL and
/// PGKEEL_SMTP_URL (or flags).
#[derive(Debug, Default, Clone, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct NotifySection {
    /// slack, webhook, email. A listed channel whose secret is not set is skipped (so local
    /// runs without the CI secrets still work); `--notify` makes it an error instead.
    pub channels: Option<Vec<String>>,
    /// always, failure or change (default: always).
    pub on: Option<String>,
    /// The environment name shown in notifications.
    pub environment: Option<String>,
    #[serde(default)]
    pub email: NotifyEmailSection,
}

/// `notify.email:` — recipients and sender (the server is PGKEEL_SMTP_URL).
#[derive(Debug, Default, Clone, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct NotifyEmailSection {
    pub to: Option<Vec<String>>,
    pub from: Option<String>,
}

/// `migrations:` — where the migrations are and which tool wrote them.
#[derive(Debug, Default, Clone, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct MigrationsSection {
    /// The migrations directory, relative to the file.
    pub dir: Option<PathBuf>,
    /// The tool: pgkeel, golang-migrate, prisma, drizzle, flyway, dbmate, goose, sqlx,
    /// supabase (detected when absent).
    pub tool: Option<String>,
}

/// `sandbox:` — the throwaway PostgreSQL pgkeel starts when it needs one.
#[derive(Debug, Default, Clone, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct SandboxSection {
    /// PostgreSQL major version; the newest installed by default. Match production's.
    pub pg_version: Option<u32>,
    /// TCP port; a free one by default.
    pub port: Option<u16>,
    /// Keep the sandbox's data in this directory (relative to the file) across restarts.
    pub data_dir: Option<PathBuf>,
}

/// A loaded file and where it came from.
#[derive(Debug, Clone, Default)]
pub struct Loaded {
    pub path: Option<PathBuf>,
    pub config: FileConfig,
}

impl Loaded {
    /// Resolves a path written in the file relative to the file's directory.
    pub fn resolve_path(&self, p: &Path) -> PathBuf {
        match self.path.as_ref().and_then(|f| f.parent()) {
            Some(dir) if p.is_relative() => dir.join(p),
            _ => p.to_path_buf(),
        }
    }
}

/// The configuration file could not be used.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("cannot read {}: {source}", path.display())]
    Read {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("{}{}: {message}", path.display(), location.map(|(l, c)| format!(":{l}:{c}")).unwrap_or_default())]
    Invalid {
        path: PathBuf,
        /// (line, column), 1-based.
        location: Option<(usize, usize)>,
        message: String,
    },
}

impl ConfigError {
    pub fn hint(&self) -> Option<String> {
        match self {
            ConfigError::Read { .. } => None,
            ConfigError::Invalid { .. } => {
                Some("see examples/pgkeel.yml for every accepted key and its meaning".to_string())
            }
        }
    }
}

/// Loads `explicit`, or the first of [`FILE_NAMES`] in `cwd`; no file is not an error.
pub fn load(explicit: Option<&Path>, cwd: &Path) -> Result<Loaded, ConfigError> {
    let path = match explicit {
        Some(p) => p.to_path_buf(),
        None => match FILE_NAMES.iter().map(|n| cwd.join(n)).find(|p| p.is_file()) {
            Some(p) => p,
            None => return Ok(Loaded::default()),
        },
    };
    let text = std::fs::read_to_string(&path).map_err(|source| ConfigError::Read {
        path: path.clone(),
        source,
    })?;
    let config = parse(&text).map_err(|(location, message)| ConfigError::Invalid {
        path: path.clone(),
        location,
        message,
    })?;
    Ok(Loaded {
        path: Some(path),
        config,
    })
}

type ParseFailure = (Option<(usize, usize)>, String);

/// Parses the file's text; errors carry a 1-based (line, column).
pub fn parse(text: &str) -> Result<FileConfig, ParseFailure> {
    if text.trim().is_empty() {
        return Ok(FileConfig::default());
    }
    serde_yaml::from_str(text).map_err(|e| {
        let location = e.location().map(|l| (l.line(), l.column()));
        let message = e.to_string();
        // serde_yaml appends " at line N column M"; we print the location ourselves.
        let message = match message.find(" at line ") {
            Some(i) => message[..i].to_string(),
            None => message,
        };
        (location, message.replace("unknown field", "unknown key"))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_every_key() {
        let c = parse(
            "database_url: postgres://h/db\nschemas: [public, app]\nsandbox:\n  pg_version: 16\n  port: 6000\n  data_dir: .pgdata\n",
        )
        .unwrap();
        assert_eq!(c.database_url.as_deref(), Some("postgres://h/db"));
        assert_eq!(c.schemas, Some(vec!["public".into(), "app".into()]));
        assert_eq!(c.sandbox.pg_version, Some(16));
        assert_eq!(c.sandbox.port, Some(6000));
    }

    #[test]
    fn parses_the_notify_section_and_refuses_secrets_in_it() {
        let c = parse(
            "notify:\n  channels: [slack, email]\n  on: change\n  environment: production\n  email:\n    to: [ops@acme.io]\n    from: pgkeel@acme.io\n",
        )
        .unwrap();
        assert_eq!(
            c.notify.channels,
            Some(vec!["slack".into(), "email".into()])
        );
        assert_eq!(c.notify.on.as_deref(), Some("change"));
        assert_eq!(c.notify.environment.as_deref(), Some("production"));
        assert_eq!(c.notify.email.to, Some(vec!["ops@acme.io".into()]));
        let (loc, msg) =
            parse("notify:\n  slack_webhook_url: https://hooks.slack.com/x\n").unwrap_err();
        assert_eq!(loc.map(|l| l.0), Some(2), "{msg}");
        assert!(msg.contains("unknown key `slack_webhook_url`"), "{msg}");
    }

    #[test]
    fn unknown_key_names_key_and_line() {
        let (loc, msg) = parse("schemas: [public]\nsandbox:\n  pg_verison: 16\n").unwrap_err();
        assert_eq!(loc.map(|l| l.0), Some(3), "{msg}");
        assert!(msg.contains("unknown key `pg_verison`"), "{msg}");
        assert!(msg.contains("pg_version"), "expected keys listed: {msg}");
    }

    #[test]
    fn wrong_type_is_located() {
        let (loc, msg) = parse("sandbox:\n  port: lots\n").unwrap_err();
        assert_eq!(loc.map(|l| l.0), Some(2), "{msg}");
    }

    #[test]
    fn empty_file_is_fine() {
        assert_eq!(parse("\n# nothing\n").unwrap(), FileConfig::default());
    }
}

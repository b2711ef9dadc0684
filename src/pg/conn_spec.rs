//! Where and how to connect: a connection URL (or libpq `key=value` string) merged with the
//! libpq environment variables, resolved into one [`ConnSpec`] whose `Display` never shows the
//! password.
//!
//! Hand-written rather than delegated to `tokio_postgres::Config::from_str` because that parser
//! rejects the TLS modes people actually use with managed databases (`verify-ca`, `verify-full`,
//! `sslrootcert`), knows nothing of the `PG*` environment, and would echo unredacted input in its
//! errors.

use std::fmt;
use std::path::{Path, PathBuf};
use std::time::Duration;

use percent_encoding::{percent_decode_str, utf8_percent_encode, AsciiSet, CONTROLS};

use crate::secret::{Secret, MASK};

/// Default connect timeout. libpq waits forever; a CI job should not.
pub const DEFAULT_CONNECT_TIMEOUT: Duration = Duration::from_secs(10);
/// Sent as `application_name` unless the user says otherwise, so DBAs can see who is connected.
pub const DEFAULT_APPLICATION_NAME: &str = "pgkeel";

/// One server address.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Host {
    Tcp(String),
    /// A directory holding the server's `.s.PGSQL.<port>` socket.
    Unix(PathBuf),
}

impl fmt::Display for Host {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Host::Tcp(h) if h.contains(':') => write!(f, "[{h}]"),
            Host::Tcp(h) => f.write_str(h),
            Host::Unix(p) => write!(f, "{}", p.display()),
        }
    }
}

/// libpq's `sslmode`, with the same meaning.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum SslMode {
    Disable,
    Allow,
    Prefer,
    Require,
    VerifyCa,
    VerifyFull,
}

impl SslMode {
    fn parse(value: &str) -> Result<Self, String> {
        Ok(match value {
            "disable" => SslMode::Disable,
            "allow" => SslMode::Allow,
            "prefer" => SslMode::Prefer,
            "require" => SslMode::Require,
            "verify-ca" => SslMode::VerifyCa,
            "verify-full" => SslMode::VerifyFull,
            other => {
                return Err(format!(
                    "unknown sslmode `{other}` (expected disable, allow, prefer, require, verify-ca or verify-full)"
                ))
            }
        })
    }

    pub fn as_str(self) -> &'static str {
        match self {
            SslMode::Disable => "disable",
            SslMode::Allow => "allow",
            SslMode::Prefer => "prefer",
            SslMode::Require => "require",
            SslMode::VerifyCa => "verify-ca",
            SslMode::VerifyFull => "verify-full",
        }
    }

    /// Whether the server certificate chain is checked against trusted roots.
    pub fn verifies_chain(self) -> bool {
        matches!(self, SslMode::VerifyCa | SslMode::VerifyFull)
    }
}

/// Where trusted root certificates come from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RootCert {
    File(PathBuf),
    /// `sslrootcert=system`: the operating system's store.
    System,
}

/// A fully resolved connection target.
#[derive(Clone)]
pub struct ConnSpec {
    pub hosts: Vec<Host>,
    /// One port for every host, or one per host.
    pub ports: Vec<u16>,
    pub user: String,
    pub password: Option<Secret>,
    pub dbname: String,
    pub sslmode: SslMode,
    pub sslrootcert: Option<RootCert>,
    pub connect_timeout: Duration,
    pub application_name: String,
    /// `options` / `PGOPTIONS`: server settings sent at connection start.
    pub options: Option<String>,
}

/// A connection string that cannot be used. Carries only redacted text.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid connection string `{input}`: {reason}")]
pub struct ConnSpecError {
    /// The input, with any password masked.
    pub input: String,
    pub reason: String,
}

impl ConnSpecError {
    pub fn hint(&self) -> &'static str {
        "use postgres://user:password@host:5432/dbname?sslmode=require (percent-encode special characters in the password)"
    }
}

/// The parts a connection string may set; unset parts fall back to the environment, then defaults.
#[derive(Default, Debug)]
struct Parts {
    hosts: Option<Vec<Host>>,
    ports: Option<Vec<u16>>,
    user: Option<String>,
    password: Option<String>,
    dbname: Option<String>,
    sslmode: Option<SslMode>,
    sslrootcert: Option<String>,
    connect_timeout: Option<Duration>,
    application_name: Option<String>,
    options: Option<String>,
}

impl ConnSpec {
    /// Resolves a connection string (URL or `key=value` list; `None` = environment only) the way
    /// libpq does: values in the string win, then `PG*` variables read through `env`, then defaults.
    pub fn resolve(
        input: Option<&str>,
        env: &dyn Fn(&str) -> Option<String>,
    ) -> Result<ConnSpec, ConnSpecError> {
        let mut parts = match input.map(str::trim) {
            None | Some("") => Parts::default(),
            Some(s) => parse(s).map_err(|reason| ConnSpecError {
                input: redact_conn_str(s),
                reason,
            })?,
        };
        if let Some(pw) = &parts.password {
            crate::secret::register(pw);
        }
        let env_err = |var: &str, reason: String| ConnSpecError {
            input: format!("${var}"),
            reason,
        };
        let nonempty = |var: &str| env(var).filter(|v| !v.is_empty());

        if parts.hosts.is_none() {
            if let Some(h) = nonempty("PGHOST") {
                parts.hosts = Some(parse_host_list(&h).map_err(|r| env_err("PGHOST", r))?);
            }
        }
        if parts.ports.is_none() {
            if let Some(p) = nonempty("PGPORT") {
                parts.ports = Some(parse_port_list(&p).map_err(|r| env_err("PGPORT", r))?);
            }
        }
        if parts.user.is_none() {
            parts.user = nonempty("PGUSER");
        }
        if parts.password.is_none() {
            parts.password = nonempty("PGPASSWORD");
        }
        if parts.dbname.is_none() {
            parts.dbname = nonempty("PGDATABASE");
        }
        if parts.sslmode.is_none() {
            if let Some(m) = nonempty("PGSSLMODE") {
                parts.sslmode = Some(SslMode::parse(&m).map_err(|r| env_err("PGSSLMODE", r))?);
            }
        }
        if parts.sslrootcert.is_none() {
            parts.sslrootcert = nonempty("PGSSLROOTCERT");
        }
        if parts.connect_timeout.is_none() {
            if let Some(t) = nonempty("PGCONNECT_TIMEOUT") {
                parts.connect_timeout =
                    Some(parse_timeout(&t).map_err(|r| env_err("PGCONNECT_TIMEOUT", r))?);
            }
        }
        if parts.application_name.is_none() {
            parts.application_name = nonempty("PGAPPNAME");
        }
        if parts.options.is_none() {
            parts.options = nonempty("PGOPTIONS");
        }

        let ports = parts.ports.unwrap_or_else(|| vec![5432]);
        let hosts = match parts.hosts {
            Some(h) if !h.is_empty() => h,
            _ => vec![default_host(ports[0])],
        };
        if ports.len() != 1 && ports.len() != hosts.len() {
            return Err(ConnSpecError {
                input: input.map(redact_conn_str).unwrap_or_default(),
                reason: format!(
                    "{} hosts but {} ports: give one port, or one per host",
                    hosts.len(),
                    ports.len()
                ),
            });
        }
        let user = parts.user.unwrap_or_else(os_user_name);
        let dbname = parts.dbname.unwrap_or_else(|| user.clone());
        let sslrootcert = parts.sslrootcert.map(|s| {
            if s == "system" {
                RootCert::System
            } else {
                RootCert::File(PathBuf::from(s))
            }
        });
        // libpq: sslrootcert=system defaults to verify-full; a root cert upgrades `require` to
        // verify-ca.
        let sslmode = match (parts.sslmode, &sslrootcert) {
            (None, Some(RootCert::System)) => SslMode::VerifyFull,
            (Some(SslMode::Require), Some(_)) => SslMode::VerifyCa,
            (Some(m), _) => m,
            (None, _) => SslMode::Prefer,
        };
        Ok(ConnSpec {
            hosts,
            ports,
            user,
            password: parts.password.map(Secret::new),
            dbname,
            sslmode,
            sslrootcert,
            connect_timeout: parts.connect_timeout.unwrap_or(DEFAULT_CONNECT_TIMEOUT),
            application_name: parts
                .application_name
                .unwrap_or_else(|| DEFAULT_APPLICATION_NAME.to_string()),
            options: parts.options,
        })
    }

    /// Resolves with the process environment.
    pub fn from_env(input: Option<&str>) -> Result<ConnSpec, ConnSpecError> {
        ConnSpec::resolve(input, &|k| std::env::var(k).ok())
    }

    /// The port used for the `i`-th host.
    pub fn port_for(&self, i: usize) -> u16 {
        *self.ports.get(i).unwrap_or(&self.ports[0])
    }

    /// `host:port` of the first host, for messages.
    pub fn endpoint(&self) -> String {
        match &self.hosts[0] {
            Host::Unix(dir) => format!("{}/.s.PGSQL.{}", dir.display(), self.port_for(0)),
            h => format!("{h}:{}", self.port_for(0)),
        }
    }

    /// The same target with another database name (scratch databases, maintenance connections).
    pub fn with_dbname(&self, dbname: &str) -> ConnSpec {
        let mut spec = self.clone();
        spec.dbname = dbname.to_string();
        spec
    }

    /// The full URL, password included: only for handing to a child process's environment.
    pub fn to_url_with_password(&self) -> String {
        self.render(true)
    }

    fn render(&self, with_password: bool) -> String {
        let mut out = String::from("postgres://");
        out.push_str(&enc(&self.user));
        if let Some(pw) = &self.password {
            out.push(':');
            if with_password {
                out.push_str(&enc(pw.expose()));
            } else {
                out.push_str(MASK);
            }
        }
        out.push('@');
        let mut query: Vec<(String, String)> = Vec::new();
        let tcp: Vec<String> = self
            .hosts
            .iter()
            .enumerate()
            .filter_map(|(i, h)| match h {
                Host::Tcp(_) => Some(format!("{h}:{}", self.port_for(i))),
                Host::Unix(p) => {
                    query.push(("host".into(), p.display().to_string()));
                    None
                }
            })
            .collect();
        out.push_str(&tcp.join(","));
        out.push('/');
        out.push_str(&enc(&self.dbname));
        if tcp.is_empty() {
            query.push(("port".into(), self.port_for(0).to_string()));
        }
        if self.sslmode != SslMode::Prefer {
            query.push(("sslmode".into(), self.sslmode.as_str().into()));
        }
        match &self.sslrootcert {
            Some(RootCert::System) => query.push(("sslrootcert".into(), "system".into())),
            Some(RootCert::File(p)) => query.push(("sslrootcert".into(), p.display().to_string())),
            None => {}
        }
        if self.connect_timeout != DEFAULT_CONNECT_TIMEOUT {
            query.push((
                "connect_timeout".into(),
                self.connect_timeout.as_secs().to_string(),
            ));
        }
        if self.application_name != DEFAULT_APPLICATION_NAME {
            query.push(("application_name".into(), self.application_name.clone()));
        }
        if let Some(o) = &self.options {
            query.push(("options".into(), o.clone()));
        }
        for (i, (k, v)) in query.iter().enumerate() {
            out.push(if i == 0 { '?' } else { '&' });
            out.push_str(k);
            out.push('=');
            out.push_str(&enc(v));
        }
        out
    }
}

/// Redacted: the password is shown as `***`.
impl fmt::Display for ConnSpec {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.render(false))
    }
}

impl fmt::Debug for ConnSpec {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "ConnSpec({self})")
    }
}

/// Characters escaped when rendering URL components (everything that has URL syntax meaning).
const COMPONENT: &AsciiSet = &CONTROLS
    .add(b' ')
    .add(b'"')
    .add(b'#')
    .add(b'%')
    .add(b'&')
    .add(b'/')
    .add(b':')
    .add(b';')
    .add(b'<')
    .add(b'=')
    .add(b'>')
    .add(b'?')
    .add(b'@')
    .add(b'[')
    .add(b'\\')
    .add(b']')
    .add(b'^')
    .add(b'`')
    .add(b'{')
    .add(b'|')
    .add(b'}')
    .add(b',')
    .add(b'+')
    .add(b'\'');

fn enc(s: &str) -> String {
    utf8_percent_encode(s, COMPONENT).to_string()
}

fn dec(s: &str) -> Result<String, String> {
    percent_decode_str(s)
        .decode_utf8()
        .map(|c| c.into_owned())
        .map_err(|_| "percent-encoded text is not valid UTF-8".to_string())
}

fn parse(input: &str) -> Result<Parts, String> {
    let lower = input.get(..13).unwrap_or(input).to_ascii_lowercase();
    if let Some(rest) = lower
        .strip_prefix("postgresql://")
        .map(|_| &input[13..])
        .or_else(|| lower.strip_prefix("postgres://").map(|_| &input[11..]))
    {
        parse_url(rest)
    } else if input.contains("://") {
        Err("the URL scheme must be postgres:// or postgresql://".into())
    } else if input.contains('=') {
        parse_key_values(input)
    } else {
        Err("expected a postgres:// URL or a libpq key=value string".into())
    }
}

fn parse_url(rest: &str) -> Result<Parts, String> {
    let mut parts = Parts::default();
    let (before_query, query) = match rest.split_once('?') {
        Some((b, q)) => (b, Some(q)),
        None => (rest, None),
    };
    let (authority, path) = match before_query.split_once('/') {
        Some((a, p)) => (a, Some(p)),
        None => (before_query, None),
    };
    let hostlist = match authority.rsplit_once('@') {
        Some((userinfo, hosts)) => {
            let (user, password) = match userinfo.split_once(':') {
                Some((u, p)) => (u, Some(p)),
                None => (userinfo, None),
            };
            if !user.is_empty() {
                parts.user = Some(dec(user)?);
            }
            if let Some(p) = password {
                parts.password = Some(dec(p)?);
            }
            hosts
        }
        None => authority,
    };
    if !hostlist.is_empty() {
        let mut hosts = Vec::new();
        let mut ports = Vec::new();
        for item in hostlist.split(',') {
            let (host, port) = split_host_port(item)?;
            hosts.push(host);
            ports.push(port);
        }
        if ports.iter().any(Option::is_some) {
            parts.ports = Some(ports.into_iter().map(|p| p.unwrap_or(5432)).collect());
        }
        if hosts.iter().any(Option::is_some) {
            parts.hosts = Some(
                hosts
                    .into_iter()
                    .map(|h| h.unwrap_or_else(|| Host::Tcp("localhost".into())))
                    .collect(),
            );
        }
    }
    if let Some(p) = path.filter(|p| !p.is_empty()) {
        parts.dbname = Some(dec(p)?);
    }
    if let Some(q) = query {
        for pair in q.split('&').filter(|p| !p.is_empty()) {
            let (k, v) = pair.split_once('=').ok_or_else(|| {
                format!(
                    "query parameter `{}` has no value",
                    dec(pair).unwrap_or_default()
                )
            })?;
            set_param(&mut parts, &dec(k)?, dec(v)?)?;
        }
    }
    Ok(parts)
}

fn split_host_port(item: &str) -> Result<(Option<Host>, Option<u16>), String> {
    let (host, port) = if let Some(rest) = item.strip_prefix('[') {
        let (h, after) = rest
            .split_once(']')
            .ok_or("unterminated `[` in an IPv6 host")?;
        let port = match after.strip_prefix(':') {
            Some(p) => Some(p),
            None if after.is_empty() => None,
            None => return Err(format!("unexpected `{after}` after IPv6 host")),
        };
        (h.to_string(), port)
    } else {
        match item.rsplit_once(':') {
            Some((h, p)) => (dec(h)?, Some(p)),
            None => (dec(item)?, None),
        }
    };
    let port = match port {
        Some(p) if !p.is_empty() => Some(parse_port(p)?),
        _ => None,
    };
    let host = if host.is_empty() {
        None
    } else if host.starts_with('/') {
        Some(Host::Unix(PathBuf::from(host)))
    } else {
        Some(Host::Tcp(host))
    };
    Ok((host, port))
}

fn parse_port(p: &str) -> Result<u16, String> {
    match p.parse::<u16>() {
        Ok(n) if n > 0 => Ok(n),
        _ => Err(format!("invalid port `{p}` (expected 1-65535)")),
    }
}

fn parse_port_list(s: &str) -> Result<Vec<u16>, String> {
    s.split(',').map(|p| parse_port(p.trim())).collect()
}

fn parse_host_list(s: &str) -> Result<Vec<Host>, String> {
    Ok(s.split(',')
        .map(str::trim)
        .filter(|h| !h.is_empty())
        .map(|h| {
            if h.starts_with('/') {
                Host::Unix(PathBuf::from(h))
            } else {
                Host::Tcp(h.trim_start_matches('[').trim_end_matches(']').to_string())
            }
        })
        .collect())
}

fn parse_timeout(s: &str) -> Result<Duration, String> {
    match s.trim().parse::<u64>() {
        Ok(n) if n > 0 => Ok(Duration::from_secs(n)),
        // libpq treats 0 as "wait forever"; we cap it instead of hanging a CI job.
        Ok(_) => Ok(Duration::from_secs(24 * 3600)),
        Err(_) => Err(format!(
            "invalid connect_timeout `{s}` (expected whole seconds)"
        )),
    }
}

fn set_param(parts: &mut Parts, key: &str, value: String) -> Result<(), String> {
    match key {
        "host" | "hostaddr" => parts.hosts = Some(parse_host_list(&value)?),
        "port" => parts.ports = Some(parse_port_list(&value)?),
        "user" => parts.user = Some(value),
        "password" => parts.password = Some(value),
        "dbname" => parts.dbname = Some(value),
        "sslmode" => parts.sslmode = Some(SslMode::parse(&value)?),
        "sslrootcert" => parts.sslrootcert = Some(value),
        "connect_timeout" => parts.connect_timeout = Some(parse_timeout(&value)?),
        "application_name" => parts.application_name = Some(value),
        "options" => parts.options = Some(value),
        other => {
            return Err(format!(
                "unsupported parameter `{other}` (supported: host, port, user, password, dbname, sslmode, sslrootcert, connect_timeout, application_name, options)"
            ))
        }
    }
    Ok(())
}

/// libpq `key=value key='quoted value'` strings.
fn parse_key_values(input: &str) -> Result<Parts, String> {
    let mut parts = Parts::default();
    let mut chars = input.chars().peekable();
    loop {
        while chars.peek().is_some_and(|c| c.is_whitespace()) {
            chars.next();
        }
        if chars.peek().is_none() {
            break;
        }
        let mut key = String::new();
        while let Some(&c) = chars.peek() {
            if c == '=' || c.is_whitespace() {
                break;
            }
            key.push(c);
            chars.next();
        }
        while chars.peek().is_some_and(|c| c.is_whitespace()) {
            chars.next();
        }
        if chars.next() != Some('=') {
            return Err(format!("expected `=` after `{key}`"));
        }
        while chars.peek().is_some_and(|c| c.is_whitespace()) {
            chars.next();
        }
        let mut value = String::new();
        if chars.peek() == Some(&'\'') {
            chars.next();
            loop {
                match chars.next() {
                    Some('\\') => value.push(chars.next().ok_or("unterminated quoted value")?),
                    Some('\'') => break,
                    Some(c) => value.push(c),
                    None => return Err("unterminated quoted value".into()),
                }
            }
        } else {
            while let Some(&c) = chars.peek() {
                if c.is_whitespace() {
                    break;
                }
                if c == '\\' {
                    chars.next();
                    value.push(chars.next().ok_or("dangling backslash")?);
                    continue;
                }
                value.push(c);
                chars.next();
            }
        }
        set_param(&mut parts, &key, value)?;
    }
    Ok(parts)
}

fn default_host(port: u16) -> Host {
    for dir in ["/var/run/postgresql", "/run/postgresql", "/tmp"] {
        if Path::new(dir).join(format!(".s.PGSQL.{port}")).exists() {
            return Host::Unix(PathBuf::from(dir));
        }
    }
    Host::Tcp("localhost".into())
}

fn os_user_name() -> String {
    // SAFETY: getpwuid returns a pointer into static storage or null; we copy out immediately
    // and never call it concurrently from this crate.
    unsafe {
        let pw = libc::getpwuid(libc::geteuid());
        if !pw.is_null() && !(*pw).pw_name.is_null() {
            if let Ok(name) = std::ffi::CStr::from_ptr((*pw).pw_name).to_str() {
                return name.to_string();
            }
        }
    }
    std::env::var("USER").unwrap_or_else(|_| "postgres".into())
}

/// Masks the password in a connection string we could not (or did not) parse, for messages.
/// Handles `scheme://user:pass@`, `password=` in URL queries and in `key=value` strings.
pub fn redact_conn_str(input: &str) -> String {
    let mut out = input.to_string();
    if let Some(scheme_end) = out.find("://") {
        let auth_start = scheme_end + 3;
        let auth_end = out[auth_start..]
            .find(['/', '?'])
            .map_or(out.len(), |i| auth_start + i);
        if let Some(at) = out[auth_start..auth_end].rfind('@') {
            let userinfo = &out[auth_start..auth_start + at];
            if let Some(colon) = userinfo.find(':') {
                let start = auth_start + colon + 1;
                let end = auth_start + at;
                out.replace_range(start..end, MASK);
            }
        }
    }
    // password=value, in a query string (&-separated) or a key=value list (space-separated,
    // possibly quoted).
    let mut result = String::with_capacity(out.len());
    let mut rest = out.as_str();
    while let Some(i) = rest.find("password") {
        let (head, tail) = rest.split_at(i);
        result.push_str(head);
        let after_key = &tail["password".len()..];
        let trimmed = after_key.trim_start();
        if let Some(value_part) = trimmed.strip_prefix('=') {
            let ws = after_key.len() - trimmed.len();
            result.push_str("password");
            result.push_str(&after_key[..ws]);
            result.push('=');
            let value = value_part.trim_start();
            result.push_str(&value_part[..value_part.len() - value.len()]);
            let end = if let Some(quoted) = value.strip_prefix('\'') {
                let mut escaped = false;
                let close = quoted.char_indices().find_map(|(i, c)| {
                    if escaped {
                        escaped = false;
                    } else if c == '\\' {
                        escaped = true;
                    } else if c == '\'' {
                        return Some(i + 1);
                    }
                    None
                });
                1 + close.unwrap_or(quoted.len())
            } else {
                value
                    .find(|c: char| c == '&' || c.is_whitespace())
                    .unwrap_or(value.len())
            };
            result.push_str(MASK);
            rest = &value[end..];
        } else {
            result.push_str("password");
            rest = after_key;
        }
    }
    result.push_str(rest);
    result
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    fn resolve(input: &str, env: &[(&str, &str)]) -> Result<ConnSpec, ConnSpecError> {
        let env: HashMap<String, String> = env
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        ConnSpec::resolve(Some(input), &|k| env.get(k).cloned())
    }

    #[test]
    fn parses_full_url() {
        let s = resolve(
            "postgres://alice:s3cr%40t@db.example.com:6543/app?sslmode=verify-full&application_name=ci",
            &[],
        )
        .unwrap();
        assert_eq!(s.hosts, vec![Host::Tcp("db.example.com".into())]);
        assert_eq!(s.ports, vec![6543]);
        assert_eq!(s.user, "alice");
        assert_eq!(s.password.as_ref().unwrap().expose(), "s3cr@t");
        assert_eq!(s.dbname, "app");
        assert_eq!(s.sslmode, SslMode::VerifyFull);
        assert_eq!(s.application_name, "ci");
    }

    #[test]
    fn display_never_shows_password() {
        let s = resolve("postgresql://bob:topsecretpw@h/db", &[]).unwrap();
        let shown = s.to_string();
        assert!(!shown.contains("topsecretpw"), "{shown}");
        assert_eq!(shown, "postgres://bob:***@h:5432/db");
        assert!(!format!("{s:?}").contains("topsecretpw"));
        assert!(s.to_url_with_password().contains("topsecretpw"));
    }

    #[test]
    fn url_round_trips_through_render() {
        let s = resolve(
            "postgres://us%20er:p%3Aw%2Fd@[::1]:5,h2:6/my%2Fdb?sslmode=require&host=/tmp/x&port=7",
            &[],
        );
        // host= and port= in the query override the authority part, as in libpq.
        let s = s.unwrap();
        assert_eq!(s.hosts, vec![Host::Unix("/tmp/x".into())]);
        assert_eq!(s.ports, vec![7]);
        let again = resolve(&s.to_url_with_password(), &[]).unwrap();
        assert_eq!(again.to_url_with_password(), s.to_url_with_password());
        assert_eq!(again.password.unwrap().expose(), "p:w/d");
        assert_eq!(again.dbname, "my/db");
        assert_eq!(again.user, "us er");
    }

    #[test]
    fn ipv6_and_multiple_hosts() {
        let s = resolve("postgres://u@[::1]:5433,example.org:5434/db", &[]).unwrap();
        assert_eq!(
            s.hosts,
            vec![Host::Tcp("::1".into()), Host::Tcp("example.org".into())]
        );
        assert_eq!(s.ports, vec![5433, 5434]);
        assert_eq!(s.to_string(), "postgres://u@[::1]:5433,example.org:5434/db");
    }

    #[test]
    fn unix_socket_in_host_part() {
        let s = resolve("postgres://u@%2Fvar%2Frun%2Fpostgresql/db", &[]).unwrap();
        assert_eq!(s.hosts, vec![Host::Unix("/var/run/postgresql".into())]);
    }

    #[test]
    fn environment_fills_what_the_url_leaves_out() {
        let s = resolve(
            "postgres:///appdb",
            &[
                ("PGHOST", "pg.internal"),
                ("PGPORT", "7777"),
                ("PGUSER", "ci"),
                ("PGPASSWORD", "from-env-pw"),
                ("PGSSLMODE", "require"),
                ("PGCONNECT_TIMEOUT", "3"),
                ("PGAPPNAME", "nightly"),
                ("PGDATABASE", "ignored"),
            ],
        )
        .unwrap();
        assert_eq!(s.hosts, vec![Host::Tcp("pg.internal".into())]);
        assert_eq!(s.ports, vec![7777]);
        assert_eq!(s.user, "ci");
        assert_eq!(s.password.unwrap().expose(), "from-env-pw");
        assert_eq!(s.dbname, "appdb");
        assert_eq!(s.sslmode, SslMode::Require);
        assert_eq!(s.connect_timeout, Duration::from_secs(3));
        assert_eq!(s.application_name, "nightly");
    }

    #[test]
    fn url_values_beat_environment() {
        let s = resolve("postgres://a@h1:1/d", &[("PGHOST", "h2"), ("PGUSER", "b")]).unwrap();
        assert_eq!(s.hosts, vec![Host::Tcp("h1".into())]);
        assert_eq!(s.user, "a");
    }

    #[test]
    fn key_value_strings() {
        let s = resolve(
            "host=localhost port=5433 user=x password='it''s \\'quoted\\'' dbname = d sslmode=disable",
            &[],
        );
        // '' is not an escape in libpq key=value strings; backslash is.
        assert!(s.is_err());
        let s = resolve(
            "host=localhost port=5433 user=x password='a \\'b\\' c' dbname = d sslmode=disable",
            &[],
        )
        .unwrap();
        assert_eq!(s.password.unwrap().expose(), "a 'b' c");
        assert_eq!(s.dbname, "d");
        assert_eq!(s.sslmode, SslMode::Disable);
    }

    #[test]
    fn rootcert_upgrades_require_and_system_defaults_to_verify_full() {
        let s = resolve("postgres://h/d?sslmode=require&sslrootcert=/ca.pem", &[]).unwrap();
        assert_eq!(s.sslmode, SslMode::VerifyCa);
        let s = resolve("postgres://h/d?sslrootcert=system", &[]).unwrap();
        assert_eq!(s.sslmode, SslMode::VerifyFull);
        assert_eq!(s.sslrootcert, Some(RootCert::System));
    }

    #[test]
    fn bad_input_errors_are_redacted_and_specific() {
        for (input, needle) in [
            ("postgres://u:hideme123@h:99999/d", "invalid port"),
            ("mysql://u:hideme123@h/d", "scheme"),
            (
                "postgres://u:hideme123@h/d?sslmode=maybe",
                "unknown sslmode",
            ),
            (
                "postgres://u:hideme123@h/d?frobnicate=1",
                "unsupported parameter `frobnicate`",
            ),
            ("host=h password=hideme123 port=x", "invalid port"),
            ("just some words", "expected a postgres:// URL"),
        ] {
            let err = resolve(input, &[]).unwrap_err();
            let msg = err.to_string();
            assert!(msg.contains(needle), "{input}: {msg}");
            assert!(!msg.contains("hideme123"), "{input}: {msg}");
        }
    }

    #[test]
    fn redact_handles_every_form() {
        assert_eq!(
            redact_conn_str("postgres://u:p@ss@h/d"),
            "postgres://u:***@h/d"
        );
        assert_eq!(
            redact_conn_str("postgres://h/d?user=u&password=xyz&sslmode=require"),
            "postgres://h/d?user=u&password=***&sslmode=require"
        );
        assert_eq!(
            redact_conn_str("host=h password = 'a b\\' c' user=u"),
            "host=h password = *** user=u"
        );
        assert_eq!(redact_conn_str("postgres://u@h/d"), "postgres://u@h/d");
    }
}

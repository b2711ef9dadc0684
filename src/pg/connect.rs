//! Opening a connection: a [`ConnSpec`] becomes a live [`Client`], and every way that can fail
//! becomes a [`ConnectError`] that says what went wrong and what to do, without the password.

use std::time::{Duration, Instant};

use tokio_postgres::error::SqlState;

use super::conn_spec::{ConnSpec, Host, SslMode};
use super::db_error::DbError;
use super::tls::{self, TlsConfigError};

/// A live connection. The connection task is driven in the background and ends when the
/// client is dropped.
pub struct Client {
    inner: tokio_postgres::Client,
    spec: ConnSpec,
    connect_time: Duration,
}

impl Client {
    /// The underlying client, for the modules that run queries.
    pub fn pg(&self) -> &tokio_postgres::Client {
        &self.inner
    }

    pub fn spec(&self) -> &ConnSpec {
        &self.spec
    }

    /// Time from the first packet to an authenticated session.
    pub fn connect_time(&self) -> Duration {
        self.connect_time
    }

    /// `server_version_num`, e.g. 150018.
    pub async fn server_version_num(&self) -> Result<u32, DbError> {
        let row = self
            .inner
            .query_one("SELECT current_setting('server_version_num')::int4", &[])
            .await?;
        Ok(row.get::<_, i32>(0) as u32)
    }
}

/// Why a connection could not be made. All of these map to exit code 3.
#[derive(Debug, thiserror::Error)]
pub enum ConnectError {
    #[error("cannot connect to {endpoint}: {reason}")]
    Unreachable {
        endpoint: String,
        reason: String,
        hint: &'static str,
    },
    #[error("timed out after {seconds}s connecting to {endpoint}")]
    Timeout { endpoint: String, seconds: u64 },
    #[error(
        "password authentication failed for user \"{user}\" at {endpoint} (SQLSTATE {sqlstate})"
    )]
    Authentication {
        user: String,
        endpoint: String,
        sqlstate: String,
        password_given: bool,
    },
    #[error("server at {endpoint} rejected the connection: {message} (SQLSTATE {sqlstate})")]
    Rejected {
        endpoint: String,
        message: String,
        sqlstate: String,
        hint: Option<String>,
    },
    #[error("server at {endpoint} asks user \"{user}\" for a password, and none was given")]
    PasswordMissing { user: String, endpoint: String },
    #[error("database \"{dbname}\" does not exist at {endpoint}")]
    NoDatabase { dbname: String, endpoint: String },
    #[error("server at {endpoint} does not accept TLS but sslmode={mode} requires it")]
    TlsRefused {
        endpoint: String,
        mode: &'static str,
    },
    #[error("TLS handshake with {endpoint} failed: {reason}")]
    TlsHandshake {
        endpoint: String,
        reason: String,
        mode: &'static str,
    },
    #[error(transparent)]
    TlsConfig(#[from] TlsConfigError),
    #[error("connection to {endpoint} failed: {reason}")]
    Other { endpoint: String, reason: String },
}

impl ConnectError {
    /// What the user can do about it.
    pub fn hint(&self) -> Option<String> {
        Some(match self {
            ConnectError::Unreachable { hint, .. } => (*hint).to_string(),
            ConnectError::Timeout { .. } => "check the host and port, that a firewall or security group lets this runner in, or raise connect_timeout / PGCONNECT_TIMEOUT".into(),
            ConnectError::PasswordMissing { .. } | ConnectError::Authentication { password_given: false, .. } => "no password was given: add it to the URL (postgres://user:password@host/db) or set PGPASSWORD".into(),
            ConnectError::Authentication { .. } => "check the password in the URL or PGPASSWORD (percent-encode @ : / ? # in URLs)".into(),
            ConnectError::Rejected { hint, .. } => return hint.clone(),
            ConnectError::NoDatabase { .. } => "check the database name at the end of the URL, or create it first".into(),
            ConnectError::TlsRefused { .. } => "enable ssl on the server, or use sslmode=prefer / sslmode=disable for a server that is reachable only on a trusted network".into(),
            ConnectError::TlsHandshake { mode, .. } if mode.starts_with("verify") => "the server certificate is not trusted: pass the provider's CA with sslrootcert=/path/ca.pem, or use sslmode=require to encrypt without verifying".into(),
            ConnectError::TlsHandshake { .. } => "check that the server's TLS setup is valid".into(),
            ConnectError::TlsConfig(e) => return e.hint().map(str::to_string),
            ConnectError::Other { .. } => return None,
        })
    }
}

/// Connects to `spec`.
pub async fn connect(spec: &ConnSpec) -> Result<Client, ConnectError> {
    let mut config = tokio_postgres::Config::new();
    for (i, host) in spec.hosts.iter().enumerate() {
        match host {
            Host::Tcp(h) => config.host(h),
            Host::Unix(dir) => config.host_path(dir),
        };
        config.port(spec.port_for(i));
    }
    config
        .user(&spec.user)
        .dbname(&spec.dbname)
        .application_name(&spec.application_name)
        .connect_timeout(spec.connect_timeout)
        .ssl_mode(match spec.sslmode {
            SslMode::Disable => tokio_postgres::config::SslMode::Disable,
            // tokio-postgres has no `allow`; `prefer` is the closest safe behaviour.
            SslMode::Allow | SslMode::Prefer => tokio_postgres::config::SslMode::Prefer,
            SslMode::Require | SslMode::VerifyCa | SslMode::VerifyFull => {
                tokio_postgres::config::SslMode::Require
            }
        });
    if let Some(pw) = &spec.password {
        config.password(pw.expose());
    }
    if let Some(options) = &spec.options {
        config.options(options);
    }
    let tls = tokio_postgres_rustls::MakeRustlsConnect::new(tls::client_config(
        spec.sslmode,
        spec.sslrootcert.as_ref(),
    )?);

    let started = Instant::now();
    // tokio-postgres applies connect_timeout per socket connect; the whole handshake (TLS,
    // authentication) gets a bound too, so a server that accepts and then stalls cannot hang us.
    let attempt = tokio::time::timeout(
        spec.connect_timeout + Duration::from_millis(500),
        config.connect(tls),
    )
    .await;
    let (client, connection) = match attempt {
        Ok(Ok(pair)) => pair,
        Ok(Err(e)) => return Err(classify(spec, e)),
        Err(_) => {
            return Err(ConnectError::Timeout {
                endpoint: spec.endpoint(),
                seconds: spec.connect_timeout.as_secs(),
            })
        }
    };
    tokio::spawn(async move {
        if let Err(e) = connection.await {
            tracing::debug!(
                "connection closed: {}",
                crate::secret::scrub(&e.to_string())
            );
        }
    });
    Ok(Client {
        inner: client,
        spec: spec.clone(),
        connect_time: started.elapsed(),
    })
}

fn classify(spec: &ConnSpec, err: tokio_postgres::Error) -> ConnectError {
    let endpoint = spec.endpoint();
    if let Some(db) = err.as_db_error() {
        let code = db.code();
        let sqlstate = code.code().to_string();
        if *code == SqlState::INVALID_PASSWORD {
            return ConnectError::Authentication {
                user: spec.user.clone(),
                endpoint,
                sqlstate,
                password_given: spec.password.is_some(),
            };
        }
        if *code == SqlState::INVALID_CATALOG_NAME {
            return ConnectError::NoDatabase {
                dbname: spec.dbname.clone(),
                endpoint,
            };
        }
        let message = crate::secret::scrub(db.message());
        let hint = if message.contains("no encryption") || message.contains("SSL off") {
            Some(
                "the server requires TLS: use sslmode=require (or verify-full with sslrootcert)"
                    .to_string(),
            )
        } else if *code == SqlState::INVALID_AUTHORIZATION_SPECIFICATION {
            Some(
                "the server's pg_hba.conf has no rule for this user, database and address"
                    .to_string(),
            )
        } else if *code == SqlState::TOO_MANY_CONNECTIONS {
            Some("the server is at max_connections: retry later or use a pooler".to_string())
        } else {
            db.hint().map(str::to_string)
        };
        return ConnectError::Rejected {
            endpoint,
            message,
            sqlstate,
            hint,
        };
    }

    // tokio-postgres puts the specifics in the source chain ("password missing", "server does
    // not support TLS"); match on the whole chain.
    let mut text = err.to_string();
    let mut cause = std::error::Error::source(&err);
    while let Some(c) = cause {
        text.push_str(": ");
        text.push_str(&c.to_string());
        cause = c.source();
    }
    let text = crate::secret::scrub(&text);
    if text.contains("password missing") {
        return ConnectError::PasswordMissing {
            user: spec.user.clone(),
            endpoint,
        };
    }
    if text.contains("server does not support TLS") {
        return ConnectError::TlsRefused {
            endpoint,
            mode: spec.sslmode.as_str(),
        };
    }
    let mut source: Option<&(dyn std::error::Error + 'static)> = std::error::Error::source(&err);
    while let Some(s) = source {
        if let Some(io) = s.downcast_ref::<std::io::Error>() {
            // rustls reports handshake failures as io::Error wrapping rustls::Error.
            if let Some(tls) = io
                .get_ref()
                .and_then(|inner| inner.downcast_ref::<rustls::Error>())
            {
                return ConnectError::TlsHandshake {
                    endpoint,
                    reason: tls.to_string(),
                    mode: spec.sslmode.as_str(),
                };
            }
            return match io.kind() {
                std::io::ErrorKind::ConnectionRefused => ConnectError::Unreachable {
                    endpoint,
                    reason: "connection refused".into(),
                    hint: "is the server running and listening on that host and port? (listen_addresses, port, a firewall)",
                },
                std::io::ErrorKind::NotFound if matches!(spec.hosts[0], Host::Unix(_)) => {
                    ConnectError::Unreachable {
                        endpoint,
                        reason: "no server socket there".into(),
                        hint: "is the server running locally? give host=/path/to/socket/dir or a TCP host",
                    }
                }
                std::io::ErrorKind::TimedOut => ConnectError::Timeout {
                    endpoint,
                    seconds: spec.connect_timeout.as_secs(),
                },
                _ if io.to_string().contains("failed to lookup address")
                    || io.to_string().contains("Name or service not known") =>
                {
                    ConnectError::Unreachable {
                        endpoint,
                        reason: "host name does not resolve".into(),
                        hint: "check the host name in the URL (typo, or a private DNS name this runner cannot see)",
                    }
                }
                _ => ConnectError::Unreachable {
                    endpoint,
                    reason: crate::secret::scrub(&io.to_string()),
                    hint: "check the host, port and network path to the server",
                },
            };
        }
        if let Some(tls) = s.downcast_ref::<rustls::Error>() {
            return ConnectError::TlsHandshake {
                endpoint,
                reason: tls.to_string(),
                mode: spec.sslmode.as_str(),
            };
        }
        source = s.source();
    }
    if text.contains("timeout") || text.contains("timed out") {
        return ConnectError::Timeout {
            endpoint,
            seconds: spec.connect_timeout.as_secs(),
        };
    }
    ConnectError::Other {
        endpoint,
        reason: text,
    }
}

//! PostgreSQL plumbing shared by every command: where to connect ([`ConnSpec`]), connecting
//! with TLS ([`connect`]), server errors ([`DbError`]), SQL quoting ([`quote`]) and finding the
//! PostgreSQL programs of a given major version ([`tools`]). Knows nothing of schemas.

pub mod child;
mod conn_spec;
mod connect;
mod db_error;
pub mod probe;
pub mod quote;
pub mod tls;
pub mod tools;

pub use conn_spec::{
    redact_conn_str, ConnSpec, ConnSpecError, Host, RootCert, SslMode, DEFAULT_APPLICATION_NAME,
    DEFAULT_CONNECT_TIMEOUT,
};
pub use connect::{connect, Client, ConnectError};
pub use db_error::DbError;

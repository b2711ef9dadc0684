//! A server-side error kept whole: SQLSTATE, message, detail, hint and position, so reports can
//! say exactly what PostgreSQL said.

use std::fmt;

/// An error returned by the server (or the connection failing mid-query).
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct DbError {
    /// Five-character SQLSTATE; empty when the failure was not the server's.
    pub sqlstate: String,
    pub message: String,
    pub detail: Option<String>,
    pub hint: Option<String>,
    /// 1-based character offset into the statement, when the server reported one.
    pub position: Option<u32>,
}

impl From<tokio_postgres::Error> for DbError {
    fn from(err: tokio_postgres::Error) -> Self {
        let scrub = |s: &str| crate::secret::scrub(s);
        match err.as_db_error() {
            Some(db) => DbError {
                sqlstate: db.code().code().to_string(),
                message: scrub(db.message()),
                detail: db.detail().map(scrub),
                hint: db.hint().map(scrub),
                position: match db.position() {
                    Some(tokio_postgres::error::ErrorPosition::Original(p)) => Some(*p),
                    _ => None,
                },
            },
            None => DbError {
                sqlstate: String::new(),
                message: scrub(&err.to_string()),
                detail: None,
                hint: None,
                position: None,
            },
        }
    }
}

impl fmt::Display for DbError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)?;
        if !self.sqlstate.is_empty() {
            write!(f, " (SQLSTATE {})", self.sqlstate)?;
        }
        if let Some(d) = &self.detail {
            write!(f, "; detail: {d}")?;
        }
        Ok(())
    }
}

impl std::error::Error for DbError {}

//! One migration runner per database: a session advisory lock, polled until `--lock-wait`
//! runs out, then an error that says who holds it (pid, user, application, since when).
//!
//! The lock is released explicitly by [`LockGuard::release`] on every path the applier takes;
//! if pgkeel dies instead, the server releases it with the session.

use std::time::{Duration, Instant};

use crate::pg::{Client, DbError};

/// The advisory lock key: "pgkeel" in ASCII, so it shows up recognisably in `pg_locks`
/// (`classid` 0x7067, `objid` 0x6b65656c) and cannot collide with small keys apps use.
pub const KEY: i64 = 0x7067_6b65_656c;

/// How often a waiting runner asks again.
const POLL: Duration = Duration::from_millis(200);

/// Who holds the lock, from `pg_stat_activity`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Holder {
    pub pid: i32,
    pub user: Option<String>,
    pub application: Option<String>,
    pub client: Option<String>,
    pub since: Option<String>,
}

impl std::fmt::Display for Holder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "pid {}", self.pid)?;
        if let Some(u) = &self.user {
            write!(f, ", user {u}")?;
        }
        if let Some(a) = self.application.as_deref().filter(|a| !a.is_empty()) {
            write!(f, ", application {a}")?;
        }
        if let Some(c) = &self.client {
            write!(f, ", from {c}")?;
        }
        if let Some(s) = &self.since {
            write!(f, ", connected since {s}")?;
        }
        Ok(())
    }
}

#[derive(Debug, thiserror::Error)]
pub enum LockError {
    #[error("another migration runner holds the lock on this database ({}); waited {:.1}s", holder.as_ref().map_or_else(|| "holder unknown".to_string(), |h| h.to_string()), waited.as_secs_f64())]
    Timeout {
        waited: Duration,
        holder: Option<Holder>,
    },
    #[error("cannot take the migration lock: {0}")]
    Db(#[from] DbError),
}

/// Proof that this session holds the lock.
#[must_use = "release the lock with LockGuard::release"]
pub struct LockGuard {
    released: bool,
}

impl LockGuard {
    /// Releases the lock. Errors are ignored: the session ending releases it too.
    pub async fn release(mut self, client: &Client) {
        self.released = true;
        let _ = client
            .pg()
            .simple_query(&format!("SELECT pg_advisory_unlock({KEY})"))
            .await;
    }
}

impl Drop for LockGuard {
    fn drop(&mut self) {
        if !self.released {
            // Dropped without release: only when the connection is going away anyway.
            tracing::debug!("migration lock dropped with its session");
        }
    }
}

/// Takes the lock, waiting up to `wait`.
///
/// # Errors
///
/// [`LockError::Timeout`] with the holder when another session keeps it that long.
pub async fn acquire(client: &Client, wait: Duration) -> Result<LockGuard, LockError> {
    let start = Instant::now();
    let mut announced = false;
    loop {
        let row = client
            .pg()
            .query_one("SELECT pg_try_advisory_lock($1)", &[&KEY])
            .await
            .map_err(DbError::from)?;
        if row.get::<_, bool>(0) {
            return Ok(LockGuard { released: false });
        }
        let waited = start.elapsed();
        if waited >= wait {
            let holder = holder(client)
                .await
                .inspect_err(|e| tracing::debug!("cannot tell who holds the lock: {e}"))
                .ok()
                .flatten();
            return Err(LockError::Timeout { waited, holder });
        }
        if !announced {
            announced = true;
            let who = holder(client).await.ok().flatten();
            tracing::warn!(
                "waiting up to {}s for another migration runner ({})",
                wait.as_secs(),
                who.map_or_else(|| "holder unknown".to_string(), |h| h.to_string())
            );
        }
        tokio::time::sleep(POLL.min(wait.saturating_sub(waited))).await;
    }
}

/// The session holding the lock, if it is visible to this role.
async fn holder(client: &Client) -> Result<Option<Holder>, DbError> {
    // A bigint key is stored as classid (high 32 bits) and objid (low 32 bits), objsubid 1.
    let rows = client
        .pg()
        .query(
            "SELECT l.pid, a.usename::text, a.application_name, a.client_addr::text, \
             to_char(a.backend_start AT TIME ZONE 'UTC', 'YYYY-MM-DD HH24:MI:SS\" UTC\"') \
             FROM pg_locks l LEFT JOIN pg_stat_activity a ON a.pid = l.pid \
             WHERE l.locktype = 'advisory' AND l.granted AND l.objsubid = 1 \
             AND l.classid::bigint = ($1::bigint >> 32) AND l.objid::bigint = ($1::bigint & 4294967295) \
             AND l.database = (SELECT oid FROM pg_database WHERE datname = current_database()) \
             LIMIT 1",
            &[&KEY],
        )
        .await?;
    Ok(rows.first().map(|r| Holder {
        pid: r.get(0),
        user: r.get(1),
        application: r.get(2),
        client: r.get(3),
        since: r.get(4),
    }))
}

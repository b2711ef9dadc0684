//! Facts about a live connection: server version, the role's powers, TLS, the schemas it will
//! touch, and how far away the server is. This is the preflight every workflow runs first.

use std::time::{Duration, Instant};

use serde::Serialize;

use super::{Client, DbError, SslMode};

/// What `pgkeel check` reports.
#[derive(Debug, Clone, Serialize)]
pub struct ServerFacts {
    /// The target, password masked.
    pub target: String,
    pub server: ServerVersion,
    pub database: String,
    pub user: RoleFacts,
    /// True on a standby: read-only, nothing can be migrated there.
    pub in_recovery: bool,
    pub tls: TlsFacts,
    pub schemas: Vec<SchemaFacts>,
    pub latency: Latency,
}

#[derive(Debug, Clone, Serialize)]
pub struct ServerVersion {
    /// e.g. `15.18`.
    pub version: String,
    /// e.g. 150018.
    pub version_num: u32,
    pub major: u32,
    /// `SELECT version()`.
    pub full: String,
}

#[derive(Debug, Clone, Serialize)]
pub struct RoleFacts {
    pub name: String,
    pub superuser: bool,
    pub create_db: bool,
    pub create_role: bool,
}

#[derive(Debug, Clone, Serialize)]
pub struct TlsFacts {
    pub in_use: bool,
    pub protocol: Option<String>,
    pub cipher: Option<String>,
    pub sslmode: SslMode,
    /// The certificate chain was checked against trusted roots.
    pub certificate_verified: bool,
    /// The certificate was also checked against the host name.
    pub hostname_verified: bool,
}

#[derive(Debug, Clone, Serialize)]
pub struct SchemaFacts {
    pub name: String,
    pub exists: bool,
    pub owner: Option<String>,
    /// The current role is, or is a member of, the owner.
    pub owned_by_you: bool,
    pub usage: bool,
    pub create: bool,
}

#[derive(Debug, Clone, Serialize)]
pub struct Latency {
    pub connect_ms: f64,
    /// Median of several `SELECT 1` round trips.
    pub round_trip_ms: f64,
}

/// Gathers the facts; `schemas` are the schemas the caller will touch.
pub async fn probe(client: &Client, schemas: &[String]) -> Result<ServerFacts, DbError> {
    let pg = client.pg();
    let row = pg
        .query_one(
            "SELECT version(), current_setting('server_version'),
                    current_setting('server_version_num')::int4, current_database(),
                    current_user::text, r.rolsuper, r.rolcreatedb, r.rolcreaterole,
                    pg_is_in_recovery()
               FROM pg_roles r WHERE r.rolname = current_user",
            &[],
        )
        .await?;
    let version_num = row.get::<_, i32>(2) as u32;
    let server = ServerVersion {
        full: row.get(0),
        version: row
            .get::<_, String>(1)
            .split_whitespace()
            .next()
            .unwrap_or_default()
            .to_string(),
        version_num,
        major: version_num / 10000,
    };
    let database: String = row.get(3);
    let user = RoleFacts {
        name: row.get(4),
        superuser: row.get(5),
        create_db: row.get(6),
        create_role: row.get(7),
    };
    let in_recovery: bool = row.get(8);

    let tls_row = pg
        .query_opt(
            "SELECT ssl, version, cipher FROM pg_stat_ssl WHERE pid = pg_backend_pid()",
            &[],
        )
        .await?;
    let (in_use, protocol, cipher) = match tls_row {
        Some(r) => (
            r.get::<_, bool>(0),
            r.get::<_, Option<String>>(1),
            r.get::<_, Option<String>>(2),
        ),
        None => (false, None, None),
    };
    let mode = client.spec().sslmode;
    let tls = TlsFacts {
        in_use,
        protocol,
        cipher,
        sslmode: mode,
        certificate_verified: in_use && mode.verifies_chain(),
        hostname_verified: in_use && mode == SslMode::VerifyFull,
    };

    let rows = pg
        .query(
            "SELECT s.name, n.oid IS NOT NULL, pg_get_userbyid(n.nspowner)::text,
                    COALESCE(pg_has_role(n.nspowner, 'USAGE'), false),
                    COALESCE(has_schema_privilege(n.oid, 'USAGE'), false),
                    COALESCE(has_schema_privilege(n.oid, 'CREATE'), false)
               FROM unnest($1::text[]) WITH ORDINALITY AS s(name, ord)
               LEFT JOIN pg_namespace n ON n.nspname = s.name
              ORDER BY s.ord",
            &[&schemas],
        )
        .await?;
    let schemas = rows
        .iter()
        .map(|r| SchemaFacts {
            name: r.get(0),
            exists: r.get(1),
            owner: r.get(2),
            owned_by_you: r.get(3),
            usage: r.get(4),
            create: r.get(5),
        })
        .collect();

    let mut samples: Vec<Duration> = Vec::with_capacity(5);
    for _ in 0..5 {
        let t = Instant::now();
        pg.simple_query("SELECT 1").await?;
        samples.push(t.elapsed());
    }
    samples.sort();
    let latency = Latency {
        connect_ms: ms(client.connect_time()),
        round_trip_ms: ms(samples[samples.len() / 2]),
    };

    Ok(ServerFacts {
        target: client.spec().to_string(),
        server,
        database,
        user,
        in_recovery,
        tls,
        schemas,
        latency,
    })
}

fn ms(d: Duration) -> f64 {
    (d.as_secs_f64() * 1000.0 * 100.0).round() / 100.0
}

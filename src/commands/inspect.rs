//! `pgkeel inspect`: the schema of a live database as a versioned JSON snapshot.

use std::io::Write;

use super::Context;
use crate::catalog::{self, Filter, Snapshot, SNAPSHOT_VERSION};
use crate::error::{Error, Outcome};
use crate::pg::{self, ConnSpec};

pub struct Settings {
    pub conn: ConnSpec,
    pub filter: Filter,
}

pub async fn run(
    settings: &Settings,
    _ctx: &Context,
    out: &mut dyn Write,
) -> Result<Outcome, Error> {
    let snapshot = snapshot_of(&settings.conn, &settings.filter).await?;
    serde_json::to_writer_pretty(&mut *out, &snapshot)
        .map_err(|e| Error::Output(std::io::Error::other(e)))?;
    writeln!(out).map_err(Error::Output)?;
    Ok(Outcome::Clean)
}

/// Connects and introspects, on two connections: the second one halves the time a large
/// schema takes to read. It is optional: when it cannot connect (no connection slot left, say),
/// the first reads alone.
pub async fn snapshot_of(conn: &ConnSpec, filter: &Filter) -> Result<Snapshot, Error> {
    let (client, helper) = tokio::join!(pg::connect(conn), pg::connect(conn));
    let client = client?;
    let helper = helper
        .inspect_err(|e| tracing::debug!("one connection reads the catalog: {e}"))
        .ok();
    let version = client
        .server_version_num()
        .await
        .map_err(|source| Error::Query {
            context: "cannot read the server version",
            source,
        })?;
    let schema = catalog::introspect_with(&client, helper.as_ref(), filter).await?;
    Ok(Snapshot {
        version: SNAPSHOT_VERSION,
        server_major: version / 10000,
        schema,
    })
}

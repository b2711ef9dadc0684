//! One consistent view of the source: a `REPEATABLE READ` transaction whose snapshot is
//! exported (`pg_export_snapshot()`) and handed to pg_dump with `--snapshot`, while the same
//! transaction counts every table's rows and reads the schema. The counts and fingerprint in
//! the manifest therefore describe exactly the rows and objects in the dump.

use std::collections::BTreeMap;

use sha2::{Digest, Sha256};

use crate::catalog::{self, Filter, Schema};
use crate::pg::{quote, Client, DbError};

/// What the snapshot says about the source.
pub struct Measured {
    pub row_counts: BTreeMap<String, i64>,
    pub schema: Schema,
    pub fingerprint: String,
    pub roles: Vec<String>,
}

/// Opens the transaction and exports its snapshot; returns the snapshot name for pg_dump.
/// The transaction stays open on `client` until [`close`].
pub async fn export(client: &Client) -> Result<String, DbError> {
    client
        .pg()
        .batch_execute(
            "BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY; SET LOCAL row_security = off",
        )
        .await?;
    let row = client
        .pg()
        .query_one("SELECT pg_export_snapshot()", &[])
        .await?;
    Ok(row.get(0))
}

/// Ends the transaction (nothing was written).
pub async fn close(client: &Client) {
    let _ = client.pg().batch_execute("ROLLBACK").await;
}

/// Row counts, schema and roles, read inside the caller's open transaction.
pub async fn measure(client: &Client) -> Result<Measured, MeasureError> {
    let (counts, schema, roles) = futures_util::future::join3(
        row_counts(client),
        catalog::introspect_in_transaction(client, &Filter::default()),
        roles(client),
    )
    .await;
    let schema = schema?;
    Ok(Measured {
        row_counts: counts?,
        fingerprint: fingerprint(&schema),
        schema,
        roles: roles?,
    })
}

#[derive(Debug, thiserror::Error)]
pub enum MeasureError {
    #[error(transparent)]
    Db(#[from] DbError),
    #[error(transparent)]
    Catalog(#[from] catalog::CatalogError),
}

/// SHA-256 of the schema's canonical JSON (collections sorted, no OIDs).
pub fn fingerprint(schema: &Schema) -> String {
    let json = serde_json::to_vec(schema).unwrap_or_default();
    hex(&Sha256::digest(&json))
}

pub fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// Tables whose rows pg_dump dumps: ordinary tables and partitions (not partitioned parents,
/// views, foreign tables, or tables that belong to extensions).
const TABLES: &str = "\
SELECT n.nspname, c.relname
FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
WHERE c.relkind = 'r'
  AND n.nspname <> 'information_schema' AND n.nspname !~ '^pg_'
  AND NOT EXISTS (SELECT 1 FROM pg_depend d
                  WHERE d.classid = 'pg_class'::regclass AND d.objid = c.oid AND d.deptype = 'e')
ORDER BY 1, 2";

/// Exact `count(*)` of every table, keyed `schema.table`. Pipelined on one connection.
pub async fn row_counts(client: &Client) -> Result<BTreeMap<String, i64>, DbError> {
    let tables = client.pg().query(TABLES, &[]).await?;
    let names: Vec<(String, String)> = tables.iter().map(|r| (r.get(0), r.get(1))).collect();
    let futures = names.iter().map(|(s, t)| async move {
        let sql = format!("SELECT count(*) FROM {}", quote::qualified(s, t));
        let row = client.pg().query_one(sql.as_str(), &[]).await?;
        Ok::<_, DbError>((format!("{s}.{t}"), row.get::<_, i64>(0)))
    });
    let mut out = BTreeMap::new();
    for r in futures_util::future::join_all(futures).await {
        let (k, v) = r?;
        out.insert(k, v);
    }
    Ok(out)
}

/// Roles the database's objects refer to (owners, grantees, policies, default privileges),
/// its owner, and the current user.
const ROLES: &str = "\
SELECT r.rolname FROM pg_roles r
WHERE r.rolname !~ '^pg_' AND (
  r.oid IN (SELECT d.refobjid FROM pg_shdepend d
            WHERE d.refclassid = 'pg_authid'::regclass
              AND d.dbid = (SELECT oid FROM pg_database WHERE datname = current_database()))
  OR r.oid = (SELECT datdba FROM pg_database WHERE datname = current_database())
  OR r.rolname = current_user)
ORDER BY 1";

pub async fn roles(client: &Client) -> Result<Vec<String>, DbError> {
    let rows = client.pg().query(ROLES, &[]).await?;
    Ok(rows.iter().map(|r| r.get(0)).collect())
}

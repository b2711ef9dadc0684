//! Table columns, the one kind read as plain rows rather than a JSON array: at thousands of
//! tables there are tens of thousands of them, and building JSON for each cost the server more
//! than everything else in the query (and the client a parse of tens of megabytes). Rows are
//! decoded as they stream in, so neither side holds the whole result twice.

use futures_util::TryStreamExt;
use tokio_postgres::types::ToSql;
use tokio_postgres::Row;

use super::{CatalogError, Identity, Owned};
use crate::catalog::Column;

const KIND: &str = "columns";

/// Runs the columns query (already prefixed with the schema filter) and decodes every row.
pub(super) async fn read(
    pg: &tokio_postgres::Client,
    sql: &str,
    include: &Option<Vec<String>>,
    exclude: &Vec<String>,
) -> Result<Vec<Owned<Column>>, CatalogError> {
    let query_err = CatalogError::query(KIND);
    let params: [&(dyn ToSql + Sync); 2] = [include, exclude];
    let rows = pg.query_raw(sql, params).await.map_err(query_err)?;
    futures_util::pin_mut!(rows);
    let mut out = Vec::new();
    let mut at: Option<Positions> = None;
    while let Some(row) = rows.try_next().await.map_err(query_err)? {
        let at = match &at {
            Some(at) => at,
            None => at.insert(Positions::of(&row)?),
        };
        out.push(decode(&row, at)?);
    }
    Ok(out)
}

/// Where each field sits in the row, looked up once by name (the query may reorder them).
struct Positions([usize; FIELDS.len()]);

const FIELDS: [&str; 16] = [
    "schema",
    "table",
    "position",
    "name",
    "data_type",
    "not_null",
    "default",
    "generated",
    "identity",
    "collation",
    "is_local",
    "storage",
    "type_storage",
    "statistics",
    "comment",
    "acl",
];

impl Positions {
    fn of(row: &Row) -> Result<Positions, CatalogError> {
        let mut at = [0; FIELDS.len()];
        for (slot, field) in at.iter_mut().zip(FIELDS) {
            *slot = row
                .columns()
                .iter()
                .position(|c| c.name() == field)
                .ok_or_else(|| CatalogError::Decode {
                    kind: KIND,
                    reason: format!("the query returns no `{field}` column"),
                })?;
        }
        Ok(Positions(at))
    }
}

fn decode(row: &Row, at: &Positions) -> Result<Owned<Column>, CatalogError> {
    let bad = |e: tokio_postgres::Error| CatalogError::Decode {
        kind: KIND,
        reason: e.to_string(),
    };
    let p = &at.0;
    let identity: Option<&str> = row.try_get(p[8]).map_err(bad)?;
    let identity = identity
        .map(serde_json::from_str::<Identity>)
        .transpose()
        .map_err(|e| CatalogError::Decode {
            kind: KIND,
            reason: format!("identity: {e}"),
        })?;
    Ok(Owned {
        schema: row.try_get(p[0]).map_err(bad)?,
        table: row.try_get(p[1]).map_err(bad)?,
        position: row.try_get(p[2]).map_err(bad)?,
        item: Column {
            name: row.try_get(p[3]).map_err(bad)?,
            data_type: row.try_get(p[4]).map_err(bad)?,
            not_null: row.try_get(p[5]).map_err(bad)?,
            default: row.try_get(p[6]).map_err(bad)?,
            generated: row.try_get(p[7]).map_err(bad)?,
            identity,
            collation: row.try_get(p[9]).map_err(bad)?,
            is_local: row.try_get(p[10]).map_err(bad)?,
            storage: row.try_get(p[11]).map_err(bad)?,
            type_storage: row.try_get(p[12]).map_err(bad)?,
            statistics: row.try_get(p[13]).map_err(bad)?,
            comment: row.try_get(p[14]).map_err(bad)?,
            acl: row.try_get(p[15]).map_err(bad)?,
        },
    })
}

//! Row-shaped catalog queries: a result set turned into the JSON objects serde reads, one per
//! row, keyed by column name.
//!
//! Most catalog queries build their JSON array on the server. Building a many-keyed object per
//! row is the bulk of the server's work for the largest kinds (a table's columns: thousands of
//! rows), so those queries return plain rows and are converted here, which costs the client far
//! less than `json_build_object` costs the server.

use serde_json::{Map, Value};
use tokio_postgres::types::Type;
use tokio_postgres::Row;

/// The rows as an array of objects. A column type not handled here is an error naming it:
/// the query should cast it (to text, or json).
pub fn to_json(rows: &[Row]) -> Result<Value, String> {
    let mut out = Vec::with_capacity(rows.len());
    for row in rows {
        let mut object = Map::with_capacity(row.len());
        for (i, column) in row.columns().iter().enumerate() {
            object.insert(column.name().to_string(), cell(row, i, column.type_())?);
        }
        out.push(Value::Object(object));
    }
    Ok(Value::Array(out))
}

fn cell(row: &Row, i: usize, ty: &Type) -> Result<Value, String> {
    let err = |e: tokio_postgres::Error| format!("column {i}: {e}");
    Ok(match *ty {
        Type::TEXT | Type::NAME | Type::VARCHAR | Type::BPCHAR => row
            .try_get::<_, Option<String>>(i)
            .map_err(err)?
            .map_or(Value::Null, Value::String),
        Type::BOOL => row
            .try_get::<_, Option<bool>>(i)
            .map_err(err)?
            .map_or(Value::Null, Value::Bool),
        Type::INT2 => row
            .try_get::<_, Option<i16>>(i)
            .map_err(err)?
            .map_or(Value::Null, Value::from),
        Type::INT4 => row
            .try_get::<_, Option<i32>>(i)
            .map_err(err)?
            .map_or(Value::Null, Value::from),
        Type::INT8 => row
            .try_get::<_, Option<i64>>(i)
            .map_err(err)?
            .map_or(Value::Null, Value::from),
        Type::JSON | Type::JSONB => row
            .try_get::<_, Option<Value>>(i)
            .map_err(err)?
            .unwrap_or(Value::Null),
        Type::TEXT_ARRAY | Type::NAME_ARRAY => row
            .try_get::<_, Option<Vec<Option<String>>>>(i)
            .map_err(err)?
            .map_or(Value::Null, |items| {
                Value::Array(
                    items
                        .into_iter()
                        .map(|s| s.map_or(Value::Null, Value::String))
                        .collect(),
                )
            }),
        ref other => {
            return Err(format!(
                "column {i} has type {other}, which the row decoder does not read (cast it)"
            ))
        }
    })
}

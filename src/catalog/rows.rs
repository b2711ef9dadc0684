//! Kinds read as plain rows rather than one JSON array: columns, constraints and indexes, the
//! kinds that run to tens of thousands at thousands of tables. Building a JSON object for each
//! costs the server more than the rest of their queries, and the client a parse of tens of
//! megabytes. Rows are decoded as they stream in, so neither side holds the whole result twice.

use futures_util::TryStreamExt;
use tokio_postgres::types::{FromSql, ToSql};
use tokio_postgres::Row;

use super::CatalogError;

/// A value decoded from one row of its query.
pub(super) trait FromRow: Sized {
    /// What the rows are, for errors.
    const KIND: &'static str;
    /// The columns read, by name; [`Fields::get`] takes an index into this list. Their
    /// positions in the result are looked up once per query, so a query may order them freely.
    const FIELDS: &'static [&'static str];

    fn from_row(row: &Fields<'_>) -> Result<Self, CatalogError>;
}

/// One row, with the positions of [`FromRow::FIELDS`] in it.
pub(super) struct Fields<'a> {
    row: &'a Row,
    at: &'a [usize],
    kind: &'static str,
}

impl<'a> Fields<'a> {
    /// The value of `FIELDS[field]`.
    pub(super) fn get<T: FromSql<'a>>(&self, field: usize) -> Result<T, CatalogError> {
        self.row
            .try_get(self.at[field])
            .map_err(|e| CatalogError::Decode {
                kind: self.kind,
                reason: e.to_string(),
            })
    }
}

/// Runs `sql` and hands every row, decoded as a `T`, to `each` as it arrives.
pub(super) async fn read<T: FromRow>(
    pg: &tokio_postgres::Client,
    sql: &str,
    params: &[&(dyn ToSql + Sync)],
    mut each: impl FnMut(T),
) -> Result<(), CatalogError> {
    let query_err = CatalogError::query(T::KIND);
    let rows = pg
        .query_raw(sql, params.iter().copied())
        .await
        .map_err(query_err)?;
    futures_util::pin_mut!(rows);
    let mut at: Option<Vec<usize>> = None;
    while let Some(row) = rows.try_next().await.map_err(query_err)? {
        let at = match &at {
            Some(at) => at,
            None => at.insert(positions::<T>(&row)?),
        };
        each(T::from_row(&Fields {
            row: &row,
            at,
            kind: T::KIND,
        })?);
    }
    Ok(())
}

/// Runs `sql` and decodes every row as a `T`.
pub(super) async fn read_all<T: FromRow>(
    pg: &tokio_postgres::Client,
    sql: &str,
    params: &[&(dyn ToSql + Sync)],
) -> Result<Vec<T>, CatalogError> {
    let mut all = Vec::new();
    read(pg, sql, params, |row| all.push(row)).await?;
    Ok(all)
}

fn positions<T: FromRow>(row: &Row) -> Result<Vec<usize>, CatalogError> {
    T::FIELDS
        .iter()
        .map(|field| {
            row.columns()
                .iter()
                .position(|c| c.name() == *field)
                .ok_or_else(|| CatalogError::Decode {
                    kind: T::KIND,
                    reason: format!("the query returns no `{field}` column"),
                })
        })
        .collect()
}

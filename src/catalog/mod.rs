//! Catalog introspection: a live database becomes a [`Schema`] value.
//!
//! One set-based query per object kind (not one per object), each returning a JSON array that
//! serde turns into the model; the most numerous kinds (columns, constraints, indexes) come as
//! plain rows instead (`rows`), and most of their definitions are printed here rather than by
//! the server (`definitions`). The queries are pipelined inside a `REPEATABLE READ READ ONLY`
//! transaction, so the snapshot is consistent and the database is never written; with a second
//! connection ([`introspect_with`]) they are split over both, the second importing the first's
//! snapshot (`pg_export_snapshot`). Objects that belong to extensions are left out (`pg_depend` deptype `e`);
//! the extension itself is what is compared.
//!
//! Database-wide objects come with the schemas they touch: event triggers whose function is in
//! a compared schema, every publication (with its members in compared schemas), global default
//! privileges and those of compared schemas. Kinds pgkeel does not model (foreign tables, text
//! search objects, operators, casts, aggregates, rules, …) are still listed by kind, name and
//! a name-based definition (`unmodelled.sql`), so a difference in them is never silently equal.
//!
//! Used by `inspect`, `diff`, `drift`, deploy verification and backup verification.

mod columns;
mod definitions;
pub mod model;
mod rows;
mod snapshot;

use std::collections::{BTreeMap, HashMap};

use serde::de::DeserializeOwned;
use serde::Deserialize;

pub use model::*;
pub use snapshot::{load_snapshot, SnapshotError};

use crate::pg::{Client, DbError};
use columns::{ColumnRow, Columns};
use definitions::{ConstraintRow, IndexRow};
use rows::FromRow;
use tokio_postgres::types::ToSql;

/// Which schemas to read.
#[derive(Debug, Clone, Default)]
pub struct Filter {
    /// Only these schemas (`None`: every non-system schema).
    pub include: Option<Vec<String>>,
    pub exclude: Vec<String>,
}

/// Introspection failed.
#[derive(Debug, thiserror::Error)]
pub enum CatalogError {
    #[error("cannot read {kind} from the catalog: {source}")]
    Query {
        kind: &'static str,
        source: Box<DbError>,
    },
    #[error("unexpected catalog data for {kind}: {reason}")]
    Decode { kind: &'static str, reason: String },
}

impl CatalogError {
    /// Reading `kind` failed with `e`.
    fn query(kind: &'static str) -> impl Fn(tokio_postgres::Error) -> CatalogError + Copy {
        move |e| CatalogError::Query {
            kind,
            source: Box::new(DbError::from(e)),
        }
    }
}

const NAMESPACES: &str = include_str!("queries/namespaces.sql");

struct Query {
    kind: &'static str,
    sql: &'static str,
}

const COLUMNS: &str = include_str!("queries/columns.sql");
const CONSTRAINTS: &str = include_str!("queries/constraints.sql");
const INDEXES: &str = include_str!("queries/indexes.sql");
const DEFINITION_CONTEXT: &str = include_str!("queries/definition_context.sql");

/// Catalog columns and tables newer than PostgreSQL 14, and what the queries read in their
/// place on servers that lack them: (first version with it, the text, its stand-in).
const NEWER_CATALOG: [(i32, &str, &str); 7] = [
    (150000, "i.indnullsnotdistinct", "false"),
    // Publication column lists, row filters and TABLES IN SCHEMA.
    (150000, "pr.prattrs::int2[]", "NULL::int2[]"),
    (150000, "pg_get_expr(pr.prqual, pr.prrelid)", "NULL::text"),
    (
        150000,
        "pg_publication_namespace pn",
        "(SELECT 0::oid AS pnpubid, 0::oid AS pnnspid WHERE false) pn",
    ),
    (150000, "k.confdelsetcols", "NULL::int2[]"),
    (180000, "k.conperiod", "false"),
    (180000, "k.conenforced", "true"),
];

/// `sql` (prefixed with the schema filter) for a server of `version`.
fn for_server(sql: &str, version: i32) -> String {
    let mut text = format!("{NAMESPACES}{sql}");
    for (since, column, stand_in) in NEWER_CATALOG {
        if version < since {
            text = text.replace(column, stand_in);
        }
    }
    text
}

const QUERIES: [Query; 17] = [
    Query {
        kind: "collations",
        sql: include_str!("queries/collations.sql"),
    },
    Query {
        kind: "schemas",
        sql: include_str!("queries/schemas.sql"),
    },
    Query {
        kind: "extensions",
        sql: include_str!("queries/extensions.sql"),
    },
    Query {
        kind: "enums",
        sql: include_str!("queries/enums.sql"),
    },
    Query {
        kind: "domains",
        sql: include_str!("queries/domains.sql"),
    },
    Query {
        kind: "composite types",
        sql: include_str!("queries/composites.sql"),
    },
    Query {
        kind: "sequences",
        sql: include_str!("queries/sequences.sql"),
    },
    Query {
        kind: "tables",
        sql: include_str!("queries/tables.sql"),
    },
    Query {
        kind: "triggers",
        sql: include_str!("queries/triggers.sql"),
    },
    Query {
        kind: "policies",
        sql: include_str!("queries/policies.sql"),
    },
    Query {
        kind: "views",
        sql: include_str!("queries/views.sql"),
    },
    Query {
        kind: "functions",
        sql: include_str!("queries/functions.sql"),
    },
    Query {
        kind: "range types",
        sql: include_str!("queries/ranges.sql"),
    },
    Query {
        kind: "event triggers",
        sql: include_str!("queries/event_triggers.sql"),
    },
    Query {
        kind: "publications",
        sql: include_str!("queries/publications.sql"),
    },
    Query {
        kind: "default privileges",
        sql: include_str!("queries/default_privileges.sql"),
    },
    Query {
        kind: "unmodelled objects",
        sql: include_str!("queries/unmodelled.sql"),
    },
];

/// Reads the schema of the database `client` is connected to.
pub async fn introspect(client: &Client, filter: &Filter) -> Result<Schema, CatalogError> {
    introspect_with(client, None, filter).await
}

/// [`introspect`] with a second connection to the same database, `helper`, which reads about
/// half of the kinds in the snapshot of `client`'s transaction. The server reads each side's
/// catalog on two backends, so a large schema is read in a little over half the time when the
/// server has cores to spare. Without a helper, or when it cannot join the snapshot,
/// `client` reads everything.
pub async fn introspect_with(
    client: &Client,
    helper: Option<&Client>,
    filter: &Filter,
) -> Result<Schema, CatalogError> {
    let main = client.pg();
    main.batch_execute(BEGIN)
        .await
        .map_err(CatalogError::query("a consistent snapshot"))?;
    let shared = match helper {
        Some(helper) => share_snapshot(main, helper.pg()).await,
        None => Ok(None),
    };
    let result = match shared {
        Ok(helper) => {
            let result = read(main, helper.unwrap_or(main), filter).await;
            if let Some(helper) = helper {
                let _ = helper.batch_execute("ROLLBACK").await;
            }
            result
        }
        Err(e) => Err(e),
    };
    // Read-only: nothing to keep; ROLLBACK also ends a failed transaction cleanly, on every
    // path, so the connection is left as it was found.
    let _ = main.batch_execute("ROLLBACK").await;
    result
}

const BEGIN: &str = "BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY";

/// `helper` in a transaction that sees `main`'s snapshot, or `None` when it cannot have one:
/// a multi-host URL may have connected it to another server, a pooler to another session.
/// `main` has read nothing yet, so if exporting fails it starts over in a fresh transaction.
async fn share_snapshot<'a>(
    main: &tokio_postgres::Client,
    helper: &'a tokio_postgres::Client,
) -> Result<Option<&'a tokio_postgres::Client>, CatalogError> {
    let snapshot = match main.query_one("SELECT pg_export_snapshot()", &[]).await {
        Ok(row) => row.try_get::<_, String>(0).ok(),
        Err(e) => {
            tracing::debug!("one connection reads the catalog: cannot export its snapshot: {e}");
            main.batch_execute(&format!("ROLLBACK; {BEGIN}"))
                .await
                .map_err(CatalogError::query("a consistent snapshot"))?;
            None
        }
    };
    let Some(snapshot) = snapshot else {
        return Ok(None);
    };
    // The identifier is the server's own text (hex digits and dashes); quoted all the same.
    let import = format!(
        "{BEGIN}; SET TRANSACTION SNAPSHOT '{}'",
        snapshot.replace('\'', "''")
    );
    match helper.batch_execute(&import).await {
        Ok(()) => Ok(Some(helper)),
        Err(e) => {
            tracing::debug!(
                "one connection reads the catalog: the second cannot join its snapshot: {e}"
            );
            let _ = helper.batch_execute("ROLLBACK").await;
            Ok(None)
        }
    }
}

/// [`introspect`] inside a transaction the caller has already opened (and will end), so the
/// schema is read in the caller's snapshot — backup reads it in the snapshot pg_dump dumps.
pub async fn introspect_in_transaction(
    client: &Client,
    filter: &Filter,
) -> Result<Schema, CatalogError> {
    read(client.pg(), client.pg(), filter).await
}

/// Reads the schema in the open transactions of `main` and `helper` (which see the same
/// snapshot, or are the same connection). The work is split in two halves of about equal
/// server time: `main` reads columns and indexes, `helper` constraints and the kinds read as
/// JSON.
async fn read(
    main: &tokio_postgres::Client,
    helper: &tokio_postgres::Client,
    filter: &Filter,
) -> Result<Schema, CatalogError> {
    let query_err = CatalogError::query;
    // Sorting thousands of wide rows spills to disk at the default 4 MB. Parallel workers for
    // a catalog scan of tens of milliseconds save nothing measurable, and would take worker
    // slots (and cores) from the production queries a drift or deploy check runs beside.
    // Both settings end with the (read-only) transaction.
    let settings = "SET LOCAL work_mem = '64MB'; SET LOCAL max_parallel_workers_per_gather = 0";
    let same = std::ptr::eq(main, helper);
    let (on_main, on_helper) = futures_util::future::join(main.batch_execute(settings), async {
        if same {
            Ok(())
        } else {
            helper.batch_execute(settings).await
        }
    })
    .await;
    on_main
        .and(on_helper)
        .map_err(query_err("the session settings"))?;
    let version: i32 = main
        .query_one("SELECT current_setting('server_version_num')::int4", &[])
        .await
        .map_err(query_err("the server version"))?
        .get(0);
    let include = filter.include.clone();
    let exclude = filter.exclude.clone();
    let params: [&(dyn ToSql + Sync); 2] = [&include, &exclude];
    // Pipelined: every query is sent before the first answer is read. The kinds read as rows
    // go first, so they are decoded while the server answers the rest.
    let columns_sql = for_server(COLUMNS, version);
    let constraints_sql = for_server(CONSTRAINTS, version);
    let indexes_sql = for_server(INDEXES, version);
    let mut columns = Columns::default();
    let rows = futures_util::future::join4(
        rows::read::<ColumnRow>(main, &columns_sql, &params, |c| columns.push(c)),
        rows::read_all::<ConstraintRow>(helper, &constraints_sql, &params),
        rows::read_all::<IndexRow>(main, &indexes_sql, &params),
        rows::read_all::<definitions::Context>(main, DEFINITION_CONTEXT, &[]),
    );
    let json = QUERIES.iter().map(|q| {
        let sql = for_server(q.sql, version);
        async move {
            let row = helper
                .query_one(sql.as_str(), &params)
                .await
                .map_err(query_err(q.kind))?;
            Ok::<(&'static str, tokio_postgres::Row), CatalogError>((q.kind, row))
        }
    });
    let ((read_columns, constraints, indexes, context), results) =
        futures_util::future::join(rows, futures_join_all(json)).await;
    let mut errors = Vec::new();
    let columns_read = keep(read_columns, &mut errors);
    let constraints = keep(constraints, &mut errors);
    let indexes = keep(indexes, &mut errors);
    let context = keep(context, &mut errors);
    let json: BTreeMap<&'static str, tokio_postgres::Row> = results
        .into_iter()
        .filter_map(|r| keep(r, &mut errors))
        .collect();
    let (Some(()), Some(mut constraints), Some(mut indexes), Some(context), true) = (
        columns_read,
        constraints,
        indexes,
        context,
        errors.is_empty(),
    ) else {
        // The query that failed, not the ones the aborted transaction refused after it.
        let aborted = |e: &CatalogError| matches!(e, CatalogError::Query { source, .. } if source.sqlstate == "25P02");
        let at = errors.iter().position(|e| !aborted(e)).unwrap_or(0);
        return Err(errors.swap_remove(at));
    };
    let context = context
        .into_iter()
        .next()
        .ok_or_else(|| CatalogError::Decode {
            kind: definitions::Context::KIND,
            reason: "no row".into(),
        })?;
    let columns = columns.finish();
    let left = definitions::print(&mut constraints, &mut indexes, &columns, &context);
    definitions::ask_server(main, left, &mut constraints, &mut indexes).await?;
    assemble(json, columns, constraints, indexes)
}

/// The value, or `None` with the error kept in `errors`.
fn keep<T>(result: Result<T, CatalogError>, errors: &mut Vec<CatalogError>) -> Option<T> {
    result.map_err(|e| errors.push(e)).ok()
}

/// Polls futures concurrently on the current task, keeping their order.
async fn futures_join_all<F, T>(futures: impl Iterator<Item = F>) -> Vec<T>
where
    F: std::future::Future<Output = T>,
{
    let mut pinned: Vec<std::pin::Pin<Box<F>>> = futures.map(Box::pin).collect();
    let mut results: Vec<Option<T>> = pinned.iter().map(|_| None).collect();
    std::future::poll_fn(|cx| {
        let mut pending = false;
        for (i, fut) in pinned.iter_mut().enumerate() {
            if results[i].is_none() {
                match fut.as_mut().poll(cx) {
                    std::task::Poll::Ready(v) => results[i] = Some(v),
                    std::task::Poll::Pending => pending = true,
                }
            }
        }
        if pending {
            std::task::Poll::Pending
        } else {
            std::task::Poll::Ready(())
        }
    })
    .await;
    results.into_iter().flatten().collect()
}

/// Decodes one kind's JSON, read in place from the row (no copy of a text that runs to tens of
/// megabytes at thousands of tables), and frees the row.
fn decode<T: DeserializeOwned>(
    json: &mut BTreeMap<&'static str, tokio_postgres::Row>,
    kind: &'static str,
) -> Result<T, CatalogError> {
    let row = json.remove(kind);
    let text = match &row {
        Some(row) => row
            .try_get::<_, &str>(0)
            .map_err(|e| CatalogError::Decode {
                kind,
                reason: e.to_string(),
            })?,
        None => "[]",
    };
    serde_json::from_str(text).map_err(|e| CatalogError::Decode {
        kind,
        reason: e.to_string(),
    })
}

/// An item that belongs to a table, as the JSON kinds return it.
#[derive(Deserialize)]
struct Owned<T> {
    schema: String,
    table: String,
    #[serde(flatten)]
    item: T,
}

/// Items by the table they belong to.
fn group<T>(rows: impl IntoIterator<Item = (QName, T)>) -> HashMap<QName, Vec<T>> {
    let mut map: HashMap<QName, Vec<T>> = HashMap::new();
    for (table, item) in rows {
        map.entry(table).or_default().push(item);
    }
    map
}

fn owned<T>(rows: Vec<Owned<T>>) -> HashMap<QName, Vec<T>> {
    group(
        rows.into_iter()
            .map(|r| (QName::new(r.schema, r.table), r.item)),
    )
}

fn assemble(
    mut json: BTreeMap<&'static str, tokio_postgres::Row>,
    mut columns: Columns,
    constraints: Vec<ConstraintRow>,
    indexes: Vec<IndexRow>,
) -> Result<Schema, CatalogError> {
    let mut tables: Vec<Table> = decode(&mut json, "tables")?;
    let mut constraints = group(constraints.into_iter().map(|r| (r.table, r.constraint)));
    let mut indexes = group(indexes.into_iter().map(|r| (r.table, r.index)));
    let mut triggers = owned::<Trigger>(decode(&mut json, "triggers")?);
    let mut policies = owned::<Policy>(decode(&mut json, "policies")?);
    for t in &mut tables {
        t.columns = columns.take(&t.name);
        t.constraints = constraints.remove(&t.name).unwrap_or_default();
        t.indexes = indexes.remove(&t.name).unwrap_or_default();
        t.triggers = triggers.remove(&t.name).unwrap_or_default();
        t.policies = policies.remove(&t.name).unwrap_or_default();
    }
    let mut views: Vec<View> = decode(&mut json, "views")?;
    for v in &mut views {
        v.indexes = indexes.remove(&v.name).unwrap_or_default();
        v.triggers = triggers.remove(&v.name).unwrap_or_default();
        v.depends_on.sort();
        v.depends_on.dedup();
    }
    let mut schema = Schema {
        schemas: decode(&mut json, "schemas")?,
        extensions: decode(&mut json, "extensions")?,
        collations: decode(&mut json, "collations")?,
        enums: decode(&mut json, "enums")?,
        domains: decode(&mut json, "domains")?,
        composites: decode(&mut json, "composite types")?,
        sequences: decode(&mut json, "sequences")?,
        tables,
        views,
        functions: decode(&mut json, "functions")?,
        ranges: decode(&mut json, "range types")?,
        event_triggers: decode(&mut json, "event triggers")?,
        publications: decode(&mut json, "publications")?,
        default_privileges: decode(&mut json, "default privileges")?,
        unmodelled: {
            let mut unmodelled: Vec<Unmodelled> = decode(&mut json, "unmodelled objects")?;
            unmodelled.append(&mut columns.take_unmodelled());
            unmodelled
        },
    };
    canonicalize(&mut schema);
    Ok(schema)
}

/// Sorts every collection by name with byte order (the server's ORDER BY follows its
/// collation, which may differ between databases).
pub fn canonicalize(s: &mut Schema) {
    s.schemas.sort_by(|a, b| a.name.cmp(&b.name));
    s.extensions.sort_by(|a, b| a.name.cmp(&b.name));
    s.collations.sort_by(|a, b| a.name.cmp(&b.name));
    s.enums.sort_by(|a, b| a.name.cmp(&b.name));
    s.domains.sort_by(|a, b| a.name.cmp(&b.name));
    s.composites.sort_by(|a, b| a.name.cmp(&b.name));
    s.sequences.sort_by(|a, b| a.name.cmp(&b.name));
    s.tables.sort_by(|a, b| a.name.cmp(&b.name));
    s.views.sort_by(|a, b| a.name.cmp(&b.name));
    s.functions
        .sort_by(|a, b| (&a.name, &a.argument_types).cmp(&(&b.name, &b.argument_types)));
    s.ranges.sort_by(|a, b| a.name.cmp(&b.name));
    s.event_triggers.sort_by(|a, b| a.name.cmp(&b.name));
    s.publications.sort_by(|a, b| a.name.cmp(&b.name));
    for p in &mut s.publications {
        p.tables.sort_by(|a, b| a.table.cmp(&b.table));
        p.schemas.sort();
    }
    s.default_privileges.sort_by(|a, b| {
        (&a.role, &a.schema, &a.object_type).cmp(&(&b.role, &b.schema, &b.object_type))
    });
    s.unmodelled.sort();
    for t in &mut s.tables {
        t.constraints.sort_by(|a, b| a.name.cmp(&b.name));
        t.indexes.sort_by(|a, b| a.name.cmp(&b.name));
        t.triggers.sort_by(|a, b| a.name.cmp(&b.name));
        t.policies.sort_by(|a, b| a.name.cmp(&b.name));
        for p in &mut t.policies {
            p.roles.sort();
        }
    }
    for d in &mut s.domains {
        d.checks.sort_by(|a, b| a.name.cmp(&b.name));
    }
    for v in &mut s.views {
        v.indexes.sort_by(|a, b| a.name.cmp(&b.name));
        v.triggers.sort_by(|a, b| a.name.cmp(&b.name));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn newer_catalog_is_read_only_from_servers_that_have_it() {
        let all: Vec<&str> = QUERIES
            .iter()
            .map(|q| q.sql)
            .chain([COLUMNS, CONSTRAINTS, INDEXES])
            .collect();
        for (since, column, stand_in) in NEWER_CATALOG {
            // A misspelt entry would silently leave the column in the older servers' text.
            assert!(all.iter().any(|q| q.contains(column)), "{column} is read");
            for sql in &all {
                let newest = for_server(sql, since);
                let older = for_server(sql, since - 10000);
                assert_eq!(newest.contains(column), sql.contains(column));
                assert!(!older.contains(column), "{column} before {since}");
                if sql.contains(column) {
                    assert!(older.contains(stand_in));
                }
            }
        }
    }
}

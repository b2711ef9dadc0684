//! Migration tools' history tables are bookkeeping, not schema: they differ between a database
//! migrated by the tool and one replayed by pgkeel (pgkeel also writes its audit table), so
//! every comparison of "what the migrations produce" leaves them out.

use crate::catalog::model::{QName, Schema};

/// `(schema or "" for any, table)` of every tool's history table.
const TABLES: [(&str, &str); 8] = [
    ("pgkeel", "migrations"),
    ("", "schema_migrations"),
    ("", "_prisma_migrations"),
    ("drizzle", "__drizzle_migrations"),
    ("", "flyway_schema_history"),
    ("", "goose_db_version"),
    ("", "_sqlx_migrations"),
    ("supabase_migrations", "schema_migrations"),
];

/// Schemas that exist only to hold a history table.
const SCHEMAS: [&str; 3] = ["pgkeel", "drizzle", "supabase_migrations"];

fn is_history(name: &QName) -> bool {
    TABLES
        .iter()
        .any(|(schema, table)| name.name == *table && (schema.is_empty() || name.schema == *schema))
}

/// Removes history tables, the sequences they own, and schemas left holding nothing.
pub fn strip(schema: &mut Schema) {
    schema.tables.retain(|t| !is_history(&t.name));
    schema
        .sequences
        .retain(|s| !s.owned_by.as_ref().is_some_and(|o| is_history(&o.table)));
    let used = |ns: &str, s: &Schema| {
        s.tables.iter().any(|t| t.name.schema == ns)
            || s.sequences.iter().any(|q| q.name.schema == ns)
            || s.views.iter().any(|v| v.name.schema == ns)
            || s.functions.iter().any(|f| f.name.schema == ns)
            || s.enums.iter().any(|e| e.name.schema == ns)
            || s.domains.iter().any(|d| d.name.schema == ns)
            || s.composites.iter().any(|c| c.name.schema == ns)
    };
    let keep: Vec<bool> = schema
        .schemas
        .iter()
        .map(|n| !SCHEMAS.contains(&n.name.as_str()) || used(&n.name, schema))
        .collect();
    let mut keep = keep.into_iter();
    schema.schemas.retain(|_| keep.next().unwrap_or(true));
}

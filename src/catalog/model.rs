//! The schema model: plain data, serde-stable, in a canonical order (every collection sorted
//! by name), with no OIDs, so two databases holding the same schema give byte-identical
//! snapshots. Definitions are PostgreSQL's own deparsed text (`pg_get_indexdef`,
//! `pg_get_constraintdef`, `pg_get_viewdef`, `pg_get_functiondef`, `format_type`, …), which is
//! canonical for a given server major version.

use serde::{Deserialize, Serialize};

/// Version of the snapshot format.
pub const SNAPSHOT_VERSION: u32 = 1;

/// A whole database schema.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Schema {
    pub schemas: Vec<Namespace>,
    pub extensions: Vec<Extension>,
    #[serde(default)]
    pub collations: Vec<Collation>,
    pub enums: Vec<EnumType>,
    pub domains: Vec<Domain>,
    pub composites: Vec<CompositeType>,
    pub sequences: Vec<Sequence>,
    pub tables: Vec<Table>,
    pub views: Vec<View>,
    pub functions: Vec<Function>,
}

/// A qualified object name.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct QName {
    pub schema: String,
    pub name: String,
}

impl QName {
    pub fn new(schema: impl Into<String>, name: impl Into<String>) -> Self {
        QName {
            schema: schema.into(),
            name: name.into(),
        }
    }

    /// `"schema"."name"`, quoted.
    pub fn sql(&self) -> String {
        crate::pg::quote::qualified(&self.schema, &self.name)
    }
}

impl std::fmt::Display for QName {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}.{}", self.schema, self.name)
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Namespace {
    pub name: String,
    pub owner: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub comment: Option<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub acl: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Extension {
    pub name: String,
    pub schema: String,
    pub version: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Collation {
    #[serde(flatten)]
    pub name: QName,
    /// `libc`, `icu` or `builtin`.
    pub provider: String,
    pub deterministic: bool,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub lc_collate: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub lc_ctype: Option<String>,
    /// ICU / builtin locale.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub locale: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rules: Option<String>,
    pub owner: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub comment: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct EnumType {
    #[serde(flatten)]
    pub name: QName,
    pub labels: Vec<String>,
    pub owner: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub comment: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Domain {
    #[serde(flatten)]
    pub name: QName,
    pub base_type: String,
    pub not_null: bool,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub default: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub collation: Option<String>,
    /// (name, definition) of each CHECK constraint, by name.
    #[serde(default)]
    pub checks: Vec<NamedDef>,
    pub owner: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub comment: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct NamedDef {
    pub name: String,
    pub definition: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CompositeType {
    #[serde(flatten)]
    pub name: QName,
    /// (attribute name, type) in order.
    pub attributes: Vec<NamedDef>,
    pub owner: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub comment: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Sequence {
    #[serde(flatten)]
    pub name: QName,
    pub data_type: String,
    pub start: i64,
    pub increment: i64,
    pub min: i64,
    pub max: i64,
    pub cache: i64,
    pub cycle: bool,
    /// `table.column` that owns it (serial columns).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub owned_by: Option<ColumnRef>,
    pub owner: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub comment: Option<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub acl: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ColumnRef {
    #[serde(flatten)]
    pub table: QName,
    pub column: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum TableKind {
    Ordinary,
    Partitioned,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Table {
    #[serde(flatten)]
    pub name: QName,
    pub kind: TableKind,
    pub unlogged: bool,
    /// `PARTITION BY …` clause of a partitioned table.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub partition_key: Option<String>,
    /// Parent and bound (`FOR VALUES …` / `DEFAULT`) when this table is a partition.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub partition_of: Option<PartitionOf>,
    /// Parents by plain inheritance, in order.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub inherits: Vec<QName>,
    pub columns: Vec<Column>,
    #[serde(default)]
    pub constraints: Vec<Constraint>,
    #[serde(default)]
    pub indexes: Vec<Index>,
    #[serde(default)]
    pub triggers: Vec<Trigger>,
    #[serde(default)]
    pub policies: Vec<Policy>,
    pub rls_enabled: bool,
    pub rls_forced: bool,
    /// `d` default, `n` nothing, `f` full, `i` index.
    pub replica_identity: String,
    /// The index named by `REPLICA IDENTITY USING INDEX`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub replica_identity_index: Option<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub options: Vec<String>,
    pub owner: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub comment: Option<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub acl: Vec<String>,
}

impl Table {
    /// An ordinary, logged table owned by `postgres` with nothing but `columns`.
    pub fn new(name: QName, columns: Vec<Column>) -> Table {
        Table {
            name,
            kind: TableKind::Ordinary,
            unlogged: false,
            partition_key: None,
            partition_of: None,
            inherits: vec![],
            columns,
            constraints: vec![],
            indexes: vec![],
            triggers: vec![],
            policies: vec![],
            rls_enabled: false,
            rls_forced: false,
            replica_identity: "d".into(),
            replica_identity_index: None,
            options: vec![],
            owner: "postgres".into(),
            comment: None,
            acl: vec![],
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PartitionOf {
    pub parent: QName,
    pub bound: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Column {
    pub name: String,
    /// `format_type` text, e.g. `character varying(10)`, `public.mood[]`.
    pub data_type: String,
    pub not_null: bool,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub default: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub generated: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub identity: Option<Identity>,
    /// Only when it differs from the type's default collation.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub collation: Option<String>,
    /// Declared here (not only inherited from a parent).
    pub is_local: bool,
    /// `p` plain, `e` external, `m` main, `x` extended — only when it differs from the type's.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub storage: Option<String>,
    /// The type's own storage, recorded beside a non-default `storage` so it can be restored
    /// (`SET STORAGE DEFAULT` exists only from PostgreSQL 16).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub type_storage: Option<String>,
    /// Per-column statistics target, when set.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub statistics: Option<i32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub comment: Option<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub acl: Vec<String>,
}

impl Column {
    /// A nullable, locally declared column with no default.
    pub fn new(name: impl Into<String>, data_type: impl Into<String>) -> Column {
        Column {
            name: name.into(),
            data_type: data_type.into(),
            not_null: false,
            default: None,
            generated: None,
            identity: None,
            collation: None,
            is_local: true,
            storage: None,
            type_storage: None,
            statistics: None,
            comment: None,
            acl: vec![],
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Identity {
    /// `always` or `by_default`.
    pub generation: String,
    pub start: i64,
    pub increment: i64,
    pub min: i64,
    pub max: i64,
    pub cache: i64,
    pub cycle: bool,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Constraint {
    pub name: String,
    /// `p` primary key, `u` unique, `c` check, `f` foreign key, `x` exclusion.
    pub kind: String,
    /// `pg_get_constraintdef` text, e.g. `FOREIGN KEY (a) REFERENCES t(id) ON DELETE CASCADE`.
    pub definition: String,
    pub validated: bool,
    /// Referenced table of a foreign key, for ordering.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub references: Option<QName>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub comment: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Index {
    pub name: String,
    /// `pg_get_indexdef` text.
    pub definition: String,
    pub valid: bool,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub comment: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Trigger {
    pub name: String,
    /// `pg_get_triggerdef` text.
    pub definition: String,
    /// `O` origin (enabled), `D` disabled, `R` replica, `A` always.
    pub enabled: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub comment: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Policy {
    pub name: String,
    pub permissive: bool,
    /// `ALL`, `SELECT`, `INSERT`, `UPDATE`, `DELETE`.
    pub command: String,
    pub roles: Vec<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub using: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub with_check: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct View {
    #[serde(flatten)]
    pub name: QName,
    pub materialized: bool,
    /// `pg_get_viewdef` text (the SELECT).
    pub definition: String,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub options: Vec<String>,
    /// Relations and functions this view reads, for ordering drops and creates.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub depends_on: Vec<QName>,
    #[serde(default)]
    pub indexes: Vec<Index>,
    /// INSTEAD OF (and other) triggers on the view.
    #[serde(default)]
    pub triggers: Vec<Trigger>,
    pub owner: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub comment: Option<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub acl: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Function {
    #[serde(flatten)]
    pub name: QName,
    /// Identity arguments, e.g. `i integer, t text[]`, for naming the function in DDL.
    pub arguments: String,
    /// Input argument types only, e.g. `integer, text[]`: with the name, the overload's key
    /// (renaming a parameter does not make another function).
    #[serde(default)]
    pub argument_types: String,
    /// `f` function, `p` procedure.
    pub kind: String,
    /// `pg_get_functiondef` text (a complete CREATE OR REPLACE).
    pub definition: String,
    /// Result type, to know when CREATE OR REPLACE cannot change it.
    pub result: String,
    pub owner: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub comment: Option<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub acl: Vec<String>,
}

impl Function {
    /// `"schema"."name"(args)` — how DROP/COMMENT/GRANT name it.
    pub fn signature_sql(&self) -> String {
        format!("{}({})", self.name.sql(), self.arguments)
    }
}

/// A snapshot file: the schema plus what it was taken from.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Snapshot {
    pub version: u32,
    /// Server major version the definitions were deparsed by.
    pub server_major: u32,
    pub schema: Schema,
}

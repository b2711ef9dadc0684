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
    /// Range types (`CREATE TYPE … AS RANGE`). Added after format 1 was published: absent in
    /// older snapshots, which had none.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub ranges: Vec<RangeType>,
    /// Event triggers whose function lives in a compared schema (they are database-wide).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub event_triggers: Vec<EventTrigger>,
    /// Publications (database-wide); members are limited to the compared schemas.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub publications: Vec<Publication>,
    /// `ALTER DEFAULT PRIVILEGES` entries: global ones, and those of compared schemas.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub default_privileges: Vec<DefaultPrivileges>,
    /// Objects of kinds pgkeel does not model, by kind and name, so that a difference in them
    /// is reported and refused rather than silently ignored.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub unmodelled: Vec<Unmodelled>,
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
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub acl: Vec<String>,
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
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub acl: Vec<String>,
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
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub acl: Vec<String>,
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
    /// Boxed: few columns have one, and inline it would double the size of every column.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub identity: Option<Box<Identity>>,
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
    /// Name of the identity sequence (in the table's schema), for its privileges.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sequence: Option<String>,
    /// Privileges on the identity sequence (default privileges on sequences give it some).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub acl: Vec<String>,
}

impl Identity {
    /// The identity without its sequence's name and privileges: what ALTER … IDENTITY sets.
    pub fn definition(&self) -> Identity {
        Identity {
            sequence: None,
            acl: vec![],
            ..self.clone()
        }
    }
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
    /// Columns with a comment or privileges of their own (the others have nothing to keep).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub columns: Vec<ViewColumn>,
    pub owner: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub comment: Option<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub acl: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ViewColumn {
    pub name: String,
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

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RangeType {
    #[serde(flatten)]
    pub name: QName,
    /// `format_type` of the subtype.
    pub subtype: String,
    /// Qualified operator class, only when it is not the subtype's default B-tree class.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub subtype_opclass: Option<String>,
    /// Qualified collation, only when it differs from the subtype's.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub collation: Option<String>,
    /// Qualified name of the canonical function.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub canonical: Option<String>,
    /// Qualified name of the subtype difference function.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub subtype_diff: Option<String>,
    /// Qualified name of the multirange type (PostgreSQL 14+).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub multirange: Option<String>,
    pub owner: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub comment: Option<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub acl: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct EventTrigger {
    pub name: String,
    /// `ddl_command_start`, `ddl_command_end`, `sql_drop`, `table_rewrite`, `login`.
    pub event: String,
    /// The `WHEN TAG IN (…)` filter, in the order it was written; empty: every command.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub tags: Vec<String>,
    /// Qualified, quoted function name (event trigger functions take no arguments).
    pub function: String,
    /// `O` origin (enabled), `D` disabled, `R` replica, `A` always.
    pub enabled: String,
    pub owner: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub comment: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Publication {
    pub name: String,
    /// `FOR ALL TABLES`.
    pub all_tables: bool,
    /// `FOR TABLE …` members, by name.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub tables: Vec<PublicationTable>,
    /// `FOR TABLES IN SCHEMA …` members (PostgreSQL 15+), sorted.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub schemas: Vec<String>,
    pub insert: bool,
    pub update: bool,
    pub delete: bool,
    pub truncate: bool,
    pub via_root: bool,
    /// `publish_generated_columns = stored` (PostgreSQL 18); `None`: not published.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub generated_columns: Option<String>,
    pub owner: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub comment: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PublicationTable {
    pub table: QName,
    /// The column list (PostgreSQL 15+), in column order; empty: every column.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub columns: Vec<String>,
    /// The `WHERE` row filter (PostgreSQL 15+), deparsed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub row_filter: Option<String>,
}

/// One `pg_default_acl` entry: privileges given to objects `role` creates later.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DefaultPrivileges {
    pub role: String,
    /// `None`: every schema (replaces the built-in defaults); `Some`: added in that schema.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub schema: Option<String>,
    /// `r` tables, `S` sequences, `f` functions, `T` types, `n` schemas.
    pub object_type: String,
    pub acl: Vec<String>,
    /// The built-in default of this kind of object for `role` (`acldefault`): what removing
    /// a global entry returns to, and what a schema's entry adds to when there is no global one.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub builtin: Vec<String>,
}

/// An object of a kind pgkeel does not migrate, as found in the catalog.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
pub struct Unmodelled {
    /// e.g. `text search configuration`, `cast`, `foreign table`.
    pub kind: String,
    /// Its identity, e.g. `public.english_nostop` or `(text AS public.t)`.
    pub name: String,
    /// Enough of its definition to tell two versions apart (names, not OIDs).
    #[serde(default)]
    pub definition: String,
}

/// A snapshot file: the schema plus what it was taken from.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Snapshot {
    pub version: u32,
    /// Server major version the definitions were deparsed by.
    pub server_major: u32,
    pub schema: Schema,
}

//! One difference between two schemas, carrying the objects on both sides so `plan` can
//! write the DDL and reports can say exactly what changed.

use serde::Serialize;

use crate::catalog::model::*;

/// What a comment, owner or privilege change applies to.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Target {
    Schema(String),
    /// Table, view, materialized view.
    Relation(QName),
    Column(QName, String),
    Constraint(QName, String),
    /// Index (schema-qualified index name).
    Index(QName),
    Trigger(QName, String),
    Sequence(QName),
    Type(QName),
    Domain(QName),
    Collation(QName),
    Function {
        name: QName,
        arguments: String,
        procedure: bool,
    },
    EventTrigger(String),
    Publication(String),
}

/// A schema difference.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(tag = "change", rename_all = "snake_case")]
pub enum Change {
    CreateSchema(Namespace),
    DropSchema(Namespace),
    CreateExtension(Extension),
    DropExtension(Extension),
    CreateCollation(Collation),
    DropCollation(Collation),
    AlterExtension {
        from: Extension,
        to: Extension,
    },
    CreateEnum(EnumType),
    DropEnum(EnumType),
    AddEnumValue {
        ty: QName,
        label: String,
        before: Option<String>,
        after: Option<String>,
    },
    /// A value was removed or reordered: the type must be rebuilt.
    RecreateEnum {
        from: EnumType,
        to: EnumType,
    },
    CreateDomain(Domain),
    DropDomain(Domain),
    AlterDomain {
        from: Domain,
        to: Domain,
    },
    CreateComposite(CompositeType),
    DropComposite(CompositeType),
    RecreateComposite {
        from: CompositeType,
        to: CompositeType,
    },
    CreateRange(RangeType),
    DropRange(RangeType),
    /// Subtype, operator class, collation or functions changed: the type is rebuilt.
    RecreateRange {
        from: RangeType,
        to: RangeType,
    },
    CreateSequence(Sequence),
    DropSequence(Sequence),
    AlterSequence {
        from: Sequence,
        to: Sequence,
    },
    SequenceOwnedBy {
        sequence: QName,
        to: Option<ColumnRef>,
    },
    CreateTable(Table),
    DropTable(Table),
    /// Partitioning or inheritance changed: needs a new table and a data copy.
    RecreateTable {
        from: Table,
        to: Table,
    },
    AlterTableProperties {
        from: Table,
        to: Table,
    },
    AttachPartition {
        table: QName,
        partition: PartitionOf,
    },
    DetachPartition {
        table: QName,
        parent: QName,
    },
    AddColumn {
        table: QName,
        column: Column,
    },
    DropColumn {
        table: QName,
        column: Column,
    },
    AlterColumn {
        table: QName,
        from: Column,
        to: Column,
    },
    /// Column order differs; ALTER cannot change it, so it is reported, not migrated.
    ColumnOrder {
        table: QName,
        from: Vec<String>,
        to: Vec<String>,
    },
    AddConstraint {
        table: QName,
        constraint: Constraint,
    },
    DropConstraint {
        table: QName,
        constraint: Constraint,
    },
    AddIndex {
        table: QName,
        index: Index,
    },
    DropIndex {
        table: QName,
        index: Index,
    },
    AddTrigger {
        table: QName,
        trigger: Trigger,
    },
    DropTrigger {
        table: QName,
        trigger: Trigger,
    },
    TriggerEnabled {
        table: QName,
        trigger: String,
        from: String,
        to: String,
    },
    AddPolicy {
        table: QName,
        policy: Policy,
    },
    DropPolicy {
        table: QName,
        policy: Policy,
    },
    CreateView(View),
    DropView(View),
    ReplaceView {
        from: View,
        to: View,
    },
    CreateFunction(Function),
    DropFunction(Function),
    ReplaceFunction {
        from: Function,
        to: Function,
    },
    CreateEventTrigger(EventTrigger),
    DropEventTrigger(EventTrigger),
    EventTriggerEnabled {
        name: String,
        from: String,
        to: String,
    },
    CreatePublication(Publication),
    DropPublication(Publication),
    /// Members or options changed (altered in place unless FOR ALL TABLES changes).
    AlterPublication {
        from: Publication,
        to: Publication,
    },
    /// `ALTER DEFAULT PRIVILEGES [FOR ROLE role] [IN SCHEMA schema]`: effective privileges
    /// (a missing global entry stands for the built-in default).
    DefaultPrivileges {
        role: String,
        schema: Option<String>,
        /// `r` tables, `S` sequences, `f` functions, `T` types, `n` schemas.
        object_type: String,
        from: Vec<String>,
        to: Vec<String>,
    },
    /// An object of a kind pgkeel does not migrate differs (`None`: absent on that side).
    /// Reported, and refused by the plan: never silently equal.
    NotMigrated {
        kind: String,
        name: String,
        from: Option<String>,
        to: Option<String>,
    },
    Comment {
        target: Target,
        from: Option<String>,
        to: Option<String>,
    },
    Owner {
        target: Target,
        from: String,
        to: String,
    },
    Privileges {
        target: Target,
        from: Vec<String>,
        to: Vec<String>,
    },
}

impl Change {
    /// The table this change touches, for per-table reports.
    pub fn table(&self) -> Option<&QName> {
        match self {
            Change::CreateTable(t) | Change::DropTable(t) => Some(&t.name),
            Change::RecreateTable { to, .. } | Change::AlterTableProperties { to, .. } => {
                Some(&to.name)
            }
            Change::AddColumn { table, .. }
            | Change::AttachPartition { table, .. }
            | Change::DetachPartition { table, .. }
            | Change::DropColumn { table, .. }
            | Change::AlterColumn { table, .. }
            | Change::ColumnOrder { table, .. }
            | Change::AddConstraint { table, .. }
            | Change::DropConstraint { table, .. }
            | Change::AddIndex { table, .. }
            | Change::DropIndex { table, .. }
            | Change::AddTrigger { table, .. }
            | Change::DropTrigger { table, .. }
            | Change::TriggerEnabled { table, .. }
            | Change::AddPolicy { table, .. }
            | Change::DropPolicy { table, .. } => Some(table),
            Change::Comment {
                target: Target::Relation(t) | Target::Column(t, _),
                ..
            } => Some(t),
            _ => None,
        }
    }

    /// A one-line description for reports, e.g. `added column public.users.email (text, nullable)`.
    pub fn describe(&self) -> String {
        fn col(c: &Column) -> String {
            let mut s = format!(
                "{}, {}",
                c.data_type,
                if c.not_null { "not null" } else { "nullable" }
            );
            if let Some(d) = &c.default {
                s.push_str(&format!(", default {d}"));
            }
            if c.identity.is_some() {
                s.push_str(", identity");
            }
            if let Some(g) = &c.generated {
                s.push_str(&format!(", generated as {g}"));
            }
            s
        }
        match self {
            Change::CreateSchema(n) => format!("added schema {}", n.name),
            Change::DropSchema(n) => format!("removed schema {}", n.name),
            Change::CreateExtension(e) => format!("added extension {} {}", e.name, e.version),
            Change::DropExtension(e) => format!("removed extension {}", e.name),
            Change::AlterExtension { from, to } => {
                format!("extension {} {} → {}", to.name, from.version, to.version)
            }
            Change::CreateCollation(c) => format!("added collation {}", c.name),
            Change::DropCollation(c) => format!("removed collation {}", c.name),
            Change::CreateEnum(e) => format!("added enum {} ({})", e.name, e.labels.join(", ")),
            Change::DropEnum(e) => format!("removed enum {}", e.name),
            Change::AddEnumValue { ty, label, .. } => format!("added value '{label}' to enum {ty}"),
            Change::RecreateEnum { from, to } => format!(
                "enum {} values ({}) → ({})",
                to.name,
                from.labels.join(", "),
                to.labels.join(", ")
            ),
            Change::CreateDomain(d) => format!("added domain {} ({})", d.name, d.base_type),
            Change::DropDomain(d) => format!("removed domain {}", d.name),
            Change::AlterDomain { to, .. } => format!("modified domain {}", to.name),
            Change::CreateComposite(c) => format!("added type {}", c.name),
            Change::DropComposite(c) => format!("removed type {}", c.name),
            Change::RecreateComposite { to, .. } => format!("modified type {}", to.name),
            Change::CreateRange(r) => format!("added range type {} ({})", r.name, r.subtype),
            Change::DropRange(r) => format!("removed range type {}", r.name),
            Change::RecreateRange { from, to } => {
                if from.subtype != to.subtype {
                    format!(
                        "modified range type {}: subtype {} → {}",
                        to.name, from.subtype, to.subtype
                    )
                } else {
                    format!("modified range type {}", to.name)
                }
            }
            Change::CreateSequence(s) => format!("added sequence {}", s.name),
            Change::DropSequence(s) => format!("removed sequence {}", s.name),
            Change::AlterSequence { to, .. } => format!("modified sequence {}", to.name),
            Change::SequenceOwnedBy { sequence, to } => match to {
                Some(c) => format!("sequence {sequence} owned by {}.{}", c.table, c.column),
                None => format!("sequence {sequence} no longer owned by a column"),
            },
            Change::CreateTable(t) => {
                format!(
                    "added table {} ({} column{})",
                    t.name,
                    t.columns.len(),
                    if t.columns.len() == 1 { "" } else { "s" }
                )
            }
            Change::DropTable(t) => format!("removed table {}", t.name),
            Change::RecreateTable { to, .. } => {
                format!("table {} changes partitioning or inheritance", to.name)
            }
            Change::AlterTableProperties { from, to } => {
                let mut parts = Vec::new();
                if from.unlogged != to.unlogged {
                    parts.push(if to.unlogged { "unlogged" } else { "logged" }.to_string());
                }
                if from.rls_enabled != to.rls_enabled {
                    parts.push(format!(
                        "row level security {}",
                        if to.rls_enabled {
                            "enabled"
                        } else {
                            "disabled"
                        }
                    ));
                }
                if from.rls_forced != to.rls_forced {
                    parts.push(format!(
                        "row level security {}forced",
                        if to.rls_forced { "" } else { "not " }
                    ));
                }
                if from.replica_identity != to.replica_identity {
                    parts.push("replica identity".into());
                }
                if from.options != to.options {
                    parts.push(format!("storage options ({})", to.options.join(", ")));
                }
                format!("table {}: {}", to.name, parts.join(", "))
            }
            Change::AttachPartition { table, partition } => format!(
                "table {table} attached to {} {}",
                partition.parent, partition.bound
            ),
            Change::DetachPartition { table, parent } => {
                format!("table {table} detached from {parent}")
            }
            Change::AddColumn { table, column } => {
                format!("added column {table}.{} ({})", column.name, col(column))
            }
            Change::DropColumn { table, column } => format!(
                "removed column {table}.{} ({})",
                column.name, column.data_type
            ),
            Change::AlterColumn { table, from, to } => format!(
                "modified column {table}.{}: {} → {}",
                to.name,
                col(from),
                col(to)
            ),
            Change::ColumnOrder { table, .. } => format!("column order of {table} differs"),
            Change::AddConstraint { table, constraint } => format!(
                "added constraint {} on {table}: {}",
                constraint.name, constraint.definition
            ),
            Change::DropConstraint { table, constraint } => {
                format!("removed constraint {} on {table}", constraint.name)
            }
            Change::AddIndex { table, index } => format!("added index {} on {table}", index.name),
            Change::DropIndex { table, index } => {
                format!("removed index {} on {table}", index.name)
            }
            Change::AddTrigger { table, trigger } => {
                format!("added trigger {} on {table}", trigger.name)
            }
            Change::DropTrigger { table, trigger } => {
                format!("removed trigger {} on {table}", trigger.name)
            }
            Change::TriggerEnabled {
                table, trigger, to, ..
            } => format!(
                "trigger {trigger} on {table} {}",
                if to == "D" { "disabled" } else { "enabled" }
            ),
            Change::AddPolicy { table, policy } => {
                format!("added policy {} on {table}", policy.name)
            }
            Change::DropPolicy { table, policy } => {
                format!("removed policy {} on {table}", policy.name)
            }
            Change::CreateView(v) => format!("added {} {}", view_kind(v), v.name),
            Change::DropView(v) => format!("removed {} {}", view_kind(v), v.name),
            Change::ReplaceView { to, .. } => format!("modified {} {}", view_kind(to), to.name),
            Change::CreateFunction(f) => format!("added function {}({})", f.name, f.arguments),
            Change::DropFunction(f) => format!("removed function {}({})", f.name, f.arguments),
            Change::ReplaceFunction { to, .. } => {
                format!("modified function {}({})", to.name, to.arguments)
            }
            Change::CreateEventTrigger(e) => {
                format!("added event trigger {} on {}", e.name, e.event)
            }
            Change::DropEventTrigger(e) => format!("removed event trigger {}", e.name),
            Change::EventTriggerEnabled { name, to, .. } => format!(
                "event trigger {name} {}",
                match to.as_str() {
                    "D" => "disabled",
                    "R" => "enabled for replicas only",
                    "A" => "enabled always",
                    _ => "enabled",
                }
            ),
            Change::CreatePublication(p) => format!("added publication {}", p.name),
            Change::DropPublication(p) => format!("removed publication {}", p.name),
            Change::AlterPublication { to, .. } => format!("modified publication {}", to.name),
            Change::DefaultPrivileges {
                role,
                schema,
                object_type,
                ..
            } => format!(
                "default privileges on {} created by {role}{}",
                default_object_kind(object_type).to_lowercase(),
                schema
                    .as_ref()
                    .map(|s| format!(" in schema {s}"))
                    .unwrap_or_default()
            ),
            Change::NotMigrated {
                kind,
                name,
                from,
                to,
            } => format!(
                "{} {kind} {name} (not migrated by pgkeel)",
                match (from, to) {
                    (None, _) => "added",
                    (_, None) => "removed",
                    _ => "modified",
                }
            ),
            Change::Comment { target, .. } => format!("comment on {}", target_name(target)),
            Change::Owner { target, from, to } => {
                format!("owner of {} {from} → {to}", target_name(target))
            }
            Change::Privileges { target, .. } => format!("privileges on {}", target_name(target)),
        }
    }
}

/// `pg_default_acl.defaclobjtype` → the keyword of `ALTER DEFAULT PRIVILEGES … ON …`.
pub fn default_object_kind(code: &str) -> &'static str {
    match code {
        "S" => "SEQUENCES",
        "f" => "FUNCTIONS",
        "T" => "TYPES",
        "n" => "SCHEMAS",
        _ => "TABLES",
    }
}

fn view_kind(v: &View) -> &'static str {
    if v.materialized {
        "materialized view"
    } else {
        "view"
    }
}

pub(crate) fn target_name(t: &Target) -> String {
    match t {
        Target::Schema(s) => format!("schema {s}"),
        Target::Relation(q) => q.to_string(),
        Target::Column(q, c) => format!("{q}.{c}"),
        Target::Constraint(q, c) => format!("constraint {c} on {q}"),
        Target::Index(q) => format!("index {q}"),
        Target::Trigger(q, c) => format!("trigger {c} on {q}"),
        Target::Sequence(q) => format!("sequence {q}"),
        Target::Type(q) => format!("type {q}"),
        Target::Domain(q) => format!("domain {q}"),
        Target::Collation(q) => format!("collation {q}"),
        Target::Function {
            name, arguments, ..
        } => format!("function {name}({arguments})"),
        Target::EventTrigger(n) => format!("event trigger {n}"),
        Target::Publication(n) => format!("publication {n}"),
    }
}

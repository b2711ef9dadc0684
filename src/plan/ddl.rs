//! DDL for each kind of change.

use std::collections::{BTreeMap, BTreeSet};

use super::acl;
use super::order::Phase;
use super::{Lock, PlanOptions, Refusal, Step};
use crate::catalog::model::*;
use crate::diff::{Change, Target};
use crate::pg::quote::{ident, literal};

pub(super) struct Builder<'a> {
    from: &'a Schema,
    to: &'a Schema,
    opts: PlanOptions,
    steps: Vec<(Phase, usize, Step)>,
    refusals: Vec<Refusal>,
    /// Views dropped now and created again later because something they read changes.
    rebuild_views: BTreeSet<QName>,
    dropped_tables: BTreeSet<QName>,
    /// Tables by name, for lookups per change (a scan per change is quadratic at 5,000 tables).
    from_tables: BTreeMap<&'a QName, &'a Table>,
    to_tables: BTreeMap<&'a QName, &'a Table>,
    /// Domains created again (over a rebuilt enum) in their target form.
    rebuilt_domains: BTreeSet<QName>,
    /// The role taken to run the migration (and so to own what it creates): the most common
    /// owner of the existing objects. Objects the target gives to another role get an
    /// explicit ALTER … OWNER TO.
    runner: Option<String>,
}

/// The most common owner of the objects the migration starts from (else of the target's),
/// ties to the first by name, leaving out `pg_database_owner`, which owns `public` but runs
/// nothing.
fn likely_runner(from: &Schema, to: &Schema) -> Option<String> {
    let mut count: BTreeMap<&str, usize> = BTreeMap::new();
    for s in [from, to] {
        if !count.is_empty() {
            break;
        }
        let owners = s
            .schemas
            .iter()
            .map(|n| &n.owner)
            .chain(s.tables.iter().map(|t| &t.owner))
            .chain(s.views.iter().map(|v| &v.owner))
            .chain(s.sequences.iter().map(|x| &x.owner))
            .chain(s.functions.iter().map(|f| &f.owner))
            .chain(s.enums.iter().map(|e| &e.owner))
            .chain(s.domains.iter().map(|d| &d.owner))
            .chain(s.composites.iter().map(|c| &c.owner))
            .chain(s.ranges.iter().map(|r| &r.owner));
        for o in owners.filter(|o| o.as_str() != "pg_database_owner") {
            *count.entry(o.as_str()).or_default() += 1;
        }
    }
    let best = count.values().copied().max()?;
    count
        .into_iter()
        .find(|(_, n)| *n == best)
        .map(|(o, _)| o.to_string())
}

/// `"name" type [COLLATE] [GENERATED …] [DEFAULT …] [NOT NULL]` for CREATE TABLE / ADD COLUMN.
pub fn column_definition(c: &Column) -> String {
    let mut s = format!("{} {}", ident(&c.name), c.data_type);
    if let Some(coll) = &c.collation {
        s.push_str(&format!(" COLLATE {coll}"));
    }
    if let Some(expr) = &c.generated {
        s.push_str(&format!(" GENERATED ALWAYS AS ({expr}) STORED"));
    }
    if let Some(id) = &c.identity {
        s.push_str(&format!(
            " GENERATED {} AS IDENTITY ({})",
            identity_kind(id),
            sequence_options(&id_seq(id))
        ));
    }
    if let Some(d) = &c.default {
        s.push_str(&format!(" DEFAULT {d}"));
    }
    if c.not_null {
        s.push_str(" NOT NULL");
    }
    s
}

fn identity_kind(id: &Identity) -> &'static str {
    if id.generation == "always" {
        "ALWAYS"
    } else {
        "BY DEFAULT"
    }
}

struct SeqOpts {
    data_type: Option<String>,
    start: i64,
    increment: i64,
    min: i64,
    max: i64,
    cache: i64,
    cycle: bool,
}

fn id_seq(id: &Identity) -> SeqOpts {
    SeqOpts {
        data_type: None,
        start: id.start,
        increment: id.increment,
        min: id.min,
        max: id.max,
        cache: id.cache,
        cycle: id.cycle,
    }
}

fn sequence_options(o: &SeqOpts) -> String {
    let mut s = String::new();
    if let Some(t) = &o.data_type {
        s.push_str(&format!("AS {t} "));
    }
    s.push_str(&format!(
        "START WITH {} INCREMENT BY {} MINVALUE {} MAXVALUE {} CACHE {} {}",
        o.start,
        o.increment,
        o.min,
        o.max,
        o.cache,
        if o.cycle { "CYCLE" } else { "NO CYCLE" }
    ));
    s
}

fn strip_semicolon(s: &str) -> &str {
    s.trim_end().trim_end_matches(';').trim_end()
}

impl<'a> Builder<'a> {
    pub(super) fn new(from: &'a Schema, to: &'a Schema, opts: PlanOptions) -> Self {
        Builder {
            from,
            to,
            opts,
            steps: Vec::new(),
            refusals: Vec::new(),
            rebuild_views: BTreeSet::new(),
            dropped_tables: BTreeSet::new(),
            from_tables: from.tables.iter().map(|t| (&t.name, t)).collect(),
            to_tables: to.tables.iter().map(|t| (&t.name, t)).collect(),
            rebuilt_domains: BTreeSet::new(),
            runner: likely_runner(from, to),
        }
    }

    /// The table named `q` in the schema the migration starts from.
    fn old_table(&self, q: &QName) -> Option<&'a Table> {
        self.from_tables.get(q).copied()
    }

    /// The table named `q` in the target schema.
    fn new_table(&self, q: &QName) -> Option<&'a Table> {
        self.to_tables.get(q).copied()
    }

    /// `COMMENT ON <target> IS <text>`, with the other metadata of change `change`.
    fn comment(&mut self, change: usize, target: &Target, text: &str) {
        let what = self.target_sql(target);
        self.push(
            Phase::Metadata,
            change,
            format!("COMMENT ON {what} IS {}", literal(text)),
            Lock::None,
        );
    }

    fn push(&mut self, phase: Phase, change: usize, sql: String, lock: Lock) {
        self.push_full(phase, change, sql, lock, false, false, true);
    }

    #[allow(clippy::too_many_arguments)]
    fn push_full(
        &mut self,
        phase: Phase,
        change: usize,
        sql: String,
        lock: Lock,
        rewrites: bool,
        scans: bool,
        transactional: bool,
    ) {
        let order = self.steps.len();
        self.steps.push((
            phase,
            order,
            Step {
                sql,
                lock,
                rewrites,
                scans,
                transactional,
                change,
            },
        ));
    }

    fn refuse(&mut self, object: impl Into<String>, reason: impl Into<String>) {
        self.refusals.push(Refusal {
            object: object.into(),
            reason: reason.into(),
        });
    }

    pub(super) fn change(&mut self, i: usize, change: &Change) {
        use Phase::*;
        match change {
            Change::CreateSchema(n) => {
                self.push(
                    CreateSchemas,
                    i,
                    format!("CREATE SCHEMA {}", ident(&n.name)),
                    Lock::None,
                );
                self.created_metadata(
                    i,
                    Target::Schema(n.name.clone()),
                    &n.comment,
                    &n.acl,
                    &n.owner,
                );
            }
            Change::DropSchema(n) => self.push(
                DropSchemas,
                i,
                format!("DROP SCHEMA {}", ident(&n.name)),
                Lock::None,
            ),
            Change::CreateExtension(e) => self.push(
                CreateExtensions,
                i,
                format!(
                    "CREATE EXTENSION IF NOT EXISTS {} WITH SCHEMA {} VERSION {}",
                    ident(&e.name),
                    ident(&e.schema),
                    literal(&e.version)
                ),
                Lock::None,
            ),
            Change::DropExtension(e) => self.push(
                DropExtensions,
                i,
                format!("DROP EXTENSION {}", ident(&e.name)),
                Lock::None,
            ),
            Change::AlterExtension { from, to } => {
                if from.schema != to.schema {
                    self.push(
                        CreateExtensions,
                        i,
                        format!(
                            "ALTER EXTENSION {} SET SCHEMA {}",
                            ident(&to.name),
                            ident(&to.schema)
                        ),
                        Lock::None,
                    );
                }
                if from.version != to.version {
                    if version_key(&to.version) < version_key(&from.version) {
                        // Extensions ship upgrade scripts only: going back means reinstalling.
                        self.push(
                            DropExtensions,
                            i,
                            format!("DROP EXTENSION {}", ident(&to.name)),
                            Lock::None,
                        );
                        self.push(
                            DropExtensions,
                            i,
                            format!(
                                "CREATE EXTENSION {} WITH SCHEMA {} VERSION {}",
                                ident(&to.name),
                                ident(&to.schema),
                                literal(&to.version)
                            ),
                            Lock::None,
                        );
                    } else {
                        self.push(
                            CreateExtensions,
                            i,
                            format!(
                                "ALTER EXTENSION {} UPDATE TO {}",
                                ident(&to.name),
                                literal(&to.version)
                            ),
                            Lock::None,
                        );
                    }
                }
            }
            Change::CreateCollation(c) => {
                self.push(CreateTypes, i, create_collation(c), Lock::None)
            }
            Change::DropCollation(c) => self.push(
                DropTypes,
                i,
                format!("DROP COLLATION {}", c.name.sql()),
                Lock::None,
            ),
            Change::CreateEnum(e) => {
                self.push(CreateTypes, i, create_enum(&e.name, &e.labels), Lock::None);
                self.created_metadata(i, Target::Type(e.name.clone()), &e.comment, &e.acl, &e.owner);
            }
            Change::DropEnum(e) => self.push(
                DropTypes,
                i,
                format!("DROP TYPE {}", e.name.sql()),
                Lock::None,
            ),
            Change::AddEnumValue {
                ty,
                label,
                before,
                after,
            } => {
                let pos = match (before, after) {
                    (Some(b), _) => format!(" BEFORE {}", literal(b)),
                    (None, Some(a)) => format!(" AFTER {}", literal(a)),
                    _ => String::new(),
                };
                // A value added in a transaction cannot be used before it commits: run it alone.
                self.push_full(
                    CreateTypes,
                    i,
                    format!("ALTER TYPE {} ADD VALUE {}{pos}", ty.sql(), literal(label)),
                    Lock::None,
                    false,
                    false,
                    false,
                );
            }
            Change::RecreateEnum { from, to } => self.recreate_enum(i, from, to),
            Change::CreateDomain(d) => {
                self.push(CreateTypes, i, create_domain(d), Lock::None);
                self.created_metadata(i, Target::Domain(d.name.clone()), &d.comment, &d.acl, &d.owner);
            }
            Change::DropDomain(d) => self.push(
                DropTypes,
                i,
                format!("DROP DOMAIN {}", d.name.sql()),
                Lock::None,
            ),
            Change::AlterDomain { from, to } => {
                if !self.rebuilt_domains.contains(&to.name) {
                    self.alter_domain(i, from, to)
                }
            }
            Change::CreateComposite(c) => {
                self.push(CreateTypes, i, create_composite(c), Lock::None);
                self.created_metadata(i, Target::Type(c.name.clone()), &c.comment, &c.acl, &c.owner);
            }
            Change::DropComposite(c) => self.push(
                DropTypes,
                i,
                format!("DROP TYPE {}", c.name.sql()),
                Lock::None,
            ),
            Change::RecreateComposite { to, .. } => {
                if self.type_users(&to.name).is_empty() {
                    self.push(
                        DropTypes,
                        i,
                        format!("DROP TYPE {}", to.name.sql()),
                        Lock::None,
                    );
                    self.push(DropTypes, i, create_composite(to), Lock::None);
                    self.created_metadata(
                        i,
                        Target::Type(to.name.clone()),
                        &to.comment,
                        &to.acl,
                        &to.owner,
                    );
                } else {
                    self.refuse(format!("type {}", to.name), "its attributes change while columns use it; change it with ALTER TYPE … ADD/DROP/ALTER ATTRIBUTE in a migration you write");
                }
            }
            Change::CreateRange(r) => {
                let phase = self.range_phase(r);
                self.push(phase, i, create_range(r), Lock::None);
                self.created_metadata(i, Target::Type(r.name.clone()), &r.comment, &r.acl, &r.owner);
            }
            Change::DropRange(r) => self.push(
                DropTypes,
                i,
                format!("DROP TYPE {}", r.name.sql()),
                Lock::None,
            ),
            Change::RecreateRange { from, to } => self.recreate_range(i, from, to),
            Change::CreateSequence(s) => {
                self.push(
                    CreateSequences,
                    i,
                    format!(
                        "CREATE SEQUENCE {} {}",
                        s.name.sql(),
                        sequence_options(&seq_opts(s))
                    ),
                    Lock::None,
                );
                if let Some(c) = &s.owned_by {
                    self.push(
                        SequenceOwnership,
                        i,
                        format!(
                            "ALTER SEQUENCE {} OWNED BY {}.{}",
                            s.name.sql(),
                            c.table.sql(),
                            ident(&c.column)
                        ),
                        Lock::None,
                    );
                }
                self.created_metadata(
                    i,
                    Target::Sequence(s.name.clone()),
                    &s.comment,
                    &s.acl,
                    &s.owner,
                );
            }
            Change::DropSequence(s) => {
                // A sequence owned by a column goes with its table or column.
                let goes_with_owner = s.owned_by.as_ref().is_some_and(|o| {
                    self.dropped_tables.contains(&o.table)
                        || !self
                            .new_table(&o.table)
                            .is_some_and(|t| t.columns.iter().any(|c| c.name == o.column))
                });
                if !goes_with_owner {
                    self.push(
                        DropSequences,
                        i,
                        format!("DROP SEQUENCE {}", s.name.sql()),
                        Lock::None,
                    );
                }
            }
            Change::AlterSequence { to, .. } => self.push(
                CreateSequences,
                i,
                format!(
                    "ALTER SEQUENCE {} {}",
                    to.name.sql(),
                    sequence_options(&seq_opts(to))
                ),
                Lock::None,
            ),
            Change::SequenceOwnedBy { sequence, to } => {
                let target = match to {
                    Some(c) => format!("{}.{}", c.table.sql(), ident(&c.column)),
                    None => "NONE".into(),
                };
                self.push(
                    SequenceOwnership,
                    i,
                    format!("ALTER SEQUENCE {} OWNED BY {target}", sequence.sql()),
                    Lock::None,
                );
            }
            Change::CreateTable(t) => self.create_table(i, t),
            Change::DropTable(t) => {
                self.dropped_tables.insert(t.name.clone());
                if self.parent_goes_away(t) {
                    // Dropping the parent drops its partitions.
                    return;
                }
                self.drop_table(i, t, DropTables);
            }
            Change::RecreateTable { from, to } => {
                if self.opts.recreate_tables {
                    // Dropped before the new definition is created under the same name.
                    self.drop_table(i, from, DropConstraintsAndIndexes);
                    self.create_table(i, to);
                } else {
                    self.refuse(
                        format!("table {}", to.name),
                        "its partitioning or inheritance changes; that needs a new table and a data copy, which pgkeel will not invent: write that migration yourself, or pass --allow-recreate to drop and recreate it empty",
                    );
                }
            }
            Change::AlterTableProperties { from, to } => self.alter_table_properties(i, from, to),
            // Before any table is dropped or recreated: the parent may be one of them.
            Change::DetachPartition { table, parent } => self.push(
                DropForeignKeys,
                i,
                format!(
                    "ALTER TABLE {} DETACH PARTITION {}",
                    parent.sql(),
                    table.sql()
                ),
                Lock::AccessExclusive,
            ),
            Change::AttachPartition { table, partition } => self.push_full(
                AddConstraintsAndIndexes,
                i,
                format!(
                    "ALTER TABLE {} ATTACH PARTITION {} {}",
                    partition.parent.sql(),
                    table.sql(),
                    partition.bound
                ),
                Lock::ShareUpdateExclusive,
                false,
                true,
                true,
            ),
            Change::AddColumn { table, column } => {
                let rewrites = column.generated.is_some() || column.identity.is_some();
                self.push_full(
                    AlterColumns,
                    i,
                    format!(
                        "ALTER TABLE {} ADD COLUMN {}",
                        table.sql(),
                        column_definition(column)
                    ),
                    Lock::AccessExclusive,
                    rewrites,
                    false,
                    true,
                );
                self.identity_sequence_acl(i, table, column);
                // A new column's comment and grants are part of it (the diff has no separate
                // change for them).
                if let Some(text) = &column.comment {
                    self.comment(i, &Target::Column(table.clone(), column.name.clone()), text);
                }
                if !column.acl.is_empty() {
                    let owner = self.owner_of(&Target::Relation(table.clone()));
                    let target = Target::Column(table.clone(), column.name.clone());
                    for sql in acl::statements(
                        &format!("TABLE {}", table.sql()),
                        &target,
                        &[],
                        &column.acl,
                        owner.as_deref(),
                    ) {
                        self.push(ColumnPrivileges, i, sql, Lock::None);
                    }
                }
            }
            Change::DropColumn { table, column } => {
                let kept_by_child = self.to.tables.iter().any(|t| {
                    (t.inherits.contains(table)
                        || t.partition_of.as_ref().is_some_and(|p| &p.parent == table))
                        && t.columns
                            .iter()
                            .any(|c| c.name == column.name && c.is_local)
                });
                let only = if kept_by_child { "ONLY " } else { "" };
                self.push(
                    DropColumns,
                    i,
                    format!(
                        "ALTER TABLE {only}{} DROP COLUMN {}",
                        table.sql(),
                        ident(&column.name)
                    ),
                    Lock::AccessExclusive,
                );
            }
            Change::AlterColumn { table, from, to } => self.alter_column(i, table, from, to),
            Change::ColumnOrder { .. } => {}
            Change::AddConstraint { table, constraint } => {
                self.add_constraint(i, table, constraint)
            }
            Change::DropConstraint { table, constraint } => {
                let phase = if constraint.kind == "f" {
                    DropForeignKeys
                } else {
                    DropConstraintsAndIndexes
                };
                self.push(
                    phase,
                    i,
                    format!(
                        "ALTER TABLE {} DROP CONSTRAINT {}",
                        table.sql(),
                        ident(&constraint.name)
                    ),
                    Lock::AccessExclusive,
                );
            }
            Change::AddIndex { table, index } => self.add_index(i, table, index),
            Change::DropIndex { table, index } => {
                let qn = QName::new(table.schema.clone(), index.name.clone());
                // An index of a partitioned table goes before partitions are detached: a
                // detached partition would keep its copy of the index.
                let partitioned = self
                    .from
                    .tables
                    .iter()
                    .any(|t| &t.name == table && t.kind == TableKind::Partitioned);
                let phase = if partitioned && !index.definition.starts_with("CREATE UNIQUE") {
                    DropTriggersAndPolicies
                } else {
                    DropConstraintsAndIndexes
                };
                if self.opts.online {
                    self.push_full(
                        phase,
                        i,
                        format!("DROP INDEX CONCURRENTLY {}", qn.sql()),
                        Lock::ShareUpdateExclusive,
                        false,
                        false,
                        false,
                    );
                } else {
                    self.push(
                        phase,
                        i,
                        format!("DROP INDEX {}", qn.sql()),
                        Lock::AccessExclusive,
                    );
                }
            }
            Change::AddTrigger { table, trigger } => self.create_trigger(i, table, trigger),
            Change::DropTrigger { table, trigger } => self.push(
                DropTriggersAndPolicies,
                i,
                format!("DROP TRIGGER {} ON {}", ident(&trigger.name), table.sql()),
                Lock::AccessExclusive,
            ),
            Change::TriggerEnabled {
                table, trigger, to, ..
            } => self.push(
                TableProperties,
                i,
                trigger_enable_sql(table, trigger, to),
                Lock::ShareRowExclusive,
            ),
            Change::AddPolicy { table, policy } => self.push(
                CreateTriggersAndPolicies,
                i,
                create_policy(table, policy),
                Lock::AccessExclusive,
            ),
            Change::DropPolicy { table, policy } => self.push(
                DropTriggersAndPolicies,
                i,
                format!("DROP POLICY {} ON {}", ident(&policy.name), table.sql()),
                Lock::AccessExclusive,
            ),
            Change::CreateView(v) => self.create_view(i, v),
            Change::DropView(v) => self.drop_view(i, v),
            Change::ReplaceView { from, to } => {
                self.rebuild_views.insert(to.name.clone());
                self.drop_view(i, from);
                self.create_view(i, to);
            }
            Change::CreateFunction(f) => {
                self.push(
                    CreateFunctions,
                    i,
                    format!("{};", strip_semicolon(&f.definition)),
                    Lock::None,
                );
                let target = Target::Function {
                    name: f.name.clone(),
                    arguments: f.arguments.clone(),
                    procedure: f.kind == "p",
                };
                self.created_metadata(i, target, &f.comment, &f.acl, &f.owner);
            }
            Change::DropFunction(f) => {
                // A range type's support function goes after the type that uses it.
                let phase = if self.supports_a_range(f) {
                    DropLateFunctions
                } else {
                    DropFunctions
                };
                self.push(phase, i, drop_function(f), Lock::None)
            }
            Change::ReplaceFunction { from, to } => {
                // CREATE OR REPLACE cannot change the result type, the kind or parameter names.
                // Nor remove a parameter's default.
                let recreated = from.result != to.result
                    || from.kind != to.kind
                    || from.arguments != to.arguments
                    || parameter_defaults(&to.definition) < parameter_defaults(&from.definition);
                if recreated {
                    self.push(DropViews, i, drop_function(from), Lock::None);
                }
                self.push(
                    CreateFunctions,
                    i,
                    format!("{};", strip_semicolon(&to.definition)),
                    Lock::None,
                );
                if recreated {
                    // A new function: the old one's comment and grants went with it.
                    let target = Target::Function {
                        name: to.name.clone(),
                        arguments: to.arguments.clone(),
                        procedure: to.kind == "p",
                    };
                    self.created_metadata(i, target, &to.comment, &to.acl, &to.owner);
                }
            }
            Change::CreateEventTrigger(e) => self.create_event_trigger(i, e),
            Change::DropEventTrigger(e) => self.push(
                DropEventTriggers,
                i,
                format!("DROP EVENT TRIGGER {}", ident(&e.name)),
                Lock::None,
            ),
            Change::EventTriggerEnabled { name, to, .. } => {
                // Disabled before the rest of the migration runs, enabled after it.
                let phase = if to == "D" {
                    DropEventTriggers
                } else {
                    EventTriggers
                };
                self.push(phase, i, event_trigger_enable_sql(name, to), Lock::None);
            }
            Change::CreatePublication(p) => self.create_publication(i, p),
            Change::DropPublication(p) => self.push(
                DropTriggersAndPolicies,
                i,
                format!("DROP PUBLICATION {}", ident(&p.name)),
                Lock::None,
            ),
            Change::AlterPublication { from, to } => self.alter_publication(i, from, to),
            Change::DefaultPrivileges {
                role,
                schema,
                object_type,
                from,
                to,
            } => {
                let mut prefix = format!("ALTER DEFAULT PRIVILEGES FOR ROLE {}", ident(role));
                if let Some(s) = schema {
                    prefix.push_str(&format!(" IN SCHEMA {}", ident(s)));
                }
                // An entry of a schema this migration drops must go first: it depends on it.
                let schema_goes = schema
                    .as_ref()
                    .is_some_and(|s| !self.to.schemas.iter().any(|n| &n.name == s));
                let phase = if schema_goes {
                    DropViews
                } else {
                    DefaultPrivileges
                };
                let kind = crate::diff::default_object_kind(object_type);
                for sql in acl::literal_statements(kind, from, to) {
                    self.push(phase, i, format!("{prefix} {sql}"), Lock::None);
                }
            }
            Change::NotMigrated { kind, name, .. } => self.refuse(
                format!("{kind} {name}"),
                format!(
                    "pgkeel does not migrate {kind} objects yet; write this change in a migration yourself"
                ),
            ),
            Change::Comment { target, to, .. } => {
                let what = self.target_sql(target);
                let text = to.as_deref().map(literal).unwrap_or_else(|| "NULL".into());
                self.push(
                    Metadata,
                    i,
                    format!("COMMENT ON {what} IS {text}"),
                    Lock::None,
                );
            }
            Change::Owner { target, to, .. } => {
                if let Some(what) = self.owner_target_sql(target) {
                    self.push(
                        Metadata,
                        i,
                        format!("ALTER {what} OWNER TO {}", ident(to)),
                        Lock::AccessExclusive,
                    );
                }
            }
            Change::Privileges { target, from, to } => {
                let object = self.grant_target_sql(target);
                let owner = self.owner_of(target);
                let phase = if matches!(target, Target::Column(..)) {
                    ColumnPrivileges
                } else {
                    Metadata
                };
                for sql in acl::statements(&object, target, from, to, owner.as_deref()) {
                    self.push(phase, i, sql, Lock::None);
                }
            }
        }
    }

    fn create_table(&mut self, i: usize, t: &Table) {
        let mut sql = format!(
            "CREATE {}TABLE {}",
            if t.unlogged { "UNLOGGED " } else { "" },
            t.name.sql()
        );
        if let Some(p) = &t.partition_of {
            sql.push_str(&format!(" PARTITION OF {} {}", p.parent.sql(), p.bound));
        } else {
            let cols: Vec<String> = t
                .columns
                .iter()
                .filter(|c| c.is_local)
                .map(|c| format!("    {}", column_definition(c)))
                .collect();
            if cols.is_empty() {
                sql.push_str(" ()");
            } else {
                sql.push_str(&format!(" (\n{}\n)", cols.join(",\n")));
            }
            if !t.inherits.is_empty() {
                let parents: Vec<String> = t.inherits.iter().map(QName::sql).collect();
                sql.push_str(&format!(" INHERITS ({})", parents.join(", ")));
            }
        }
        if let Some(k) = &t.partition_key {
            sql.push_str(&format!(" PARTITION BY {k}"));
        }
        if !t.options.is_empty() {
            sql.push_str(&format!(" WITH ({})", t.options.join(", ")));
        }
        self.push(Phase::CreateTables, i, sql, Lock::None);
        // Partition columns inherit from the parent; local NOT NULL / defaults must be set.
        if t.partition_of.is_some() {
            for c in t.columns.iter() {
                if let Some(d) = &c.default {
                    if self
                        .parent_column(t, &c.name)
                        .is_some_and(|pc| pc.default.as_ref() != Some(d))
                    {
                        self.push(
                            Phase::CreateTables,
                            i,
                            format!(
                                "ALTER TABLE {} ALTER COLUMN {} SET DEFAULT {d}",
                                t.name.sql(),
                                ident(&c.name)
                            ),
                            Lock::None,
                        );
                    }
                }
            }
        }
        for c in t
            .columns
            .iter()
            .filter(|c| c.storage.is_some() || c.statistics.is_some())
        {
            let alter = format!(
                "ALTER TABLE {} ALTER COLUMN {}",
                t.name.sql(),
                ident(&c.name)
            );
            if let Some(code) = &c.storage {
                self.push(
                    Phase::CreateTables,
                    i,
                    format!("{alter} SET STORAGE {}", storage_name(code)),
                    Lock::None,
                );
            }
            if let Some(n) = c.statistics {
                self.push(
                    Phase::CreateTables,
                    i,
                    format!("{alter} SET STATISTICS {n}"),
                    Lock::None,
                );
            }
        }
        for c in &t.constraints {
            self.add_constraint(i, &t.name, c);
        }
        for idx in &t.indexes {
            self.add_index(i, &t.name, idx);
        }
        for tr in &t.triggers {
            self.create_trigger(i, &t.name, tr);
        }
        for p in &t.policies {
            self.push(
                Phase::CreateTriggersAndPolicies,
                i,
                create_policy(&t.name, p),
                Lock::AccessExclusive,
            );
        }
        let defaults = Table {
            unlogged: t.unlogged,
            options: t.options.clone(),
            rls_enabled: false,
            rls_forced: false,
            replica_identity: "d".into(),
            replica_identity_index: None,
            ..t.clone()
        };
        self.alter_table_properties(i, &defaults, t);
        if let Some(c) = &t.comment {
            self.push(
                Phase::Metadata,
                i,
                format!("COMMENT ON TABLE {} IS {}", t.name.sql(), literal(c)),
                Lock::None,
            );
        }
        for c in &t.columns {
            if let Some(text) = &c.comment {
                self.comment(i, &Target::Column(t.name.clone(), c.name.clone()), text);
            }
        }
        self.created_owner(i, &Target::Relation(t.name.clone()), &t.owner);
        self.created_acl(
            i,
            Phase::Metadata,
            &Target::Relation(t.name.clone()),
            &t.acl,
            &t.owner,
        );
        for c in &t.columns {
            self.identity_sequence_acl(i, &t.name, c);
        }
        for c in &t.columns {
            if !c.acl.is_empty() {
                let target = Target::Column(t.name.clone(), c.name.clone());
                for sql in acl::statements(
                    &format!("TABLE {}", t.name.sql()),
                    &target,
                    &[],
                    &c.acl,
                    Some(&t.owner),
                ) {
                    self.push(Phase::ColumnPrivileges, i, sql, Lock::None);
                }
            }
        }
    }

    fn parent_column(&self, t: &Table, name: &str) -> Option<&Column> {
        let parent = &t.partition_of.as_ref()?.parent;
        self.to
            .tables
            .iter()
            .find(|p| &p.name == parent)?
            .columns
            .iter()
            .find(|c| c.name == name)
    }

    fn alter_table_properties(&mut self, i: usize, from: &Table, to: &Table) {
        let t = to.name.sql();
        if from.unlogged != to.unlogged {
            self.push_full(
                Phase::TableProperties,
                i,
                format!(
                    "ALTER TABLE {t} SET {}",
                    if to.unlogged { "UNLOGGED" } else { "LOGGED" }
                ),
                Lock::AccessExclusive,
                true,
                false,
                true,
            );
        }
        if from.rls_enabled != to.rls_enabled {
            self.push(
                Phase::TableProperties,
                i,
                format!(
                    "ALTER TABLE {t} {} ROW LEVEL SECURITY",
                    if to.rls_enabled { "ENABLE" } else { "DISABLE" }
                ),
                Lock::AccessExclusive,
            );
        }
        if from.rls_forced != to.rls_forced {
            self.push(
                Phase::TableProperties,
                i,
                format!(
                    "ALTER TABLE {t} {}FORCE ROW LEVEL SECURITY",
                    if to.rls_forced { "" } else { "NO " }
                ),
                Lock::AccessExclusive,
            );
        }
        if from.replica_identity != to.replica_identity
            || from.replica_identity_index != to.replica_identity_index
        {
            let what = match to.replica_identity.as_str() {
                "n" => "NOTHING".to_string(),
                "f" => "FULL".to_string(),
                "i" => match &to.replica_identity_index {
                    Some(index) => format!("USING INDEX {}", ident(index)),
                    None => {
                        self.refuse(
                            format!("table {}", to.name),
                            "its replica identity index is unknown to this snapshot",
                        );
                        return;
                    }
                },
                _ => "DEFAULT".to_string(),
            };
            self.push(
                Phase::TableProperties,
                i,
                format!("ALTER TABLE {t} REPLICA IDENTITY {what}"),
                Lock::AccessExclusive,
            );
        }
        if from.options != to.options {
            let removed: Vec<String> = from
                .options
                .iter()
                .filter_map(|o| o.split_once('=').map(|(k, _)| k.to_string()))
                .filter(|k| !to.options.iter().any(|o| o.starts_with(&format!("{k}="))))
                .collect();
            if !removed.is_empty() {
                self.push(
                    Phase::TableProperties,
                    i,
                    format!("ALTER TABLE {t} RESET ({})", removed.join(", ")),
                    Lock::ShareUpdateExclusive,
                );
            }
            if !to.options.is_empty() {
                self.push(
                    Phase::TableProperties,
                    i,
                    format!("ALTER TABLE {t} SET ({})", to.options.join(", ")),
                    Lock::ShareUpdateExclusive,
                );
            }
        }
    }

    fn alter_column(&mut self, i: usize, table: &QName, from: &Column, to: &Column) {
        let t = table.sql();
        let c = ident(&to.name);
        let alter = format!("ALTER TABLE {t} ALTER COLUMN {c}");
        if from.generated != to.generated {
            match (&from.generated, &to.generated) {
                (Some(_), None) => self.push(
                    Phase::AlterColumns,
                    i,
                    format!("{alter} DROP EXPRESSION"),
                    Lock::AccessExclusive,
                ),
                _ => {
                    // No ALTER form before PostgreSQL 17: drop and add the column.
                    self.push(
                        Phase::AlterColumns,
                        i,
                        format!("ALTER TABLE {t} DROP COLUMN {c}"),
                        Lock::AccessExclusive,
                    );
                    self.push_full(
                        Phase::AlterColumns,
                        i,
                        format!("ALTER TABLE {t} ADD COLUMN {}", column_definition(to)),
                        Lock::AccessExclusive,
                        true,
                        false,
                        true,
                    );
                    return;
                }
            }
        }
        if from.identity.is_some() && to.identity.is_none() {
            // Early: a new sequence may want the identity sequence's name (identity → serial).
            self.push(
                Phase::DropConstraintsAndIndexes,
                i,
                format!("{alter} DROP IDENTITY"),
                Lock::AccessExclusive,
            );
        }
        let type_changes = from.data_type != to.data_type || from.collation != to.collation;
        // The old default goes first when it is removed, or when the type changes (it may not
        // cast to the new type); the new one is set after.
        if from.default.is_some() && (to.default.is_none() || type_changes) {
            self.push(
                Phase::AlterColumns,
                i,
                format!("{alter} DROP DEFAULT"),
                Lock::AccessExclusive,
            );
        }
        if type_changes {
            self.rebuild_triggers_reading(i, table, &to.name);
            self.rebuild_policies_reading(i, table, &to.name);
            let collate = to
                .collation
                .as_ref()
                .map(|c| format!(" COLLATE {c}"))
                .unwrap_or_default();
            // Enums have no casts to other types; their text form does.
            let via_text = if self.is_enum(&from.data_type) {
                "::text"
            } else {
                ""
            };
            self.push_full(
                Phase::AlterColumns,
                i,
                format!(
                    "{alter} TYPE {}{collate} USING {c}{via_text}::{}",
                    to.data_type, to.data_type
                ),
                Lock::AccessExclusive,
                true,
                false,
                true,
            );
        }
        if let Some(d) = &to.default {
            if from.default != to.default || type_changes {
                self.push(
                    Phase::AlterColumns,
                    i,
                    format!("{alter} SET DEFAULT {d}"),
                    Lock::AccessExclusive,
                );
            }
        }
        if from.storage != to.storage {
            let code = to
                .storage
                .as_deref()
                .or(from.type_storage.as_deref())
                .unwrap_or("x");
            self.push(
                Phase::AlterColumns,
                i,
                format!("{alter} SET STORAGE {}", storage_name(code)),
                Lock::AccessExclusive,
            );
        }
        if from.statistics != to.statistics {
            self.push(
                Phase::AlterColumns,
                i,
                format!("{alter} SET STATISTICS {}", to.statistics.unwrap_or(-1)),
                Lock::ShareUpdateExclusive,
            );
        }
        if from.not_null != to.not_null {
            if to.not_null {
                self.set_not_null(i, table, &to.name);
            } else {
                self.push(
                    Phase::AlterColumns,
                    i,
                    format!("{alter} DROP NOT NULL"),
                    Lock::AccessExclusive,
                );
            }
        }
        match (&from.identity, &to.identity) {
            (None, Some(id)) => {
                self.push(
                    Phase::AlterColumns,
                    i,
                    format!(
                        "{alter} ADD GENERATED {} AS IDENTITY ({})",
                        identity_kind(id),
                        sequence_options(&id_seq(id))
                    ),
                    Lock::AccessExclusive,
                );
                self.identity_sequence_acl(i, table, to);
            }
            (Some(a), Some(b)) if a.definition() != b.definition() => {
                let mut parts = Vec::new();
                if a.generation != b.generation {
                    parts.push(format!("SET GENERATED {}", identity_kind(b)));
                }
                let o = id_seq(b);
                parts.push(format!(
                    "SET START WITH {} SET INCREMENT BY {} SET MINVALUE {} SET MAXVALUE {} SET CACHE {} SET {}",
                    o.start, o.increment, o.min, o.max, o.cache, if o.cycle { "CYCLE" } else { "NO CYCLE" }
                ));
                self.push(
                    Phase::AlterColumns,
                    i,
                    format!("{alter} {}", parts.join(" ")),
                    Lock::AccessExclusive,
                );
            }
            _ => {}
        }
    }

    fn set_not_null(&mut self, i: usize, table: &QName, column: &str) {
        let t = table.sql();
        let c = ident(column);
        if self.opts.online {
            // A validated CHECK lets SET NOT NULL skip its scan (PostgreSQL 12+).
            let check = ident(&format!("{}_not_null_tmp", truncate(column, 40)));
            self.push(
                Phase::AlterColumns,
                i,
                format!("ALTER TABLE {t} ADD CONSTRAINT {check} CHECK ({c} IS NOT NULL) NOT VALID"),
                Lock::AccessExclusive,
            );
            self.push_full(
                Phase::AlterColumns,
                i,
                format!("ALTER TABLE {t} VALIDATE CONSTRAINT {check}"),
                Lock::ShareUpdateExclusive,
                false,
                true,
                true,
            );
            self.push(
                Phase::AlterColumns,
                i,
                format!("ALTER TABLE {t} ALTER COLUMN {c} SET NOT NULL"),
                Lock::AccessExclusive,
            );
            self.push(
                Phase::AlterColumns,
                i,
                format!("ALTER TABLE {t} DROP CONSTRAINT {check}"),
                Lock::AccessExclusive,
            );
        } else {
            self.push_full(
                Phase::AlterColumns,
                i,
                format!("ALTER TABLE {t} ALTER COLUMN {c} SET NOT NULL"),
                Lock::AccessExclusive,
                false,
                true,
                true,
            );
        }
    }

    /// DROP TABLE in `phase`, its foreign keys first (the keys they reference may go earlier).
    fn drop_table(&mut self, i: usize, t: &Table, phase: Phase) {
        for c in t.constraints.iter().filter(|c| c.kind == "f") {
            self.push(
                Phase::DropForeignKeys,
                i,
                format!(
                    "ALTER TABLE {} DROP CONSTRAINT {}",
                    t.name.sql(),
                    ident(&c.name)
                ),
                Lock::AccessExclusive,
            );
        }
        self.push(
            phase,
            i,
            format!("DROP TABLE {}", t.name.sql()),
            Lock::AccessExclusive,
        );
    }

    /// Whether `t` is a partition whose parent is dropped, or recreated, by this plan.
    fn parent_goes_away(&self, t: &Table) -> bool {
        let Some(p) = &t.partition_of else {
            return false;
        };
        let old = self.old_table(&p.parent);
        let new = self.new_table(&p.parent);
        match (old, new) {
            (Some(_), None) => true,
            (Some(o), Some(n)) => {
                self.opts.recreate_tables
                    && (o.kind != n.kind
                        || o.partition_key != n.partition_key
                        || o.inherits != n.inherits)
            }
            _ => false,
        }
    }

    /// CREATE TRIGGER, its enabled state and its comment.
    fn create_trigger(&mut self, i: usize, table: &QName, t: &Trigger) {
        self.push(
            Phase::CreateTriggersAndPolicies,
            i,
            t.definition.clone(),
            Lock::ShareRowExclusive,
        );
        if t.enabled != "O" {
            self.push(
                Phase::CreateTriggersAndPolicies,
                i,
                trigger_enable_sql(table, &t.name, &t.enabled),
                Lock::ShareRowExclusive,
            );
        }
        if let Some(text) = &t.comment {
            self.push(
                Phase::Metadata,
                i,
                format!(
                    "COMMENT ON TRIGGER {} ON {} IS {}",
                    ident(&t.name),
                    table.sql(),
                    literal(text)
                ),
                Lock::None,
            );
        }
    }

    fn add_constraint(&mut self, i: usize, table: &QName, c: &Constraint) {
        if let Some(text) = &c.comment {
            self.push(
                Phase::Metadata,
                i,
                format!(
                    "COMMENT ON CONSTRAINT {} ON {} IS {}",
                    ident(&c.name),
                    table.sql(),
                    literal(text)
                ),
                Lock::None,
            );
        }
        let t = table.sql();
        let name = ident(&c.name);
        let table_is_new = self.old_table(table).is_none();
        let phase = if c.kind == "f" {
            Phase::AddForeignKeys
        } else {
            Phase::AddConstraintsAndIndexes
        };
        let (lock, scans) = match c.kind.as_str() {
            "f" => (Lock::ShareRowExclusive, c.validated),
            "c" => (Lock::AccessExclusive, c.validated),
            _ => (Lock::AccessExclusive, true),
        };
        if self.opts.online && !table_is_new && c.validated && matches!(c.kind.as_str(), "f" | "c")
        {
            self.push(
                phase,
                i,
                format!(
                    "ALTER TABLE {t} ADD CONSTRAINT {name} {} NOT VALID",
                    c.definition
                ),
                lock,
            );
            self.push_full(
                phase,
                i,
                format!("ALTER TABLE {t} VALIDATE CONSTRAINT {name}"),
                Lock::ShareUpdateExclusive,
                false,
                true,
                true,
            );
        } else {
            self.push_full(
                phase,
                i,
                format!("ALTER TABLE {t} ADD CONSTRAINT {name} {}", c.definition),
                lock,
                false,
                scans && !table_is_new,
                true,
            );
        }
    }

    fn add_index(&mut self, i: usize, table: &QName, index: &Index) {
        // pg_get_indexdef says `ON ONLY` for a partitioned parent; created that way the index
        // stays invalid and is never built on the partitions.
        let owned;
        let index = if index.definition.contains(" ON ONLY ") {
            owned = Index {
                definition: index.definition.replacen(" ON ONLY ", " ON ", 1),
                ..index.clone()
            };
            &owned
        } else {
            index
        };
        if let Some(text) = &index.comment {
            let name = QName::new(table.schema.clone(), index.name.clone());
            self.push(
                Phase::Metadata,
                i,
                format!("COMMENT ON INDEX {} IS {}", name.sql(), literal(text)),
                Lock::None,
            );
        }
        let relation_is_new =
            self.old_table(table).is_none() && !self.from.views.iter().any(|v| &v.name == table);
        if self.opts.online && !relation_is_new {
            let sql = index
                .definition
                .replacen(" INDEX ", " INDEX CONCURRENTLY ", 1);
            self.push_full(
                Phase::AddConstraintsAndIndexes,
                i,
                sql,
                Lock::ShareUpdateExclusive,
                false,
                true,
                false,
            );
        } else {
            let phase = if self.to.views.iter().any(|v| &v.name == table) {
                Phase::CreateTriggersAndPolicies
            } else {
                Phase::AddConstraintsAndIndexes
            };
            self.push_full(
                phase,
                i,
                index.definition.clone(),
                Lock::Share,
                false,
                !relation_is_new,
                true,
            );
        }
    }

    fn create_view(&mut self, i: usize, v: &View) {
        let with = if v.options.is_empty() {
            String::new()
        } else {
            format!(" WITH ({})", v.options.join(", "))
        };
        let kind = if v.materialized {
            "MATERIALIZED VIEW"
        } else {
            "VIEW"
        };
        self.push(
            Phase::CreateViews,
            i,
            format!(
                "CREATE {kind} {}{with} AS\n{}",
                v.name.sql(),
                strip_semicolon(&v.definition)
            ),
            Lock::None,
        );
        for idx in &v.indexes {
            self.add_index(i, &v.name, idx);
        }
        for tr in &v.triggers {
            self.create_trigger(i, &v.name, tr);
        }
        if let Some(c) = &v.comment {
            self.push(
                Phase::Metadata,
                i,
                format!("COMMENT ON {kind} {} IS {}", v.name.sql(), literal(c)),
                Lock::None,
            );
        }
        for c in &v.columns {
            if let Some(text) = &c.comment {
                self.comment(i, &Target::Column(v.name.clone(), c.name.clone()), text);
            }
            if !c.acl.is_empty() {
                let target = Target::Column(v.name.clone(), c.name.clone());
                for sql in acl::statements(
                    &format!("TABLE {}", v.name.sql()),
                    &target,
                    &[],
                    &c.acl,
                    Some(&v.owner),
                ) {
                    self.push(Phase::ColumnPrivileges, i, sql, Lock::None);
                }
            }
        }
        self.created_owner(i, &Target::Relation(v.name.clone()), &v.owner);
        self.created_acl(
            i,
            Phase::Metadata,
            &Target::Relation(v.name.clone()),
            &v.acl,
            &v.owner,
        );
    }

    fn drop_view(&mut self, i: usize, v: &View) {
        let kind = if v.materialized {
            "MATERIALIZED VIEW"
        } else {
            "VIEW"
        };
        self.push(
            Phase::DropViews,
            i,
            format!("DROP {kind} {}", v.name.sql()),
            Lock::AccessExclusive,
        );
    }

    fn recreate_enum(&mut self, i: usize, from: &EnumType, to: &EnumType) {
        // The old type is renamed away: whatever else is built on it would stay on it. Domains
        // directly over it are rebuilt with it (when nothing is built on them in turn); any
        // other dependent is refused.
        let domains: Vec<(Domain, Domain)> = self
            .from
            .domains
            .iter()
            .filter(|d| mentions_type(&d.base_type, &from.name))
            .filter_map(|d| {
                let new = self.to.domains.iter().find(|n| n.name == d.name)?;
                mentions_type(&new.base_type, &to.name).then(|| (d.clone(), new.clone()))
            })
            .collect();
        let mut dependents: Vec<String> = self
            .type_dependents(&from.name)
            .into_iter()
            .filter(|d| {
                !domains
                    .iter()
                    .any(|(x, _)| *d == format!("domain {}", x.name))
            })
            .collect();
        for (d, _) in &domains {
            dependents.extend(self.type_dependents(&d.name));
        }
        if !dependents.is_empty() {
            self.refuse(
                format!("enum {}", to.name),
                format!(
                    "its values are removed or reordered while {} use{} it; rebuild {} in a migration you write",
                    dependents.join(", "),
                    if dependents.len() == 1 { "s" } else { "" },
                    if dependents.len() == 1 { "it" } else { "them" }
                ),
            );
            return;
        }
        let users = self.type_users(&to.name);
        let old_name = |q: &QName| {
            QName::new(
                q.schema.clone(),
                format!("{}__pgkeel_old", truncate(&q.name, 50)),
            )
        };
        let tmp = old_name(&to.name);
        self.push(
            Phase::CreateTypes,
            i,
            format!(
                "ALTER TYPE {} RENAME TO {}",
                from.name.sql(),
                ident(&tmp.name)
            ),
            Lock::None,
        );
        for (d, _) in &domains {
            self.push(
                Phase::CreateTypes,
                i,
                format!(
                    "ALTER DOMAIN {} RENAME TO {}",
                    d.name.sql(),
                    ident(&old_name(&d.name).name)
                ),
                Lock::None,
            );
        }
        self.push(
            Phase::CreateTypes,
            i,
            create_enum(&to.name, &to.labels),
            Lock::None,
        );
        // A new type: its comment and privileges do not carry over from the old one.
        self.created_metadata(
            i,
            Target::Type(to.name.clone()),
            &to.comment,
            &to.acl,
            &to.owner,
        );
        for (_, d) in &domains {
            // Created as the target defines it: its own changes are made here.
            self.rebuilt_domains.insert(d.name.clone());
            self.push(Phase::CreateTypes, i, create_domain(d), Lock::None);
            self.created_metadata(
                i,
                Target::Domain(d.name.clone()),
                &d.comment,
                &d.acl,
                &d.owner,
            );
        }
        self.convert_columns(i, Phase::CreateTypes, &users, &to.name);
        for (d, _) in &domains {
            let users = self.type_users(&d.name);
            self.convert_columns(i, Phase::CreateTypes, &users, &d.name);
        }
        for (d, _) in &domains {
            self.push(
                Phase::DropTypes,
                i,
                format!("DROP DOMAIN {}", old_name(&d.name).sql()),
                Lock::None,
            );
        }
        self.push(
            Phase::DropTypes,
            i,
            format!("DROP TYPE {}", tmp.sql()),
            Lock::None,
        );
    }

    /// Where a range type is created: after the functions when its canonical or difference
    /// function is new in this migration, else with the other types (functions may use it).
    fn range_phase(&self, r: &RangeType) -> Phase {
        let new_function = [&r.canonical, &r.subtype_diff]
            .into_iter()
            .flatten()
            .filter_map(|f| parse_qualified(f))
            .any(|q| !self.from.functions.iter().any(|f| f.name == q));
        if new_function {
            Phase::CreateLateTypes
        } else {
            Phase::CreateTypes
        }
    }

    /// Whether `f` is the canonical or difference function of a range type of the old schema.
    fn supports_a_range(&self, f: &Function) -> bool {
        self.from.ranges.iter().any(|r| {
            [&r.canonical, &r.subtype_diff]
                .into_iter()
                .flatten()
                .filter_map(|x| parse_qualified(x))
                .any(|q| q == f.name)
        })
    }

    /// Functions, domains, composite and range types of both schemas that use type `ty`
    /// (besides table columns), by description.
    fn type_dependents(&self, ty: &QName) -> Vec<String> {
        let mut out = BTreeSet::new();
        for f in &self.from.functions {
            let kept = self
                .to
                .functions
                .iter()
                .any(|n| n.name == f.name && n.argument_types == f.argument_types);
            if kept && (mentions_type(&f.arguments, ty) || mentions_type(&f.result, ty)) {
                out.insert(format!("function {}({})", f.name, f.arguments));
            }
        }
        for d in &self.from.domains {
            if mentions_type(&d.base_type, ty) {
                out.insert(format!("domain {}", d.name));
            }
        }
        for c in &self.from.composites {
            if c.attributes
                .iter()
                .any(|a| mentions_type(&a.definition, ty))
            {
                out.insert(format!("type {}", c.name));
            }
        }
        for r in &self.from.ranges {
            if r.name != *ty && mentions_type(&r.subtype, ty) {
                out.insert(format!("range type {}", r.name));
            }
        }
        out.into_iter().collect()
    }

    /// A range type whose definition changes. Without columns using it, it is dropped and
    /// created again; with columns, it is rebuilt like an enum (rename the old type, its
    /// multirange and their constructor functions, create the new one, convert the columns
    /// through text, drop the old one) when the subtype stays, so every value converts as it
    /// is. A subtype change with columns, or other objects using the type, is refused.
    fn recreate_range(&mut self, i: usize, from: &RangeType, to: &RangeType) {
        let object = format!("range type {}", to.name);
        let dependents = self.type_dependents(&from.name);
        if !dependents.is_empty() {
            self.refuse(
                object,
                format!(
                    "its definition changes while {} use{} it; rebuild it in a migration you write",
                    dependents.join(", "),
                    if dependents.len() == 1 { "s" } else { "" }
                ),
            );
            return;
        }
        let users = self.type_users(&from.name);
        let phase = self.range_phase(to);
        if users.is_empty() {
            self.push(
                Phase::CreateTypes,
                i,
                format!("DROP TYPE {}", from.name.sql()),
                Lock::None,
            );
            self.push(phase, i, create_range(to), Lock::None);
            self.created_metadata(
                i,
                Target::Type(to.name.clone()),
                &to.comment,
                &to.acl,
                &to.owner,
            );
            return;
        }
        if from.subtype != to.subtype {
            let columns: Vec<String> = users.iter().map(|(t, c, _)| format!("{t}.{c}")).collect();
            self.refuse(
                object,
                format!(
                    "its subtype changes from {} to {} while columns use it ({}); pgkeel will not guess how the values convert: write this migration yourself",
                    from.subtype,
                    to.subtype,
                    columns.join(", ")
                ),
            );
            return;
        }
        let tmp_name = format!("{}__pgkeel_old", truncate(&from.name.name, 50));
        let tmp = QName::new(from.name.schema.clone(), tmp_name.clone());
        self.push(
            Phase::CreateTypes,
            i,
            format!(
                "ALTER TYPE {} RENAME TO {}",
                from.name.sql(),
                ident(&tmp_name)
            ),
            Lock::None,
        );
        // The constructor functions keep their names when the type is renamed: rename them
        // too, or the new type's constructors collide with them.
        for args in [
            format!("{0}, {0}", from.subtype),
            format!("{0}, {0}, text", from.subtype),
        ] {
            self.push(
                Phase::CreateTypes,
                i,
                format!(
                    "ALTER FUNCTION {}({args}) RENAME TO {}",
                    from.name.sql(),
                    ident(&tmp_name)
                ),
                Lock::None,
            );
        }
        if let Some(m) = from.multirange.as_deref().and_then(parse_qualified) {
            let m_tmp = format!("{}__pgkeel_old", truncate(&m.name, 50));
            self.push(
                Phase::CreateTypes,
                i,
                format!("ALTER TYPE {} RENAME TO {}", m.sql(), ident(&m_tmp)),
                Lock::None,
            );
            for args in [
                String::new(),
                tmp.sql(),
                format!("VARIADIC {}[]", tmp.sql()),
            ] {
                self.push(
                    Phase::CreateTypes,
                    i,
                    format!(
                        "ALTER FUNCTION {}({args}) RENAME TO {}",
                        m.sql(),
                        ident(&m_tmp)
                    ),
                    Lock::None,
                );
            }
        }
        self.push(phase, i, create_range(to), Lock::None);
        self.created_metadata(
            i,
            Target::Type(to.name.clone()),
            &to.comment,
            &to.acl,
            &to.owner,
        );
        self.convert_columns(i, phase, &users, &to.name);
        self.push(
            Phase::DropTypes,
            i,
            format!("DROP TYPE {}", tmp.sql()),
            Lock::None,
        );
    }

    /// Moves columns to the rebuilt type `ty` through their text form, keeping defaults.
    fn convert_columns(
        &mut self,
        i: usize,
        phase: Phase,
        users: &[(QName, String, bool)],
        ty: &QName,
    ) {
        for (table, column, array) in users {
            let new_type = format!("{}{}", ty.sql(), if *array { "[]" } else { "" });
            let default_in = |s: &Schema| {
                s.tables
                    .iter()
                    .find(|t| &t.name == table)
                    .and_then(|t| t.columns.iter().find(|c| &c.name == column))
                    .and_then(|c| c.default.clone())
            };
            // The old default may hold a value the new type lacks: it goes first.
            let (old_default, default) = (default_in(self.from), default_in(self.to));
            let alter = format!("ALTER TABLE {} ALTER COLUMN {}", table.sql(), ident(column));
            if old_default.is_some() || default.is_some() {
                self.push(
                    phase,
                    i,
                    format!("{alter} DROP DEFAULT"),
                    Lock::AccessExclusive,
                );
            }
            self.push_full(
                phase,
                i,
                format!(
                    "{alter} TYPE {new_type} USING {}::text{}::{new_type}",
                    ident(column),
                    if *array { "[]" } else { "" }
                ),
                Lock::AccessExclusive,
                true,
                false,
                true,
            );
            if let Some(d) = default {
                self.push(
                    phase,
                    i,
                    format!("{alter} SET DEFAULT {d}"),
                    Lock::AccessExclusive,
                );
            }
        }
    }

    fn create_event_trigger(&mut self, i: usize, e: &EventTrigger) {
        let mut sql = format!(
            "CREATE EVENT TRIGGER {} ON {}",
            ident(&e.name),
            ident(&e.event)
        );
        if !e.tags.is_empty() {
            let tags: Vec<String> = e.tags.iter().map(|t| literal(t)).collect();
            sql.push_str(&format!(" WHEN TAG IN ({})", tags.join(", ")));
        }
        sql.push_str(&format!(" EXECUTE FUNCTION {}()", e.function));
        self.push(Phase::EventTriggers, i, sql, Lock::None);
        if self.runner.as_deref().is_some_and(|r| r != e.owner) {
            self.push(
                Phase::EventTriggers,
                i,
                format!(
                    "ALTER EVENT TRIGGER {} OWNER TO {}",
                    ident(&e.name),
                    ident(&e.owner)
                ),
                Lock::None,
            );
        }
        if e.enabled != "O" {
            self.push(
                Phase::EventTriggers,
                i,
                event_trigger_enable_sql(&e.name, &e.enabled),
                Lock::None,
            );
        }
        if let Some(text) = &e.comment {
            self.push(
                Phase::EventTriggers,
                i,
                format!(
                    "COMMENT ON EVENT TRIGGER {} IS {}",
                    ident(&e.name),
                    literal(text)
                ),
                Lock::None,
            );
        }
    }

    fn create_publication(&mut self, i: usize, p: &Publication) {
        let mut sql = format!("CREATE PUBLICATION {}", ident(&p.name));
        if p.all_tables {
            sql.push_str(" FOR ALL TABLES");
        } else {
            // One TABLE keyword for the whole list: PostgreSQL 14 knows no other form.
            let mut members = Vec::new();
            if !p.tables.is_empty() {
                let tables: Vec<String> = p.tables.iter().map(publication_table).collect();
                members.push(format!("TABLE {}", tables.join(", ")));
            }
            if !p.schemas.is_empty() {
                let schemas: Vec<String> = p.schemas.iter().map(|s| ident(s)).collect();
                members.push(format!("TABLES IN SCHEMA {}", schemas.join(", ")));
            }
            if !members.is_empty() {
                sql.push_str(&format!(" FOR {}", members.join(", ")));
            }
        }
        sql.push_str(&format!(
            " WITH ({})",
            publication_options(p, p.generated_columns.is_some())
        ));
        self.push(
            Phase::CreateTriggersAndPolicies,
            i,
            sql,
            Lock::ShareUpdateExclusive,
        );
        self.created_owner(i, &Target::Publication(p.name.clone()), &p.owner);
        if let Some(text) = &p.comment {
            self.push(
                Phase::Metadata,
                i,
                format!(
                    "COMMENT ON PUBLICATION {} IS {}",
                    ident(&p.name),
                    literal(text)
                ),
                Lock::None,
            );
        }
    }

    /// Members leave early (before their tables or columns may go) and join late (after
    /// they exist); a member whose column list or row filter changes leaves and joins again.
    /// FOR ALL TABLES cannot be altered: the publication is dropped and created again.
    fn alter_publication(&mut self, i: usize, from: &Publication, to: &Publication) {
        let name = ident(&to.name);
        if from.all_tables != to.all_tables {
            self.push(
                Phase::DropTriggersAndPolicies,
                i,
                format!("DROP PUBLICATION {name}"),
                Lock::None,
            );
            self.create_publication(i, to);
            return;
        }
        for t in &from.tables {
            if !to.tables.contains(t) {
                self.push(
                    Phase::DropTriggersAndPolicies,
                    i,
                    format!("ALTER PUBLICATION {name} DROP TABLE {}", t.table.sql()),
                    Lock::ShareUpdateExclusive,
                );
            }
        }
        for s in &from.schemas {
            if !to.schemas.contains(s) {
                self.push(
                    Phase::DropTriggersAndPolicies,
                    i,
                    format!(
                        "ALTER PUBLICATION {name} DROP TABLES IN SCHEMA {}",
                        ident(s)
                    ),
                    Lock::ShareUpdateExclusive,
                );
            }
        }
        for s in &to.schemas {
            if !from.schemas.contains(s) {
                self.push(
                    Phase::CreateTriggersAndPolicies,
                    i,
                    format!("ALTER PUBLICATION {name} ADD TABLES IN SCHEMA {}", ident(s)),
                    Lock::ShareUpdateExclusive,
                );
            }
        }
        for t in &to.tables {
            if !from.tables.contains(t) {
                self.push(
                    Phase::CreateTriggersAndPolicies,
                    i,
                    format!(
                        "ALTER PUBLICATION {name} ADD TABLE {}",
                        publication_table(t)
                    ),
                    Lock::ShareUpdateExclusive,
                );
            }
        }
        let options = |p: &Publication| {
            (
                p.insert,
                p.update,
                p.delete,
                p.truncate,
                p.via_root,
                p.generated_columns.clone(),
            )
        };
        if options(from) != options(to) {
            let gencols = from.generated_columns.is_some() || to.generated_columns.is_some();
            self.push(
                Phase::CreateTriggersAndPolicies,
                i,
                format!(
                    "ALTER PUBLICATION {name} SET ({})",
                    publication_options(to, gencols)
                ),
                Lock::None,
            );
        }
    }

    /// The privileges an object gets when this migration creates it: the old schema's default
    /// privileges for its owner (taken to be the role that runs the migration), or the
    /// built-in default (empty). ALTER DEFAULT PRIVILEGES runs after every creation.
    fn initial_acl(&self, target: &Target, owner: &str) -> Vec<String> {
        let (kind, schema) = match target {
            Target::Relation(q) => ("r", Some(q.schema.as_str())),
            Target::Sequence(q) => ("S", Some(q.schema.as_str())),
            Target::Function { name, .. } => ("f", Some(name.schema.as_str())),
            Target::Type(q) | Target::Domain(q) => ("T", Some(q.schema.as_str())),
            Target::Schema(_) => ("n", None),
            _ => return vec![],
        };
        let find = |s: Option<&str>| {
            self.from
                .default_privileges
                .iter()
                .find(|d| d.role == owner && d.object_type == kind && d.schema.as_deref() == s)
        };
        let global = find(None);
        let local = schema.and_then(|s| find(Some(s)));
        let mut acl = match (global, local) {
            (None, None) => return vec![],
            (Some(g), _) => g.acl.clone(),
            (None, Some(l)) => l.builtin.clone(),
        };
        for item in local.map(|l| l.acl.as_slice()).unwrap_or_default() {
            if !acl.contains(item) {
                acl.push(item.clone());
            }
        }
        acl
    }

    /// ALTER … OWNER TO for an object this plan creates, when the target gives it to another
    /// role than the one that runs the migration.
    fn created_owner(&mut self, i: usize, target: &Target, owner: &str) {
        if owner.is_empty() || self.runner.as_deref().is_none_or(|r| r == owner) {
            return;
        }
        if let Some(what) = self.owner_target_sql(target) {
            self.push(
                Phase::Metadata,
                i,
                format!("ALTER {what} OWNER TO {}", ident(owner)),
                Lock::AccessExclusive,
            );
        }
    }

    /// Privileges of the identity sequence a new identity column gets.
    fn identity_sequence_acl(&mut self, i: usize, table: &QName, c: &Column) {
        let Some(id) = &c.identity else { return };
        let Some(seq) = &id.sequence else { return };
        let owner = self
            .to
            .tables
            .iter()
            .find(|t| &t.name == table)
            .map(|t| t.owner.clone())
            .unwrap_or_default();
        let target = Target::Sequence(QName::new(table.schema.clone(), seq.clone()));
        self.created_acl(i, Phase::Metadata, &target, &id.acl, &owner);
    }

    /// GRANT/REVOKE that take a newly created object from the privileges it was created with
    /// to `acl`.
    fn created_acl(
        &mut self,
        i: usize,
        phase: Phase,
        target: &Target,
        acl: &[String],
        owner: &str,
    ) {
        // Created by the runner with its default privileges; ALTER OWNER then hands the
        // runner's entries to the owner.
        let creator = self.runner.clone().unwrap_or_else(|| owner.to_string());
        let initial = acl::replace_role(&self.initial_acl(target, &creator), &creator, owner);
        if acl.is_empty() && initial.is_empty() {
            return;
        }
        let object = self.grant_target_sql(target);
        for sql in acl::statements(&object, target, &initial, acl, Some(owner)) {
            self.push(phase, i, sql, Lock::None);
        }
    }

    /// Whether `data_type` (as `format_type` printed it) names an enum or range type of the old
    /// schema: those have no casts to other types, but their text form does.
    fn is_enum(&self, data_type: &str) -> bool {
        let base = data_type.trim_end_matches("[]");
        let named = |q: &QName| type_names(q).iter().any(|n| n == base);
        self.from.enums.iter().any(|e| named(&e.name))
            || self.from.ranges.iter().any(|r| named(&r.name))
    }

    /// Columns (in both schemas' existing tables) whose type is `ty` or an array of it.
    fn type_users(&self, ty: &QName) -> Vec<(QName, String, bool)> {
        let mut out = BTreeMap::new();
        for t in &self.from.tables {
            if self.dropped_tables.contains(&t.name) || self.new_table(&t.name).is_none() {
                continue;
            }
            for c in &t.columns {
                let base = c.data_type.trim_end_matches("[]");
                let array = c.data_type.ends_with("[]");
                if type_names(ty).iter().any(|n| n == base) && c.is_local {
                    out.insert((t.name.clone(), c.name.clone()), array);
                }
            }
        }
        out.into_iter().map(|((t, c), a)| (t, c, a)).collect()
    }

    fn alter_domain(&mut self, i: usize, from: &Domain, to: &Domain) {
        let d = to.name.sql();
        if from.base_type != to.base_type || from.collation != to.collation {
            self.refuse(
                format!("domain {}", to.name),
                "its base type or collation changes; PostgreSQL cannot alter that in place",
            );
            return;
        }
        if from.default != to.default {
            match &to.default {
                Some(x) => self.push(
                    Phase::CreateTypes,
                    i,
                    format!("ALTER DOMAIN {d} SET DEFAULT {x}"),
                    Lock::None,
                ),
                None => self.push(
                    Phase::CreateTypes,
                    i,
                    format!("ALTER DOMAIN {d} DROP DEFAULT"),
                    Lock::None,
                ),
            }
        }
        if from.not_null != to.not_null {
            self.push_full(
                Phase::CreateTypes,
                i,
                format!(
                    "ALTER DOMAIN {d} {} NOT NULL",
                    if to.not_null { "SET" } else { "DROP" }
                ),
                Lock::None,
                false,
                to.not_null,
                true,
            );
        }
        for c in &from.checks {
            if !to.checks.contains(c) {
                self.push(
                    Phase::CreateTypes,
                    i,
                    format!("ALTER DOMAIN {d} DROP CONSTRAINT {}", ident(&c.name)),
                    Lock::None,
                );
            }
        }
        for c in &to.checks {
            if !from.checks.contains(c) {
                self.push_full(
                    Phase::CreateTypes,
                    i,
                    format!(
                        "ALTER DOMAIN {d} ADD CONSTRAINT {} {}",
                        ident(&c.name),
                        c.definition
                    ),
                    Lock::None,
                    false,
                    true,
                    true,
                );
            }
        }
    }

    /// Triggers whose definition reads `column` block its type change: drop and recreate them.
    fn rebuild_triggers_reading(&mut self, i: usize, table: &QName, column: &str) {
        let (Some(old), Some(new)) = (self.old_table(table), self.new_table(table)) else {
            return;
        };
        let quoted = ident(column);
        let reads = |def: &str| {
            def.split(|c: char| !(c.is_alphanumeric() || c == '_' || c == '"'))
                .any(|w| w == column || w == quoted)
        };
        let old_triggers: Vec<Trigger> = old
            .triggers
            .iter()
            .filter(|t| reads(&t.definition))
            .cloned()
            .collect();
        for t in old_triggers {
            if let Some(n) = new
                .triggers
                .iter()
                .find(|n| n.name == t.name && **n == t)
                .cloned()
            {
                self.push(
                    Phase::DropTriggersAndPolicies,
                    i,
                    format!("DROP TRIGGER {} ON {}", ident(&t.name), table.sql()),
                    Lock::AccessExclusive,
                );
                self.create_trigger(i, table, &n);
            }
        }
    }

    /// Policies whose expressions read `column` block its type change: drop and recreate them.
    fn rebuild_policies_reading(&mut self, i: usize, table: &QName, column: &str) {
        let (Some(old), Some(new)) = (self.old_table(table), self.new_table(table)) else {
            return;
        };
        let quoted = ident(column);
        let reads = |expr: &Option<String>| {
            expr.as_deref().is_some_and(|e| {
                e.split(|c: char| !(c.is_alphanumeric() || c == '_' || c == '"'))
                    .any(|w| w == column || w == quoted)
            })
        };
        let unchanged: Vec<Policy> = old
            .policies
            .iter()
            .filter(|p| (reads(&p.using) || reads(&p.with_check)) && new.policies.contains(p))
            .cloned()
            .collect();
        for p in unchanged {
            self.push(
                Phase::DropTriggersAndPolicies,
                i,
                format!("DROP POLICY {} ON {}", ident(&p.name), table.sql()),
                Lock::AccessExclusive,
            );
            self.push(
                Phase::CreateTriggersAndPolicies,
                i,
                create_policy(table, &p),
                Lock::AccessExclusive,
            );
        }
    }

    /// Comment and privileges of an object this plan creates (its owner is whoever runs it).
    fn created_metadata(
        &mut self,
        i: usize,
        target: Target,
        comment: &Option<String>,
        acl: &[String],
        owner: &str,
    ) {
        self.created_owner(i, &target, owner);
        if let Some(text) = comment {
            self.comment(i, &target, text);
        }
        self.created_acl(i, Phase::Metadata, &target, acl, owner);
    }

    fn relation_kind(&self, q: &QName) -> &'static str {
        match self
            .to
            .views
            .iter()
            .chain(self.from.views.iter())
            .find(|v| &v.name == q)
        {
            Some(v) if v.materialized => "MATERIALIZED VIEW",
            Some(_) => "VIEW",
            None => "TABLE",
        }
    }

    fn target_sql(&self, t: &Target) -> String {
        match t {
            Target::Schema(s) => format!("SCHEMA {}", ident(s)),
            Target::Relation(q) => format!("{} {}", self.relation_kind(q), q.sql()),
            Target::Column(q, c) => format!("COLUMN {}.{}", q.sql(), ident(c)),
            Target::Constraint(q, c) => format!("CONSTRAINT {} ON {}", ident(c), q.sql()),
            Target::Index(q) => format!("INDEX {}", q.sql()),
            Target::Trigger(q, c) => format!("TRIGGER {} ON {}", ident(c), q.sql()),
            Target::Sequence(q) => format!("SEQUENCE {}", q.sql()),
            Target::Type(q) => format!("TYPE {}", q.sql()),
            Target::Domain(q) => format!("DOMAIN {}", q.sql()),
            Target::Collation(q) => format!("COLLATION {}", q.sql()),
            Target::Function {
                name,
                arguments,
                procedure,
            } => {
                format!(
                    "{} {}({arguments})",
                    if *procedure { "PROCEDURE" } else { "FUNCTION" },
                    name.sql()
                )
            }
            Target::EventTrigger(n) => format!("EVENT TRIGGER {}", ident(n)),
            Target::Publication(n) => format!("PUBLICATION {}", ident(n)),
        }
    }

    fn owner_target_sql(&self, t: &Target) -> Option<String> {
        match t {
            Target::Column(..)
            | Target::Constraint(..)
            | Target::Trigger(..)
            | Target::Index(..) => None,
            other => Some(self.target_sql(other)),
        }
    }

    fn grant_target_sql(&self, t: &Target) -> String {
        match t {
            Target::Relation(q) | Target::Column(q, _) => format!("TABLE {}", q.sql()),
            Target::Domain(q) => format!("DOMAIN {}", q.sql()),
            other => self.target_sql(other),
        }
    }

    fn owner_of(&self, t: &Target) -> Option<String> {
        let s = self.to;
        /// The owner of the object named `$name` in `$list`.
        macro_rules! owner_in {
            ($list:expr, $name:expr) => {
                $list
                    .iter()
                    .find(|x| &x.name == $name)
                    .map(|x| x.owner.clone())
            };
        }
        match t {
            Target::Schema(n) => owner_in!(s.schemas, n),
            Target::Relation(q) | Target::Column(q, _) => {
                owner_in!(s.tables, q).or_else(|| owner_in!(s.views, q))
            }
            Target::Sequence(q) => owner_in!(s.sequences, q).or_else(|| {
                // An identity sequence belongs to its table's owner.
                s.tables
                    .iter()
                    .filter(|t| t.name.schema == q.schema)
                    .find(|t| {
                        t.columns.iter().any(|c| {
                            c.identity.as_ref().and_then(|i| i.sequence.as_ref()) == Some(&q.name)
                        })
                    })
                    .map(|t| t.owner.clone())
            }),
            Target::Type(q) => owner_in!(s.enums, q)
                .or_else(|| owner_in!(s.composites, q))
                .or_else(|| owner_in!(s.ranges, q)),
            Target::Domain(q) => owner_in!(s.domains, q),
            Target::Function {
                name, arguments, ..
            } => s
                .functions
                .iter()
                .find(|f| &f.name == name && &f.arguments == arguments)
                .map(|f| f.owner.clone()),
            _ => None,
        }
    }

    pub(super) fn finish(mut self, changes: &[Change]) -> (Vec<Step>, Vec<Refusal>) {
        self.rebuild_dependent_views(changes);
        self.order_tables();
        self.order_views();
        self.order_types(changes);
        self.steps.sort_by_key(|(phase, order, _)| (*phase, *order));
        (
            self.steps.into_iter().map(|(_, _, s)| s).collect(),
            self.refusals,
        )
    }

    /// Views that read a relation whose columns change (or that is rebuilt) must be dropped
    /// first and created again afterwards, transitively.
    fn rebuild_dependent_views(&mut self, changes: &[Change]) {
        let mut touched: BTreeSet<QName> = BTreeSet::new();
        for c in changes {
            match c {
                Change::AlterColumn { table, from, to }
                    if from.data_type != to.data_type
                        || from.collation != to.collation
                        || from.generated != to.generated =>
                {
                    touched.insert(table.clone());
                }
                Change::DropColumn { table, .. } => {
                    touched.insert(table.clone());
                }
                Change::ReplaceView { to, .. } => {
                    touched.insert(to.name.clone());
                }
                Change::DropTable(t) | Change::RecreateTable { from: t, .. } => {
                    touched.insert(t.name.clone());
                }
                Change::DropView(v) => {
                    touched.insert(v.name.clone());
                }
                Change::RecreateEnum { to, .. } => {
                    for (t, _, _) in self.type_users(&to.name) {
                        touched.insert(t);
                    }
                    for d in &self.rebuilt_domains {
                        for (t, _, _) in self.type_users(d) {
                            touched.insert(t);
                        }
                    }
                }
                Change::RecreateRange { to, .. } => {
                    for (t, _, _) in self.type_users(&to.name) {
                        touched.insert(t);
                    }
                }
                _ => {}
            }
        }
        loop {
            let mut grew = false;
            for v in &self.from.views {
                if touched.contains(&v.name) {
                    continue;
                }
                if v.depends_on.iter().any(|d| touched.contains(d)) {
                    touched.insert(v.name.clone());
                    grew = true;
                }
            }
            if !grew {
                break;
            }
        }
        let already: BTreeSet<QName> = changes
            .iter()
            .filter_map(|c| match c {
                Change::ReplaceView { to, .. } => Some(to.name.clone()),
                Change::DropView(v) | Change::CreateView(v) => Some(v.name.clone()),
                _ => None,
            })
            .collect();
        let from_views: Vec<View> = self.from.views.clone();
        for v in &from_views {
            if touched.contains(&v.name) && !already.contains(&v.name) {
                if let Some(new) = self.to.views.iter().find(|x| x.name == v.name).cloned() {
                    let idx = changes.len();
                    self.rebuild_views.insert(v.name.clone());
                    self.drop_view(idx, v);
                    self.create_view(idx, &new);
                }
            }
        }
    }

    /// Parents before partitions and children when creating; the reverse when dropping.
    fn order_tables(&mut self) {
        let depth = |schema: &Schema, name: &QName| -> usize {
            let mut d = 0;
            let mut cur = name.clone();
            while let Some(t) = schema.tables.iter().find(|t| t.name == cur) {
                let parent = t
                    .partition_of
                    .as_ref()
                    .map(|p| p.parent.clone())
                    .or_else(|| t.inherits.first().cloned());
                match parent {
                    Some(p) if d < 32 => {
                        d += 1;
                        cur = p;
                    }
                    _ => break,
                }
            }
            d
        };
        let to = self.to;
        let from = self.from;
        let mut keyed: Vec<(Phase, usize, usize, Step)> = self
            .steps
            .drain(..)
            .map(|(phase, order, step)| {
                let key = match phase {
                    Phase::CreateTables => table_in(&step.sql, "TABLE ")
                        .map(|q| depth(to, &q))
                        .unwrap_or(0),
                    Phase::DropTables => {
                        1000 - table_in(&step.sql, "TABLE ")
                            .map(|q| depth(from, &q))
                            .unwrap_or(0)
                    }
                    _ => 0,
                };
                (phase, key, order, step)
            })
            .collect();
        keyed.sort_by_key(|(phase, key, order, _)| (*phase, *key, *order));
        self.steps = keyed
            .into_iter()
            .enumerate()
            .map(|(n, (phase, _, _, step))| (phase, n, step))
            .collect();
    }

    /// Types in dependency order within their phases (a domain over an enum, a composite
    /// holding a range, …): creates dependencies first, drops dependents first.
    fn order_types(&mut self, changes: &[Change]) {
        let (to_rank, from_rank) = (type_ranks(self.to), type_ranks(self.from));
        let mut keyed: Vec<(Phase, usize, usize, Step)> = self
            .steps
            .drain(..)
            .map(|(phase, order, step)| {
                let ty = changes.get(step.change).and_then(type_of_change);
                let rank = |ranks: &BTreeMap<QName, usize>| {
                    ty.and_then(|q| ranks.get(q).copied()).unwrap_or(0)
                };
                let key = match phase {
                    Phase::CreateTypes | Phase::CreateLateTypes => rank(&to_rank),
                    Phase::DropTypes => 1000 - rank(&from_rank).min(1000),
                    _ => 0,
                };
                (phase, key, order, step)
            })
            .collect();
        keyed.sort_by_key(|(phase, key, order, _)| (*phase, *key, *order));
        self.steps = keyed
            .into_iter()
            .enumerate()
            .map(|(n, (phase, _, _, step))| (phase, n, step))
            .collect();
    }

    /// Views in dependency order (creates: dependencies first; drops: dependents first).
    fn order_views(&mut self) {
        let rank = |schema: &Schema| -> BTreeMap<QName, usize> {
            let mut rank: BTreeMap<QName, usize> = BTreeMap::new();
            fn visit(
                v: &QName,
                schema: &Schema,
                rank: &mut BTreeMap<QName, usize>,
                depth: usize,
            ) -> usize {
                if let Some(r) = rank.get(v) {
                    return *r;
                }
                let Some(view) = schema.views.iter().find(|x| &x.name == v) else {
                    return 0;
                };
                let r = if depth > 64 {
                    0
                } else {
                    view.depends_on
                        .iter()
                        .map(|d| visit(d, schema, rank, depth + 1) + 1)
                        .max()
                        .unwrap_or(0)
                };
                rank.insert(v.clone(), r);
                r
            }
            for v in &schema.views {
                visit(&v.name, schema, &mut rank, 0);
            }
            rank
        };
        let to_rank = rank(self.to);
        let from_rank = rank(self.from);
        let mut keyed: Vec<(Phase, usize, usize, Step)> = self
            .steps
            .drain(..)
            .map(|(phase, order, step)| {
                let key = match phase {
                    Phase::CreateViews => view_in(&step.sql)
                        .and_then(|q| to_rank.get(&q).copied())
                        .unwrap_or(0),
                    Phase::DropViews => {
                        1000 - view_in(&step.sql)
                            .and_then(|q| from_rank.get(&q).copied())
                            .unwrap_or(0)
                    }
                    _ => 0,
                };
                (phase, key, order, step)
            })
            .collect();
        keyed.sort_by_key(|(phase, key, order, _)| (*phase, *key, *order));
        self.steps = keyed
            .into_iter()
            .enumerate()
            .map(|(n, (phase, _, _, step))| (phase, n, step))
            .collect();
    }
}

/// The view a CREATE/DROP VIEW step (or an index on it) is about, for ordering.
fn view_in(sql: &str) -> Option<QName> {
    for marker in ["VIEW ", " ON "] {
        if let Some(q) = table_in(sql, marker) {
            return Some(q);
        }
    }
    None
}

/// Parses the `"schema"."name"` that follows `marker` in generated SQL.
fn table_in(sql: &str, marker: &str) -> Option<QName> {
    let rest = &sql[sql.find(marker)? + marker.len()..];
    let rest = rest.strip_prefix("ONLY ").unwrap_or(rest);
    let (schema, rest) = parse_quoted(rest)?;
    let rest = rest.strip_prefix('.')?;
    let (name, _) = parse_quoted(rest)?;
    Some(QName::new(schema, name))
}

fn parse_quoted(s: &str) -> Option<(String, &str)> {
    let s = s.strip_prefix('"')?;
    let mut out = String::new();
    let mut chars = s.char_indices().peekable();
    while let Some((i, c)) = chars.next() {
        if c == '"' {
            if chars.peek().map(|(_, c)| *c) == Some('"') {
                out.push('"');
                chars.next();
            } else {
                return Some((out, &s[i + 1..]));
            }
        } else {
            out.push(c);
        }
    }
    None
}

fn version_key(v: &str) -> Vec<u64> {
    v.split(|c: char| !c.is_ascii_digit())
        .filter_map(|p| p.parse().ok())
        .collect()
}

fn truncate(s: &str, max: usize) -> String {
    s.chars().take(max).collect()
}

fn seq_opts(s: &Sequence) -> SeqOpts {
    SeqOpts {
        data_type: Some(s.data_type.clone()),
        start: s.start,
        increment: s.increment,
        min: s.min,
        max: s.max,
        cache: s.cache,
        cycle: s.cycle,
    }
}

fn create_collation(c: &Collation) -> String {
    let mut opts = vec![format!("provider = {}", c.provider)];
    match (&c.locale, &c.lc_collate, &c.lc_ctype) {
        (Some(l), _, _) if c.provider != "libc" => opts.push(format!("locale = {}", literal(l))),
        (_, Some(a), Some(b)) if a == b => opts.push(format!("locale = {}", literal(a))),
        (_, a, b) => {
            if let Some(a) = a {
                opts.push(format!("lc_collate = {}", literal(a)));
            }
            if let Some(b) = b {
                opts.push(format!("lc_ctype = {}", literal(b)));
            }
        }
    }
    if !c.deterministic {
        opts.push("deterministic = false".into());
    }
    if let Some(r) = &c.rules {
        opts.push(format!("rules = {}", literal(r)));
    }
    format!("CREATE COLLATION {} ({})", c.name.sql(), opts.join(", "))
}

fn create_enum(name: &QName, labels: &[String]) -> String {
    let values: Vec<String> = labels.iter().map(|l| literal(l)).collect();
    format!("CREATE TYPE {} AS ENUM ({})", name.sql(), values.join(", "))
}

fn create_domain(d: &Domain) -> String {
    let mut s = format!("CREATE DOMAIN {} AS {}", d.name.sql(), d.base_type);
    if let Some(c) = &d.collation {
        s.push_str(&format!(" COLLATE {c}"));
    }
    if let Some(x) = &d.default {
        s.push_str(&format!(" DEFAULT {x}"));
    }
    if d.not_null {
        s.push_str(" NOT NULL");
    }
    for c in &d.checks {
        s.push_str(&format!(" CONSTRAINT {} {}", ident(&c.name), c.definition));
    }
    s
}

fn create_composite(c: &CompositeType) -> String {
    let attrs: Vec<String> = c
        .attributes
        .iter()
        .map(|a| format!("{} {}", ident(&a.name), a.definition))
        .collect();
    format!("CREATE TYPE {} AS ({})", c.name.sql(), attrs.join(", "))
}

fn drop_function(f: &Function) -> String {
    format!(
        "DROP {} {}",
        if f.kind == "p" {
            "PROCEDURE"
        } else {
            "FUNCTION"
        },
        f.signature_sql()
    )
}

fn create_policy(table: &QName, p: &Policy) -> String {
    let roles: Vec<String> = p
        .roles
        .iter()
        .map(|r| {
            if r == "public" {
                "PUBLIC".to_string()
            } else {
                ident(r)
            }
        })
        .collect();
    let mut s = format!(
        "CREATE POLICY {} ON {} AS {} FOR {} TO {}",
        ident(&p.name),
        table.sql(),
        if p.permissive {
            "PERMISSIVE"
        } else {
            "RESTRICTIVE"
        },
        p.command,
        roles.join(", ")
    );
    if let Some(u) = &p.using {
        s.push_str(&format!(" USING ({u})"));
    }
    if let Some(w) = &p.with_check {
        s.push_str(&format!(" WITH CHECK ({w})"));
    }
    s
}

/// `attstorage` code → keyword.
fn storage_name(code: &str) -> &'static str {
    match code {
        "p" => "PLAIN",
        "e" => "EXTERNAL",
        "m" => "MAIN",
        _ => "EXTENDED",
    }
}

fn trigger_enable_sql(table: &QName, name: &str, state: &str) -> String {
    let what = match state {
        "D" => "DISABLE TRIGGER",
        "R" => "ENABLE REPLICA TRIGGER",
        "A" => "ENABLE ALWAYS TRIGGER",
        _ => "ENABLE TRIGGER",
    };
    format!("ALTER TABLE {} {what} {}", table.sql(), ident(name))
}

/// The spellings `format_type` may give a type's name (qualified or not, quoted or not).
fn type_names(ty: &QName) -> [String; 4] {
    [
        ty.name.clone(),
        format!("{}.{}", ty.schema, ty.name),
        ident(&ty.name),
        ty.sql(),
    ]
}

/// Whether a type text (a column type, an argument list) names `ty`, as a whole word.
fn mentions_type(text: &str, ty: &QName) -> bool {
    let is_word = |c: char| c.is_alphanumeric() || c == '_' || c == '"' || c == '.' || c == '$';
    type_names(ty).iter().any(|name| {
        text.match_indices(name.as_str()).any(|(at, _)| {
            let before = text[..at].chars().next_back();
            let after = text[at + name.len()..].chars().next();
            !before.is_some_and(is_word) && !after.is_some_and(|c| is_word(c) && c != '.')
        })
    })
}

/// Reads back a `schema.name` that `quote_ident` wrote.
fn parse_qualified(text: &str) -> Option<QName> {
    fn part(s: &str) -> Option<(String, &str)> {
        if s.starts_with('"') {
            parse_quoted(s)
        } else {
            let end = s.find('.').unwrap_or(s.len());
            Some((s[..end].to_string(), &s[end..]))
        }
    }
    let (schema, rest) = part(text)?;
    let (name, rest) = part(rest.strip_prefix('.')?)?;
    rest.is_empty().then(|| QName::new(schema, name))
}

fn create_range(r: &RangeType) -> String {
    let mut opts = vec![format!("SUBTYPE = {}", r.subtype)];
    let named = [
        ("SUBTYPE_OPCLASS", &r.subtype_opclass),
        ("COLLATION", &r.collation),
        ("CANONICAL", &r.canonical),
        ("SUBTYPE_DIFF", &r.subtype_diff),
        ("MULTIRANGE_TYPE_NAME", &r.multirange),
    ];
    for (key, value) in named {
        if let Some(v) = value {
            opts.push(format!("{key} = {v}"));
        }
    }
    format!(
        "CREATE TYPE {} AS RANGE ({})",
        r.name.sql(),
        opts.join(", ")
    )
}

fn event_trigger_enable_sql(name: &str, state: &str) -> String {
    let what = match state {
        "D" => "DISABLE",
        "R" => "ENABLE REPLICA",
        "A" => "ENABLE ALWAYS",
        _ => "ENABLE",
    };
    format!("ALTER EVENT TRIGGER {} {what}", ident(name))
}

/// `"s"."t" ("a", "b") WHERE (…)`, after a TABLE keyword.
fn publication_table(t: &PublicationTable) -> String {
    let mut s = t.table.sql();
    if !t.columns.is_empty() {
        let cols: Vec<String> = t.columns.iter().map(|c| ident(c)).collect();
        s.push_str(&format!(" ({})", cols.join(", ")));
    }
    if let Some(f) = &t.row_filter {
        s.push_str(&format!(" WHERE ({f})"));
    }
    s
}

/// `publish = '…', publish_via_partition_root = …[, publish_generated_columns = …]`.
fn publication_options(p: &Publication, generated_columns: bool) -> String {
    let ops: Vec<&str> = [
        (p.insert, "insert"),
        (p.update, "update"),
        (p.delete, "delete"),
        (p.truncate, "truncate"),
    ]
    .into_iter()
    .filter(|(on, _)| *on)
    .map(|(_, name)| name)
    .collect();
    let mut s = format!(
        "publish = {}, publish_via_partition_root = {}",
        literal(&ops.join(", ")),
        p.via_root
    );
    // Only PostgreSQL 18 knows the option: named only when a side publishes them.
    if generated_columns {
        s.push_str(&format!(
            ", publish_generated_columns = {}",
            p.generated_columns.as_deref().unwrap_or("none")
        ));
    }
    s
}

/// The type a type-level change is about.
fn type_of_change(c: &Change) -> Option<&QName> {
    match c {
        Change::CreateEnum(e) | Change::DropEnum(e) => Some(&e.name),
        Change::RecreateEnum { to, .. } => Some(&to.name),
        Change::AddEnumValue { ty, .. } => Some(ty),
        Change::CreateDomain(d) | Change::DropDomain(d) => Some(&d.name),
        Change::AlterDomain { to, .. } => Some(&to.name),
        Change::CreateComposite(t) | Change::DropComposite(t) => Some(&t.name),
        Change::RecreateComposite { to, .. } => Some(&to.name),
        Change::CreateRange(r) | Change::DropRange(r) => Some(&r.name),
        Change::RecreateRange { to, .. } => Some(&to.name),
        _ => None,
    }
}

/// Depth of each user type in the "is built from" graph: 0 for types built only from others
/// outside the schema, 1 + the deepest part otherwise.
fn type_ranks(s: &Schema) -> BTreeMap<QName, usize> {
    let mut parts: BTreeMap<QName, Vec<&str>> = BTreeMap::new();
    for e in &s.enums {
        parts.insert(e.name.clone(), vec![]);
    }
    for d in &s.domains {
        parts.insert(d.name.clone(), vec![d.base_type.as_str()]);
    }
    for c in &s.composites {
        parts.insert(
            c.name.clone(),
            c.attributes.iter().map(|a| a.definition.as_str()).collect(),
        );
    }
    for r in &s.ranges {
        parts.insert(r.name.clone(), vec![r.subtype.as_str()]);
    }
    let names: Vec<QName> = parts.keys().cloned().collect();
    let deps: BTreeMap<QName, Vec<QName>> = parts
        .iter()
        .map(|(q, texts)| {
            let uses = names
                .iter()
                .filter(|n| *n != q && texts.iter().any(|t| mentions_type(t, n)))
                .cloned()
                .collect();
            (q.clone(), uses)
        })
        .collect();
    fn visit(
        q: &QName,
        deps: &BTreeMap<QName, Vec<QName>>,
        rank: &mut BTreeMap<QName, usize>,
        depth: usize,
    ) -> usize {
        if let Some(r) = rank.get(q) {
            return *r;
        }
        let r = if depth > 64 {
            0
        } else {
            deps.get(q)
                .map(|ds| {
                    ds.iter()
                        .map(|d| visit(d, deps, rank, depth + 1) + 1)
                        .max()
                        .unwrap_or(0)
                })
                .unwrap_or(0)
        };
        rank.insert(q.clone(), r);
        r
    }
    let mut rank = BTreeMap::new();
    for q in &names {
        visit(q, &deps, &mut rank, 0);
    }
    rank
}

/// How many parameters have a default, from the header `pg_get_functiondef` writes.
fn parameter_defaults(definition: &str) -> usize {
    let header = definition.lines().next().unwrap_or("");
    header.matches(" DEFAULT ").count()
}

//! `diff(from, to)`: the changes that turn one [`Schema`] into another, each classified as
//! safe, breaking or a hazard. Pure: no I/O, no SQL text (that is `plan`'s job), so it is
//! tested on plain values.

mod change;
mod classify;
pub mod ignore;

use std::collections::{BTreeMap, BTreeSet};

pub use change::{default_object_kind, Change, Target};
pub use classify::{Class, Classification};

use crate::catalog::model::*;

/// Compares two schemas. Changes come in a stable order (by kind, then name); `plan` reorders
/// them by dependency.
pub fn diff(from: &Schema, to: &Schema) -> Vec<Change> {
    let mut out = Vec::new();
    by_key(
        &from.schemas,
        &to.schemas,
        |n| n.name.clone(),
        &mut out,
        |a, b, out| {
            owner(Target::Schema(a.name.clone()), &a.owner, &b.owner, out);
            comment(Target::Schema(a.name.clone()), &a.comment, &b.comment, out);
            acl(Target::Schema(a.name.clone()), &a.acl, &b.acl, out);
        },
        Change::CreateSchema,
        Change::DropSchema,
    );

    by_key(
        &from.extensions,
        &to.extensions,
        |e| e.name.clone(),
        &mut out,
        |a, b, out| {
            if a.version != b.version || a.schema != b.schema {
                out.push(Change::AlterExtension {
                    from: a.clone(),
                    to: b.clone(),
                });
            }
        },
        Change::CreateExtension,
        Change::DropExtension,
    );

    by_key(
        &from.collations,
        &to.collations,
        |c| c.name.clone(),
        &mut out,
        |a, b, out| {
            let strip = |c: &Collation| Collation {
                owner: String::new(),
                comment: None,
                ..c.clone()
            };
            if strip(a) != strip(b) {
                out.push(Change::DropCollation(a.clone()));
                out.push(Change::CreateCollation(b.clone()));
            }
            owner(Target::Collation(a.name.clone()), &a.owner, &b.owner, out);
            comment(
                Target::Collation(a.name.clone()),
                &a.comment,
                &b.comment,
                out,
            );
        },
        Change::CreateCollation,
        Change::DropCollation,
    );

    by_key(
        &from.enums,
        &to.enums,
        |e| e.name.clone(),
        &mut out,
        |a, b, out| {
            enum_changes(a, b, out);
            owner(Target::Type(a.name.clone()), &a.owner, &b.owner, out);
            comment(Target::Type(a.name.clone()), &a.comment, &b.comment, out);
            acl(Target::Type(a.name.clone()), &a.acl, &b.acl, out);
        },
        Change::CreateEnum,
        Change::DropEnum,
    );

    by_key(
        &from.domains,
        &to.domains,
        |d| d.name.clone(),
        &mut out,
        |a, b, out| {
            let (mut a2, mut b2) = (a.clone(), b.clone());
            a2.comment = None;
            b2.comment = None;
            a2.owner.clear();
            b2.owner.clear();
            a2.acl.clear();
            b2.acl.clear();
            if a2 != b2 {
                out.push(Change::AlterDomain {
                    from: a.clone(),
                    to: b.clone(),
                });
            }
            owner(Target::Domain(a.name.clone()), &a.owner, &b.owner, out);
            comment(Target::Domain(a.name.clone()), &a.comment, &b.comment, out);
            acl(Target::Domain(a.name.clone()), &a.acl, &b.acl, out);
        },
        Change::CreateDomain,
        Change::DropDomain,
    );

    by_key(
        &from.composites,
        &to.composites,
        |c| c.name.clone(),
        &mut out,
        |a, b, out| {
            if a.attributes != b.attributes {
                out.push(Change::RecreateComposite {
                    from: a.clone(),
                    to: b.clone(),
                });
            }
            owner(Target::Type(a.name.clone()), &a.owner, &b.owner, out);
            comment(Target::Type(a.name.clone()), &a.comment, &b.comment, out);
            acl(Target::Type(a.name.clone()), &a.acl, &b.acl, out);
        },
        Change::CreateComposite,
        Change::DropComposite,
    );

    by_key(
        &from.ranges,
        &to.ranges,
        |r| r.name.clone(),
        &mut out,
        |a, b, out| {
            let strip = |r: &RangeType| RangeType {
                owner: String::new(),
                comment: None,
                acl: vec![],
                ..r.clone()
            };
            if strip(a) != strip(b) {
                out.push(Change::RecreateRange {
                    from: a.clone(),
                    to: b.clone(),
                });
            }
            owner(Target::Type(a.name.clone()), &a.owner, &b.owner, out);
            comment(Target::Type(a.name.clone()), &a.comment, &b.comment, out);
            acl(Target::Type(a.name.clone()), &a.acl, &b.acl, out);
        },
        Change::CreateRange,
        Change::DropRange,
    );

    by_key(
        &from.sequences,
        &to.sequences,
        |s| s.name.clone(),
        &mut out,
        |a, b, out| {
            let strip = |s: &Sequence| Sequence {
                owner: String::new(),
                comment: None,
                acl: vec![],
                owned_by: None,
                ..s.clone()
            };
            if strip(a) != strip(b) {
                out.push(Change::AlterSequence {
                    from: a.clone(),
                    to: b.clone(),
                });
            }
            if a.owned_by != b.owned_by {
                out.push(Change::SequenceOwnedBy {
                    sequence: a.name.clone(),
                    to: b.owned_by.clone(),
                });
            }
            owner(Target::Sequence(a.name.clone()), &a.owner, &b.owner, out);
            comment(
                Target::Sequence(a.name.clone()),
                &a.comment,
                &b.comment,
                out,
            );
            acl(Target::Sequence(a.name.clone()), &a.acl, &b.acl, out);
        },
        Change::CreateSequence,
        Change::DropSequence,
    );

    by_key(
        &from.tables,
        &to.tables,
        |t| t.name.clone(),
        &mut out,
        table_changes,
        Change::CreateTable,
        Change::DropTable,
    );

    by_key(
        &from.views,
        &to.views,
        |v| v.name.clone(),
        &mut out,
        |a, b, out| {
            if a.definition != b.definition
                || a.materialized != b.materialized
                || a.options != b.options
            {
                out.push(Change::ReplaceView {
                    from: a.clone(),
                    to: b.clone(),
                });
            } else {
                keyed(
                    &a.indexes,
                    &b.indexes,
                    |i| Change::AddIndex {
                        table: b.name.clone(),
                        index: i.clone(),
                    },
                    |i| Change::DropIndex {
                        table: a.name.clone(),
                        index: i.clone(),
                    },
                    |i| Target::Index(QName::new(b.name.schema.clone(), i.name.clone())),
                    out,
                );
                keyed(
                    &a.triggers,
                    &b.triggers,
                    |t| Change::AddTrigger {
                        table: b.name.clone(),
                        trigger: t.clone(),
                    },
                    |t| Change::DropTrigger {
                        table: a.name.clone(),
                        trigger: t.clone(),
                    },
                    |t| Target::Trigger(b.name.clone(), t.name.clone()),
                    out,
                );
                owner(Target::Relation(a.name.clone()), &a.owner, &b.owner, out);
                comment(
                    Target::Relation(a.name.clone()),
                    &a.comment,
                    &b.comment,
                    out,
                );
                acl(Target::Relation(a.name.clone()), &a.acl, &b.acl, out);
                view_columns(a, b, out);
            }
        },
        Change::CreateView,
        Change::DropView,
    );

    by_key(
        &from.functions,
        &to.functions,
        |f| (f.name.clone(), f.argument_types.clone()),
        &mut out,
        |a, b, out| {
            if a.definition != b.definition || a.kind != b.kind || a.arguments != b.arguments {
                out.push(Change::ReplaceFunction {
                    from: a.clone(),
                    to: b.clone(),
                });
            }
            let t = Target::Function {
                name: a.name.clone(),
                arguments: a.arguments.clone(),
                procedure: a.kind == "p",
            };
            owner(t.clone(), &a.owner, &b.owner, out);
            comment(t.clone(), &a.comment, &b.comment, out);
            acl(t, &a.acl, &b.acl, out);
        },
        Change::CreateFunction,
        Change::DropFunction,
    );

    by_key(
        &from.event_triggers,
        &to.event_triggers,
        |e| e.name.clone(),
        &mut out,
        |a, b, out| {
            if a.event != b.event || a.tags != b.tags || a.function != b.function {
                out.push(Change::DropEventTrigger(a.clone()));
                out.push(Change::CreateEventTrigger(b.clone()));
                return;
            }
            if a.enabled != b.enabled {
                out.push(Change::EventTriggerEnabled {
                    name: a.name.clone(),
                    from: a.enabled.clone(),
                    to: b.enabled.clone(),
                });
            }
            owner(
                Target::EventTrigger(a.name.clone()),
                &a.owner,
                &b.owner,
                out,
            );
            comment(
                Target::EventTrigger(a.name.clone()),
                &a.comment,
                &b.comment,
                out,
            );
        },
        Change::CreateEventTrigger,
        Change::DropEventTrigger,
    );

    by_key(
        &from.publications,
        &to.publications,
        |p| p.name.clone(),
        &mut out,
        |a, b, out| {
            let strip = |p: &Publication| Publication {
                owner: String::new(),
                comment: None,
                ..p.clone()
            };
            if strip(a) != strip(b) {
                out.push(Change::AlterPublication {
                    from: a.clone(),
                    to: b.clone(),
                });
            }
            owner(Target::Publication(a.name.clone()), &a.owner, &b.owner, out);
            comment(
                Target::Publication(a.name.clone()),
                &a.comment,
                &b.comment,
                out,
            );
        },
        Change::CreatePublication,
        Change::DropPublication,
    );

    default_privileges(&from.default_privileges, &to.default_privileges, &mut out);
    unmodelled(&from.unmodelled, &to.unmodelled, &mut out);
    out
}

/// Comments and privileges of a view's columns (the view itself is unchanged).
fn view_columns(a: &View, b: &View, out: &mut Vec<Change>) {
    let names: BTreeSet<&str> = a
        .columns
        .iter()
        .chain(&b.columns)
        .map(|c| c.name.as_str())
        .collect();
    for name in names {
        let find = |v: &View| v.columns.iter().find(|c| c.name == name).cloned();
        let (x, y) = (find(a), find(b));
        let target = Target::Column(a.name.clone(), name.to_string());
        let comment_of = |c: &Option<ViewColumn>| c.as_ref().and_then(|c| c.comment.clone());
        let acl_of = |c: &Option<ViewColumn>| c.as_ref().map(|c| c.acl.clone()).unwrap_or_default();
        comment(target.clone(), &comment_of(&x), &comment_of(&y), out);
        acl(target, &acl_of(&x), &acl_of(&y), out);
    }
}

/// Default privileges by (role, schema, object type). A missing global entry means the
/// built-in default, which the side that has the entry recorded; a missing schema entry, none.
fn default_privileges(from: &[DefaultPrivileges], to: &[DefaultPrivileges], out: &mut Vec<Change>) {
    fn key(d: &DefaultPrivileges) -> (&str, Option<&str>, &str) {
        (&d.role, d.schema.as_deref(), &d.object_type)
    }
    let before: BTreeMap<_, &DefaultPrivileges> = from.iter().map(|d| (key(d), d)).collect();
    let after: BTreeMap<_, &DefaultPrivileges> = to.iter().map(|d| (key(d), d)).collect();
    let keys: BTreeSet<_> = before.keys().chain(after.keys()).copied().collect();
    for k in keys {
        let (a, b) = (before.get(&k).copied(), after.get(&k).copied());
        let Some(any) = a.or(b) else { continue };
        // A schema's entry adds to the global one: without it, nothing is added.
        let absent = if any.schema.is_none() {
            any.builtin.clone()
        } else {
            vec![]
        };
        let effective = |d: Option<&DefaultPrivileges>| match d {
            Some(d) => d.acl.clone(),
            None => absent.clone(),
        };
        let (was, now) = (effective(a), effective(b));
        if was != now {
            out.push(Change::DefaultPrivileges {
                role: any.role.clone(),
                schema: any.schema.clone(),
                object_type: any.object_type.clone(),
                from: was,
                to: now,
            });
        }
    }
}

/// Objects pgkeel does not model: any difference becomes a change the plan refuses.
fn unmodelled(from: &[Unmodelled], to: &[Unmodelled], out: &mut Vec<Change>) {
    let before: BTreeMap<(&str, &str), &Unmodelled> = from
        .iter()
        .map(|u| ((u.kind.as_str(), u.name.as_str()), u))
        .collect();
    let after: BTreeMap<(&str, &str), &Unmodelled> = to
        .iter()
        .map(|u| ((u.kind.as_str(), u.name.as_str()), u))
        .collect();
    let keys: BTreeSet<(&str, &str)> = before.keys().chain(after.keys()).copied().collect();
    for k in keys {
        let (a, b) = (before.get(&k), after.get(&k));
        if a.map(|u| &u.definition) != b.map(|u| &u.definition) {
            out.push(Change::NotMigrated {
                kind: k.0.to_string(),
                name: k.1.to_string(),
                from: a.map(|u| u.definition.clone()),
                to: b.map(|u| u.definition.clone()),
            });
        }
    }
}

/// Matches two name-sorted lists by key; calls `same` for pairs, `add`/`drop` for the rest.
#[allow(clippy::too_many_arguments)]
fn by_key<T, K: Ord>(
    from: &[T],
    to: &[T],
    key: impl Fn(&T) -> K,
    out: &mut Vec<Change>,
    same: impl Fn(&T, &T, &mut Vec<Change>),
    add: impl Fn(T) -> Change,
    drop: impl Fn(T) -> Change,
) where
    T: Clone,
{
    let before: BTreeMap<K, &T> = from.iter().map(|x| (key(x), x)).collect();
    let after: BTreeMap<K, &T> = to.iter().map(|x| (key(x), x)).collect();
    for (k, a) in &before {
        match after.get(k) {
            Some(b) => same(a, b, out),
            None => out.push(drop((*a).clone())),
        }
    }
    for (k, b) in &after {
        if !before.contains_key(k) {
            out.push(add((*b).clone()));
        }
    }
}

/// Parts of a table (and view) replaced whole when their definition differs: drop + add. A
/// comment-only difference is a comment change, never a rebuild.
trait Part: Clone + PartialEq {
    fn name(&self) -> &str;
    fn comment(&self) -> &Option<String>;
    fn without_comment(&self) -> Self;
}

macro_rules! part {
    ($t:ty) => {
        impl Part for $t {
            fn name(&self) -> &str {
                &self.name
            }
            fn comment(&self) -> &Option<String> {
                &self.comment
            }
            fn without_comment(&self) -> Self {
                Self {
                    comment: None,
                    ..self.clone()
                }
            }
        }
    };
}
part!(Index);
part!(Constraint);
part!(Trigger);

impl Part for Policy {
    fn name(&self) -> &str {
        &self.name
    }
    fn comment(&self) -> &Option<String> {
        &None
    }
    fn without_comment(&self) -> Self {
        self.clone()
    }
}

fn keyed<T: Part>(
    from: &[T],
    to: &[T],
    add: impl Fn(&T) -> Change,
    drop: impl Fn(&T) -> Change,
    target: impl Fn(&T) -> Target,
    out: &mut Vec<Change>,
) {
    let before: BTreeMap<&str, &T> = from.iter().map(|x| (x.name(), x)).collect();
    let after: BTreeMap<&str, &T> = to.iter().map(|x| (x.name(), x)).collect();
    for (k, a) in &before {
        match after.get(k) {
            // Equal as they are (most of them), without the copies the comparison below makes.
            Some(b) if a == b => {}
            Some(b) if a.without_comment() == b.without_comment() => {
                comment(target(b), a.comment(), b.comment(), out);
            }
            Some(b) => {
                out.push(drop(a));
                out.push(add(b));
            }
            None => out.push(drop(a)),
        }
    }
    for (k, b) in &after {
        if !before.contains_key(k) {
            out.push(add(b));
        }
    }
}

fn owner(target: Target, from: &str, to: &str, out: &mut Vec<Change>) {
    if from != to {
        out.push(Change::Owner {
            target,
            from: from.to_string(),
            to: to.to_string(),
        });
    }
}

fn comment(target: Target, from: &Option<String>, to: &Option<String>, out: &mut Vec<Change>) {
    if from != to {
        out.push(Change::Comment {
            target,
            from: from.clone(),
            to: to.clone(),
        });
    }
}

fn acl(target: Target, from: &[String], to: &[String], out: &mut Vec<Change>) {
    if from != to {
        out.push(Change::Privileges {
            target,
            from: from.to_vec(),
            to: to.to_vec(),
        });
    }
}

fn enum_changes(a: &EnumType, b: &EnumType, out: &mut Vec<Change>) {
    if a.labels == b.labels {
        return;
    }
    // Appending or inserting values keeps the old order: ALTER TYPE … ADD VALUE works.
    let kept: Vec<&String> = b.labels.iter().filter(|l| a.labels.contains(l)).collect();
    let only_added =
        a.labels.iter().all(|l| b.labels.contains(l)) && kept.iter().copied().eq(a.labels.iter());
    if only_added {
        for (i, label) in b.labels.iter().enumerate() {
            if !a.labels.contains(label) {
                // Anchor on the next existing label, else after the previous one.
                let before = b.labels[i + 1..]
                    .iter()
                    .find(|l| a.labels.contains(l))
                    .cloned();
                let after = if before.is_none() {
                    b.labels[..i].last().cloned()
                } else {
                    None
                };
                out.push(Change::AddEnumValue {
                    ty: a.name.clone(),
                    label: label.clone(),
                    before,
                    after,
                });
            }
        }
    } else {
        out.push(Change::RecreateEnum {
            from: a.clone(),
            to: b.clone(),
        });
    }
}

fn table_changes(a: &Table, b: &Table, out: &mut Vec<Change>) {
    // Most tables of two related schemas are equal: one comparison, not the keyed maps below.
    if a == b {
        return;
    }
    let name = &a.name;
    if a.partition_key != b.partition_key || a.inherits != b.inherits || a.kind != b.kind {
        out.push(Change::RecreateTable {
            from: a.clone(),
            to: b.clone(),
        });
        return;
    }
    if a.partition_of != b.partition_of {
        if let Some(p) = &a.partition_of {
            out.push(Change::DetachPartition {
                table: name.clone(),
                parent: p.parent.clone(),
            });
        }
        if let Some(p) = &b.partition_of {
            out.push(Change::AttachPartition {
                table: name.clone(),
                partition: p.clone(),
            });
        }
    }
    // Columns: by name; order differences are reported, never "fixed" by a rewrite.
    let before: BTreeMap<&str, &Column> = a.columns.iter().map(|c| (c.name.as_str(), c)).collect();
    let after: BTreeMap<&str, &Column> = b.columns.iter().map(|c| (c.name.as_str(), c)).collect();
    for c in &a.columns {
        match after.get(c.name.as_str()) {
            None if c.is_local => out.push(Change::DropColumn {
                table: name.clone(),
                column: c.clone(),
            }),
            None => {}
            // An inherited column changes with its parent's ALTER; only a default of its own
            // (a partition's `DEFAULT`) is the child's business.
            Some(n) if !c.is_local && !n.is_local && c.default != n.default => {
                out.push(Change::AlterColumn {
                    table: name.clone(),
                    from: c.clone(),
                    to: Column {
                        default: n.default.clone(),
                        ..c.clone()
                    },
                });
            }
            Some(n) if !c.is_local && !n.is_local => {}
            // Equal as they are (most of them), without the copies `strip` makes.
            Some(n) if c == *n => {}
            Some(n) => {
                // Whether a column is also declared locally on an inheritance child has no DDL
                // of its own; comments and privileges are separate changes.
                let strip = |c: &Column| Column {
                    comment: None,
                    acl: vec![],
                    is_local: true,
                    identity: c.identity.as_ref().map(|i| Box::new(i.definition())),
                    ..c.clone()
                };
                if strip(c) != strip(n) {
                    out.push(Change::AlterColumn {
                        table: name.clone(),
                        from: c.clone(),
                        to: (*n).clone(),
                    });
                }
                comment(
                    Target::Column(name.clone(), c.name.clone()),
                    &c.comment,
                    &n.comment,
                    out,
                );
                acl(
                    Target::Column(name.clone(), c.name.clone()),
                    &c.acl,
                    &n.acl,
                    out,
                );
                // The identity sequence's own privileges (the sequence keeps the old name).
                if let (Some(x), Some(y)) = (&c.identity, &n.identity) {
                    if let Some(seq) = x.sequence.as_ref().or(y.sequence.as_ref()) {
                        acl(
                            Target::Sequence(QName::new(name.schema.clone(), seq.clone())),
                            &x.acl,
                            &y.acl,
                            out,
                        );
                    }
                }
            }
        }
    }
    for c in &b.columns {
        if !before.contains_key(c.name.as_str()) && c.is_local {
            out.push(Change::AddColumn {
                table: name.clone(),
                column: c.clone(),
            });
        }
    }
    let common_before: Vec<&str> = a
        .columns
        .iter()
        .map(|c| c.name.as_str())
        .filter(|n| after.contains_key(n))
        .collect();
    let common_after: Vec<&str> = b
        .columns
        .iter()
        .map(|c| c.name.as_str())
        .filter(|n| before.contains_key(n))
        .collect();
    if common_before != common_after {
        out.push(Change::ColumnOrder {
            table: name.clone(),
            from: common_before.iter().map(|s| s.to_string()).collect(),
            to: common_after.iter().map(|s| s.to_string()).collect(),
        });
    }
    keyed(
        &a.constraints,
        &b.constraints,
        |c| Change::AddConstraint {
            table: name.clone(),
            constraint: c.clone(),
        },
        |c| Change::DropConstraint {
            table: name.clone(),
            constraint: c.clone(),
        },
        |c| Target::Constraint(name.clone(), c.name.clone()),
        out,
    );
    keyed(
        &a.indexes,
        &b.indexes,
        |i| Change::AddIndex {
            table: name.clone(),
            index: i.clone(),
        },
        |i| Change::DropIndex {
            table: name.clone(),
            index: i.clone(),
        },
        |i| Target::Index(QName::new(name.schema.clone(), i.name.clone())),
        out,
    );
    // Triggers: enabled state alone is an ALTER, the definition a replacement.
    let tb: BTreeMap<&str, &Trigger> = b.triggers.iter().map(|t| (t.name.as_str(), t)).collect();
    let ta: BTreeMap<&str, &Trigger> = a.triggers.iter().map(|t| (t.name.as_str(), t)).collect();
    for t in &a.triggers {
        match tb.get(t.name.as_str()) {
            None => out.push(Change::DropTrigger {
                table: name.clone(),
                trigger: t.clone(),
            }),
            Some(n) if n.definition != t.definition => {
                out.push(Change::DropTrigger {
                    table: name.clone(),
                    trigger: t.clone(),
                });
                out.push(Change::AddTrigger {
                    table: name.clone(),
                    trigger: (*n).clone(),
                });
            }
            Some(n) => {
                if n.enabled != t.enabled {
                    out.push(Change::TriggerEnabled {
                        table: name.clone(),
                        trigger: t.name.clone(),
                        from: t.enabled.clone(),
                        to: n.enabled.clone(),
                    });
                }
                comment(
                    Target::Trigger(name.clone(), t.name.clone()),
                    &t.comment,
                    &n.comment,
                    out,
                );
            }
        }
    }
    for t in &b.triggers {
        if !ta.contains_key(t.name.as_str()) {
            out.push(Change::AddTrigger {
                table: name.clone(),
                trigger: t.clone(),
            });
        }
    }
    keyed(
        &a.policies,
        &b.policies,
        |p| Change::AddPolicy {
            table: name.clone(),
            policy: p.clone(),
        },
        |p| Change::DropPolicy {
            table: name.clone(),
            policy: p.clone(),
        },
        |_| Target::Relation(name.clone()),
        out,
    );
    if a.unlogged != b.unlogged
        || a.rls_enabled != b.rls_enabled
        || a.rls_forced != b.rls_forced
        || a.replica_identity != b.replica_identity
        || a.options != b.options
    {
        out.push(Change::AlterTableProperties {
            from: a.clone(),
            to: b.clone(),
        });
    }
    owner(Target::Relation(name.clone()), &a.owner, &b.owner, out);
    comment(Target::Relation(name.clone()), &a.comment, &b.comment, out);
    acl(Target::Relation(name.clone()), &a.acl, &b.acl, out);
}

#[cfg(test)]
mod tests;

//! Classification: is a change safe, breaking (data loss, or incompatible with code that is
//! running now) or a hazard (locks, rewrites or scans a table that already holds data)?
//! Facts from `shared/reference/postgres-migration-hazards.md`; the version nuances assume
//! PostgreSQL 11+ (constant defaults do not rewrite) and 12+ (SET NOT NULL can use a validated
//! CHECK).

use serde::Serialize;

use super::change::Change;

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Class {
    Safe,
    Hazard,
    Breaking,
}

/// The verdict on one change, with the reasons in words.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Classification {
    pub class: Class,
    pub reasons: Vec<String>,
}

impl Classification {
    fn safe() -> Self {
        Classification {
            class: Class::Safe,
            reasons: vec![],
        }
    }
    fn hazard(reason: impl Into<String>) -> Self {
        Classification {
            class: Class::Hazard,
            reasons: vec![reason.into()],
        }
    }
    fn breaking(reason: impl Into<String>) -> Self {
        Classification {
            class: Class::Breaking,
            reasons: vec![reason.into()],
        }
    }
    fn and(mut self, other: Classification) -> Self {
        self.class = self.class.max(other.class);
        self.reasons.extend(other.reasons);
        self
    }
}

impl Change {
    /// Classifies this change. `table_is_new` tells whether the table it touches is created by
    /// the same migration (then nothing can be locked, scanned or lost).
    pub fn classify(&self, table_is_new: bool) -> Classification {
        if table_is_new && !matches!(self, Change::CreateTable(_)) && self.table().is_some() {
            return Classification::safe();
        }
        match self {
            Change::DropSchema(n) => Classification::breaking(format!("drops schema {} and everything left in it", n.name)),
            Change::DropExtension(e) => Classification::breaking(format!("drops extension {}; objects using it break", e.name)),
            Change::DropEnum(_) | Change::DropDomain(_) | Change::DropComposite(_) | Change::DropCollation(_) | Change::DropRange(_) => {
                Classification::breaking("removes a type that code or columns may still use")
            }
            Change::RecreateEnum { from, to } => {
                let removed: Vec<&String> = from.labels.iter().filter(|l| !to.labels.contains(l)).collect();
                if removed.is_empty() {
                    Classification::hazard("reorders enum values: the type is rebuilt and every column using it rewritten")
                } else {
                    Classification::breaking(format!(
                        "removes enum value{} {}: rows holding {} make the migration fail, and code writing {} breaks",
                        if removed.len() > 1 { "s" } else { "" },
                        quoted_list(&removed),
                        if removed.len() > 1 { "them" } else { "it" },
                        if removed.len() > 1 { "them" } else { "it" },
                    ))
                }
            }
            Change::RecreateRange { from, to } if from.subtype != to.subtype => Classification::breaking(format!(
                "changes the subtype of range type {} from {} to {}: stored values may not convert",
                to.name, from.subtype, to.subtype
            )),
            Change::RecreateRange { to, .. } => Classification::hazard(format!(
                "rebuilds range type {}: columns using it are rewritten under an ACCESS EXCLUSIVE lock",
                to.name
            )),
            Change::DropEventTrigger(e) => Classification::hazard(format!(
                "drops event trigger {}: the behaviour it implements stops",
                e.name
            )),
            Change::EventTriggerEnabled { name, to, .. } if to == "D" => Classification::hazard(format!(
                "disables event trigger {name}: the behaviour it implements stops"
            )),
            Change::DropPublication(p) => Classification::breaking(format!(
                "drops publication {}: its subscriptions stop receiving changes",
                p.name
            )),
            Change::AlterPublication { from, to } => {
                let fewer_tables = from.all_tables && !to.all_tables
                    || from.tables.iter().any(|t| !to.tables.iter().any(|n| n.table == t.table))
                    || from.schemas.iter().any(|s| !to.schemas.contains(s));
                let fewer_ops = (from.insert && !to.insert)
                    || (from.update && !to.update)
                    || (from.delete && !to.delete)
                    || (from.truncate && !to.truncate);
                let narrowed = from.tables.iter().any(|t| {
                    to.tables
                        .iter()
                        .any(|n| n.table == t.table && (n.columns != t.columns || n.row_filter != t.row_filter))
                });
                if fewer_tables || fewer_ops {
                    Classification::breaking(format!(
                        "publication {} stops publishing some tables or operations: subscribers stop receiving them",
                        to.name
                    ))
                } else if narrowed {
                    Classification::hazard(format!(
                        "publication {} changes a column list or row filter: subscribers receive other data",
                        to.name
                    ))
                } else {
                    Classification::safe()
                }
            }
            Change::DefaultPrivileges { from, to, .. } if from.iter().any(|p| !to.contains(p)) => {
                Classification::hazard("objects created later no longer get some privileges by default")
            }
            Change::NotMigrated { kind, name, .. } => Classification::hazard(format!(
                "pgkeel does not migrate {kind} objects: {name} must be changed by hand"
            )),
            Change::RecreateComposite { .. } => Classification::breaking("rebuilds a composite type: columns using it are rewritten"),
            Change::DropSequence(s) => Classification::breaking(format!("drops sequence {}", s.name)),
            Change::DropTable(t) => Classification::breaking(format!("drops table {} and all its rows (ACCESS EXCLUSIVE lock)", t.name)),
            Change::RecreateTable { to, .. } => Classification::breaking(format!(
                "changes partitioning or inheritance of {}: needs a new table and a data copy",
                to.name
            )),
            Change::AlterTableProperties { from, to } => {
                let mut c = Classification::safe();
                if from.unlogged != to.unlogged {
                    c = c.and(Classification::hazard("SET LOGGED/UNLOGGED rewrites the table under an ACCESS EXCLUSIVE lock"));
                }
                if from.options != to.options {
                    c = c.and(Classification::hazard("changing storage parameters takes a SHARE UPDATE EXCLUSIVE lock"));
                }
                if !from.rls_enabled && to.rls_enabled {
                    c = c.and(Classification::breaking("enables row level security: roles without a policy see no rows"));
                }
                c
            }
            Change::DropColumn { table, column } => Classification::breaking(format!(
                "drops column {table}.{} and its data; running code that reads it breaks",
                column.name
            )),
            Change::AddColumn { column, .. } => {
                if column.generated.is_some() {
                    Classification::hazard("a stored generated column rewrites the table under an ACCESS EXCLUSIVE lock")
                } else if column.identity.is_some() {
                    Classification::hazard("an identity column fills every row: the table is rewritten")
                } else if column.not_null && column.default.is_none() {
                    Classification::breaking("NOT NULL without a default: fails if the table has rows, and inserts from running code that omit it fail")
                } else if column.default.as_deref().is_some_and(is_volatile_default) {
                    Classification::hazard("a volatile default rewrites the table under an ACCESS EXCLUSIVE lock")
                } else {
                    Classification::safe()
                }
            }
            Change::AlterColumn { table, from, to } => {
                let mut c = Classification::safe();
                if from.data_type != to.data_type || from.collation != to.collation {
                    c = c.and(match type_change(&from.data_type, &to.data_type) {
                        TypeChange::Coercible => Classification::safe(),
                        TypeChange::Narrowing => Classification::breaking(format!(
                            "narrows {table}.{} from {} to {}: values that do not fit make it fail or lose data",
                            to.name, from.data_type, to.data_type
                        )),
                        TypeChange::Rewrite => Classification::hazard(format!(
                            "changing {table}.{} from {} to {} rewrites the table and its indexes under an ACCESS EXCLUSIVE lock",
                            to.name, from.data_type, to.data_type
                        )),
                    });
                }
                if !from.not_null && to.not_null {
                    c = c.and(Classification::hazard(format!(
                        "SET NOT NULL on {table}.{} scans the whole table under an ACCESS EXCLUSIVE lock (fails if NULLs exist)",
                        to.name
                    )));
                }
                if from.default.is_some() && to.default.is_none() && to.identity.is_none() {
                    c = c.and(Classification::breaking(format!(
                        "drops the default of {table}.{}: inserts from running code that omit it get NULL or fail",
                        to.name
                    )));
                }
                if from.generated != to.generated && to.generated.is_some() {
                    c = c.and(Classification::hazard("changing a generated expression rewrites the table"));
                }
                if from.identity.is_some() != to.identity.is_some() && to.identity.is_none() {
                    c = c.and(Classification::breaking("drops an identity: inserts that rely on it fail"));
                }
                c
            }
            Change::ColumnOrder { .. } => Classification::safe(),
            Change::AttachPartition { .. } => Classification::hazard(
                "ATTACH PARTITION scans the partition to check its bound unless a matching CHECK constraint exists",
            ),
            Change::DetachPartition { table, .. } => Classification::breaking(format!(
                "detaching {table}: its rows disappear from queries on the parent (ACCESS EXCLUSIVE lock; DETACH … CONCURRENTLY avoids it on PostgreSQL 14+)"
            )),
            Change::AddConstraint { constraint, .. } => match constraint.kind.as_str() {
                "f" if constraint.validated => Classification::hazard(
                    "adding a validated foreign key scans the table under a SHARE ROW EXCLUSIVE lock on both tables (use NOT VALID, then VALIDATE)",
                ),
                "c" if constraint.validated => Classification::hazard(
                    "adding a validated CHECK scans the table under an ACCESS EXCLUSIVE lock (use NOT VALID, then VALIDATE)",
                ),
                "p" | "u" | "x" => Classification::hazard(
                    "building the index behind this constraint blocks writes (build it CONCURRENTLY, then ADD CONSTRAINT … USING INDEX)",
                ),
                _ => Classification::safe(),
            },
            Change::DropConstraint { constraint, .. } => match constraint.kind.as_str() {
                "p" | "u" => Classification::breaking(format!(
                    "drops {} constraint {}: ON CONFLICT clauses and foreign keys relying on it break",
                    if constraint.kind == "p" { "primary key" } else { "unique" },
                    constraint.name
                )),
                _ => Classification::safe(),
            },
            Change::AddIndex { index, .. } => {
                if index.definition.contains(" CONCURRENTLY ") {
                    Classification::safe()
                } else {
                    Classification::hazard("CREATE INDEX blocks writes to the table while it builds (use CREATE INDEX CONCURRENTLY)")
                }
            }
            Change::DropIndex { index, .. } => {
                if index.definition.starts_with("CREATE UNIQUE") {
                    Classification::breaking(format!("drops unique index {}: uniqueness is no longer enforced", index.name))
                } else {
                    Classification::hazard("DROP INDEX takes an ACCESS EXCLUSIVE lock on the table (use DROP INDEX CONCURRENTLY)")
                }
            }
            Change::DropTrigger { trigger, .. } => Classification::hazard(format!(
                "drops trigger {}: the behaviour it implements stops",
                trigger.name
            )),
            Change::DropPolicy { .. } => Classification::hazard("drops a row level security policy: access changes"),
            Change::DropView(v) => Classification::breaking(format!("drops view {}: queries using it break", v.name)),
            Change::ReplaceView { from, to } if from.materialized || to.materialized => {
                Classification::hazard("rebuilding a materialized view re-runs its query and blocks readers until done")
            }
            Change::DropFunction(f) => Classification::breaking(format!(
                "drops function {}({}): callers break",
                f.name, f.arguments
            )),
            Change::ReplaceFunction { from, to } if from.result != to.result => Classification::breaking(format!(
                "changes the result type of {}({}) from {} to {}",
                to.name, to.arguments, from.result, to.result
            )),
            Change::Privileges { from, to, .. } if from.iter().any(|p| !to.contains(p)) => {
                Classification::breaking("revokes privileges: roles relying on them lose access")
            }
            _ => Classification::safe(),
        }
    }
}

fn quoted_list(items: &[&String]) -> String {
    items
        .iter()
        .map(|s| format!("'{s}'"))
        .collect::<Vec<_>>()
        .join(", ")
}

/// Defaults evaluated per row force a rewrite when a column is added.
fn is_volatile_default(expr: &str) -> bool {
    let e = expr.to_ascii_lowercase();
    [
        "random()",
        "gen_random_uuid()",
        "uuid_generate",
        "clock_timestamp()",
        "nextval(",
        "timeofday()",
    ]
    .iter()
    .any(|f| e.contains(f))
}

#[derive(Debug, PartialEq, Eq)]
enum TypeChange {
    /// Binary-coercible: catalog-only, no rewrite.
    Coercible,
    /// May not fit: data loss or failure.
    Narrowing,
    Rewrite,
}

/// What changing a column from `from` to `to` costs. Conservative: anything not known to be
/// coercible rewrites.
fn type_change(from: &str, to: &str) -> TypeChange {
    fn base_and_mod(t: &str) -> (&str, Option<Vec<i64>>) {
        match t.split_once('(') {
            Some((base, rest)) => {
                let mods = rest
                    .trim_end_matches(')')
                    .split(',')
                    .map(|p| p.trim().parse::<i64>().ok())
                    .collect::<Option<Vec<_>>>();
                (base, mods)
            }
            None => (t, None),
        }
    }
    let (fb, fm) = base_and_mod(from);
    let (tb, tm) = base_and_mod(to);
    let varchar = |b: &str| b == "character varying" || b == "varchar";
    match (fb, tb) {
        (f, "text") if varchar(f) || f == "text" => TypeChange::Coercible,
        (f, t) if varchar(f) && varchar(t) => match (fm.as_deref(), tm.as_deref()) {
            (_, None) => TypeChange::Coercible,
            (Some([a]), Some([b])) if b >= a => TypeChange::Coercible,
            _ => TypeChange::Narrowing,
        },
        ("text", t) if varchar(t) && tm.is_some() => TypeChange::Narrowing,
        ("numeric", "numeric") => match (fm.as_deref(), tm.as_deref()) {
            (_, None) => TypeChange::Coercible,
            (Some([p1, s1]), Some([p2, s2])) if s1 == s2 && p2 >= p1 => TypeChange::Coercible,
            _ => TypeChange::Narrowing,
        },
        ("bigint", "integer" | "smallint") | ("integer", "smallint") => TypeChange::Narrowing,
        ("timestamp without time zone", "timestamp with time zone") => TypeChange::Rewrite,
        _ => TypeChange::Rewrite,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn type_changes() {
        assert_eq!(
            type_change("character varying(10)", "character varying(20)"),
            TypeChange::Coercible
        );
        assert_eq!(
            type_change("character varying(20)", "character varying(10)"),
            TypeChange::Narrowing
        );
        assert_eq!(
            type_change("character varying(20)", "text"),
            TypeChange::Coercible
        );
        assert_eq!(
            type_change("text", "character varying(5)"),
            TypeChange::Narrowing
        );
        assert_eq!(
            type_change("numeric(10,2)", "numeric(12,2)"),
            TypeChange::Coercible
        );
        assert_eq!(
            type_change("numeric(10,2)", "numeric(10,3)"),
            TypeChange::Narrowing
        );
        assert_eq!(type_change("integer", "bigint"), TypeChange::Rewrite);
        assert_eq!(type_change("bigint", "integer"), TypeChange::Narrowing);
    }

    #[test]
    fn volatile_defaults() {
        assert!(is_volatile_default("gen_random_uuid()"));
        assert!(is_volatile_default("nextval('s'::regclass)"));
        assert!(!is_volatile_default("0"));
        assert!(!is_volatile_default("now()"));
    }
}

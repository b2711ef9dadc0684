//! `plan` on plain values: no database.

use super::*;
use crate::catalog::model::*;
use crate::diff::diff;

fn col(name: &str, ty: &str) -> Column {
    Column::new(name, ty)
}

fn table(name: &str, columns: Vec<Column>) -> Table {
    Table::new(QName::new("public", name), columns)
}

fn sqls(from: &Schema, to: &Schema, online: bool) -> Vec<String> {
    let changes = diff(from, to);
    let (steps, refusals) = plan(
        &changes,
        from,
        to,
        PlanOptions {
            online,
            ..PlanOptions::default()
        },
    );
    assert!(refusals.is_empty(), "{refusals:?}");
    steps.into_iter().map(|s| s.sql).collect()
}

#[test]
fn foreign_keys_come_after_the_tables_they_reference() {
    let mut child = table("child", vec![col("parent_id", "integer")]);
    child.constraints.push(Constraint {
        name: "child_parent_fk".into(),
        kind: "f".into(),
        definition: "FOREIGN KEY (parent_id) REFERENCES public.parent(id)".into(),
        validated: true,
        references: Some(QName::new("public", "parent")),
        comment: None,
    });
    let mut parent = table("parent", vec![col("id", "integer")]);
    parent.constraints.push(Constraint {
        name: "parent_pkey".into(),
        kind: "p".into(),
        definition: "PRIMARY KEY (id)".into(),
        validated: true,
        references: None,
        comment: None,
    });
    let to = Schema {
        tables: vec![child, parent],
        ..Schema::default()
    };
    let s = sqls(&Schema::default(), &to, false);
    let pos = |needle: &str| {
        s.iter()
            .position(|x| x.contains(needle))
            .unwrap_or_else(|| panic!("{needle} in {s:#?}"))
    };
    assert!(pos("CREATE TABLE \"public\".\"parent\"") < pos("child_parent_fk"));
    assert!(pos("parent_pkey") < pos("child_parent_fk"));
}

#[test]
fn hostile_names_are_quoted() {
    let evil = "x\"; DROP TABLE t; --";
    let to = Schema {
        tables: vec![table(evil, vec![col(evil, "text")])],
        ..Schema::default()
    };
    let s = sqls(&Schema::default(), &to, false);
    assert_eq!(s[0], "CREATE TABLE \"public\".\"x\"\"; DROP TABLE t; --\" (\n    \"x\"\"; DROP TABLE t; --\" text\n)");
}

#[test]
fn enum_labels_are_literals() {
    let e = EnumType {
        name: QName::new("public", "e"),
        labels: vec!["x'); DROP TABLE t; --".into()],
        owner: "postgres".into(),
        comment: None,
    };
    let s = sqls(
        &Schema::default(),
        &Schema {
            enums: vec![e],
            ..Schema::default()
        },
        false,
    );
    assert_eq!(
        s,
        vec!["CREATE TYPE \"public\".\"e\" AS ENUM ('x''); DROP TABLE t; --')"]
    );
}

#[test]
fn online_mode_builds_indexes_concurrently_and_validates_separately() {
    let a = table("t", vec![col("a", "integer")]);
    let mut b = a.clone();
    b.indexes.push(Index {
        name: "t_a".into(),
        definition: "CREATE INDEX t_a ON public.t USING btree (a)".into(),
        valid: true,
        comment: None,
    });
    b.columns[0].not_null = true;
    let from = Schema {
        tables: vec![a],
        ..Schema::default()
    };
    let to = Schema {
        tables: vec![b],
        ..Schema::default()
    };
    let changes = diff(&from, &to);
    let (steps, _) = plan(
        &changes,
        &from,
        &to,
        PlanOptions {
            online: true,
            ..PlanOptions::default()
        },
    );
    let idx = steps
        .iter()
        .find(|s| s.sql.contains("CONCURRENTLY"))
        .expect("concurrent index");
    assert!(!idx.transactional);
    assert!(steps.iter().any(|s| s.sql.contains("NOT VALID")));
    assert!(steps.iter().any(|s| s.sql.contains("VALIDATE CONSTRAINT")
        && s.scans
        && s.lock == Lock::ShareUpdateExclusive));
    let blocking = sqls(&from, &to, false);
    assert!(blocking.iter().all(|s| !s.contains("CONCURRENTLY")));
}

#[test]
fn partitioning_change_is_refused_with_the_object_named() {
    let a = table("t", vec![col("a", "integer")]);
    let mut b = a.clone();
    b.kind = TableKind::Partitioned;
    b.partition_key = Some("RANGE (a)".into());
    let from = Schema {
        tables: vec![a],
        ..Schema::default()
    };
    let to = Schema {
        tables: vec![b],
        ..Schema::default()
    };
    let (_, refusals) = plan(&diff(&from, &to), &from, &to, PlanOptions::default());
    assert_eq!(refusals.len(), 1);
    assert!(
        refusals[0]
            .to_string()
            .contains("cannot migrate table public.t"),
        "{}",
        refusals[0]
    );
}

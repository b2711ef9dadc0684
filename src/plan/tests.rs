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
        acl: vec![],
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

fn range(name: &str, subtype: &str) -> RangeType {
    RangeType {
        name: QName::new("public", name),
        subtype: subtype.into(),
        subtype_opclass: None,
        collation: None,
        canonical: None,
        subtype_diff: None,
        multirange: Some(format!("public.{name}_multirange")),
        owner: "postgres".into(),
        comment: None,
        acl: vec![],
    }
}

#[test]
fn range_subtype_change_with_columns_is_refused_by_name() {
    let t = table("booking", vec![col("during", "r")]);
    let from = Schema {
        ranges: vec![range("r", "integer")],
        tables: vec![t.clone()],
        ..Schema::default()
    };
    let to = Schema {
        ranges: vec![range("r", "bigint")],
        tables: vec![t],
        ..Schema::default()
    };
    let (_, refusals) = plan(&diff(&from, &to), &from, &to, PlanOptions::default());
    assert_eq!(refusals.len(), 1, "{refusals:?}");
    let text = refusals[0].to_string();
    assert!(text.contains("range type public.r"), "{text}");
    assert!(text.contains("public.booking.during"), "{text}");
}

#[test]
fn range_with_a_new_difference_function_is_created_after_it() {
    let mut r = range("r", "numeric");
    r.subtype_diff = Some("public.num_diff".into());
    let f = Function {
        name: QName::new("public", "num_diff"),
        arguments: "a numeric, b numeric".into(),
        argument_types: "numeric, numeric".into(),
        kind: "f".into(),
        definition: "CREATE OR REPLACE FUNCTION public.num_diff(a numeric, b numeric) RETURNS double precision LANGUAGE sql AS $$ select (a - b)::float8 $$".into(),
        result: "double precision".into(),
        owner: "postgres".into(),
        comment: None,
        acl: vec![],
    };
    let to = Schema {
        ranges: vec![r],
        functions: vec![f],
        ..Schema::default()
    };
    let s = sqls(&Schema::default(), &to, false);
    let f = s
        .iter()
        .position(|x| x.contains("FUNCTION public.num_diff"))
        .unwrap();
    let t = s.iter().position(|x| x.starts_with("CREATE TYPE")).unwrap();
    assert!(f < t, "{s:#?}");
    // Dropping them: the type first, then its function.
    let back = sqls(&to, &Schema::default(), false);
    let t = back
        .iter()
        .position(|x| x.starts_with("DROP TYPE"))
        .unwrap();
    let f = back
        .iter()
        .position(|x| x.starts_with("DROP FUNCTION"))
        .unwrap();
    assert!(t < f, "{back:#?}");
}

#[test]
fn unmodelled_differences_are_refused_never_planned_as_nothing() {
    let to = Schema {
        unmodelled: vec![Unmodelled {
            kind: "text search configuration".into(),
            name: "public.english_nostop".into(),
            definition: "default".into(),
        }],
        ..Schema::default()
    };
    let changes = diff(&Schema::default(), &to);
    assert_eq!(changes.len(), 1);
    let (steps, refusals) = plan(&changes, &Schema::default(), &to, PlanOptions::default());
    assert!(steps.is_empty());
    assert_eq!(
        refusals[0].to_string(),
        "cannot migrate text search configuration public.english_nostop: pgkeel does not migrate text search configuration objects yet; write this change in a migration yourself"
    );
}

fn publication(tables: Vec<PublicationTable>) -> Publication {
    Publication {
        name: "p".into(),
        all_tables: false,
        tables,
        schemas: vec![],
        insert: true,
        update: true,
        delete: true,
        truncate: true,
        via_root: false,
        generated_columns: None,
        owner: "postgres".into(),
        comment: None,
    }
}

#[test]
fn publication_members_leave_early_and_join_late() {
    let member = |name: &str, filter: Option<&str>| PublicationTable {
        table: QName::new("public", name),
        columns: vec![],
        row_filter: filter.map(str::to_string),
    };
    let from = Schema {
        tables: vec![table("a", vec![]), table("b", vec![])],
        publications: vec![publication(vec![member("a", None), member("b", None)])],
        ..Schema::default()
    };
    let mut p = publication(vec![member("b", Some("(id > 1)"))]);
    p.truncate = false;
    let to = Schema {
        tables: vec![table("b", vec![])],
        publications: vec![p],
        ..Schema::default()
    };
    let s = sqls(&from, &to, false);
    assert_eq!(
        s,
        vec![
            "ALTER PUBLICATION \"p\" DROP TABLE \"public\".\"a\"",
            "ALTER PUBLICATION \"p\" DROP TABLE \"public\".\"b\"",
            "DROP TABLE \"public\".\"a\"",
            "ALTER PUBLICATION \"p\" ADD TABLE \"public\".\"b\" WHERE ((id > 1))",
            "ALTER PUBLICATION \"p\" SET (publish = 'insert, update, delete', publish_via_partition_root = false)",
        ]
    );
}

#[test]
fn default_privileges_return_to_the_builtin_default_and_run_last() {
    let entry = DefaultPrivileges {
        role: "app".into(),
        schema: None,
        object_type: "f".into(),
        acl: vec!["app=X/app".into()],
        builtin: vec!["=X/app".into(), "app=X/app".into()],
    };
    let from = Schema {
        default_privileges: vec![entry],
        ..Schema::default()
    };
    let to = Schema {
        schemas: vec![Namespace {
            name: "s".into(),
            owner: "app".into(),
            comment: None,
            acl: vec![],
        }],
        ..Schema::default()
    };
    let s = sqls(&from, &to, false);
    assert_eq!(
        s,
        vec![
            "CREATE SCHEMA \"s\"",
            "ALTER DEFAULT PRIVILEGES FOR ROLE \"app\" GRANT EXECUTE ON FUNCTIONS TO PUBLIC",
        ]
    );
}

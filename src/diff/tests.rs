//! `diff` on plain values: no database.

use super::*;

fn col(name: &str, ty: &str, not_null: bool) -> Column {
    Column {
        not_null,
        ..Column::new(name, ty)
    }
}

fn table(name: &str, columns: Vec<Column>) -> Table {
    Table::new(QName::new("public", name), columns)
}

fn schema(tables: Vec<Table>) -> Schema {
    Schema {
        tables,
        ..Schema::default()
    }
}

#[test]
fn identical_schemas_have_no_changes() {
    let s = schema(vec![table("t", vec![col("id", "integer", true)])]);
    assert!(diff(&s, &s).is_empty());
}

#[test]
fn added_removed_and_altered_columns() {
    let a = schema(vec![table(
        "t",
        vec![
            col("id", "integer", true),
            col("old", "text", false),
            col("n", "integer", false),
        ],
    )]);
    let b = schema(vec![table(
        "t",
        vec![
            col("id", "integer", true),
            col("n", "bigint", false),
            col("new", "text", false),
        ],
    )]);
    let changes = diff(&a, &b);
    let described: Vec<String> = changes.iter().map(Change::describe).collect();
    assert!(
        described
            .iter()
            .any(|d| d.starts_with("removed column public.t.old")),
        "{described:?}"
    );
    assert!(
        described
            .iter()
            .any(|d| d.starts_with("added column public.t.new (text, nullable)")),
        "{described:?}"
    );
    assert!(
        described
            .iter()
            .any(|d| d.contains("modified column public.t.n: integer")),
        "{described:?}"
    );
    let drop = changes
        .iter()
        .find(|c| matches!(c, Change::DropColumn { .. }))
        .unwrap();
    assert_eq!(drop.classify(false).class, Class::Breaking);
    let alter = changes
        .iter()
        .find(|c| matches!(c, Change::AlterColumn { .. }))
        .unwrap();
    assert_eq!(alter.classify(false).class, Class::Hazard);
    let add = changes
        .iter()
        .find(|c| matches!(c, Change::AddColumn { .. }))
        .unwrap();
    assert_eq!(add.classify(false).class, Class::Safe);
}

#[test]
fn not_null_without_default_is_breaking_unless_the_table_is_new() {
    let a = schema(vec![table("t", vec![col("id", "integer", true)])]);
    let b = schema(vec![table(
        "t",
        vec![col("id", "integer", true), col("must", "text", true)],
    )]);
    let c = diff(&a, &b);
    assert_eq!(c.len(), 1);
    assert_eq!(c[0].classify(false).class, Class::Breaking);
    assert_eq!(c[0].classify(true).class, Class::Safe);
}

#[test]
fn enum_values_added_in_place_or_rebuilt() {
    let e = |labels: &[&str]| EnumType {
        name: QName::new("public", "mood"),
        labels: labels.iter().map(|s| s.to_string()).collect(),
        owner: "postgres".into(),
        comment: None,
        acl: vec![],
    };
    let a = Schema {
        enums: vec![e(&["a", "c"])],
        ..Schema::default()
    };
    let b = Schema {
        enums: vec![e(&["a", "b", "c", "d"])],
        ..Schema::default()
    };
    let c = diff(&a, &b);
    assert_eq!(
        c,
        vec![
            Change::AddEnumValue {
                ty: QName::new("public", "mood"),
                label: "b".into(),
                before: Some("c".into()),
                after: None
            },
            Change::AddEnumValue {
                ty: QName::new("public", "mood"),
                label: "d".into(),
                before: None,
                after: Some("c".into())
            },
        ]
    );
    let removed = diff(&b, &a);
    assert!(matches!(removed[0], Change::RecreateEnum { .. }));
    assert_eq!(removed[0].classify(false).class, Class::Breaking);
}

#[test]
fn column_order_is_reported_not_migrated() {
    let a = schema(vec![table(
        "t",
        vec![col("a", "integer", false), col("b", "integer", false)],
    )]);
    let b = schema(vec![table(
        "t",
        vec![col("b", "integer", false), col("a", "integer", false)],
    )]);
    let c = diff(&a, &b);
    assert!(
        matches!(c.as_slice(), [Change::ColumnOrder { .. }]),
        "{c:?}"
    );
}

#[test]
fn changed_index_is_dropped_and_recreated() {
    let mut ta = table("t", vec![col("a", "integer", false)]);
    ta.indexes.push(Index {
        name: "i".into(),
        definition: "CREATE INDEX i ON public.t USING btree (a)".into(),
        valid: true,
        comment: None,
    });
    let mut tb = ta.clone();
    tb.indexes[0].definition = "CREATE INDEX i ON public.t USING btree (a DESC)".into();
    let c = diff(&schema(vec![ta]), &schema(vec![tb]));
    assert!(
        matches!(
            c.as_slice(),
            [Change::DropIndex { .. }, Change::AddIndex { .. }]
        ),
        "{c:?}"
    );
}

#[test]
fn an_absent_global_default_privileges_entry_is_the_builtin_default() {
    let entry = |acl: &[&str], schema: Option<&str>| DefaultPrivileges {
        role: "app".into(),
        schema: schema.map(str::to_string),
        object_type: "T".into(),
        acl: acl.iter().map(|s| s.to_string()).collect(),
        builtin: vec!["=U/app".into(), "app=U/app".into()],
    };
    let a = Schema::default();
    let b = Schema {
        default_privileges: vec![
            entry(&["app=U/app"], None),
            entry(&["bob=U/app"], Some("s")),
        ],
        ..Schema::default()
    };
    let changes = diff(&a, &b);
    assert_eq!(
        changes,
        vec![
            Change::DefaultPrivileges {
                role: "app".into(),
                schema: None,
                object_type: "T".into(),
                from: vec!["=U/app".into(), "app=U/app".into()],
                to: vec!["app=U/app".into()],
            },
            Change::DefaultPrivileges {
                role: "app".into(),
                schema: Some("s".into()),
                object_type: "T".into(),
                from: vec![],
                to: vec!["bob=U/app".into()],
            },
        ]
    );
    assert_eq!(
        changes[1].describe(),
        "default privileges on types created by app in schema s"
    );
}

#[test]
fn event_trigger_redefinition_is_drop_and_create_and_state_is_an_alter() {
    let et = |event: &str, enabled: &str| EventTrigger {
        name: "guard".into(),
        event: event.into(),
        tags: vec![],
        function: "public.f".into(),
        enabled: enabled.into(),
        owner: "postgres".into(),
        comment: None,
    };
    let s = |e: EventTrigger| Schema {
        event_triggers: vec![e],
        ..Schema::default()
    };
    let d: Vec<String> = diff(
        &s(et("ddl_command_start", "O")),
        &s(et("ddl_command_end", "O")),
    )
    .iter()
    .map(Change::describe)
    .collect();
    assert_eq!(
        d,
        vec![
            "removed event trigger guard",
            "added event trigger guard on ddl_command_end"
        ]
    );
    let d: Vec<String> = diff(&s(et("sql_drop", "O")), &s(et("sql_drop", "D")))
        .iter()
        .map(Change::describe)
        .collect();
    assert_eq!(d, vec!["event trigger guard disabled"]);
}

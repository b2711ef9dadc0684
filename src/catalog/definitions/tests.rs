//! The printing rules, without a server; the round-trip tests compare every definition a real
//! server holds with its own `pg_get_constraintdef` / `pg_get_indexdef` text.

use super::*;
use crate::catalog::columns::{Attribute, ColumnRow};
use crate::catalog::Column;

const INT4: u32 = 23;
const TEXT: u32 = 25;
const DEFAULT_COLLATION: u32 = 100;
const INT4_OPS: u32 = 1978;
const TEXT_OPS: u32 = 3126;
const TEXT_PATTERN_OPS: u32 = 4217;

fn context() -> Context {
    Context {
        keywords: ["user", "select", "order"].map(String::from).into(),
        quote_all: false,
        default_classes: [(INT4_OPS, INT4), (TEXT_OPS, TEXT)].into(),
        ordered_methods: ["btree".to_string()].into(),
    }
}

fn t(name: &str) -> QName {
    QName::new("public", name)
}

/// Tables `a` (id int4, "User" text, order int4, note text) and `b` (id int4, a_id int4).
fn columns() -> Columns {
    let mut columns = Columns::default();
    let tables = [
        ("a", vec!["id", "User", "order", "note"]),
        ("b", vec!["id", "a_id"]),
    ];
    for (table, names) in tables {
        for (i, name) in names.into_iter().enumerate() {
            let text = name == "User" || name == "note";
            columns.push(ColumnRow {
                table: t(table),
                attribute: Attribute {
                    attnum: i16::try_from(i + 1).expect("few columns"),
                    type_oid: if text { TEXT } else { INT4 },
                    collation_oid: if text { DEFAULT_COLLATION } else { 0 },
                    column: Column::new(name, if text { "text" } else { "integer" }),
                },
                unmodelled: vec![],
            });
        }
    }
    columns.finish()
}

fn key(kind: &str, table: &str, keys: &[i16]) -> ConstraintRow {
    ConstraintRow {
        oid: 1,
        table: t(table),
        constraint: Constraint {
            name: "k".into(),
            kind: kind.into(),
            definition: String::new(),
            validated: true,
            references: None,
            comment: None,
        },
        parts: Parts {
            expression: None,
            keys: keys.to_vec(),
            index_keys: keys.to_vec(),
            deferrable: false,
            deferred: false,
            ref_visible: true,
            ref_keys: Vec::new(),
            match_type: "s".into(),
            on_update: "a".into(),
            on_delete: "a".into(),
        },
    }
}

fn foreign_key(references: QName, visible: bool) -> ConstraintRow {
    let mut k = key("f", "b", &[2]);
    k.constraint.references = Some(references);
    k.parts.ref_visible = visible;
    k.parts.ref_keys = vec![1];
    k
}

fn printed(k: &ConstraintRow) -> Option<String> {
    k.print(&columns(), &context())
}

#[test]
fn identifiers_are_quoted_as_the_server_quotes_them() {
    let cx = context();
    let quoted = |name: &str| {
        let mut out = String::new();
        cx.ident(name, &mut out);
        out
    };
    assert_eq!(quoted("plain_name1"), "plain_name1");
    assert_eq!(quoted("_x"), "_x");
    assert_eq!(quoted("user"), "\"user\"");
    assert_eq!(quoted("Mixed"), "\"Mixed\"");
    assert_eq!(quoted("1st"), "\"1st\"");
    assert_eq!(quoted("has space"), "\"has space\"");
    assert_eq!(quoted("dollar$"), "\"dollar$\"");
    assert_eq!(quoted("ünï"), "\"ünï\"");
    assert_eq!(quoted("a\"b"), "\"a\"\"b\"");
    assert_eq!(quoted(""), "\"\"");
    let all = Context {
        quote_all: true,
        ..context()
    };
    let mut out = String::new();
    all.ident("plain", &mut out);
    assert_eq!(out, "\"plain\"");
}

#[test]
fn primary_and_unique_keys() {
    assert_eq!(
        printed(&key("p", "a", &[1])).as_deref(),
        Some("PRIMARY KEY (id)")
    );
    assert_eq!(
        printed(&key("u", "a", &[2, 3])).as_deref(),
        Some("UNIQUE (\"User\", \"order\")")
    );
    let mut with_include = key("u", "a", &[1]);
    with_include.parts.index_keys = vec![1, 4, 2];
    with_include.parts.deferrable = true;
    with_include.parts.deferred = true;
    assert_eq!(
        printed(&with_include).as_deref(),
        Some("UNIQUE (id) INCLUDE (note, \"User\") DEFERRABLE INITIALLY DEFERRED")
    );
}

#[test]
fn foreign_keys() {
    assert_eq!(
        printed(&foreign_key(t("a"), true)).as_deref(),
        Some("FOREIGN KEY (a_id) REFERENCES a(id)")
    );
    let mut k = foreign_key(t("a"), false);
    k.parts.match_type = "f".into();
    k.parts.on_update = "c".into();
    k.parts.on_delete = "n".into();
    k.parts.deferrable = true;
    k.constraint.validated = false;
    assert_eq!(
        printed(&k).as_deref(),
        Some(
            "FOREIGN KEY (a_id) REFERENCES public.a(id) MATCH FULL ON UPDATE CASCADE \
             ON DELETE SET NULL DEFERRABLE NOT VALID"
        )
    );
    for (code, action) in [("r", "RESTRICT"), ("d", "SET DEFAULT")] {
        let mut k = foreign_key(t("a"), true);
        k.parts.on_delete = code.into();
        assert_eq!(
            printed(&k),
            Some(format!(
                "FOREIGN KEY (a_id) REFERENCES a(id) ON DELETE {action}"
            ))
        );
    }
}

#[test]
fn what_it_cannot_print_is_left_to_the_server() {
    // A referenced table it has not read (a schema left out of the comparison).
    assert_eq!(printed(&foreign_key(QName::new("other", "a"), false)), None);
    // A column it does not know.
    assert_eq!(printed(&key("p", "a", &[9])), None);
    // Checks and exclusion constraints are the server's.
    assert_eq!(printed(&key("c", "a", &[1])), None);
    assert_eq!(printed(&key("x", "a", &[1])), None);
}

fn index(keys: &[i16], classes: &[u32]) -> IndexRow {
    IndexRow {
        oid: 2,
        table: t("a"),
        index: Index {
            name: "a_idx".into(),
            definition: String::new(),
            valid: true,
            comment: None,
        },
        unique: false,
        partitioned: false,
        method: "btree".into(),
        keys: keys.to_vec(),
        key_count: i16::try_from(classes.len()).expect("few keys"),
        classes: classes.to_vec(),
        collations: keys
            .iter()
            .map(|&k| {
                if k == 2 || k == 4 {
                    DEFAULT_COLLATION
                } else {
                    0
                }
            })
            .collect(),
        options: vec![0; classes.len()],
    }
}

#[test]
fn plain_indexes() {
    let (columns, cx) = (columns(), context());
    let mut i = index(&[1, 2], &[INT4_OPS, TEXT_OPS]);
    assert_eq!(
        i.print(&columns, &cx).as_deref(),
        Some("CREATE INDEX a_idx ON public.a USING btree (id, \"User\")")
    );
    i.unique = true;
    i.partitioned = true;
    i.options = vec![1, 2];
    assert_eq!(
        i.print(&columns, &cx).as_deref(),
        Some("CREATE UNIQUE INDEX a_idx ON ONLY public.a USING btree (id DESC NULLS LAST, \"User\" NULLS FIRST)")
    );
    i.options = vec![3, 0];
    assert!(i
        .print(&columns, &cx)
        .is_some_and(|d| d.ends_with("(id DESC, \"User\")")));

    let mut included = index(&[3, 4, 1], &[INT4_OPS]);
    included.collations = vec![0, DEFAULT_COLLATION, 0];
    assert_eq!(
        included.print(&columns, &cx).as_deref(),
        Some("CREATE INDEX a_idx ON public.a USING btree (\"order\") INCLUDE (note, id)")
    );

    // Methods that do not order print no DESC / NULLS.
    let mut hash = index(&[1], &[INT4_OPS]);
    hash.method = "hash".into();
    hash.options = vec![3];
    assert_eq!(
        hash.print(&columns, &cx).as_deref(),
        Some("CREATE INDEX a_idx ON public.a USING hash (id)")
    );
}

#[test]
fn indexes_with_other_than_the_defaults_are_left_to_the_server() {
    let (columns, cx) = (columns(), context());
    // An operator class that is not the default.
    assert_eq!(index(&[2], &[TEXT_PATTERN_OPS]).print(&columns, &cx), None);
    // A default operator class, but for another type than the column's.
    assert_eq!(index(&[1], &[TEXT_OPS]).print(&columns, &cx), None);
    // A collation that is not the column's.
    let mut collated = index(&[2], &[TEXT_OPS]);
    collated.collations = vec![950];
    assert_eq!(collated.print(&columns, &cx), None);
    // A column it does not know.
    assert_eq!(index(&[7], &[INT4_OPS]).print(&columns, &cx), None);
}

#[test]
fn print_fills_in_what_it_can_and_lists_the_rest() {
    let mut constraints = vec![
        key("p", "a", &[1]),
        foreign_key(QName::new("other", "a"), false),
    ];
    let mut indexes = vec![index(&[1], &[INT4_OPS]), index(&[2], &[TEXT_PATTERN_OPS])];
    let left = print(&mut constraints, &mut indexes, &columns(), &context());
    assert_eq!(constraints[0].constraint.definition, "PRIMARY KEY (id)");
    assert_eq!(left.constraints, vec![vec![1]]);
    assert_eq!(left.indexes, vec![1]);
    assert!(indexes[0].index.definition.starts_with("CREATE INDEX"));
}

fn check(table: &str, keys: &[i16], expression: &str) -> ConstraintRow {
    let mut k = key("c", table, keys);
    k.parts.expression = Some(expression.into());
    k
}

#[test]
fn checks_that_read_alike_are_printed_once() {
    let gt_zero = |location: i32| {
        format!("{{OPEXPR :opno 521 :args ({{VAR :varattno 1 :location {location}}} {{CONST :location -1}}) :location {}}}", location + 3)
    };
    let mut constraints = vec![
        check("a", &[1], &gt_zero(10)),
        // The same tree created by another statement: only its positions differ.
        check("b", &[1], &gt_zero(57)),
        // The same tree on a column of another name reads differently.
        check(
            "a",
            &[3],
            &gt_zero(10).replace(":varattno 1", ":varattno 3"),
        ),
        check(
            "b",
            &[2],
            &gt_zero(10).replace(":varattno 1", ":varattno 2"),
        ),
        // A whole-row reference prints the table's name: never shared.
        check("a", &[0], "{VAR :varattno 0}"),
        check("b", &[0], "{VAR :varattno 0}"),
        // No columns at all.
        check("a", &[], "{CONST :location 4}"),
        check("b", &[], "{CONST :location 9}"),
    ];
    let left = print(&mut constraints, &mut [], &columns(), &context());
    assert_eq!(
        left.constraints,
        vec![vec![0, 1], vec![2], vec![3], vec![4], vec![5], vec![6, 7]]
    );
    assert!(constraints
        .iter()
        .all(|c| c.constraint.definition.is_empty()));
}

#[test]
fn locations_are_left_out_of_expression_trees() {
    assert_eq!(
        without_locations("{VAR :varno 1 :location 12} {CONST :location -1 :x 3}"),
        "{VAR :varno 1 :location } {CONST :location  :x 3}"
    );
    assert_eq!(without_locations("no fields"), "no fields");
}

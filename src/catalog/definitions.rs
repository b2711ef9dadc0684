//! Constraint and index definitions printed here, from catalog rows, exactly as the server's
//! `pg_get_constraintdef` and `pg_get_indexdef` print them.
//!
//! Those functions cost the server a catalog scan per constraint and a relcache build per
//! index: at thousands of tables, most of what introspection costs. So the queries send the
//! common shapes as parts (column numbers, flags, the referenced table) and this module prints
//! them, with the server's own quoting rules ([`Context`], read from the server). Checks are
//! the server's to print, but printing one opens its table (a relcache build per table): the
//! queries send their expression trees, and the server prints each distinct one once — at
//! thousands of tables, mostly copies of the same few (tenants, partitions, generated DDL).
//! Everything else keeps the server's text: the queries call the functions themselves for the
//! shapes this module does not print, and what it cannot finish (a column it does not know,
//! say, of a table in a schema left out of the comparison) goes back to the server in one more
//! query ([`ask_server`]). The round-trip tests compare every definition with the server's.

use std::collections::{HashMap, HashSet};

use super::columns::Columns;
use super::rows::{Fields, FromRow};
use super::CatalogError;
use crate::catalog::{Constraint, Index, QName};

/// What printing like the server needs from it.
pub(super) struct Context {
    /// Keywords `quote_ident` quotes: every category but the unreserved one.
    keywords: HashSet<String>,
    /// `quote_all_identifiers`.
    quote_all: bool,
    /// Default operator classes and the type each is for.
    default_classes: HashMap<u32, u32>,
    /// Index access methods that order, and so print DESC / NULLS FIRST / NULLS LAST.
    ordered_methods: HashSet<String>,
}

impl FromRow for Context {
    const KIND: &'static str = "the server's quoting rules";
    const FIELDS: &'static [&'static str] = &[
        "keywords",
        "quote_all",
        "default_classes",
        "default_class_types",
        "ordered_methods",
    ];

    fn from_row(f: &Fields<'_>) -> Result<Context, CatalogError> {
        let classes: Vec<u32> = f.get(2)?;
        let types: Vec<u32> = f.get(3)?;
        Ok(Context {
            keywords: f.get::<Vec<String>>(0)?.into_iter().collect(),
            quote_all: f.get(1)?,
            default_classes: classes.into_iter().zip(types).collect(),
            ordered_methods: f.get::<Vec<String>>(4)?.into_iter().collect(),
        })
    }
}

impl Context {
    /// `name` as the server's `quote_ident` prints it: bare when it is lower case letters,
    /// digits and underscores (not first a digit) and no keyword that needs quoting.
    fn ident(&self, name: &str, out: &mut String) {
        let bare = !self.quote_all
            && name
                .bytes()
                .next()
                .is_some_and(|b| b.is_ascii_lowercase() || b == b'_')
            && name
                .bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_')
            && !self.keywords.contains(name);
        if bare {
            out.push_str(name);
        } else {
            out.push_str(&crate::pg::quote::ident(name));
        }
    }

    /// `names` quoted and joined with `, `; `None` when one is unknown.
    fn list<'a>(
        &self,
        names: impl IntoIterator<Item = Option<&'a str>>,
        out: &mut String,
    ) -> Option<()> {
        for (i, name) in names.into_iter().enumerate() {
            if i > 0 {
                out.push_str(", ");
            }
            self.ident(name?, out);
        }
        Some(())
    }
}

/// A constraint as its query returns it: the model, with an empty definition when it comes as
/// [`Parts`] for this module to print.
pub(super) struct ConstraintRow {
    oid: u32,
    pub table: QName,
    pub constraint: Constraint,
    parts: Parts,
}

/// The parts of a primary key, unique constraint or foreign key, or a check's expression.
struct Parts {
    /// A check's stored expression tree (`conbin`), when the server left printing it to us.
    expression: Option<String>,
    keys: Vec<i16>,
    /// The columns of the index behind a primary key or unique constraint (its INCLUDE
    /// columns after the keys).
    index_keys: Vec<i16>,
    deferrable: bool,
    deferred: bool,
    /// Whether the referenced table's name needs no schema on the server's search_path.
    ref_visible: bool,
    ref_keys: Vec<i16>,
    /// `confmatchtype`: `f` full, `p` partial, `s` simple.
    match_type: String,
    /// `confupdtype` / `confdeltype`: `a` no action, `r` restrict, `c` cascade, `n` set null,
    /// `d` set default.
    on_update: String,
    on_delete: String,
}

impl FromRow for ConstraintRow {
    const KIND: &'static str = "constraints";
    const FIELDS: &'static [&'static str] = &[
        "oid",
        "schema",
        "table",
        "name",
        "kind",
        "definition",
        "validated",
        "deferrable",
        "deferred",
        "keys",
        "index_keys",
        "ref_schema",
        "ref_table",
        "ref_visible",
        "ref_keys",
        "match",
        "on_update",
        "on_delete",
        "comment",
        "expression",
    ];

    fn from_row(f: &Fields<'_>) -> Result<ConstraintRow, CatalogError> {
        let kind: String = f.get(4)?;
        let ref_schema: Option<String> = f.get(11)?;
        let ref_table: Option<String> = f.get(12)?;
        let references = match (kind.as_str(), ref_schema, ref_table) {
            ("f", Some(schema), Some(name)) => Some(QName::new(schema, name)),
            _ => None,
        };
        Ok(ConstraintRow {
            oid: f.get(0)?,
            table: QName::new(f.get::<String>(1)?, f.get::<String>(2)?),
            constraint: Constraint {
                name: f.get(3)?,
                kind,
                definition: f.get::<Option<String>>(5)?.unwrap_or_default(),
                validated: f.get(6)?,
                references,
                comment: f.get(18)?,
            },
            parts: Parts {
                expression: f.get(19)?,
                deferrable: f.get(7)?,
                deferred: f.get(8)?,
                keys: f.get::<Option<Vec<i16>>>(9)?.unwrap_or_default(),
                index_keys: f.get::<Option<Vec<i16>>>(10)?.unwrap_or_default(),
                ref_visible: f.get::<Option<bool>>(13)?.unwrap_or(false),
                ref_keys: f.get::<Option<Vec<i16>>>(14)?.unwrap_or_default(),
                match_type: f.get(15)?,
                on_update: f.get(16)?,
                on_delete: f.get(17)?,
            },
        })
    }
}

impl ConstraintRow {
    /// The definition as `pg_get_constraintdef` prints it; `None` when a column is unknown.
    fn print(&self, columns: &Columns, cx: &Context) -> Option<String> {
        let c = &self.constraint;
        let p = &self.parts;
        let names = |table: &QName, keys: &[i16]| {
            keys.iter()
                .map(|&k| columns.name(table, k))
                .collect::<Vec<_>>()
        };
        let mut out = String::with_capacity(64);
        match c.kind.as_str() {
            "p" | "u" => {
                out.push_str(if c.kind == "p" {
                    "PRIMARY KEY ("
                } else {
                    "UNIQUE ("
                });
                cx.list(names(&self.table, &p.keys), &mut out)?;
                out.push(')');
                let included = p.index_keys.get(p.keys.len()..).unwrap_or_default();
                if !included.is_empty() {
                    out.push_str(" INCLUDE (");
                    cx.list(names(&self.table, included), &mut out)?;
                    out.push(')');
                }
            }
            "f" => {
                let target = c.references.as_ref()?;
                out.push_str("FOREIGN KEY (");
                cx.list(names(&self.table, &p.keys), &mut out)?;
                out.push_str(") REFERENCES ");
                if !p.ref_visible {
                    cx.ident(&target.schema, &mut out);
                    out.push('.');
                }
                cx.ident(&target.name, &mut out);
                out.push('(');
                cx.list(names(target, &p.ref_keys), &mut out)?;
                out.push(')');
                out.push_str(match p.match_type.as_str() {
                    "f" => " MATCH FULL",
                    "p" => " MATCH PARTIAL",
                    _ => "",
                });
                for (clause, action) in
                    [(" ON UPDATE ", &p.on_update), (" ON DELETE ", &p.on_delete)]
                {
                    let action = match action.as_str() {
                        "r" => "RESTRICT",
                        "c" => "CASCADE",
                        "n" => "SET NULL",
                        "d" => "SET DEFAULT",
                        _ => continue,
                    };
                    out.push_str(clause);
                    out.push_str(action);
                }
            }
            _ => return None,
        }
        if p.deferrable {
            out.push_str(" DEFERRABLE");
        }
        if p.deferred {
            out.push_str(" INITIALLY DEFERRED");
        }
        if !c.validated {
            out.push_str(" NOT VALID");
        }
        Some(out)
    }
}

/// An index as its query returns it: the model, with an empty definition when it comes as
/// parts for this module to print.
pub(super) struct IndexRow {
    oid: u32,
    pub table: QName,
    pub index: Index,
    unique: bool,
    /// On a partitioned table (`ON ONLY`).
    partitioned: bool,
    method: String,
    keys: Vec<i16>,
    /// How many of `keys` are key columns; the rest are INCLUDE columns.
    key_count: i16,
    classes: Vec<u32>,
    collations: Vec<u32>,
    /// `indoption` bits: 1 DESC, 2 NULLS FIRST.
    options: Vec<i16>,
}

impl FromRow for IndexRow {
    const KIND: &'static str = "indexes";
    const FIELDS: &'static [&'static str] = &[
        "oid",
        "schema",
        "table",
        "name",
        "definition",
        "valid",
        "unique",
        "partitioned",
        "method",
        "keys",
        "key_count",
        "classes",
        "collations",
        "options",
        "comment",
    ];

    fn from_row(f: &Fields<'_>) -> Result<IndexRow, CatalogError> {
        Ok(IndexRow {
            oid: f.get(0)?,
            table: QName::new(f.get::<String>(1)?, f.get::<String>(2)?),
            index: Index {
                name: f.get(3)?,
                definition: f.get::<Option<String>>(4)?.unwrap_or_default(),
                valid: f.get(5)?,
                comment: f.get(14)?,
            },
            unique: f.get(6)?,
            partitioned: f.get(7)?,
            method: f.get(8)?,
            keys: f.get(9)?,
            key_count: f.get(10)?,
            classes: f.get(11)?,
            collations: f.get(12)?,
            options: f.get(13)?,
        })
    }
}

impl IndexRow {
    /// The definition as `pg_get_indexdef` prints it; `None` when a key column's operator
    /// class or collation is not the default for the column (the server prints those), or a
    /// column is unknown.
    fn print(&self, columns: &Columns, cx: &Context) -> Option<String> {
        let key_count = usize::try_from(self.key_count).ok()?;
        let ordered = cx.ordered_methods.contains(&self.method);
        let mut out = String::with_capacity(96);
        out.push_str(if self.unique {
            "CREATE UNIQUE INDEX "
        } else {
            "CREATE INDEX "
        });
        cx.ident(&self.index.name, &mut out);
        out.push_str(if self.partitioned {
            " ON ONLY "
        } else {
            " ON "
        });
        cx.ident(&self.table.schema, &mut out);
        out.push('.');
        cx.ident(&self.table.name, &mut out);
        out.push_str(" USING ");
        cx.ident(&self.method, &mut out);
        out.push_str(" (");
        for (n, &attnum) in self.keys.iter().enumerate() {
            let column = columns.get(&self.table, attnum)?;
            if n == key_count {
                out.push_str(") INCLUDE (");
            } else if n > 0 {
                out.push_str(", ");
            }
            cx.ident(&column.column.name, &mut out);
            if n >= key_count {
                continue;
            }
            let class = *self.classes.get(n)?;
            if cx.default_classes.get(&class) != Some(&column.type_oid)
                || *self.collations.get(n)? != column.collation_oid
            {
                return None;
            }
            let option = *self.options.get(n)?;
            if ordered {
                let (desc, nulls_first) = (option & 1 != 0, option & 2 != 0);
                out.push_str(match (desc, nulls_first) {
                    (true, false) => " DESC NULLS LAST",
                    (true, true) => " DESC",
                    (false, true) => " NULLS FIRST",
                    (false, false) => "",
                });
            }
        }
        out.push(')');
        Some(out)
    }
}

/// What this module could not print, to be asked of the server: constraints in groups whose
/// members all read alike (the server prints the first of each), indexes one by one.
#[derive(Default)]
pub(super) struct Unprinted {
    constraints: Vec<Vec<usize>>,
    indexes: Vec<usize>,
}

/// Prints every definition the queries left to this module; returns those it could not.
pub(super) fn print(
    constraints: &mut [ConstraintRow],
    indexes: &mut [IndexRow],
    columns: &Columns,
    cx: &Context,
) -> Unprinted {
    let mut left = Unprinted::default();
    // Checks by what their text depends on: the expression tree (its positions in the
    // statement that created it aside) and the names of the columns it reads.
    let mut checks: HashMap<(String, Vec<&str>), usize> = HashMap::new();
    for (i, row) in constraints.iter_mut().enumerate() {
        if !row.constraint.definition.is_empty() {
            continue;
        }
        if let Some(expression) = &row.parts.expression {
            let names: Option<Vec<&str>> = row
                .parts
                .keys
                .iter()
                // 0 is the whole row, printed with the table's name.
                .map(|&k| (k != 0).then(|| columns.name(&row.table, k)).flatten())
                .collect();
            match names {
                Some(names) => {
                    let group = checks
                        .entry((without_locations(expression), names))
                        .or_insert_with(|| {
                            left.constraints.push(Vec::new());
                            left.constraints.len() - 1
                        });
                    left.constraints[*group].push(i);
                }
                None => left.constraints.push(vec![i]),
            }
            continue;
        }
        match row.print(columns, cx) {
            Some(def) => row.constraint.definition = def,
            None => left.constraints.push(vec![i]),
        }
    }
    for (i, row) in indexes.iter_mut().enumerate() {
        if row.index.definition.is_empty() {
            match row.print(columns, cx) {
                Some(def) => row.index.definition = def,
                None => left.indexes.push(i),
            }
        }
    }
    left
}

/// An expression tree without its `:location` fields (offsets into the statement that created
/// it, which the printed text does not depend on).
fn without_locations(tree: &str) -> String {
    const FIELD: &str = ":location ";
    let mut out = String::with_capacity(tree.len());
    let mut rest = tree;
    while let Some(at) = rest.find(FIELD) {
        out.push_str(&rest[..at + FIELD.len()]);
        rest =
            rest[at + FIELD.len()..].trim_start_matches(|c: char| c == '-' || c.is_ascii_digit());
    }
    out.push_str(rest);
    out
}

/// Has the server print what [`print`] left, in the same transaction (so the same snapshot).
pub(super) async fn ask_server(
    pg: &tokio_postgres::Client,
    left: Unprinted,
    constraints: &mut [ConstraintRow],
    indexes: &mut [IndexRow],
) -> Result<(), CatalogError> {
    if !left.constraints.is_empty() {
        let oids: Vec<u32> = left
            .constraints
            .iter()
            .filter_map(|group| group.first().map(|&i| constraints[i].oid))
            .collect();
        let defs = server_definitions(pg, "pg_get_constraintdef", "constraints", &oids).await?;
        for (group, def) in left.constraints.iter().zip(defs) {
            for &i in group {
                constraints[i].constraint.definition.clone_from(&def);
            }
        }
    }
    if !left.indexes.is_empty() {
        let oids: Vec<u32> = left.indexes.iter().map(|&i| indexes[i].oid).collect();
        let defs = server_definitions(pg, "pg_get_indexdef", "indexes", &oids).await?;
        for (&i, def) in left.indexes.iter().zip(defs) {
            indexes[i].index.definition = def;
        }
    }
    Ok(())
}

/// `function(oid)` for each of `oids`, in their order.
async fn server_definitions(
    pg: &tokio_postgres::Client,
    function: &str,
    kind: &'static str,
    oids: &[u32],
) -> Result<Vec<String>, CatalogError> {
    let sql = format!(
        "SELECT coalesce({function}(o), '') FROM unnest($1::oid[]) WITH ORDINALITY AS u(o, n) ORDER BY n"
    );
    let rows = pg
        .query(sql.as_str(), &[&oids])
        .await
        .map_err(CatalogError::query(kind))?;
    if rows.len() != oids.len() {
        return Err(CatalogError::Decode {
            kind,
            reason: format!("{} definitions for {} objects", rows.len(), oids.len()),
        });
    }
    rows.iter()
        .map(|r| {
            r.try_get(0).map_err(|e| CatalogError::Decode {
                kind,
                reason: e.to_string(),
            })
        })
        .collect()
}

#[cfg(test)]
mod tests;

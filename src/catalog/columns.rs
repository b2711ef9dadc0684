//! Table columns, read as plain rows (see `rows`), and kept by table and attribute number
//! while constraint and index definitions are built from them (see `definitions`). Column
//! properties pgkeel does not migrate yet (compression, options, virtual generation) become
//! [`Unmodelled`] entries here.

use std::collections::HashMap;

use super::rows::{Fields, FromRow};
use super::{CatalogError, Identity};
use crate::catalog::{Column, QName, Unmodelled};

/// A row of the columns query.
pub(super) struct ColumnRow {
    pub table: QName,
    pub attribute: Attribute,
    /// Its properties pgkeel does not migrate (almost always none).
    pub unmodelled: Vec<Unmodelled>,
}

/// A column, with what definitions built from attribute numbers need: the number, and the
/// type and collation an index column is compared with to know it uses the defaults.
pub(super) struct Attribute {
    pub attnum: i16,
    pub type_oid: u32,
    pub collation_oid: u32,
    pub column: Column,
}

impl FromRow for ColumnRow {
    const KIND: &'static str = "columns";
    const FIELDS: &'static [&'static str] = &[
        "schema",
        "table",
        "position",
        "name",
        "data_type",
        "not_null",
        "default",
        "generated",
        "identity",
        "collation",
        "is_local",
        "storage",
        "type_storage",
        "statistics",
        "comment",
        "acl",
        "type_oid",
        "collation_oid",
        "compression",
        "options",
        "virtual",
    ];

    fn from_row(f: &Fields<'_>) -> Result<ColumnRow, CatalogError> {
        let identity: Option<&str> = f.get(8)?;
        let identity = identity
            .map(serde_json::from_str::<Box<Identity>>)
            .transpose()
            .map_err(|e| CatalogError::Decode {
                kind: Self::KIND,
                reason: format!("identity: {e}"),
            })?;
        let table = QName::new(f.get::<String>(0)?, f.get::<String>(1)?);
        let name: String = f.get(3)?;
        let compression: Option<String> = f.get(18)?;
        let options: Option<String> = f.get(19)?;
        let virtual_generated = f.get::<bool>(20)?.then(|| "virtual".to_string());
        let unmodelled = [
            ("column compression", compression),
            ("column options", options),
            ("virtual generated column", virtual_generated),
        ]
        .into_iter()
        .filter_map(|(kind, definition)| {
            Some(Unmodelled {
                kind: kind.into(),
                name: format!("{}.{}.{name}", table.schema, table.name),
                definition: definition?,
            })
        })
        .collect();
        Ok(ColumnRow {
            table,
            unmodelled,
            attribute: Attribute {
                attnum: f.get(2)?,
                type_oid: f.get(16)?,
                collation_oid: f.get(17)?,
                column: Column {
                    name,
                    data_type: f.get(4)?,
                    not_null: f.get(5)?,
                    default: f.get(6)?,
                    generated: f.get(7)?,
                    identity,
                    collation: f.get(9)?,
                    is_local: f.get(10)?,
                    storage: f.get(11)?,
                    type_storage: f.get(12)?,
                    statistics: f.get(13)?,
                    comment: f.get(14)?,
                    acl: f.get(15)?,
                },
            },
        })
    }
}

/// Every table's columns, in attribute-number order.
#[derive(Default)]
pub(super) struct Columns {
    tables: HashMap<QName, Vec<Attribute>>,
    /// The table whose rows are arriving: a table's rows come one after another, so it is
    /// looked up once per run of them (and its name is kept once, not per column).
    run: Option<(QName, Vec<Attribute>)>,
    /// Column properties pgkeel does not migrate.
    unmodelled: Vec<Unmodelled>,
}

impl Columns {
    /// Adds a row as it arrives.
    pub(super) fn push(&mut self, mut row: ColumnRow) {
        self.unmodelled.append(&mut row.unmodelled);
        match &mut self.run {
            Some((table, run)) if *table == row.table => run.push(row.attribute),
            _ => {
                // The next table likely has as many columns: no regrowing from empty.
                let capacity = self.run.as_ref().map_or(0, |(_, run)| run.len());
                self.end_run();
                let mut run = Vec::with_capacity(capacity);
                run.push(row.attribute);
                self.run = Some((row.table, run));
            }
        }
    }

    fn end_run(&mut self) {
        let Some((table, run)) = self.run.take() else {
            return;
        };
        match self.tables.get_mut(&table) {
            Some(columns) => columns.extend(run),
            None => {
                self.tables.insert(table, run);
            }
        }
    }

    /// Once every row is in.
    pub(super) fn finish(mut self) -> Columns {
        self.end_run();
        for columns in self.tables.values_mut() {
            columns.sort_by_key(|c| c.attnum);
        }
        self
    }

    /// Column `attnum` of `table`.
    pub(super) fn get(&self, table: &QName, attnum: i16) -> Option<&Attribute> {
        let columns = self.tables.get(table)?;
        let at = columns.binary_search_by_key(&attnum, |c| c.attnum).ok()?;
        columns.get(at)
    }

    /// The name of column `attnum` of `table`.
    pub(super) fn name(&self, table: &QName, attnum: i16) -> Option<&str> {
        self.get(table, attnum).map(|c| c.column.name.as_str())
    }

    /// Takes the column properties pgkeel does not migrate.
    pub(super) fn take_unmodelled(&mut self) -> Vec<Unmodelled> {
        std::mem::take(&mut self.unmodelled)
    }

    /// Takes `table`'s columns for its model.
    pub(super) fn take(&mut self, table: &QName) -> Vec<Column> {
        self.tables
            .remove(table)
            .map(|rows| rows.into_iter().map(|r| r.column).collect())
            .unwrap_or_default()
    }
}

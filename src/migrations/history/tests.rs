use super::*;

#[test]
fn exists_sql_quotes_the_table_name() {
    assert_eq!(
        exists_sql("public.odd'name"),
        "SELECT (to_regclass('public.odd''name') IS NOT NULL)::text"
    );
}

#[test]
fn every_format_has_its_own_history_table() {
    use crate::migrations::Format;
    for (format, table) in [
        (Format::Goose, "goose_db_version"),
        (Format::Dbmate, "schema_migrations"),
        (Format::Flyway, "flyway_schema_history"),
    ] {
        let history = of(format);
        assert_eq!(history.table(), table);
        assert!(history.select().contains(table), "{format}");
        assert!(history.create().contains(table), "{format}");
    }
}

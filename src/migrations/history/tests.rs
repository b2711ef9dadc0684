use super::*;

#[test]
fn exists_sql_quotes_the_table_as_a_literal() {
    assert_eq!(
        exists_sql("drizzle.__drizzle_migrations"),
        "SELECT (to_regclass('drizzle.__drizzle_migrations') IS NOT NULL)::text"
    );
    assert!(exists_sql("a'b").contains("'a''b'"));
}

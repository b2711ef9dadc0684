//! What a statement means for the transaction it runs in.
//!
//! The applier wraps each migration and its history row in one transaction. Two kinds of
//! statement break that plan, and this module recognises both from a statement's text:
//!
//! - [`transaction_control`]: the migration manages its own transaction (`BEGIN`, `COMMIT`,
//!   savepoints, …), so the applier must not wrap it, or must reject it.
//! - [`cannot_run_in_transaction`]: PostgreSQL refuses the statement inside a transaction
//!   block (`CREATE INDEX CONCURRENTLY`, `VACUUM`, …), so it has to run on its own.
//!
//! Matching works on tokens from [`super::lexer`], so a keyword inside a string, a quoted
//! identifier or a comment never counts, and keywords compare as the server folds them.
//! Only the tokens before the statement's first `;` are read: that is all of any statement
//! these rules flag, and it keeps `COPY` data and `BEGIN ATOMIC` bodies out of the way.
//!
//! When the text alone cannot settle a case, the rules flag it: running a statement on its
//! own that could have shared the migration's transaction costs some atomicity, while
//! running one inside a transaction that PostgreSQL refuses there fails the deploy.
//!
//! Deliberately not flagged:
//!
//! - `ALTER TYPE … ADD VALUE` runs in a transaction block since PostgreSQL 12 (older servers
//!   are out of support); the new value just cannot be used before the transaction commits,
//!   which is a lint's concern, not the applier's.
//! - `REFRESH MATERIALIZED VIEW CONCURRENTLY` runs in a transaction block; unlike
//!   `CREATE INDEX CONCURRENTLY` it does not commit internally.
//! - `CALL` of a procedure and `DO` blocks that commit: their bodies are not visible here.
//! - `CLUSTER` of a partitioned table: whether a table is partitioned is not in the text.

use std::fmt;

use super::lexer::{Lexer, Token, TokenKind};

/// A statement that controls the transaction it runs in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TxControl {
    /// `BEGIN`, `START TRANSACTION`.
    Begin,
    /// `COMMIT`, `END`.
    Commit,
    /// `ROLLBACK`, `ABORT`.
    Rollback,
    /// `SAVEPOINT name`.
    Savepoint,
    /// `RELEASE [SAVEPOINT] name`.
    ReleaseSavepoint,
    /// `ROLLBACK [WORK | TRANSACTION] TO [SAVEPOINT] name`.
    RollbackToSavepoint,
    /// `PREPARE TRANSACTION 'id'`, which ends the current transaction.
    PrepareTransaction,
}

/// The migration's own transaction control, if `sql` (one statement) is one.
///
/// Only a statement that starts with the keyword counts: the `BEGIN` of a
/// `CREATE FUNCTION … BEGIN ATOMIC … END` body is in the middle of another statement, and a
/// `BEGIN` inside a `DO` block is inside a string.
pub fn transaction_control(sql: &str) -> Option<TxControl> {
    let mut words = Words::new(sql);
    let first = words.eat_any(&[
        "BEGIN",
        "START",
        "COMMIT",
        "END",
        "ROLLBACK",
        "ABORT",
        "SAVEPOINT",
        "RELEASE",
        "PREPARE",
    ])?;
    match first {
        "BEGIN" => Some(TxControl::Begin),
        "START" => words.eat("TRANSACTION").then_some(TxControl::Begin),
        // `COMMIT PREPARED` / `ROLLBACK PREPARED` finish some other, prepared transaction.
        "COMMIT" => (!words.peek_is("PREPARED")).then_some(TxControl::Commit),
        "END" => Some(TxControl::Commit),
        "ABORT" => Some(TxControl::Rollback),
        "ROLLBACK" if words.peek_is("PREPARED") => None,
        "ROLLBACK" => {
            words.eat_any(&["WORK", "TRANSACTION"]);
            Some(if words.eat("TO") {
                TxControl::RollbackToSavepoint
            } else {
                TxControl::Rollback
            })
        }
        "SAVEPOINT" => Some(TxControl::Savepoint),
        "RELEASE" => Some(TxControl::ReleaseSavepoint),
        "PREPARE" => words
            .eat("TRANSACTION")
            .then_some(TxControl::PrepareTransaction),
        _ => None,
    }
}

/// Why a statement cannot run inside a transaction block. Each is a command PostgreSQL
/// rejects there ("… cannot run inside a transaction block").
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NonTransactional {
    CreateIndexConcurrently,
    DropIndexConcurrently,
    /// Any `REINDEX … CONCURRENTLY`, including `REINDEX (CONCURRENTLY) …`.
    ReindexConcurrently,
    /// `REINDEX SCHEMA | DATABASE | SYSTEM`, which commit once per table.
    ReindexSchemaOrDatabase,
    /// `ALTER TABLE … DETACH PARTITION … CONCURRENTLY`.
    DetachPartitionConcurrently,
    Vacuum,
    /// `CLUSTER` without a table: every table clustered before, in its own transaction.
    ClusterDatabase,
    CreateDatabase,
    DropDatabase,
    /// `ALTER DATABASE … SET TABLESPACE`, which moves files.
    AlterDatabaseSetTablespace,
    AlterSystem,
    CreateTablespace,
    DropTablespace,
    /// `CREATE SUBSCRIPTION` creates a replication slot unless told not to; flagged always.
    CreateSubscription,
    /// `ALTER SUBSCRIPTION … REFRESH PUBLICATION`, or `SET | ADD | DROP PUBLICATION`, which
    /// refresh unless told not to; flagged always.
    AlterSubscriptionRefresh,
    /// `DROP SUBSCRIPTION` drops its replication slot if it has one; flagged always.
    DropSubscription,
    DiscardAll,
    /// `COMMIT PREPARED` / `ROLLBACK PREPARED`.
    FinishPrepared,
}

impl NonTransactional {
    /// The command, as PostgreSQL's documentation names it.
    pub fn command(self) -> &'static str {
        match self {
            NonTransactional::CreateIndexConcurrently => "CREATE INDEX CONCURRENTLY",
            NonTransactional::DropIndexConcurrently => "DROP INDEX CONCURRENTLY",
            NonTransactional::ReindexConcurrently => "REINDEX CONCURRENTLY",
            NonTransactional::ReindexSchemaOrDatabase => "REINDEX SCHEMA/DATABASE/SYSTEM",
            NonTransactional::DetachPartitionConcurrently => {
                "ALTER TABLE … DETACH PARTITION … CONCURRENTLY"
            }
            NonTransactional::Vacuum => "VACUUM",
            NonTransactional::ClusterDatabase => "CLUSTER without a table",
            NonTransactional::CreateDatabase => "CREATE DATABASE",
            NonTransactional::DropDatabase => "DROP DATABASE",
            NonTransactional::AlterDatabaseSetTablespace => "ALTER DATABASE … SET TABLESPACE",
            NonTransactional::AlterSystem => "ALTER SYSTEM",
            NonTransactional::CreateTablespace => "CREATE TABLESPACE",
            NonTransactional::DropTablespace => "DROP TABLESPACE",
            NonTransactional::CreateSubscription => "CREATE SUBSCRIPTION",
            NonTransactional::AlterSubscriptionRefresh => "ALTER SUBSCRIPTION … REFRESH",
            NonTransactional::DropSubscription => "DROP SUBSCRIPTION",
            NonTransactional::DiscardAll => "DISCARD ALL",
            NonTransactional::FinishPrepared => "COMMIT PREPARED / ROLLBACK PREPARED",
        }
    }
}

impl fmt::Display for NonTransactional {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.command())
    }
}

/// Why `sql` (one statement) cannot run inside a transaction block, if it cannot.
pub fn cannot_run_in_transaction(sql: &str) -> Option<NonTransactional> {
    use NonTransactional as N;
    let mut words = Words::new(sql);
    let first = words.eat_any(&[
        "CREATE", "DROP", "ALTER", "REINDEX", "VACUUM", "CLUSTER", "DISCARD", "COMMIT", "ROLLBACK",
    ])?;
    match first {
        "CREATE" => {
            // `CONCURRENTLY` is a reserved word here (a type/function-name keyword), so an
            // unquoted `concurrently` right after INDEX is the option, never an index name.
            if words.eat("UNIQUE") {
                return (words.eat("INDEX") && words.eat("CONCURRENTLY"))
                    .then_some(N::CreateIndexConcurrently);
            }
            match words.eat_any(&["INDEX", "DATABASE", "TABLESPACE", "SUBSCRIPTION"])? {
                "INDEX" => words
                    .eat("CONCURRENTLY")
                    .then_some(N::CreateIndexConcurrently),
                "DATABASE" => Some(N::CreateDatabase),
                "TABLESPACE" => Some(N::CreateTablespace),
                _ => Some(N::CreateSubscription),
            }
        }
        "DROP" => match words.eat_any(&["INDEX", "DATABASE", "TABLESPACE", "SUBSCRIPTION"])? {
            "INDEX" => words
                .eat("CONCURRENTLY")
                .then_some(N::DropIndexConcurrently),
            "DATABASE" => Some(N::DropDatabase),
            "TABLESPACE" => Some(N::DropTablespace),
            _ => Some(N::DropSubscription),
        },
        "ALTER" => alter(&mut words),
        "REINDEX" => reindex(&mut words),
        "VACUUM" => Some(N::Vacuum),
        "CLUSTER" => {
            // `CLUSTER [VERBOSE]` or `CLUSTER (options)` with nothing after: the whole database.
            if words.parenthesized().is_none() {
                words.eat("VERBOSE");
            }
            words.is_done().then_some(N::ClusterDatabase)
        }
        "DISCARD" => words.eat("ALL").then_some(N::DiscardAll),
        // "COMMIT" | "ROLLBACK"
        _ => words.eat("PREPARED").then_some(N::FinishPrepared),
    }
}

fn alter(words: &mut Words<'_>) -> Option<NonTransactional> {
    use NonTransactional as N;
    match words.eat_any(&["SYSTEM", "TABLE", "DATABASE", "SUBSCRIPTION"])? {
        "SYSTEM" => Some(N::AlterSystem),
        "TABLE" => {
            // DETACH PARTITION cannot share an ALTER TABLE with other actions, so any
            // CONCURRENTLY after it is its option (the keyword cannot be a table name).
            let rest = words.rest();
            let detach = rest.windows(2).position(|pair| {
                pair[0].is_keyword(words.src, "DETACH")
                    && pair[1].is_keyword(words.src, "PARTITION")
            })?;
            rest[detach + 2..]
                .iter()
                .any(|token| token.is_keyword(words.src, "CONCURRENTLY"))
                .then_some(N::DetachPartitionConcurrently)
        }
        "DATABASE" => {
            // Database names are never qualified: one token, then `SET TABLESPACE` (not
            // `SET default_tablespace`, an ordinary setting).
            words.skip_one();
            (words.eat("SET") && words.eat("TABLESPACE")).then_some(N::AlterDatabaseSetTablespace)
        }
        _ => {
            words.skip_one();
            let refreshes = words.eat("REFRESH")
                || (words.eat_any(&["SET", "ADD", "DROP"]).is_some() && words.eat("PUBLICATION"));
            refreshes.then_some(N::AlterSubscriptionRefresh)
        }
    }
}

fn reindex(words: &mut Words<'_>) -> Option<NonTransactional> {
    use NonTransactional as N;
    // Since PostgreSQL 14 the option list may say `CONCURRENTLY [boolean]`.
    let src = words.src;
    let option = words
        .parenthesized()
        .is_some_and(|options| option_enabled(src, options, "CONCURRENTLY"));
    let kind = words.eat_any(&["INDEX", "TABLE", "SCHEMA", "DATABASE", "SYSTEM"])?;
    if option || words.eat("CONCURRENTLY") {
        Some(N::ReindexConcurrently)
    } else {
        matches!(kind, "SCHEMA" | "DATABASE" | "SYSTEM").then_some(N::ReindexSchemaOrDatabase)
    }
}

/// Whether `options` (the tokens inside an option list's parentheses) turn `name` on: it is
/// listed with no value, or with a value other than false, off or 0.
fn option_enabled(src: &str, options: &[Token], name: &str) -> bool {
    let Some(at) = options.iter().position(|t| t.is_keyword(src, name)) else {
        return false;
    };
    match options.get(at + 1) {
        Some(value) if value.kind != TokenKind::Punct => {
            let value = value.text(src).trim_matches('\'');
            !["false", "off", "0"]
                .iter()
                .any(|off| value.eq_ignore_ascii_case(off))
        }
        // No value (end of list or a comma): the option is on.
        _ => true,
    }
}

/// A cursor over the significant tokens of a statement, up to its first `;`.
struct Words<'a> {
    src: &'a str,
    tokens: Vec<Token>,
    next: usize,
}

impl<'a> Words<'a> {
    fn new(src: &'a str) -> Self {
        // A lex error means a malformed tail the server will reject; what came before it
        // is still worth classifying.
        let tokens = Lexer::new(src)
            .map_while(Result::ok)
            .filter(|token| !token.kind.is_trivia())
            .take_while(|token| token.kind != TokenKind::Semicolon)
            .collect();
        Words {
            src,
            tokens,
            next: 0,
        }
    }

    fn rest(&self) -> &[Token] {
        self.tokens.get(self.next..).unwrap_or_default()
    }

    fn is_done(&self) -> bool {
        self.rest().is_empty()
    }

    fn peek_is(&self, keyword: &str) -> bool {
        self.rest()
            .first()
            .is_some_and(|token| token.is_keyword(self.src, keyword))
    }

    /// Consume the next token if it is `keyword`.
    fn eat(&mut self, keyword: &str) -> bool {
        let found = self.peek_is(keyword);
        if found {
            self.next += 1;
        }
        found
    }

    /// Consume the next token if it is one of `keywords`, and say which.
    fn eat_any(&mut self, keywords: &[&'static str]) -> Option<&'static str> {
        let keyword = keywords.iter().copied().find(|k| self.peek_is(k))?;
        self.next += 1;
        Some(keyword)
    }

    fn skip_one(&mut self) {
        self.next = (self.next + 1).min(self.tokens.len());
    }

    /// If the next token is `(`, consume through its matching `)` and return the tokens
    /// between them. An unclosed list takes the rest of the statement.
    fn parenthesized(&mut self) -> Option<&[Token]> {
        let rest = self.tokens.get(self.next..).unwrap_or_default();
        if rest.first()?.kind != TokenKind::OpenParen {
            return None;
        }
        let mut depth = 0usize;
        let close = rest.iter().position(|token| {
            match token.kind {
                TokenKind::OpenParen => depth += 1,
                TokenKind::CloseParen => depth -= 1,
                _ => {}
            }
            depth == 0
        });
        let start = self.next + 1;
        let end = close.map_or(self.tokens.len(), |i| self.next + i);
        self.next = close.map_or(self.tokens.len(), |i| self.next + i + 1);
        self.tokens.get(start..end)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use NonTransactional as N;

    fn control(sql: &str) -> Option<TxControl> {
        transaction_control(sql)
    }

    fn non_tx(sql: &str) -> Option<NonTransactional> {
        cannot_run_in_transaction(sql)
    }

    // --- transaction control ----------------------------------------------------------

    #[test]
    fn begin_forms() {
        for sql in [
            "BEGIN;",
            "begin",
            "BEGIN WORK;",
            "BEGIN TRANSACTION ISOLATION LEVEL SERIALIZABLE;",
            "START TRANSACTION READ WRITE;",
            "-- open it\n/* now */ Begin;",
        ] {
            assert_eq!(control(sql), Some(TxControl::Begin), "{sql}");
        }
        assert_eq!(control("START;"), None);
    }

    #[test]
    fn commit_and_rollback_forms() {
        for sql in [
            "COMMIT;",
            "commit work",
            "END;",
            "END TRANSACTION",
            "COMMIT AND CHAIN",
        ] {
            assert_eq!(control(sql), Some(TxControl::Commit), "{sql}");
        }
        for sql in [
            "ROLLBACK;",
            "ABORT;",
            "rollback transaction",
            "ROLLBACK AND NO CHAIN",
        ] {
            assert_eq!(control(sql), Some(TxControl::Rollback), "{sql}");
        }
    }

    #[test]
    fn savepoint_forms() {
        assert_eq!(control("SAVEPOINT s1;"), Some(TxControl::Savepoint));
        assert_eq!(
            control("RELEASE SAVEPOINT s1;"),
            Some(TxControl::ReleaseSavepoint)
        );
        assert_eq!(control("release s1"), Some(TxControl::ReleaseSavepoint));
        assert_eq!(
            control("ROLLBACK TO s1;"),
            Some(TxControl::RollbackToSavepoint)
        );
        assert_eq!(
            control("ROLLBACK WORK TO SAVEPOINT s1;"),
            Some(TxControl::RollbackToSavepoint)
        );
    }

    #[test]
    fn two_phase_commit() {
        assert_eq!(
            control("PREPARE TRANSACTION 'tx1';"),
            Some(TxControl::PrepareTransaction)
        );
        assert_eq!(control("PREPARE q AS SELECT 1;"), None);
        assert_eq!(control("COMMIT PREPARED 'tx1';"), None);
        assert_eq!(control("ROLLBACK PREPARED 'tx1';"), None);
        assert_eq!(non_tx("COMMIT PREPARED 'tx1';"), Some(N::FinishPrepared));
        assert_eq!(non_tx("rollback prepared 'tx1'"), Some(N::FinishPrepared));
        assert_eq!(non_tx("COMMIT;"), None);
    }

    #[test]
    fn begin_atomic_body_is_not_transaction_control() {
        let function = "CREATE FUNCTION f() RETURNS int BEGIN ATOMIC SELECT 1; END;";
        assert_eq!(control(function), None);
        assert_eq!(non_tx(function), None);
    }

    #[test]
    fn keywords_in_strings_identifiers_and_comments_are_not_control() {
        for sql in [
            "SELECT 'BEGIN';",
            "/* BEGIN */ SELECT 1;",
            "-- COMMIT\nSELECT 1;",
            "\"begin\";",
            "DO $$ BEGIN COMMIT; END $$;",
            "CREATE TABLE commit_log (id int);",
            "",
        ] {
            assert_eq!(control(sql), None, "{sql}");
        }
    }

    // --- statements that cannot run in a transaction ----------------------------------

    #[test]
    fn create_index_concurrently() {
        for sql in [
            "CREATE INDEX CONCURRENTLY idx ON t (x);",
            "create unique index concurrently idx on t (x)",
            "CREATE INDEX CONCURRENTLY ON t (x);",
            "CREATE INDEX CONCURRENTLY IF NOT EXISTS idx ON t (x);",
            "CREATE /* c */ INDEX -- c\n CONCURRENTLY idx ON t (x);",
        ] {
            assert_eq!(non_tx(sql), Some(N::CreateIndexConcurrently), "{sql}");
        }
    }

    #[test]
    fn create_index_not_concurrently() {
        for sql in [
            "CREATE INDEX idx ON t (x);",
            "CREATE INDEX \"concurrently\" ON t (x);",
            "CREATE INDEX concurrently_idx ON t (x);",
            "CREATE INDEX /* CONCURRENTLY */ idx ON t (x);",
            "CREATE INDEX idx ON t (x) WHERE note = 'concurrently';",
            "CREATE UNIQUE INDEX idx ON t (x);",
            "CREATE UNIQUE CONCURRENTLY;",
        ] {
            assert_eq!(non_tx(sql), None, "{sql}");
        }
    }

    #[test]
    fn drop_index_concurrently() {
        assert_eq!(
            non_tx("DROP INDEX CONCURRENTLY IF EXISTS idx;"),
            Some(N::DropIndexConcurrently)
        );
        assert_eq!(non_tx("DROP INDEX idx;"), None);
        assert_eq!(non_tx("DROP INDEX \"concurrently\";"), None);
    }

    #[test]
    fn reindex_concurrently_forms() {
        for sql in [
            "REINDEX INDEX CONCURRENTLY idx;",
            "REINDEX TABLE CONCURRENTLY t;",
            "REINDEX (VERBOSE) TABLE CONCURRENTLY t;",
            "REINDEX (CONCURRENTLY) TABLE t;",
            "REINDEX (VERBOSE, CONCURRENTLY true) INDEX idx;",
            "REINDEX (CONCURRENTLY on, TABLESPACE fast) TABLE t;",
            "REINDEX SCHEMA CONCURRENTLY app;",
        ] {
            assert_eq!(non_tx(sql), Some(N::ReindexConcurrently), "{sql}");
        }
    }

    #[test]
    fn reindex_in_a_transaction() {
        for sql in [
            "REINDEX TABLE t;",
            "REINDEX INDEX idx;",
            "REINDEX (VERBOSE) TABLE t;",
            "REINDEX (CONCURRENTLY false) TABLE t;",
            "REINDEX (CONCURRENTLY off) INDEX idx;",
            "REINDEX (CONCURRENTLY 0) INDEX idx;",
            "REINDEX TABLE \"concurrently\";",
        ] {
            assert_eq!(non_tx(sql), None, "{sql}");
        }
    }

    #[test]
    fn reindex_schema_database_system() {
        for sql in [
            "REINDEX SCHEMA app;",
            "REINDEX DATABASE;",
            "reindex system db",
        ] {
            assert_eq!(non_tx(sql), Some(N::ReindexSchemaOrDatabase), "{sql}");
        }
    }

    #[test]
    fn detach_partition_concurrently() {
        assert_eq!(
            non_tx("ALTER TABLE measurements DETACH PARTITION m_2020 CONCURRENTLY;"),
            Some(N::DetachPartitionConcurrently)
        );
        assert_eq!(
            non_tx("ALTER TABLE IF EXISTS app.\"M\" DETACH PARTITION app.m_2020 CONCURRENTLY"),
            Some(N::DetachPartitionConcurrently)
        );
        assert_eq!(non_tx("ALTER TABLE m DETACH PARTITION m_2020;"), None);
        assert_eq!(
            non_tx("ALTER TABLE m DETACH PARTITION m_2020 FINALIZE;"),
            None
        );
        assert_eq!(
            non_tx("ALTER TABLE m DETACH PARTITION \"concurrently\";"),
            None
        );
        assert_eq!(non_tx("ALTER TABLE m ADD COLUMN x int;"), None);
    }

    #[test]
    fn vacuum_in_any_form() {
        for sql in ["VACUUM;", "vacuum full t", "VACUUM (ANALYZE, VERBOSE) t;"] {
            assert_eq!(non_tx(sql), Some(N::Vacuum), "{sql}");
        }
        assert_eq!(non_tx("ANALYZE t;"), None);
    }

    #[test]
    fn databases_tablespaces_and_system() {
        assert_eq!(non_tx("CREATE DATABASE app;"), Some(N::CreateDatabase));
        assert_eq!(
            non_tx("DROP DATABASE IF EXISTS app;"),
            Some(N::DropDatabase)
        );
        assert_eq!(
            non_tx("CREATE TABLESPACE fast LOCATION '/x';"),
            Some(N::CreateTablespace)
        );
        assert_eq!(non_tx("DROP TABLESPACE fast;"), Some(N::DropTablespace));
        assert_eq!(non_tx("ALTER TABLESPACE fast RENAME TO quick;"), None);
        assert_eq!(
            non_tx("ALTER SYSTEM SET work_mem = '64MB';"),
            Some(N::AlterSystem)
        );
        assert_eq!(
            non_tx("ALTER DATABASE app SET TABLESPACE fast;"),
            Some(N::AlterDatabaseSetTablespace)
        );
        assert_eq!(
            non_tx("ALTER DATABASE app SET default_tablespace = fast;"),
            None
        );
        assert_eq!(non_tx("ALTER DATABASE \"app\" SET work_mem = '1MB';"), None);
    }

    #[test]
    fn cluster_without_a_table() {
        for sql in ["CLUSTER;", "cluster verbose", "CLUSTER (VERBOSE);"] {
            assert_eq!(non_tx(sql), Some(N::ClusterDatabase), "{sql}");
        }
        for sql in [
            "CLUSTER t;",
            "CLUSTER VERBOSE t USING idx;",
            "CLUSTER (VERBOSE) t;",
            "CLUSTER idx ON t;",
        ] {
            assert_eq!(non_tx(sql), None, "{sql}");
        }
    }

    #[test]
    fn subscriptions_are_flagged_conservatively() {
        assert_eq!(
            non_tx("CREATE SUBSCRIPTION s CONNECTION 'host=x' PUBLICATION p;"),
            Some(N::CreateSubscription)
        );
        assert_eq!(
            non_tx(
                "CREATE SUBSCRIPTION s CONNECTION 'x' PUBLICATION p WITH (create_slot = false);"
            ),
            Some(N::CreateSubscription)
        );
        assert_eq!(non_tx("DROP SUBSCRIPTION s;"), Some(N::DropSubscription));
        assert_eq!(
            non_tx("ALTER SUBSCRIPTION s REFRESH PUBLICATION;"),
            Some(N::AlterSubscriptionRefresh)
        );
        assert_eq!(
            non_tx("ALTER SUBSCRIPTION s ADD PUBLICATION p2;"),
            Some(N::AlterSubscriptionRefresh)
        );
        assert_eq!(non_tx("ALTER SUBSCRIPTION s DISABLE;"), None);
        assert_eq!(non_tx("ALTER SUBSCRIPTION s OWNER TO bob;"), None);
    }

    #[test]
    fn discard_all() {
        assert_eq!(non_tx("DISCARD ALL;"), Some(N::DiscardAll));
        assert_eq!(non_tx("DISCARD PLANS;"), None);
    }

    #[test]
    fn allowed_in_a_transaction() {
        for sql in [
            "ALTER TYPE mood ADD VALUE 'meh';",
            "ALTER TYPE mood ADD VALUE IF NOT EXISTS 'meh' BEFORE 'sad';",
            "REFRESH MATERIALIZED VIEW CONCURRENTLY mv;",
            "CREATE TABLE t (id int);",
            "DROP TABLE vacuum_log;",
            "SELECT 'VACUUM';",
            "-- VACUUM\nSELECT 1;",
            "/* CREATE DATABASE x; */ SELECT 1;",
            "COPY t FROM stdin;\nVACUUM\n\\.",
            "",
        ] {
            assert_eq!(non_tx(sql), None, "{sql}");
        }
    }

    #[test]
    fn only_the_first_statement_counts() {
        // A caller passes one statement; anything after its `;` is not read.
        assert_eq!(non_tx("SELECT 1; VACUUM;"), None);
        assert_eq!(control("SELECT 1; COMMIT;"), None);
    }

    #[test]
    fn malformed_tails_do_not_hide_the_command() {
        assert_eq!(non_tx("VACUUM t WHERE 'oops"), Some(N::Vacuum));
        assert_eq!(non_tx("REINDEX (CONCURRENTLY"), None);
    }

    #[test]
    fn commands_name_themselves() {
        assert_eq!(
            N::CreateIndexConcurrently.to_string(),
            "CREATE INDEX CONCURRENTLY"
        );
        assert_eq!(N::Vacuum.command(), "VACUUM");
    }
}

//! Migrations: reading the formats teams already use, splitting files into statements with
//! exact line numbers, and knowing which statements cannot run inside a transaction.
//!
//! - [`lexer`]: PostgreSQL tokens with byte positions, shared by everything that has to tell
//!   code from strings, identifiers and comments.
//! - [`statement`]: [`split`] cuts a migration file into [`Statement`]s (and [`pieces`] keeps
//!   the text between them). Each format calls it on each migration file; errors carry the
//!   line, and the caller adds the path.
//! - [`transaction`]: [`transaction_control`] and [`cannot_run_in_transaction`] tell the
//!   applier when a migration manages its own transaction and which statements must run
//!   alone.
//!
//! The lexer is written by hand. The applier needs what no SQL parser crate offers together:
//! exact byte and line positions for every statement, the text between statements kept so
//! that the pieces join back into the file byte for byte, and psql's rules rather than a
//! generic SQL dialect's (nested comments, `E'…'` escapes, dollar quotes, `BEGIN ATOMIC`
//! bodies, `COPY … FROM stdin` data, meta-commands). A parser crate such as `sqlparser` builds
//! a syntax tree for a dialect: it rejects valid PostgreSQL it does not model and does not
//! hand back the text between statements. The server's own parser (`pg_query`) is a C
//! dependency and knows nothing of psql's script format. Splitting needs tokens, not a
//! syntax tree, and a lexer is a small piece that property tests can pin down.

pub mod apply;
pub mod command;
pub mod history;
pub mod lexer;
pub mod lock;
pub mod migration;
pub mod source;
pub mod statement;
pub mod status;
pub mod transaction;

pub use lexer::Construct;
pub use migration::{Migration, Script, Version};
pub use source::{Format, LoadError, Tree};
pub use statement::{pieces, split, Piece, SplitError, Statement};
pub use transaction::{
    cannot_run_in_transaction, transaction_control, NonTransactional, TxControl,
};

//! What migrations do, found by running them: replaying them into a scratch database one at
//! a time ([`replay`]), tying each schema change to the statement that made it
//! ([`attribution`]), planning how each would be undone ([`rollback`]), and leaving migration
//! tools' bookkeeping out of every comparison ([`history_tables`]).
//!
//! Used by `pgkeel diff --migrations` (PR previews) and `pgkeel drift`.

pub mod attribution;
pub mod history_tables;
pub mod replay;
pub mod rollback;

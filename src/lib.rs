//! pgkeel: safe PostgreSQL schema changes, as one binary and five GitHub Actions.
//!
//! The binary is glue (`cli`); the work lives in library modules that tests and benchmarks
//! call directly. Dependency direction: `cli → commands → {sandbox, …} → pg`, and
//! `commands → report → notify`. See ARCHITECTURE.md for the full map.

pub mod analysis;
pub mod backup;
pub mod catalog;
pub mod cli;
pub mod commands;
pub mod config;
pub mod diff;
pub mod error;
pub mod github;
pub mod migrations;
pub mod notify;
pub mod pg;
pub mod plan;
pub mod report;
pub mod restore;
pub mod sandbox;
pub mod secret;
pub mod storage;

pub use error::{Error, ExitCode, Outcome};

//! The one integration-test binary. Every test talks to a real PostgreSQL: one throwaway
//! cluster per run, started with pgkeel's own sandbox code (or `PGKEEL_TEST_DATABASE_URL`),
//! and a database of its own per test, cloned from a template.

mod support;

mod actions;
mod backup;
mod check;
mod cli;
mod config;
mod diff;
mod drift;
mod engine;
mod examples;
mod github;
mod migrate;
mod notify;
mod preview;
mod quote;
mod sandbox;
mod tls;
mod tool_dbmate;
mod tool_drizzle;
mod tool_flyway;
mod tool_goose;
mod tool_prisma;
mod tool_sqlx;
mod tools;

//! Test data shared by the history tables' tests: migrations, runs and result rows.

use std::sync::Arc;
use std::time::Duration;

use super::Run;
use crate::migrations::{Migration, Script, Version};

/// A migration whose up script is `SELECT 1;` from `<version>_<name>.sql`.
pub fn migration(version: &str, name: &str) -> Migration {
    with_file(
        Version::new(version),
        name,
        &format!("{version}_{name}.sql"),
        b"SELECT 1;\n",
    )
}

/// A migration with the given version, name, file name and file bytes.
pub fn with_file(version: Version, name: &str, file: &str, bytes: &[u8]) -> Migration {
    Migration {
        version,
        name: name.to_string(),
        up: Script::whole_file(
            format!("migrations/{file}"),
            Arc::from(bytes),
            String::from_utf8_lossy(bytes).into_owned(),
        ),
        down: None,
        journal_millis: None,
    }
}

/// A finished run of `m` that took 1.5 s.
pub fn run(m: &Migration) -> Run<'_> {
    Run {
        migration: m,
        previous: None,
        duration: Duration::from_millis(1500),
        statements: vec!["SELECT 1;".into()],
        git_sha: None,
        run_url: None,
        error: None,
    }
}

/// Rows as a simple query returns them; the cell `NULL` is SQL NULL.
pub fn rows(rows: &[&[&str]]) -> Vec<Vec<Option<String>>> {
    rows.iter()
        .map(|r| {
            r.iter()
                .map(|c| (*c != "NULL").then(|| c.to_string()))
                .collect()
        })
        .collect()
}

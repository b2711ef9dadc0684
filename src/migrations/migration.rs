//! What a migration is once loaded, whatever format it came from: a [`Version`], a name, the
//! `up` [`Script`] and maybe a `down` one. Formats build these ([`super::source`]); history
//! tables record them ([`super::history`]); the applier runs them ([`super::apply`]).

use std::cmp::Ordering;
use std::fmt;
use std::sync::Arc;

use sha2::{Digest, Sha256};

/// A migration's version as written in its file name: `0001`, `20240105120000`, `1.2.3`.
///
/// Ordered the way the tools order them: split into runs of digits and other characters,
/// digit runs compared as numbers (so `2` < `10` and `0002` == `2`), others as text. Flyway's
/// repeatable migrations have no version; they sort after every versioned one, by name.
#[derive(Debug, Clone)]
pub struct Version {
    text: String,
    repeatable: bool,
}

impl Version {
    pub fn new(text: impl Into<String>) -> Version {
        Version {
            text: text.into(),
            repeatable: false,
        }
    }

    /// The key of a Flyway repeatable migration (`R__name.sql`).
    pub fn repeatable(name: impl Into<String>) -> Version {
        Version {
            text: name.into(),
            repeatable: true,
        }
    }

    pub fn as_str(&self) -> &str {
        &self.text
    }

    pub fn is_repeatable(&self) -> bool {
        self.repeatable
    }

    /// The version as a number, for tools that store it as one (golang-migrate, goose, sqlx).
    pub fn as_i64(&self) -> Option<i64> {
        self.text.parse().ok()
    }

    fn parts(&self) -> impl Iterator<Item = Part<'_>> {
        let s = self.text.as_str();
        let mut rest = s;
        std::iter::from_fn(move || {
            let first = rest.chars().next()?;
            let digit = first.is_ascii_digit();
            let end = rest
                .find(|c: char| c.is_ascii_digit() != digit)
                .unwrap_or(rest.len());
            let (part, tail) = rest.split_at(end);
            rest = tail;
            Some(if digit {
                Part::Number(part.trim_start_matches('0'))
            } else {
                Part::Text(part)
            })
        })
    }
}

#[derive(PartialEq, Eq)]
enum Part<'a> {
    /// Digits without leading zeros: longer is larger, equal length compares as text.
    Number(&'a str),
    Text(&'a str),
}

impl Ord for Part<'_> {
    fn cmp(&self, other: &Self) -> Ordering {
        match (self, other) {
            (Part::Number(a), Part::Number(b)) => a.len().cmp(&b.len()).then_with(|| a.cmp(b)),
            (Part::Number(_), Part::Text(_)) => Ordering::Less,
            (Part::Text(_), Part::Number(_)) => Ordering::Greater,
            (Part::Text(a), Part::Text(b)) => a.cmp(b),
        }
    }
}

impl PartialOrd for Part<'_> {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

impl Ord for Version {
    fn cmp(&self, other: &Self) -> Ordering {
        self.repeatable
            .cmp(&other.repeatable)
            .then_with(|| self.parts().cmp(other.parts()))
    }
}

impl PartialOrd for Version {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

impl PartialEq for Version {
    fn eq(&self, other: &Self) -> bool {
        self.cmp(other) == Ordering::Equal
    }
}

impl Eq for Version {}

impl fmt::Display for Version {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.repeatable {
            write!(f, "R__{}", self.text)
        } else {
            f.write_str(&self.text)
        }
    }
}

/// One direction of a migration: the SQL to run and where it came from.
#[derive(Debug, Clone)]
pub struct Script {
    /// The file, as the user would name it (the migrations directory joined with the file's
    /// path inside it).
    pub path: String,
    /// The whole file, byte for byte: what checksums are computed over.
    pub file: Arc<[u8]>,
    /// The SQL to run: the whole file, or this direction's section of it (goose, dbmate).
    pub sql: String,
    /// The 1-based line of the file on which [`sql`](Self::sql) starts, so statement line
    /// numbers can be reported against the file.
    pub first_line: usize,
    /// False when the format's own marker says "no transaction" (`-- +goose NO TRANSACTION`,
    /// `-- migrate:up transaction:false`, sqlx's `-- no-transaction`).
    pub transaction: bool,
}

impl Script {
    /// A script that is the whole file.
    pub fn whole_file(path: String, file: Arc<[u8]>, sql: String) -> Script {
        Script {
            path,
            file,
            sql,
            first_line: 1,
            transaction: true,
        }
    }

    /// SHA-256 of the exact file bytes, lowercase hex: pgkeel's own checksum.
    pub fn sha256(&self) -> String {
        hex(&Sha256::digest(&self.file))
    }
}

/// A migration as loaded from disk.
#[derive(Debug, Clone)]
pub struct Migration {
    pub version: Version,
    /// The human part of the name: `create_users` in `0001_create_users.up.sql`.
    pub name: String,
    pub up: Script,
    pub down: Option<Script>,
    /// Drizzle's journal timestamp (`when`, milliseconds), which its history table stores.
    pub journal_millis: Option<i64>,
}

impl Migration {
    /// `0001_create_users`: the version and name as the user sees them together.
    pub fn label(&self) -> String {
        if self.name.is_empty() {
            self.version.to_string()
        } else {
            format!("{}_{}", self.version, self.name)
        }
    }
}

/// Lowercase hex of `bytes`.
pub fn hex(bytes: &[u8]) -> String {
    use fmt::Write;
    let mut out = String::with_capacity(bytes.len() * 2);
    for b in bytes {
        let _ = write!(out, "{b:02x}");
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn versions_order_numerically_by_part() {
        let mut v: Vec<Version> = ["10", "2", "1.10", "1.2", "0003", "1", "20240101120000"]
            .into_iter()
            .map(Version::new)
            .collect();
        v.push(Version::repeatable("views"));
        v.sort();
        let got: Vec<String> = v.iter().map(|v| v.to_string()).collect();
        assert_eq!(
            got,
            [
                "1",
                "1.2",
                "1.10",
                "2",
                "0003",
                "10",
                "20240101120000",
                "R__views"
            ]
        );
        assert_eq!(Version::new("0002"), Version::new("2"));
        assert_ne!(Version::new("2"), Version::repeatable("2"));
    }

    #[test]
    fn checksum_is_of_the_exact_bytes() {
        let s = Script::whole_file("a.sql".into(), Arc::from(&b"SELECT 1;\r\n"[..]), "".into());
        assert_eq!(
            s.sha256(),
            hex(&Sha256::digest(b"SELECT 1;\r\n")),
            "CRLF and all"
        );
    }
}

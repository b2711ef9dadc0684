//! Where a database stands against a migrations directory: each migration applied, pending,
//! failed (dirty), edited after it was applied, missing from disk, or pending out of order.
//! A pure function of what is on disk and what the history tables say.

use super::history::{Applied, History};
use super::migration::{Migration, Version};

/// One migration's state.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum State {
    Applied,
    Pending,
    /// Pending, but a later version is already applied.
    OutOfOrder,
    /// Started and not finished, or recorded as failed.
    Dirty,
    /// Applied, and the file has changed since: both checksums.
    Edited {
        recorded: String,
        on_disk: String,
    },
    /// Applied, and no longer on disk.
    Missing,
}

impl State {
    pub fn name(&self) -> &'static str {
        match self {
            State::Applied => "applied",
            State::Pending => "pending",
            State::OutOfOrder => "out-of-order",
            State::Dirty => "dirty",
            State::Edited { .. } => "edited",
            State::Missing => "missing",
        }
    }

    /// States that stop `migrate` until resolved.
    pub fn is_conflict(&self) -> bool {
        matches!(
            self,
            State::Dirty | State::Edited { .. } | State::Missing | State::OutOfOrder
        )
    }
}

/// One line of `pgkeel status`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Entry {
    pub version: Version,
    pub name: String,
    pub state: State,
    /// The file, when it is on disk.
    pub path: Option<String>,
    pub applied_at: Option<String>,
    pub applied_by: Option<String>,
}

/// Each migration's state, in version order (missing ones where their version falls).
///
/// `applied` comes from the tool's table; `audit` from `pgkeel.migrations` beside it (empty
/// when the format is pgkeel's own). The tool's checksum is compared when it keeps one;
/// otherwise pgkeel's SHA-256 from the audit row, when pgkeel applied the migration.
pub fn status(
    on_disk: &[Migration],
    applied: &[Applied],
    audit: &[Applied],
    history: &dyn History,
) -> Vec<Entry> {
    let highest_applied = applied
        .iter()
        .filter(|a| !a.version.is_repeatable())
        .map(|a| &a.version)
        .max();
    let mut out: Vec<Entry> = on_disk
        .iter()
        .map(|m| {
            let record = applied.iter().find(|a| a.version == m.version);
            let state = match record {
                _ if audit.iter().any(|r| r.version == m.version && !r.success) => State::Dirty,
                None if m.version.is_repeatable() => State::Pending,
                None if highest_applied.is_some_and(|h| *h > m.version) => State::OutOfOrder,
                None => State::Pending,
                Some(a) if !a.success => State::Dirty,
                Some(a) => edited(m, a, audit, history).unwrap_or(State::Applied),
            };
            Entry {
                version: m.version.clone(),
                name: m.name.clone(),
                state,
                path: Some(m.up.path.clone()),
                applied_at: record.and_then(|a| a.applied_at.clone()),
                applied_by: record.and_then(|a| a.applied_by.clone()),
            }
        })
        .collect();
    for a in applied {
        if !on_disk.iter().any(|m| m.version == a.version) {
            out.push(Entry {
                version: a.version.clone(),
                name: a.name.clone().unwrap_or_default(),
                state: if a.success {
                    State::Missing
                } else {
                    State::Dirty
                },
                path: None,
                applied_at: a.applied_at.clone(),
                applied_by: a.applied_by.clone(),
            });
        }
    }
    out.sort_by(|a, b| a.version.cmp(&b.version));
    out
}

/// `Some(Edited)` when a checksum says the file changed after it was applied; repeatable
/// migrations are pending again instead (that is what they are for).
fn edited(m: &Migration, a: &Applied, audit: &[Applied], history: &dyn History) -> Option<State> {
    let (recorded, on_disk) = match (a.checksum.as_ref(), history.checksum(m)) {
        (Some(recorded), Some(now)) => (recorded.clone(), now),
        _ => {
            let row = audit.iter().find(|r| r.version == m.version)?;
            (row.checksum.clone()?, m.up.sha256())
        }
    };
    if recorded == on_disk {
        return None;
    }
    Some(if m.version.is_repeatable() {
        State::Pending
    } else {
        State::Edited { recorded, on_disk }
    })
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use super::*;
    use crate::migrations::history;
    use crate::migrations::{Format, Script};

    fn m(v: &str, sql: &str) -> Migration {
        Migration {
            version: Version::new(v),
            name: format!("m{v}"),
            up: Script::whole_file(format!("{v}.up.sql"), Arc::from(sql.as_bytes()), sql.into()),
            down: None,
            journal_millis: None,
        }
    }

    fn applied(m: &Migration, success: bool) -> Applied {
        Applied {
            version: m.version.clone(),
            name: Some(m.name.clone()),
            checksum: Some(m.up.sha256()),
            success,
            applied_at: None,
            applied_by: None,
        }
    }

    fn states(entries: &[Entry]) -> Vec<(String, &'static str)> {
        entries
            .iter()
            .map(|e| (e.version.to_string(), e.state.name()))
            .collect()
    }

    #[test]
    fn every_state() {
        let h = history::of(Format::Pgkeel);
        let disk = [
            m("1", "a"),
            m("2", "b"),
            m("3", "c"),
            m("4", "d"),
            m("5", "e"),
        ];
        let mut edited = applied(&disk[1], true);
        edited.checksum = Some("0".repeat(64));
        let gone = m("9", "z");
        let rows = [
            applied(&disk[0], true),
            edited,
            applied(&disk[3], false),
            applied(&gone, true),
        ];
        let got = status(&disk, &rows, &[], h);
        assert_eq!(
            states(&got),
            [
                ("1".into(), "applied"),
                ("2".into(), "edited"),
                ("3".into(), "out-of-order"),
                ("4".into(), "dirty"),
                ("5".into(), "out-of-order"),
                ("9".into(), "missing"),
            ]
        );
        assert!(
            matches!(&got[1].state, State::Edited { recorded, .. } if recorded == &"0".repeat(64))
        );
    }

    #[test]
    fn audit_checksum_covers_tools_without_one() {
        let h = history::of(Format::GolangMigrate);
        let disk = [m("1", "a")];
        let tool = [Applied {
            checksum: None,
            ..applied(&disk[0], true)
        }];
        let mut audit = applied(&disk[0], true);
        assert_eq!(
            states(&status(&disk, &tool, &[audit.clone()], h))[0].1,
            "applied"
        );
        audit.checksum = Some("f".repeat(64));
        assert_eq!(states(&status(&disk, &tool, &[audit], h))[0].1, "edited");
        assert_eq!(states(&status(&disk, &tool, &[], h))[0].1, "applied");
    }
}

//! Which old backups to delete (pure; the command deletes them, after the new backup is
//! verified). A backup is kept when any rule keeps it: one of the newest `keep_last` good
//! (not failed) backups, or younger than `keep_days`. The newest verified backup is always
//! kept, and safety backups taken by restore are never pruned here.

use super::id::Stamp;
use super::manifest::{Kind, Status};

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Policy {
    pub keep_days: Option<u32>,
    pub keep_last: Option<usize>,
}

impl Policy {
    pub fn is_empty(&self) -> bool {
        self.keep_days.is_none() && self.keep_last.is_none()
    }
}

#[derive(Debug, Clone)]
pub struct Candidate {
    pub id: String,
    pub started: Stamp,
    pub status: Status,
    pub kind: Kind,
}

/// The ids to delete, oldest first.
pub fn prune(backups: &[Candidate], policy: Policy, now: Stamp) -> Vec<String> {
    if policy.is_empty() {
        return Vec::new();
    }
    let mut sorted: Vec<&Candidate> = backups
        .iter()
        .filter(|b| b.kind == Kind::Scheduled)
        .collect();
    sorted.sort_by(|a, b| b.started.cmp(&a.started).then_with(|| b.id.cmp(&a.id)));
    let newest_verified = sorted
        .iter()
        .find(|b| b.status == Status::Verified)
        .map(|b| b.id.clone());
    let mut good_seen = 0usize;
    let mut doomed = Vec::new();
    for b in sorted {
        let good = b.status != Status::Failed;
        let by_count = good && policy.keep_last.is_some_and(|n| good_seen < n);
        if good {
            good_seen += 1;
        }
        let by_age = policy
            .keep_days
            .is_some_and(|d| b.started.until(now).as_secs() < u64::from(d) * 86_400);
        let protected = newest_verified.as_deref() == Some(b.id.as_str());
        if !(by_count || by_age || protected) {
            doomed.push(b.id.clone());
        }
    }
    doomed.reverse();
    doomed
}

#[cfg(test)]
mod tests {
    use super::*;

    fn c(id: &str, days_ago: i64, status: Status) -> Candidate {
        Candidate {
            id: id.into(),
            started: Stamp(1_000_000_000 - days_ago * 86_400),
            status,
            kind: Kind::Scheduled,
        }
    }

    const NOW: Stamp = Stamp(1_000_000_000);

    #[test]
    fn keep_last_counts_good_backups_only() {
        let b = vec![
            c("a", 3, Status::Verified),
            c("b", 2, Status::Verified),
            c("c", 1, Status::Failed),
            c("d", 0, Status::Verified),
        ];
        let p = Policy {
            keep_days: None,
            keep_last: Some(2),
        };
        assert_eq!(prune(&b, p, NOW), vec!["a", "c"]);
    }

    #[test]
    fn either_rule_keeps() {
        let b = vec![
            c("a", 10, Status::Verified),
            c("b", 5, Status::Unverified),
            c("c", 0, Status::Unverified),
        ];
        let p = Policy {
            keep_days: Some(7),
            keep_last: Some(1),
        };
        // "a" is the newest verified backup: never deleted.
        assert_eq!(prune(&b, p, NOW), Vec::<String>::new());
        let b = vec![
            c("a", 10, Status::Unverified),
            c("b", 5, Status::Unverified),
            c("c", 0, Status::Verified),
        ];
        assert_eq!(prune(&b, p, NOW), vec!["a"]);
    }

    #[test]
    fn never_deletes_the_newest_verified_or_safety_backups() {
        let mut safety = c("s", 100, Status::Verified);
        safety.kind = Kind::Safety;
        let b = vec![
            c("old", 30, Status::Verified),
            c("new", 0, Status::Failed),
            safety,
        ];
        let p = Policy {
            keep_days: Some(1),
            keep_last: None,
        };
        assert!(prune(&b, p, NOW).is_empty(), "{:?}", prune(&b, p, NOW));
        assert!(prune(&b, Policy::default(), NOW).is_empty());
    }
}

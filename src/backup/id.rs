//! Backup names and the times in manifests.
//!
//! A backup is named `<db>-YYYYMMDD_HHMMSS` (UTC), which sorts by time as text. Times in the
//! manifest are RFC 3339 UTC strings. The calendar arithmetic is the usual days-from-civil
//! algorithm (a dozen lines), hand-written rather than pulling a date crate for two formats.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// A point in time, as whole seconds since the Unix epoch (UTC).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct Stamp(pub i64);

impl Stamp {
    pub fn now() -> Stamp {
        Stamp::from_system(SystemTime::now())
    }

    pub fn from_system(t: SystemTime) -> Stamp {
        Stamp(
            t.duration_since(UNIX_EPOCH)
                .map(|d| d.as_secs() as i64)
                .unwrap_or(0),
        )
    }

    fn parts(self) -> (i64, u32, u32, u32, u32, u32) {
        let days = self.0.div_euclid(86_400);
        let secs = self.0.rem_euclid(86_400) as u32;
        let (y, m, d) = civil_from_days(days);
        (y, m, d, secs / 3600, secs / 60 % 60, secs % 60)
    }

    /// `2025-01-31T12:00:00Z`.
    pub fn rfc3339(self) -> String {
        let (y, mo, d, h, mi, s) = self.parts();
        format!("{y:04}-{mo:02}-{d:02}T{h:02}:{mi:02}:{s:02}Z")
    }

    /// `20250131_120000`, the suffix of a backup name.
    pub fn compact(self) -> String {
        let (y, mo, d, h, mi, s) = self.parts();
        format!("{y:04}{mo:02}{d:02}_{h:02}{mi:02}{s:02}")
    }

    /// Parses what [`Stamp::rfc3339`] writes (fractions and offsets other than `Z` are refused).
    pub fn parse_rfc3339(text: &str) -> Option<Stamp> {
        let b = text.as_bytes();
        if b.len() != 20 || b[4] != b'-' || b[7] != b'-' || b[10] != b'T' || b[19] != b'Z' {
            return None;
        }
        let num = |r: std::ops::Range<usize>| text.get(r)?.parse::<u32>().ok();
        let (y, mo, d) = (num(0..4)?, num(5..7)?, num(8..10)?);
        let (h, mi, s) = (num(11..13)?, num(14..16)?, num(17..19)?);
        if !(1..=12).contains(&mo) || !(1..=31).contains(&d) || h > 23 || mi > 59 || s > 60 {
            return None;
        }
        let days = days_from_civil(y as i64, mo, d);
        Some(Stamp(days * 86_400 + (h * 3600 + mi * 60 + s) as i64))
    }

    /// Time elapsed from `self` to `later` (zero when `later` is earlier).
    pub fn until(self, later: Stamp) -> Duration {
        Duration::from_secs((later.0 - self.0).max(0) as u64)
    }
}

fn days_from_civil(y: i64, m: u32, d: u32) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (m as i64 + 9) % 12;
    let doy = (153 * mp + 2) / 5 + d as i64 - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

fn civil_from_days(z: i64) -> (i64, u32, u32) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    (
        if m <= 2 {
            yoe + era * 400 + 1
        } else {
            yoe + era * 400
        },
        m,
        d,
    )
}

/// The name of a backup of `database` taken at `at`: `<db>-YYYYMMDD_HHMMSS`, with characters
/// that are awkward in paths and object keys replaced by `_`.
pub fn backup_id(database: &str, at: Stamp) -> String {
    let safe: String = database
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '_' || c == '.' || c == '-' {
                c
            } else {
                '_'
            }
        })
        .collect();
    let safe = if safe.is_empty() || safe.starts_with('.') {
        format!("db{safe}")
    } else {
        safe
    };
    format!("{safe}-{}", at.compact())
}

/// Whether `name` could be a backup name (used to refuse path tricks in `--from ID`).
pub fn is_plain_name(name: &str) -> bool {
    !name.is_empty()
        && !name.starts_with('.')
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '.' | '-'))
}

/// `3d 4h`, `5m 2s`, `12s`: an age for people.
pub fn human_age(d: Duration) -> String {
    let s = d.as_secs();
    match s {
        0..=59 => format!("{s}s"),
        60..=3599 => format!("{}m {}s", s / 60, s % 60),
        3600..=86_399 => format!("{}h {}m", s / 3600, s / 60 % 60),
        _ => format!("{}d {}h", s / 86_400, s / 3600 % 24),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats_and_parses_times() {
        let t = Stamp(1_706_702_400); // 2024-01-31T12:00:00Z
        assert_eq!(t.rfc3339(), "2024-01-31T12:00:00Z");
        assert_eq!(t.compact(), "20240131_120000");
        assert_eq!(Stamp::parse_rfc3339("2024-01-31T12:00:00Z"), Some(t));
        assert_eq!(
            Stamp::parse_rfc3339("2000-02-29T23:59:59Z")
                .map(|s| s.rfc3339())
                .as_deref(),
            Some("2000-02-29T23:59:59Z")
        );
        assert_eq!(Stamp::parse_rfc3339("2024-13-01T00:00:00Z"), None);
        assert_eq!(Stamp::parse_rfc3339("garbage"), None);
        for secs in [0, 951_782_400, 4_102_444_800, 1_234_567_890] {
            assert_eq!(
                Stamp::parse_rfc3339(&Stamp(secs).rfc3339()),
                Some(Stamp(secs))
            );
        }
    }

    #[test]
    fn names_are_safe_and_sortable() {
        assert_eq!(
            backup_id("app", Stamp(1_706_702_400)),
            "app-20240131_120000"
        );
        assert_eq!(backup_id("my db/x", Stamp(0)), "my_db_x-19700101_000000");
        assert_eq!(backup_id("..", Stamp(0)), "db..-19700101_000000");
        assert!(is_plain_name("app-20240131_120000"));
        assert!(!is_plain_name("../etc"));
        assert!(!is_plain_name("a/b"));
    }
}

//! The notification's content: what finished, how it went, and the facts to show. Built by the
//! command's report when its result is known; rendered per channel by `slack`, `webhook` and
//! `email`. Everything here is plain text and numbers: no domain types.

use std::time::{Duration, SystemTime};

use serde::Serialize;

/// Which operation finished.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Kind {
    Diff,
    Drift,
    Backup,
    Restore,
    Migrate,
    Deploy,
}

impl Kind {
    pub fn name(self) -> &'static str {
        match self {
            Kind::Diff => "diff",
            Kind::Drift => "drift",
            Kind::Backup => "backup",
            Kind::Restore => "restore",
            Kind::Migrate => "migrate",
            Kind::Deploy => "deploy",
        }
    }
}

/// How it went. `Critical` means a human must look now (a completed restore, a failed
/// rollback): Slack mentions the whole channel for it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Outcome {
    Success,
    Warning,
    Failure,
    Critical,
}

impl Outcome {
    pub fn name(self) -> &'static str {
        match self {
            Outcome::Success => "success",
            Outcome::Warning => "warning",
            Outcome::Failure => "failure",
            Outcome::Critical => "critical",
        }
    }

    pub fn emoji(self) -> &'static str {
        match self {
            Outcome::Success => "✅",
            Outcome::Warning => "⚠️",
            Outcome::Failure => "❌",
            Outcome::Critical => "🚨",
        }
    }

    /// Failure or worse: always worth a notification, whatever `--notify-on` says.
    pub fn is_failure(self) -> bool {
        matches!(self, Outcome::Failure | Outcome::Critical)
    }
}

/// One labelled value ("Tables modified" → "2").
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Fact {
    pub label: String,
    pub value: String,
}

impl Fact {
    pub fn new(label: impl Into<String>, value: impl Into<String>) -> Fact {
        Fact {
            label: label.into(),
            value: value.into(),
        }
    }
}

/// A titled list (changes, hazards, applied migrations). Renderers cut long ones.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct List {
    pub title: String,
    pub items: Vec<String>,
}

impl List {
    pub fn new(title: impl Into<String>, items: Vec<String>) -> List {
        List {
            title: title.into(),
            items,
        }
    }
}

/// Why the operation failed, already scrubbed of secrets.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Failure {
    pub message: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub hint: Option<String>,
    pub exit_code: u8,
}

/// Where the run happened: GitHub Actions' variables when present, else the local user.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct RunInfo {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub actor: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub repository: Option<String>,
    /// Branch or tag (`GITHUB_REF_NAME`).
    #[serde(rename = "ref", skip_serializing_if = "Option::is_none")]
    pub ref_name: Option<String>,
    /// A pull request's source and target branches.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub head_ref: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub base_ref: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub sha: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub workflow: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub run_id: Option<String>,
    /// `GITHUB_SERVER_URL/GITHUB_REPOSITORY/actions/runs/GITHUB_RUN_ID`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub url: Option<String>,
}

impl RunInfo {
    /// Reads the run from the process environment.
    pub fn from_env() -> RunInfo {
        RunInfo::from_lookup(&|k| std::env::var(k).ok())
    }

    /// Reads the run through `get` (empty values count as absent), so tests need no globals.
    pub fn from_lookup(get: &dyn Fn(&str) -> Option<String>) -> RunInfo {
        let var = |k: &str| get(k).filter(|v| !v.trim().is_empty());
        let url = match (
            var("GITHUB_SERVER_URL"),
            var("GITHUB_REPOSITORY"),
            var("GITHUB_RUN_ID"),
        ) {
            (Some(server), Some(repo), Some(run)) => Some(format!(
                "{}/{repo}/actions/runs/{run}",
                server.trim_end_matches('/')
            )),
            _ => None,
        };
        RunInfo {
            actor: var("GITHUB_ACTOR")
                .or_else(|| var("USER"))
                .or_else(|| var("LOGNAME")),
            repository: var("GITHUB_REPOSITORY"),
            ref_name: var("GITHUB_REF_NAME"),
            head_ref: var("GITHUB_HEAD_REF"),
            base_ref: var("GITHUB_BASE_REF"),
            sha: var("GITHUB_SHA"),
            workflow: var("GITHUB_WORKFLOW"),
            run_id: var("GITHUB_RUN_ID"),
            url,
        }
    }

    /// `feature/x → main` for a pull request, else the branch.
    pub fn branch(&self) -> Option<String> {
        match (&self.head_ref, &self.base_ref) {
            (Some(head), Some(base)) => Some(format!("{head} → {base}")),
            _ => self.ref_name.clone(),
        }
    }

    /// The commit, shortened as people read it.
    pub fn short_sha(&self) -> Option<&str> {
        self.sha.as_deref().map(|s| s.get(..7).unwrap_or(s))
    }
}

/// A finished operation, ready to render for any channel.
#[derive(Debug, Clone)]
pub struct Event {
    pub kind: Kind,
    pub outcome: Outcome,
    /// "Migrations applied", "Drift detected": the header, without emoji or environment.
    pub title: String,
    /// One sentence under the header.
    pub summary: Option<String>,
    /// Whether the operation changed or found something (`--notify-on change`).
    pub changed: bool,
    pub environment: Option<String>,
    /// The database, host redacted.
    pub database: Option<String>,
    pub duration: Option<Duration>,
    /// Further facts, in the order they are shown.
    pub facts: Vec<Fact>,
    pub lists: Vec<List>,
    pub failure: Option<Failure>,
    /// The command's own `--format json` document, when it produced one.
    pub document: Option<serde_json::Value>,
    pub run: RunInfo,
    pub finished_at: SystemTime,
}

impl Event {
    pub fn new(kind: Kind, outcome: Outcome, title: impl Into<String>) -> Event {
        Event {
            kind,
            outcome,
            title: title.into(),
            summary: None,
            changed: false,
            environment: None,
            database: None,
            duration: None,
            facts: Vec::new(),
            lists: Vec::new(),
            failure: None,
            document: None,
            run: RunInfo::default(),
            finished_at: SystemTime::now(),
        }
    }

    /// `✅ Migrations applied — production`.
    pub fn headline(&self) -> String {
        match &self.environment {
            Some(env) => format!("{} {} — {env}", self.outcome.emoji(), self.title),
            None => format!("{} {}", self.outcome.emoji(), self.title),
        }
    }

    /// The facts every channel shows first (environment, database, duration), then the rest.
    pub fn all_facts(&self) -> Vec<Fact> {
        let mut facts = Vec::new();
        if let Some(env) = &self.environment {
            facts.push(Fact::new("Environment", env));
        }
        if let Some(db) = &self.database {
            facts.push(Fact::new("Database", db));
        }
        if let Some(d) = self.duration {
            facts.push(Fact::new("Duration", human_duration(d)));
        }
        facts.extend(self.facts.iter().cloned());
        facts
    }
}

/// `45.2s`, `830ms`, `2m 05s`.
pub fn human_duration(d: Duration) -> String {
    let ms = d.as_millis();
    if ms < 1000 {
        format!("{ms}ms")
    } else if ms < 60_000 {
        format!("{:.1}s", d.as_secs_f64())
    } else {
        let s = d.as_secs();
        format!("{}m {:02}s", s / 60, s % 60)
    }
}

/// RFC 3339 UTC timestamp (`2025-10-05T16:30:45.123Z`). Hand-written (days-to-civil, Howard
/// Hinnant's algorithm) because a date crate for one timestamp would cost more than it gives.
pub fn rfc3339(t: SystemTime) -> String {
    let since = t
        .duration_since(SystemTime::UNIX_EPOCH)
        .unwrap_or(Duration::ZERO);
    let secs = since.as_secs() as i64;
    let (days, rem) = (secs.div_euclid(86_400), secs.rem_euclid(86_400));
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    format!(
        "{year:04}-{month:02}-{day:02}T{:02}:{:02}:{:02}.{:03}Z",
        rem / 3600,
        rem % 3600 / 60,
        rem % 60,
        since.subsec_millis()
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn run_info_builds_the_run_url_and_prefers_github_actor() {
        let env = |k: &str| {
            match k {
                "GITHUB_ACTOR" => Some("octocat"),
                "USER" => Some("root"),
                "GITHUB_SERVER_URL" => Some("https://github.com/"),
                "GITHUB_REPOSITORY" => Some("acme/shop"),
                "GITHUB_RUN_ID" => Some("42"),
                "GITHUB_SHA" => Some("0123456789abcdef"),
                "GITHUB_REF_NAME" => Some("main"),
                "GITHUB_HEAD_REF" => Some(""),
                _ => None,
            }
            .map(str::to_string)
        };
        let run = RunInfo::from_lookup(&env);
        assert_eq!(run.actor.as_deref(), Some("octocat"));
        assert_eq!(
            run.url.as_deref(),
            Some("https://github.com/acme/shop/actions/runs/42")
        );
        assert_eq!(run.short_sha(), Some("0123456"));
        // An empty GITHUB_HEAD_REF (push events) is absent: the branch is the ref.
        assert_eq!(run.branch().as_deref(), Some("main"));
    }

    #[test]
    fn run_info_outside_actions_has_the_user_and_no_url() {
        let run = RunInfo::from_lookup(&|k| (k == "USER").then(|| "dev".to_string()));
        assert_eq!(run.actor.as_deref(), Some("dev"));
        assert_eq!(run.url, None);
        assert_eq!(run.branch(), None);
    }

    #[test]
    fn pull_request_branch_shows_head_and_base() {
        let run = RunInfo::from_lookup(&|k| {
            match k {
                "GITHUB_HEAD_REF" => Some("feature/versions"),
                "GITHUB_BASE_REF" => Some("develop"),
                "GITHUB_REF_NAME" => Some("12/merge"),
                _ => None,
            }
            .map(str::to_string)
        });
        assert_eq!(run.branch().as_deref(), Some("feature/versions → develop"));
    }

    #[test]
    fn rfc3339_formats_known_instants() {
        let at = |s: u64, ms: u64| {
            SystemTime::UNIX_EPOCH + Duration::from_secs(s) + Duration::from_millis(ms)
        };
        assert_eq!(rfc3339(at(0, 0)), "1970-01-01T00:00:00.000Z");
        assert_eq!(rfc3339(at(1_728_145_845, 123)), "2024-10-05T16:30:45.123Z");
        // A leap day.
        assert_eq!(rfc3339(at(951_782_400, 0)), "2000-02-29T00:00:00.000Z");
    }

    #[test]
    fn durations_read_naturally() {
        assert_eq!(human_duration(Duration::from_millis(830)), "830ms");
        assert_eq!(human_duration(Duration::from_millis(45_200)), "45.2s");
        assert_eq!(human_duration(Duration::from_secs(125)), "2m 05s");
    }

    #[test]
    fn headline_carries_emoji_and_environment() {
        let mut e = Event::new(Kind::Migrate, Outcome::Failure, "Migration failed");
        assert_eq!(e.headline(), "❌ Migration failed");
        e.environment = Some("production".into());
        assert_eq!(e.headline(), "❌ Migration failed — production");
    }
}

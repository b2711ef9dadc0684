//! Environment protection: before a destructive step (restore now, deploy later), check that
//! the GitHub Environment the job runs in really requires a human's approval.
//!
//! A job can name an environment that does not exist (GitHub creates it, unprotected), and on
//! Free/Pro/Team plans private repositories cannot have required reviewers at all — either
//! way the "approval" the workflow author believes in is not there. So pgkeel reads
//! `GET /repos/{owner}/{repo}/environments/{name}` and requires a `required_reviewers` rule
//! with enough reviewers listed. GitHub needs only one of the listed reviewers to approve; a
//! second listed reviewer plus "prevent self-review" is what makes a restore a two-person act.
//! The types are ours (octocrab has none for environments).

use serde::Deserialize;

use super::api::{segment, ApiError, Client};
use super::context::Repo;

#[derive(Debug, Deserialize)]
pub struct Environment {
    pub name: String,
    #[serde(default)]
    pub protection_rules: Vec<ProtectionRule>,
    #[serde(default)]
    pub can_admins_bypass: Option<bool>,
}

#[derive(Debug, Deserialize)]
pub struct ProtectionRule {
    #[serde(rename = "type")]
    pub kind: String,
    #[serde(default)]
    pub wait_timer: Option<u64>,
    #[serde(default)]
    pub prevent_self_review: Option<bool>,
    #[serde(default)]
    pub reviewers: Vec<Reviewer>,
}

#[derive(Debug, Deserialize)]
pub struct Reviewer {
    /// `User` or `Team`.
    #[serde(rename = "type")]
    pub kind: String,
    #[serde(default)]
    pub reviewer: Option<Identity>,
}

#[derive(Debug, Deserialize)]
pub struct Identity {
    #[serde(default)]
    pub login: Option<String>,
    #[serde(default)]
    pub slug: Option<String>,
    #[serde(default)]
    pub name: Option<String>,
}

/// What `--require-protection` does when the check does not pass.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Policy {
    /// Stop before anything happens (exit 1).
    Fail,
    /// Warn (an annotation) and go on.
    Warn,
    /// Do not check.
    Off,
}

/// A protection that passed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Protection {
    pub environment: String,
    /// `@user` or `@org/team`, as GitHub lists them.
    pub reviewers: Vec<String>,
    pub wait_timer_minutes: Option<u64>,
    pub prevent_self_review: bool,
    pub admins_can_bypass: bool,
}

impl Protection {
    pub fn describe(&self) -> String {
        let mut s = format!(
            "environment `{}` requires approval by one of {} ({})",
            self.environment,
            self.reviewers.len(),
            self.reviewers.join(", ")
        );
        if self.prevent_self_review {
            s.push_str(", not the person who started the run");
        }
        if let Some(m) = self.wait_timer_minutes.filter(|m| *m > 0) {
            s.push_str(&format!(", then waits {m} min"));
        }
        s
    }
}

#[derive(Debug, thiserror::Error)]
pub enum ProtectionError {
    #[error("environment `{environment}` does not exist in {repo}: the job's approval gate is not there")]
    Missing { environment: String, repo: String },
    #[error("environment `{environment}` has no required reviewers: anyone who can run the workflow can go ahead without approval")]
    NoReviewers { environment: String },
    #[error("environment `{environment}` lists {found} required reviewer{}; at least {required} are required here", if *.found == 1 { "" } else { "s" })]
    TooFewReviewers {
        environment: String,
        found: usize,
        required: usize,
    },
    #[error("cannot check environment `{environment}`: {source}")]
    Api {
        environment: String,
        source: ApiError,
    },
    #[error("no environment to check: pass --environment (the `environment` input) naming the job's environment")]
    NoEnvironment,
    #[error("cannot check environment protection outside GitHub Actions (GITHUB_ACTIONS and GITHUB_REPOSITORY are not set)")]
    NotInActions,
}

impl ProtectionError {
    pub fn hint(&self) -> Option<String> {
        let setup = "Settings → Environments → the environment → Required reviewers (and Prevent self-review); see docs/runbook.md";
        match self {
            ProtectionError::Missing { .. } | ProtectionError::NoReviewers { .. } | ProtectionError::TooFewReviewers { .. } => Some(format!(
                "{setup}; on Free, Pro and Team plans private repositories cannot have required reviewers; `require-protection: warn` only warns"
            )),
            ProtectionError::Api { source, .. } => source.hint().or_else(|| Some("the token needs `actions: read`".into())),
            ProtectionError::NoEnvironment => Some("set the action's `environment` input to the `environment:` of the job".into()),
            ProtectionError::NotInActions => Some("run this in a workflow, or pass --require-protection off".into()),
        }
    }
}

/// Reads the environment's protection rules and checks them against `min_reviewers`.
pub fn check(
    client: &Client,
    repo: &Repo,
    name: &str,
    min_reviewers: usize,
) -> Result<Protection, ProtectionError> {
    let path = format!(
        "/repos/{}/{}/environments/{}",
        repo.owner,
        repo.name,
        segment(name)
    );
    let env: Environment = match client.get(&path) {
        Ok(e) => e,
        Err(e) if e.status() == Some(404) => {
            return Err(ProtectionError::Missing {
                environment: name.to_string(),
                repo: repo.to_string(),
            })
        }
        Err(source) => {
            return Err(ProtectionError::Api {
                environment: name.to_string(),
                source,
            })
        }
    };
    evaluate(&env, min_reviewers)
}

/// The decision, apart from the request.
pub fn evaluate(env: &Environment, min_reviewers: usize) -> Result<Protection, ProtectionError> {
    let rules: Vec<&ProtectionRule> = env
        .protection_rules
        .iter()
        .filter(|r| r.kind == "required_reviewers")
        .collect();
    let reviewers: Vec<String> = rules
        .iter()
        .flat_map(|r| &r.reviewers)
        .map(|r| {
            let id = r.reviewer.as_ref();
            let name = id
                .and_then(|i| {
                    i.login
                        .clone()
                        .or_else(|| i.slug.clone())
                        .or_else(|| i.name.clone())
                })
                .unwrap_or_else(|| "?".into());
            format!("@{name}{}", if r.kind == "Team" { " (team)" } else { "" })
        })
        .collect();
    if rules.is_empty() || reviewers.is_empty() {
        return Err(ProtectionError::NoReviewers {
            environment: env.name.clone(),
        });
    }
    if reviewers.len() < min_reviewers.max(1) {
        return Err(ProtectionError::TooFewReviewers {
            environment: env.name.clone(),
            found: reviewers.len(),
            required: min_reviewers,
        });
    }
    Ok(Protection {
        environment: env.name.clone(),
        reviewers,
        wait_timer_minutes: env
            .protection_rules
            .iter()
            .filter(|r| r.kind == "wait_timer")
            .find_map(|r| r.wait_timer),
        prevent_self_review: rules.iter().any(|r| r.prevent_self_review == Some(true)),
        admins_can_bypass: env.can_admins_bypass.unwrap_or(true),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env(json: &str) -> Environment {
        serde_json::from_str(json).expect("environment json")
    }

    #[test]
    fn rules_are_evaluated() {
        let two = env(
            r#"{"name":"production-restore","can_admins_bypass":false,"protection_rules":[
            {"id":1,"type":"wait_timer","wait_timer":10},
            {"id":2,"type":"required_reviewers","prevent_self_review":true,"reviewers":[
                {"type":"User","reviewer":{"login":"alice","id":1}},
                {"type":"Team","reviewer":{"slug":"dba","name":"DBA"}}]},
            {"id":3,"type":"branch_policy"}]}"#,
        );
        let p = evaluate(&two, 2).expect("protected");
        assert_eq!(p.reviewers, ["@alice", "@dba (team)"]);
        assert_eq!(p.wait_timer_minutes, Some(10));
        assert!(p.prevent_self_review && !p.admins_can_bypass);
        assert!(matches!(
            evaluate(&two, 3),
            Err(ProtectionError::TooFewReviewers {
                found: 2,
                required: 3,
                ..
            })
        ));
        let none = env(
            r#"{"name":"production","protection_rules":[{"type":"wait_timer","wait_timer":5}]}"#,
        );
        assert!(matches!(
            evaluate(&none, 1),
            Err(ProtectionError::NoReviewers { .. })
        ));
        let bare = env(r#"{"name":"production"}"#);
        assert!(matches!(
            evaluate(&bare, 0),
            Err(ProtectionError::NoReviewers { .. })
        ));
    }
}

//! The drift issue: one open issue per database while its schema has drifted, deduplicated by
//! the drift digest (a hidden marker in the body) so a check every six hours does not file a
//! new issue — or write at all — while the drift stays the same; updated when the drift
//! changes, and closed with a comment when it is gone.

use serde::{Deserialize, Serialize};

use super::api::{ApiError, Client};
use super::comment::{digest_marker, marker, MAX_BODY};
use super::context::Repo;

/// The label put on drift issues (GitHub creates it on first use).
pub const LABEL: &str = "pgkeel-drift";

/// What the drift check found, for the issue.
pub struct DriftIssue<'a> {
    /// The database (no secrets): one issue per key.
    pub key: &'a str,
    pub title: &'a str,
    /// The report's markdown, when drifted.
    pub body: &'a str,
    /// Short markdown used instead when `body` is too long.
    pub fallback: &'a str,
    /// The drift digest: the same drift, the same digest.
    pub digest: &'a str,
    pub drifted: bool,
    pub run_url: Option<&'a str>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Synced {
    Opened {
        number: u64,
        url: String,
    },
    Updated {
        number: u64,
        url: String,
    },
    /// Open already, with this very drift: nothing written.
    Unchanged {
        number: u64,
        url: String,
    },
    Closed {
        number: u64,
        url: String,
    },
    /// No drift and no open issue.
    Nothing,
}

#[derive(Debug, Deserialize)]
struct Issue {
    number: u64,
    #[serde(default)]
    html_url: String,
    #[serde(default)]
    body: Option<String>,
    /// Present on pull requests, which the issues list includes.
    #[serde(default)]
    pull_request: Option<serde_json::Value>,
}

#[derive(Serialize)]
struct NewIssue<'a> {
    title: &'a str,
    body: &'a str,
    labels: [&'a str; 1],
}

#[derive(Serialize)]
struct Edit<'a> {
    #[serde(skip_serializing_if = "Option::is_none")]
    title: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    body: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    state: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    state_reason: Option<&'a str>,
}

#[derive(Serialize)]
struct NewComment<'a> {
    body: &'a str,
}

#[derive(Deserialize)]
struct Created {}

fn compose(issue: &DriftIssue) -> String {
    let markers = format!(
        "\n\n{}\n{}",
        marker("drift", issue.key),
        digest_marker(issue.digest)
    );
    let run = issue
        .run_url
        .map(|u| format!("\n\nLast checked by [this run]({u})."))
        .unwrap_or_default();
    let room = MAX_BODY - markers.chars().count() - run.chars().count();
    let text = if issue.body.chars().count() <= room {
        issue.body
    } else {
        issue.fallback
    };
    let text: String = text.chars().take(room).collect();
    format!("{text}{run}{markers}")
}

/// Opens, updates or closes the database's drift issue to match `issue`.
pub fn sync(client: &Client, repo: &Repo, issue: &DriftIssue) -> Result<Synced, ApiError> {
    let base = format!("/repos/{}/{}/issues", repo.owner, repo.name);
    let open: Vec<Issue> = client.get_all(&format!("{base}?state=open&per_page=100"))?;
    let mark = marker("drift", issue.key);
    let existing = open
        .iter()
        .find(|i| i.pull_request.is_none() && i.body.as_deref().is_some_and(|b| b.contains(&mark)));
    match (existing, issue.drifted) {
        (None, false) => Ok(Synced::Nothing),
        (None, true) => {
            let created: Issue = client.post(
                &base,
                &NewIssue {
                    title: issue.title,
                    body: &compose(issue),
                    labels: [LABEL],
                },
            )?;
            Ok(Synced::Opened {
                number: created.number,
                url: created.html_url,
            })
        }
        (Some(i), true)
            if i.body
                .as_deref()
                .is_some_and(|b| b.contains(&digest_marker(issue.digest))) =>
        {
            Ok(Synced::Unchanged {
                number: i.number,
                url: i.html_url.clone(),
            })
        }
        (Some(i), true) => {
            let _: Issue = client.patch(
                &format!("{base}/{}", i.number),
                &Edit {
                    title: Some(issue.title),
                    body: Some(&compose(issue)),
                    state: None,
                    state_reason: None,
                },
            )?;
            Ok(Synced::Updated {
                number: i.number,
                url: i.html_url.clone(),
            })
        }
        (Some(i), false) => {
            let note = match issue.run_url {
                Some(u) => format!(
                    "No drift any more: the live schema matches its migrations again ([run]({u}))."
                ),
                None => {
                    "No drift any more: the live schema matches its migrations again.".to_string()
                }
            };
            let _: Created = client.post(
                &format!("{base}/{}/comments", i.number),
                &NewComment { body: &note },
            )?;
            let _: Issue = client.patch(
                &format!("{base}/{}", i.number),
                &Edit {
                    title: None,
                    body: None,
                    state: Some("closed"),
                    state_reason: Some("completed"),
                },
            )?;
            Ok(Synced::Closed {
                number: i.number,
                url: i.html_url.clone(),
            })
        }
    }
}

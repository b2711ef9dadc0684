//! The sticky pull-request comment: one per report kind and key (the migrations directory, the
//! database), found by a hidden marker among all pages of the PR's comments and edited in
//! place, so a PR pushed ten times shows one current report rather than ten. A digest marker
//! makes an unchanged report cost no write; a report over GitHub's 65,536-character limit is
//! replaced by a short summary that links to the run.

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use super::api::{ApiError, Client};
use super::context::Repo;

/// GitHub's limit on a comment body, in characters.
pub const MAX_BODY: usize = 65_536;

/// When a comment is wanted (`--comment`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    /// On every run.
    Always,
    /// When the report has changes; an existing comment is kept current either way.
    OnChange,
    /// When the run fails or finds something; an existing comment is kept current.
    OnFailure,
    /// Never (nothing is read or written).
    Never,
}

/// The comment a report wants.
pub struct Sticky<'a> {
    /// `diff` or `drift`: comments of different kinds never replace each other.
    pub kind: &'a str,
    /// Which directory or database this is about.
    pub key: &'a str,
    /// The full markdown.
    pub body: &'a str,
    /// What decides "unchanged": a digest of the report without what varies between
    /// identical runs (timings).
    pub digest: &'a str,
    /// Short markdown used instead when `body` is too long.
    pub fallback: &'a str,
    /// False: only an existing comment is updated, none is created.
    pub create: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Posted {
    Created(u64),
    Updated(u64),
    /// The existing comment already shows this report: nothing was written.
    Unchanged(u64),
    /// Not wanted and none exists.
    Skipped,
}

#[derive(Debug, Deserialize)]
struct Comment {
    id: u64,
    #[serde(default)]
    body: Option<String>,
    #[serde(default)]
    user: Option<User>,
}

#[derive(Debug, Deserialize)]
struct User {
    #[serde(default)]
    login: String,
    #[serde(default, rename = "type")]
    kind: String,
}

#[derive(Serialize)]
struct Body<'a> {
    body: &'a str,
}

/// The hidden marker naming a comment (or issue) of `kind` for `key`. The key is reduced to
/// characters that cannot end an HTML comment.
pub fn marker(kind: &str, key: &str) -> String {
    let key: String = key
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || "._/@:+=".contains(c) {
                c
            } else {
                '_'
            }
        })
        .collect();
    format!("<!-- pgkeel:{kind} key={key} -->")
}

/// SHA-256 of the report, hex.
pub fn digest(text: &str) -> String {
    crate::migrations::migration::hex(&Sha256::digest(text.as_bytes()))
}

pub(crate) fn digest_marker(digest: &str) -> String {
    format!("<!-- pgkeel-digest:{digest} -->")
}

/// The text posted: the report (or its fallback when too long) and the two markers.
pub fn compose(sticky: &Sticky) -> String {
    let markers = format!(
        "\n\n{}\n{}",
        marker(sticky.kind, sticky.key),
        digest_marker(sticky.digest)
    );
    let room = MAX_BODY - markers.chars().count();
    let text = if sticky.body.chars().count() <= room {
        sticky.body
    } else {
        sticky.fallback
    };
    let text: String = text.chars().take(room).collect();
    format!("{text}{markers}")
}

/// Creates or updates the PR's sticky comment.
pub fn upsert(client: &Client, repo: &Repo, pr: u64, sticky: &Sticky) -> Result<Posted, ApiError> {
    let comments: Vec<Comment> = client.get_all(&format!(
        "/repos/{}/{}/issues/{pr}/comments?per_page=100",
        repo.owner, repo.name
    ))?;
    let mark = marker(sticky.kind, sticky.key);
    let mine: Vec<&Comment> = comments
        .iter()
        .filter(|c| c.body.as_deref().is_some_and(|b| b.contains(&mark)))
        .collect();
    // Anyone can paste the marker into a comment; prefer one a bot (the Actions token) wrote.
    let existing = mine.iter().find(|c| is_bot(c)).or(mine.first()).copied();
    let text = compose(sticky);
    let create = || -> Result<Posted, ApiError> {
        let created: Comment = client.post(
            &format!("/repos/{}/{}/issues/{pr}/comments", repo.owner, repo.name),
            &Body { body: &text },
        )?;
        Ok(Posted::Created(created.id))
    };
    match existing {
        Some(c)
            if c.body
                .as_deref()
                .is_some_and(|b| b.contains(&digest_marker(sticky.digest))) =>
        {
            Ok(Posted::Unchanged(c.id))
        }
        Some(c) => {
            let updated: Result<Comment, ApiError> = client.patch(
                &format!(
                    "/repos/{}/{}/issues/comments/{}",
                    repo.owner, repo.name, c.id
                ),
                &Body { body: &text },
            );
            match updated {
                Ok(u) => Ok(Posted::Updated(u.id)),
                // Someone else's comment carrying the marker: ours is a new one (found first
                // next time, being a bot's).
                Err(e) if e.status() == Some(403) && !is_bot(c) => create(),
                Err(e) => Err(e),
            }
        }
        None if !sticky.create => Ok(Posted::Skipped),
        None => create(),
    }
}

fn is_bot(c: &Comment) -> bool {
    c.user
        .as_ref()
        .is_some_and(|u| u.kind == "Bot" || u.login.ends_with("[bot]"))
}

/// `text` with every run of digits before " ms" replaced: timings differ between identical
/// runs and must not count as a change.
pub fn without_timings(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(i) = rest.find(" ms") {
        let head = &rest[..i];
        let digits = head.len() - head.trim_end_matches(|c: char| c.is_ascii_digit()).len();
        out.push_str(&head[..head.len() - digits]);
        out.push_str(if digits > 0 { "N ms" } else { " ms" });
        rest = &rest[i + 3..];
    }
    out.push_str(rest);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn markers_cannot_close_the_html_comment() {
        let m = marker("diff", "db/migrations --> <script>");
        assert_eq!(m, "<!-- pgkeel:diff key=db/migrations______script_ -->");
    }

    #[test]
    fn long_reports_fall_back_and_stay_under_the_limit() {
        let body = "x".repeat(MAX_BODY + 10);
        let d = digest(&body);
        let s = Sticky {
            kind: "diff",
            key: "migrations",
            body: &body,
            digest: &d,
            fallback: "short, see the run",
            create: true,
        };
        let text = compose(&s);
        assert!(text.chars().count() <= MAX_BODY);
        assert!(text.starts_with("short, see the run"));
        assert!(text.contains(&digest_marker(&d)));
        let s = Sticky { body: "small", ..s };
        assert!(compose(&s).starts_with("small\n\n<!-- pgkeel:diff key=migrations -->"));
    }

    #[test]
    fn timings_do_not_change_the_digest() {
        assert_eq!(
            without_timings("3 statements, 12 ms in the sandbox; took 7 ms"),
            "3 statements, N ms in the sandbox; took N ms"
        );
        assert_eq!(without_timings("no ms here"), "no ms here");
    }
}

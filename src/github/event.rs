//! The webhook payload of the event that started the run (`GITHUB_EVENT_PATH`): where the pull
//! request number comes from. `pull_request`, `pull_request_target` and comments on a PR have
//! one; `push`, `merge_group`, `schedule` and `workflow_dispatch` do not, and then nothing is
//! commented.

use std::path::Path;

use serde::Deserialize;

#[derive(Debug, Deserialize)]
struct Payload {
    pull_request: Option<Numbered>,
    issue: Option<Issue>,
}

#[derive(Debug, Deserialize)]
struct Numbered {
    number: u64,
}

#[derive(Debug, Deserialize)]
struct Issue {
    number: u64,
    /// Present when the issue is a pull request.
    pull_request: Option<serde_json::Value>,
}

/// The pull request the run is about, if any. A missing or unreadable payload is "none": the
/// comment is a convenience and never fails the step.
pub fn pull_request_number(event_name: &str, event_path: Option<&Path>) -> Option<u64> {
    let path = event_path?;
    let text = std::fs::read_to_string(path).ok()?;
    pull_request_number_in(event_name, &text)
}

/// Same as [`pull_request_number`] over the payload's text.
pub fn pull_request_number_in(event_name: &str, payload: &str) -> Option<u64> {
    if event_name == "merge_group" || event_name == "push" {
        return None;
    }
    let payload: Payload = serde_json::from_str(payload).ok()?;
    if let Some(pr) = payload.pull_request {
        return Some(pr.number);
    }
    payload
        .issue
        .filter(|i| i.pull_request.is_some())
        .map(|i| i.number)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pull_request_events_have_a_number_others_do_not() {
        let pr =
            r#"{"action":"synchronize","number":7,"pull_request":{"number":7,"head":{"ref":"x"}}}"#;
        assert_eq!(pull_request_number_in("pull_request", pr), Some(7));
        assert_eq!(pull_request_number_in("pull_request_target", pr), Some(7));
        let comment = r#"{"issue":{"number":9,"pull_request":{"url":"u"}},"comment":{}}"#;
        assert_eq!(pull_request_number_in("issue_comment", comment), Some(9));
        let issue = r#"{"issue":{"number":9},"comment":{}}"#;
        assert_eq!(pull_request_number_in("issue_comment", issue), None);
        let merge_group =
            r#"{"merge_group":{"head_ref":"refs/heads/gh-readonly-queue/main/pr-7-abc"}}"#;
        assert_eq!(pull_request_number_in("merge_group", merge_group), None);
        assert_eq!(
            pull_request_number_in("push", r#"{"ref":"refs/heads/main"}"#),
            None
        );
        assert_eq!(pull_request_number_in("pull_request", "not json"), None);
    }
}

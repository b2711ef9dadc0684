//! The generic webhook's body: one versioned JSON document for any receiver (a chat bridge,
//! an incident tool, an audit store).
//!
//! ```json
//! { "version": 1, "type": "pgkeel.notification",
//!   "event":  { "kind", "outcome", "title", "summary", "changed", "environment", "database",
//!               "duration_ms", "finished_at", "facts": [{label, value}],
//!               "lists": [{title, items}], "error": {message, hint, exit_code} | null },
//!   "run":    { "actor", "repository", "ref", "head_ref", "base_ref", "sha", "workflow",
//!               "run_id", "url" },          (only the keys that are known)
//!   "report": <the command's own --format json document, or null> }
//! ```
//!
//! `version` changes only when a key is removed or changes meaning; new keys may appear.

use serde_json::{json, Value};

use super::event::{rfc3339, Event};

/// Version of the webhook document.
pub const VERSION: u32 = 1;

pub fn render(event: &Event) -> Value {
    json!({
        "version": VERSION,
        "type": "pgkeel.notification",
        "event": {
            "kind": event.kind,
            "outcome": event.outcome,
            "title": event.title,
            "summary": event.summary,
            "changed": event.changed,
            "environment": event.environment,
            "database": event.database,
            "duration_ms": event.duration.map(|d| d.as_millis() as u64),
            "finished_at": rfc3339(event.finished_at),
            "facts": event.facts,
            "lists": event.lists,
            "error": event.failure,
        },
        "run": event.run,
        "report": event.document.clone().unwrap_or(Value::Null),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::notify::event::{Fact, Failure, Kind, List, Outcome, RunInfo};
    use std::time::{Duration, SystemTime};

    #[test]
    fn document_shape_is_stable() {
        let mut e = Event::new(Kind::Diff, Outcome::Warning, "Schema differences found");
        e.changed = true;
        e.duration = Some(Duration::from_millis(1500));
        e.finished_at = SystemTime::UNIX_EPOCH + Duration::from_secs(86_400);
        e.facts.push(Fact::new("Hazards", "1"));
        e.lists
            .push(List::new("Changes", vec!["added column t.c".into()]));
        e.document = Some(json!({ "version": 1, "command": "diff", "has_changes": true }));
        e.run = RunInfo {
            actor: Some("octocat".into()),
            ref_name: Some("main".into()),
            ..RunInfo::default()
        };
        let v = render(&e);
        assert_eq!(
            v,
            json!({
                "version": 1,
                "type": "pgkeel.notification",
                "event": {
                    "kind": "diff",
                    "outcome": "warning",
                    "title": "Schema differences found",
                    "summary": null,
                    "changed": true,
                    "environment": null,
                    "database": null,
                    "duration_ms": 1500,
                    "finished_at": "1970-01-02T00:00:00.000Z",
                    "facts": [{ "label": "Hazards", "value": "1" }],
                    "lists": [{ "title": "Changes", "items": ["added column t.c"] }],
                    "error": null,
                },
                "run": { "actor": "octocat", "ref": "main" },
                "report": { "version": 1, "command": "diff", "has_changes": true },
            })
        );
    }

    #[test]
    fn failure_carries_message_hint_and_exit_code() {
        let mut e = Event::new(Kind::Migrate, Outcome::Failure, "Migration failed");
        e.failure = Some(Failure {
            message: "boom".into(),
            hint: None,
            exit_code: 4,
        });
        let v = render(&e);
        assert_eq!(
            v["event"]["error"],
            json!({ "message": "boom", "exit_code": 4 })
        );
        assert_eq!(v["report"], Value::Null);
    }
}

//! The Slack message: Block Kit JSON for an incoming webhook. Pure: an [`Event`] in, a
//! `serde_json::Value` out, so the limits are unit-tested without a network.
//!
//! Layout: a header (emoji, title, environment); for a critical event a `<!channel>` line;
//! the summary; the facts as two-column fields; one section per list (changes, hazards,
//! applied migrations); the error; a context line with actor, branch, commit and a link to the
//! run. `text` is the plain fallback Slack shows in notifications.
//!
//! Slack's limits, enforced here: 50 blocks per message, 3,000 characters per section text,
//! 10 fields per section and 2,000 characters per field, 150 per header. Long lists are cut
//! with "… and N more" and a link to the run. Every piece of free text is escaped (`&`, `<`,
//! `>`), so a migration named `<!channel>` cannot ping anyone.

use serde_json::{json, Value};

use super::event::{Event, Fact, List, Outcome};

pub const MAX_BLOCKS: usize = 50;
pub const MAX_SECTION_TEXT: usize = 3000;
pub const MAX_FIELDS: usize = 10;
pub const MAX_FIELD_TEXT: usize = 2000;
pub const MAX_HEADER: usize = 150;
/// Items shown per list before "… and N more": a notification is a summary, the run has the rest.
pub const MAX_LIST_ITEMS: usize = 10;
/// Longest single list item or error shown.
const MAX_ITEM: usize = 300;
/// The fallback text: Slack allows 40,000, a notification needs far less.
const MAX_FALLBACK: usize = 3000;

/// The webhook payload for `event`.
pub fn render(event: &Event) -> Value {
    let critical = event.outcome == Outcome::Critical;
    let mut head = vec![json!({
        "type": "header",
        "text": {
            "type": "plain_text",
            "text": truncate(&event.headline(), MAX_HEADER),
            "emoji": true,
        }
    })];
    if critical {
        let what = event.summary.as_deref().unwrap_or(&event.title);
        head.push(section(&format!(
            "<!channel> *CRITICAL:* {} — verify immediately",
            escape(what)
        )));
    } else if let Some(summary) = &event.summary {
        head.push(section(&escape(summary)));
    }

    let mut facts = event.all_facts();
    if let Some(f) = &event.failure {
        facts.push(Fact::new("Exit code", f.exit_code.to_string()));
    }
    let mut body: Vec<Value> = facts.chunks(MAX_FIELDS).map(fields).collect();
    body.extend(
        event
            .lists
            .iter()
            .filter(|l| !l.items.is_empty())
            .map(|l| list(l, event.run.url.as_deref())),
    );

    let mut tail = Vec::new();
    if let Some(f) = &event.failure {
        // Cut after escaping, so the fence and the hint always fit in the section.
        let message = truncate(&escape(&f.message).replace("```", "` ` `"), 2400);
        let mut text = format!("*Error*\n```{message}```");
        if let Some(h) = &f.hint {
            text.push_str(&format!("\n_Hint:_ {}", truncate(&escape(h), 500)));
        }
        tail.push(section(&text));
    }
    if let Some(c) = context(event) {
        tail.push(c);
    }

    // Over 50 blocks: keep the head and tail, cut the body, and say so.
    let room = MAX_BLOCKS - head.len() - tail.len();
    if body.len() > room {
        let dropped = body.len() - (room - 1);
        body.truncate(room - 1);
        body.push(json!({
            "type": "context",
            "elements": [{ "type": "mrkdwn", "text": format!("… {dropped} more sections left out{}", see_run(event.run.url.as_deref())) }]
        }));
    }
    let mut blocks = head;
    blocks.extend(body);
    blocks.extend(tail);

    json!({ "text": fallback(event, critical), "blocks": blocks })
}

/// The notification text: what a phone's lock screen shows.
fn fallback(event: &Event, critical: bool) -> String {
    let mut text = String::new();
    if critical {
        text.push_str("<!channel> ");
    }
    text.push_str(&escape(&event.headline()));
    if let Some(s) = &event.summary {
        text.push_str(": ");
        text.push_str(&escape(s));
    }
    if let Some(f) = &event.failure {
        let first = f.message.lines().next().unwrap_or_default();
        text.push_str(" — ");
        text.push_str(&escape(&truncate(first, MAX_ITEM)));
    }
    truncate(&text, MAX_FALLBACK)
}

fn section(text: &str) -> Value {
    json!({
        "type": "section",
        "text": { "type": "mrkdwn", "text": non_empty(truncate(text, MAX_SECTION_TEXT)) }
    })
}

fn fields(facts: &[Fact]) -> Value {
    let fields: Vec<Value> = facts
        .iter()
        .map(|f| {
            let text = format!(
                "*{}*\n{}",
                escape(&truncate(&f.label, 100)),
                escape(&non_empty(f.value.clone()))
            );
            json!({ "type": "mrkdwn", "text": truncate(&text, MAX_FIELD_TEXT) })
        })
        .collect();
    json!({ "type": "section", "fields": fields })
}

/// `*Title* (N)` and bullet items, cut at [`MAX_LIST_ITEMS`] or the section limit.
fn list(list: &List, run_url: Option<&str>) -> Value {
    let total = list.items.len();
    let mut text = format!("*{}* ({total})", escape(&list.title));
    let mut shown = 0;
    for item in &list.items {
        let line = format!("\n• {}", escape(&truncate(item, MAX_ITEM)));
        let rest = total - shown - 1;
        // Leave room for the "and N more" line whenever something would follow.
        let reserve = if rest > 0 { 120 } else { 0 };
        if shown == MAX_LIST_ITEMS
            || text.chars().count() + line.chars().count() + reserve > MAX_SECTION_TEXT
        {
            break;
        }
        text.push_str(&line);
        shown += 1;
    }
    if shown < total {
        text.push_str(&format!(
            "\n_… and {} more{}_",
            total - shown,
            see_run(run_url)
        ));
    }
    section(&text)
}

fn see_run(url: Option<&str>) -> String {
    match url {
        Some(u) => format!(" — <{}|see the run>", escape(u)),
        None => String::new(),
    }
}

/// Actor, branch, commit, run link.
fn context(event: &Event) -> Option<Value> {
    let run = &event.run;
    let mut parts = Vec::new();
    if let Some(a) = &run.actor {
        parts.push(format!("by *{}*", escape(a)));
    }
    if let Some(b) = run.branch() {
        parts.push(format!("branch `{}`", escape(&b)));
    }
    if let Some(s) = run.short_sha() {
        parts.push(format!("commit `{}`", escape(s)));
    }
    if let Some(u) = &run.url {
        parts.push(format!("<{}|View run>", escape(u)));
    }
    if parts.is_empty() {
        return None;
    }
    Some(json!({
        "type": "context",
        "elements": [{ "type": "mrkdwn", "text": truncate(&parts.join(" · "), MAX_SECTION_TEXT) }]
    }))
}

/// Slack's three control characters; everything else is shown as written.
pub fn escape(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
}

/// At most `max` characters, ending in `…` when cut.
fn truncate(text: &str, max: usize) -> String {
    if text.chars().count() <= max {
        return text.to_string();
    }
    let mut out: String = text.chars().take(max.saturating_sub(1)).collect();
    // Never leave half an escape sequence (`&am`) at the cut.
    if let Some(i) = out.rfind('&') {
        if !out[i..].contains(';') {
            out.truncate(i);
        }
    }
    out.push('…');
    out
}

/// Slack rejects empty texts.
fn non_empty(text: String) -> String {
    if text.trim().is_empty() {
        "—".to_string()
    } else {
        text
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::notify::event::{Failure, Kind, RunInfo};
    use std::time::Duration;

    fn event() -> Event {
        let mut e = Event::new(Kind::Migrate, Outcome::Success, "Migrations applied");
        e.environment = Some("production".into());
        e.database = Some("shop".into());
        e.duration = Some(Duration::from_millis(45_200));
        e.summary = Some("2 migrations applied".into());
        e.facts.push(Fact::new("Applied", "2"));
        e.lists.push(List::new(
            "Applied migrations",
            vec!["0001_users".into(), "0002_email".into()],
        ));
        e.run = RunInfo {
            actor: Some("octocat".into()),
            ref_name: Some("main".into()),
            sha: Some("0123456789abcdef".into()),
            url: Some("https://github.com/acme/shop/actions/runs/42".into()),
            ..RunInfo::default()
        };
        e
    }

    fn texts(v: &Value) -> Vec<String> {
        let mut out = Vec::new();
        for b in v["blocks"].as_array().unwrap() {
            if let Some(t) = b["text"]["text"].as_str() {
                out.push(t.to_string());
            }
            for f in b["fields"].as_array().into_iter().flatten() {
                out.push(f["text"].as_str().unwrap().to_string());
            }
            for e in b["elements"].as_array().into_iter().flatten() {
                out.push(e["text"].as_str().unwrap_or_default().to_string());
            }
        }
        out
    }

    fn check_limits(v: &Value) {
        let blocks = v["blocks"].as_array().unwrap();
        assert!(blocks.len() <= MAX_BLOCKS, "{} blocks", blocks.len());
        for b in blocks {
            match b["type"].as_str().unwrap() {
                "header" => {
                    assert!(b["text"]["text"].as_str().unwrap().chars().count() <= MAX_HEADER)
                }
                "section" => {
                    if let Some(t) = b["text"]["text"].as_str() {
                        let n = t.chars().count();
                        assert!(n > 0 && n <= MAX_SECTION_TEXT, "section of {n} chars");
                    }
                    if let Some(f) = b["fields"].as_array() {
                        assert!(!f.is_empty() && f.len() <= MAX_FIELDS, "{} fields", f.len());
                        for x in f {
                            let n = x["text"].as_str().unwrap().chars().count();
                            assert!(n > 0 && n <= MAX_FIELD_TEXT, "field of {n} chars");
                        }
                    }
                }
                "context" => {}
                other => panic!("unexpected block type {other}"),
            }
        }
        assert!(v["text"].as_str().unwrap().chars().count() <= MAX_FALLBACK);
    }

    #[test]
    fn success_message_has_header_fields_list_and_run_context() {
        let v = render(&event());
        check_limits(&v);
        let blocks = v["blocks"].as_array().unwrap();
        assert_eq!(blocks[0]["type"], "header");
        assert_eq!(
            blocks[0]["text"]["text"],
            "✅ Migrations applied — production"
        );
        let t = texts(&v);
        assert!(
            t.contains(&"*Environment*\nproduction".to_string()),
            "{t:?}"
        );
        assert!(t.contains(&"*Database*\nshop".to_string()), "{t:?}");
        assert!(t.contains(&"*Duration*\n45.2s".to_string()), "{t:?}");
        assert!(t.contains(&"*Applied migrations* (2)\n• 0001_users\n• 0002_email".to_string()));
        let ctx = t.last().unwrap();
        assert!(ctx.contains("by *octocat*"), "{ctx}");
        assert!(
            ctx.contains("branch `main`") && ctx.contains("commit `0123456`"),
            "{ctx}"
        );
        assert!(ctx.contains("<https://github.com/acme/shop/actions/runs/42|View run>"));
        assert_eq!(
            v["text"],
            "✅ Migrations applied — production: 2 migrations applied"
        );
        assert!(!v["text"].as_str().unwrap().contains("<!channel>"));
    }

    #[test]
    fn failure_shows_the_error_hint_and_exit_code() {
        let mut e = event();
        e.outcome = Outcome::Failure;
        e.title = "Migration failed".into();
        e.failure = Some(Failure {
            message: "migrations/0002_broken.up.sql:6: column \"nosuch\" does not exist".into(),
            hint: Some("fix the migration".into()),
            exit_code: 4,
        });
        let v = render(&e);
        check_limits(&v);
        let t = texts(&v);
        assert!(t.iter().any(|s| s
            .starts_with("*Error*\n```migrations/0002_broken.up.sql:6: column \"nosuch\"")
            && s.ends_with("_Hint:_ fix the migration")));
        assert!(t.contains(&"*Exit code*\n4".to_string()), "{t:?}");
        let text = v["text"].as_str().unwrap();
        assert!(
            text.starts_with("❌ Migration failed — production"),
            "{text}"
        );
        assert!(text.contains("0002_broken.up.sql:6"), "{text}");
    }

    #[test]
    fn critical_mentions_the_channel_in_text_and_blocks() {
        let mut e = event();
        e.kind = Kind::Restore;
        e.outcome = Outcome::Critical;
        e.title = "Restore completed".into();
        e.summary = Some("DB RESTORE completed".into());
        let v = render(&e);
        assert!(v["text"].as_str().unwrap().starts_with("<!channel> 🚨"));
        assert_eq!(
            v["blocks"][1]["text"]["text"],
            "<!channel> *CRITICAL:* DB RESTORE completed — verify immediately"
        );
    }

    #[test]
    fn free_text_cannot_mention_or_link() {
        let mut e = event();
        e.lists[0]
            .items
            .push("<!channel> & <https://evil|click>".into());
        e.facts.push(Fact::new("Note", "<!here>"));
        let v = render(&e);
        let all = v.to_string();
        assert!(!all.contains("<!channel>"), "{all}");
        assert!(!all.contains("<!here>"), "{all}");
        assert!(all.contains("&lt;!channel&gt; &amp; &lt;https://evil|click&gt;"));
    }

    #[test]
    fn long_list_is_cut_with_and_n_more_and_a_link() {
        let mut e = event();
        e.lists = vec![List::new(
            "Changes",
            (0..500).map(|i| format!("added column t.c{i}")).collect(),
        )];
        let v = render(&e);
        check_limits(&v);
        let t = texts(&v);
        let list = t.iter().find(|s| s.starts_with("*Changes* (500)")).unwrap();
        assert_eq!(list.matches("\n• ").count(), MAX_LIST_ITEMS);
        assert!(
            list.ends_with(
                "_… and 490 more — <https://github.com/acme/shop/actions/runs/42|see the run>_"
            ),
            "{list}"
        );
    }

    #[test]
    fn huge_items_stay_within_the_section_limit() {
        let mut e = event();
        e.run.url = None;
        e.lists = vec![List::new("Hazards", vec!["x".repeat(5000); 40])];
        e.failure = Some(Failure {
            message: "&".repeat(10_000),
            hint: Some("<".repeat(2000)),
            exit_code: 1,
        });
        e.summary = Some("y".repeat(9000));
        e.facts.push(Fact::new("Long", "z".repeat(9000)));
        let v = render(&e);
        check_limits(&v);
        let t = texts(&v);
        let list = t.iter().find(|s| s.starts_with("*Hazards* (40)")).unwrap();
        assert!(list.ends_with("more_"), "{list}");
    }

    #[test]
    fn many_facts_and_lists_respect_fields_and_block_limits() {
        let mut e = event();
        e.facts = (0..35).map(|i| Fact::new(format!("f{i}"), "v")).collect();
        e.lists = (0..120)
            .map(|i| List::new(format!("list {i}"), vec!["a".into()]))
            .collect();
        e.outcome = Outcome::Failure;
        e.failure = Some(Failure {
            message: "boom".into(),
            hint: None,
            exit_code: 4,
        });
        let v = render(&e);
        check_limits(&v);
        let blocks = v["blocks"].as_array().unwrap();
        assert_eq!(blocks.len(), MAX_BLOCKS);
        // The error and the run context survive the cut; the note says what was left out.
        assert!(blocks[48]["text"]["text"]
            .as_str()
            .unwrap()
            .starts_with("*Error*"));
        assert_eq!(blocks[49]["type"], "context");
        let note = blocks[47]["elements"][0]["text"].as_str().unwrap();
        assert!(note.contains("more sections left out"), "{note}");
        // 35 facts + environment, database, duration and exit code: 39 fields in 4 sections.
        let field_sections = blocks.iter().filter(|b| b["fields"].is_array()).count();
        assert_eq!(field_sections, 4);
    }

    #[test]
    fn long_header_is_cut_to_150() {
        let mut e = event();
        e.title = "t".repeat(400);
        let v = render(&e);
        check_limits(&v);
        assert!(v["blocks"][0]["text"]["text"]
            .as_str()
            .unwrap()
            .ends_with('…'));
    }

    #[test]
    fn truncate_never_splits_an_escape() {
        let s = truncate(&escape("aaaa&bbb"), 7);
        assert_eq!(s, "aaaa…");
    }
}

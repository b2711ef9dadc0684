//! `pgkeel drift`: "No drift", or each drifted object (only in production, missing from
//! production, or modified), the SQL both ways, what the ignore rules took out, and a digest.

use std::io::{self, Write};

use super::actions::{self, DriftFacts, Publish, Step};
use super::diff::{mark, md_escape};
use super::{write_json, Format, Style};
use crate::commands::drift::Drift;
use crate::diff::Change;
use crate::error::Error;
use crate::github::{Annotation, Level};

/// Where a drifted object stands, read from expected → actual.
fn side(c: &Change) -> &'static str {
    match mark(c) {
        "➕" => "only in production",
        "➖" => "missing from production",
        _ => "modified in production",
    }
}

/// In GitHub Actions: the summary, outputs (`drifted`, `digest`, `report-path`, and
/// `issue-url` with `--open-issue`), an annotation when drift is found, the PR comment on pull
/// requests, and the drift issue: one comment and one issue per `key` (the target, no
/// password); `database` names it in the issue's title. Nothing elsewhere.
pub fn publish(
    publish: &Publish,
    key: &str,
    database: &str,
    result: Result<&Drift, &Error>,
    fail_on_drift: bool,
    report_path: String,
) -> Result<(), Error> {
    if !actions::in_actions() {
        return Ok(());
    }
    let step = match result {
        Ok(d) => {
            let mut md = Vec::new();
            markdown(d, &mut md).map_err(Error::Output)?;
            let drifted = !d.changes.is_empty();
            let annotations = if drifted {
                let level = if fail_on_drift {
                    Level::Error
                } else {
                    Level::Warning
                };
                vec![Annotation::new(
                    level,
                    format!(
                        "{} drifted object{} in {} (digest {}); the step summary has the SQL both ways",
                        d.changes.len(),
                        if d.changes.len() == 1 { "" } else { "s" },
                        d.target,
                        &d.digest[..16.min(d.digest.len())]
                    ),
                )
                .titled("schema drift")]
            } else {
                Vec::new()
            };
            Step {
                kind: "drift",
                key: key.to_string(),
                markdown: String::from_utf8_lossy(&md).into_owned(),
                outputs: vec![
                    ("drifted", drifted.to_string()),
                    ("digest", d.digest.clone()),
                    ("report-path", report_path),
                ],
                annotations,
                has_changes: drifted,
                failed: drifted && fail_on_drift,
                drift: Some(DriftFacts {
                    title: format!("Schema drift in database `{database}`"),
                    digest: d.digest.clone(),
                    drifted,
                }),
            }
        }
        Err(e) => Step {
            kind: "drift",
            key: key.to_string(),
            markdown: actions::failure_markdown("Drift check failed", e),
            outputs: vec![
                ("drifted", "false".into()),
                ("digest", String::new()),
                ("report-path", String::new()),
            ],
            annotations: vec![actions::failure_annotation(e)],
            has_changes: false,
            failed: true,
            // An error says nothing about drift: the issue is left as it is.
            drift: None,
        },
    };
    actions::publish(publish, step)
}

pub fn render(d: &Drift, format: Format, style: Style, out: &mut dyn Write) -> io::Result<()> {
    match format {
        Format::Json => json(d, out),
        Format::Markdown => markdown(d, out),
        Format::Sql => out.write_all(sql_file(d).as_bytes()),
        Format::Human => human(d, style, out),
    }
}

fn json(d: &Drift, out: &mut dyn Write) -> io::Result<()> {
    let drifted: Vec<serde_json::Value> = d
        .changes
        .iter()
        .map(|c| {
            serde_json::json!({
                "description": c.describe(),
                "where": side(c),
                "change": c,
            })
        })
        .collect();
    write_json(
        out,
        "drift",
        &serde_json::json!({
            "target": d.target,
            "expected": d.expected_label,
            "drift": !d.changes.is_empty(),
            "count": d.changes.len(),
            "digest": d.digest,
            "applied_migrations": d.applied,
            "pending_migrations": d.pending,
            "edited_migrations": d.edited,
            "drifted": drifted,
            "ignored": d.ignored,
            "sql_to_match_migrations": d.fix_sql,
            "sql_to_adopt_drift": d.adopt_sql,
            "not_migratable": d.fix_refused.iter().chain(&d.adopt_refused).map(ToString::to_string).collect::<Vec<_>>(),
        }),
    )
}

/// `drift.sql`: both scripts, commented so that running the file by mistake does nothing
/// surprising: the fix is live SQL, the adoption is commented out.
pub fn sql_file(d: &Drift) -> String {
    let mut s = String::new();
    s.push_str(&format!(
        "-- pgkeel drift: {} drifted object(s) in {} (digest {})\n",
        d.changes.len(),
        d.target,
        &d.digest[..16.min(d.digest.len())]
    ));
    if d.changes.is_empty() {
        s.push_str("-- no drift\n");
        return s;
    }
    s.push_str("\n-- Make production match the migrations (review first: it drops what exists only in\n-- production, and that may hold data):\n");
    s.push_str(if d.fix_sql.is_empty() {
        "-- (nothing the engine can write)\n"
    } else {
        &d.fix_sql
    });
    for r in &d.fix_refused {
        s.push_str(&format!("-- not migratable: {r}\n"));
    }
    s.push_str("\n-- Or adopt the drift: a new migration with these statements:\n");
    for line in d.adopt_sql.lines() {
        s.push_str("-- ");
        s.push_str(line);
        s.push('\n');
    }
    for r in &d.adopt_refused {
        s.push_str(&format!("-- not migratable: {r}\n"));
    }
    s
}

fn ignored_line(d: &Drift) -> Option<String> {
    let parts: Vec<String> = d
        .ignored
        .iter()
        .filter(|i| i.count > 0)
        .map(|i| format!("{} by {}", i.count, i.rule))
        .collect();
    (!parts.is_empty()).then(|| format!("ignored: {}", parts.join(", ")))
}

fn human(d: &Drift, st: Style, out: &mut dyn Write) -> io::Result<()> {
    writeln!(
        out,
        "{}",
        st.bold(&format!(
            "Drift check: {} vs {}",
            d.target, d.expected_label
        ))
    )?;
    if d.applied > 0 || d.pending > 0 {
        writeln!(
            out,
            "  {} applied migration{} replayed; {} pending (not drift)",
            d.applied,
            if d.applied == 1 { "" } else { "s" },
            d.pending
        )?;
    }
    for e in &d.edited {
        writeln!(
            out,
            "  {} {e} changed after it was applied; its current text was replayed",
            st.warn("!")
        )?;
    }
    if let Some(line) = ignored_line(d) {
        writeln!(out, "  {}", st.dim(&line))?;
    }
    if d.changes.is_empty() {
        return writeln!(out, "{} No drift", st.good("✓"));
    }
    writeln!(
        out,
        "{} {} drifted object{} (digest {})",
        st.bad("✗"),
        d.changes.len(),
        if d.changes.len() == 1 { "" } else { "s" },
        &d.digest[..16.min(d.digest.len())]
    )?;
    for c in &d.changes {
        writeln!(
            out,
            "  {} {} {}",
            mark(c),
            c.describe(),
            st.dim(&format!("({})", side(c)))
        )?;
    }
    writeln!(out, "\nTo make production match the migrations:")?;
    writeln!(out, "{}", indent(&d.fix_sql))?;
    writeln!(out, "To adopt the drift, add a migration with:")?;
    writeln!(out, "{}", indent(&d.adopt_sql))
}

fn indent(sql: &str) -> String {
    if sql.is_empty() {
        return "  (nothing the engine can write)".into();
    }
    sql.lines()
        .map(|l| format!("  {l}"))
        .collect::<Vec<_>>()
        .join("\n")
}

fn markdown(d: &Drift, out: &mut dyn Write) -> io::Result<()> {
    writeln!(out, "### Drift check: `{}`\n", d.target)?;
    if d.changes.is_empty() {
        writeln!(
            out,
            "**No drift ✅**: the live schema matches the {} applied migrations.",
            d.applied
        )?;
    } else {
        writeln!(
            out,
            "**Drift: {} object{} ❌** (digest `{}`)\n",
            d.changes.len(),
            if d.changes.len() == 1 { "" } else { "s" },
            &d.digest[..16.min(d.digest.len())]
        )?;
        writeln!(out, "| | object | where |\n|---|---|---|")?;
        for c in &d.changes {
            writeln!(
                out,
                "| {} | {} | {} |",
                mark(c),
                md_escape(&c.describe()),
                side(c)
            )?;
        }
        for (title, sql) in [
            ("SQL to make production match the migrations", &d.fix_sql),
            ("SQL for a migration that adopts the drift", &d.adopt_sql),
        ] {
            writeln!(
                out,
                "\n<details><summary>{title}</summary>\n\n```sql\n{sql}```\n\n</details>"
            )?;
        }
    }
    if let Some(line) = ignored_line(d) {
        writeln!(out, "\n<sub>{line}</sub>")?;
    }
    Ok(())
}

/// Fills the notification for a drift check.
pub fn notice(notice: &mut super::notice::Notice, d: &Drift) {
    use crate::notify::{Fact, List, Outcome};
    notice.changed = !d.changes.is_empty();
    notice.title = Some(if d.changes.is_empty() {
        "No drift".to_string()
    } else {
        format!(
            "Drift: {} object(s) differ from the migrations",
            d.changes.len()
        )
    });
    if !d.changes.is_empty() {
        notice.outcome = Some(Outcome::Warning);
    }
    for (label, value) in [
        ("Expected", d.expected_label.clone()),
        ("Drifted objects", d.changes.len().to_string()),
        ("Digest", d.digest[..16.min(d.digest.len())].to_string()),
        (
            "Ignored",
            d.ignored.iter().map(|i| i.count).sum::<usize>().to_string(),
        ),
    ] {
        notice.facts.push(Fact::new(label, value));
    }
    notice.lists.push(List::new(
        "Drift",
        d.changes
            .iter()
            .map(|c| format!("{} ({})", c.describe(), side(c)))
            .collect(),
    ));
    notice.document = super::notice::json_document(|buf| json(d, buf));
}

//! `pgkeel diff --migrations`: the PR preview. Markdown is what the diff action puts in the
//! step summary and the sticky PR comment; human is the same for a terminal; JSON is the
//! contract for scripts.

use std::io::{self, Write};

use serde::Serialize;

use super::actions::{self, Publish, Step};
use super::diff::{mark, md_escape, plural, summarize, verdict, verdict_line, Summary};
use super::{write_json, Format, Style};
use crate::analysis::rollback::Rollback;
use crate::commands::preview::{Finding, Preview};
use crate::diff::{Change, Class};
use crate::error::Error;
use crate::github::{Annotation, Level};
use crate::plan::Lock;

fn summary(p: &Preview) -> Summary {
    let changes: Vec<Change> = p.findings.iter().map(|f| f.change.clone()).collect();
    summarize(
        &p.before,
        &p.after,
        &changes,
        p.findings.iter().map(|f| f.class.class),
    )
}

fn lock_name(lock: Lock) -> &'static str {
    match lock {
        Lock::None => "no lock",
        Lock::AccessShare => "ACCESS SHARE",
        Lock::ShareUpdateExclusive => "SHARE UPDATE EXCLUSIVE",
        Lock::Share => "SHARE",
        Lock::ShareRowExclusive => "SHARE ROW EXCLUSIVE",
        Lock::AccessExclusive => "ACCESS EXCLUSIVE",
    }
}

fn location(f: &Finding) -> Option<String> {
    let path = f.path.as_deref()?;
    Some(match f.line {
        Some(l) => format!("{path}:{l}"),
        None => path.to_string(),
    })
}

/// "ACCESS EXCLUSIVE lock, rewrites the table"
fn impact(f: &Finding) -> String {
    if f.lock == Lock::None && !f.rewrites && !f.scans {
        return "no lock on existing tables".to_string();
    }
    let mut s = format!("{} lock", lock_name(f.lock));
    if f.rewrites {
        s.push_str(", rewrites the table");
    } else if f.scans {
        s.push_str(", scans the table");
    }
    s
}

fn tables_touched(p: &Preview) -> Vec<String> {
    let mut t: Vec<String> = p
        .findings
        .iter()
        .filter_map(|f| f.change.table().map(|t| t.to_string()))
        .collect();
    t.sort();
    t.dedup();
    t
}

/// In GitHub Actions: the summary, outputs (`has-changes`, `breaking`, `hazards`, `verdict`,
/// `report-path`), annotations on the migration lines behind breaking changes and hazards (or
/// the failure), and the sticky PR comment. Nothing elsewhere.
pub fn publish(
    publish: &Publish,
    key: String,
    result: Result<&Preview, &Error>,
    fails: bool,
    report_path: String,
) -> Result<(), Error> {
    if !actions::in_actions() {
        return Ok(());
    }
    let step = match result {
        Ok(p) => {
            let s = summary(p);
            let mut md = Vec::new();
            markdown(p, &mut md).map_err(Error::Output)?;
            let has_changes = !p.findings.is_empty();
            Step {
                kind: "diff",
                key,
                markdown: String::from_utf8_lossy(&md).into_owned(),
                outputs: vec![
                    ("has-changes", has_changes.to_string()),
                    ("breaking", s.breaking.to_string()),
                    ("hazards", s.hazards.to_string()),
                    ("verdict", verdict(&s).to_string()),
                    ("report-path", report_path),
                ],
                annotations: annotations(p),
                has_changes,
                failed: fails,
                drift: None,
            }
        }
        Err(e) => Step {
            kind: "diff",
            key,
            markdown: actions::failure_markdown(
                "pgkeel diff: the migrations could not be previewed",
                e,
            ),
            outputs: vec![
                ("has-changes", "false".into()),
                ("breaking", "0".into()),
                ("hazards", "0".into()),
                ("verdict", "failed".into()),
                ("report-path", String::new()),
            ],
            annotations: vec![actions::failure_annotation(e)],
            has_changes: false,
            failed: true,
            drift: None,
        },
    };
    actions::publish(publish, step)
}

/// Breaking changes as errors, then hazards as warnings, on the line that made them.
fn annotations(p: &Preview) -> Vec<Annotation> {
    let mut out = Vec::new();
    for (class, level, title) in [
        (Class::Breaking, Level::Error, "breaking change"),
        (Class::Hazard, Level::Warning, "hazard"),
    ] {
        for f in p.findings.iter().filter(|f| f.class.class == class) {
            let message = format!(
                "{}: {} ({})",
                f.change.describe(),
                f.class.reasons.join("; "),
                impact(f)
            );
            let a = Annotation::new(level, message).titled(title);
            out.push(match &f.path {
                Some(path) => a.at(path.clone(), f.line),
                None => a,
            });
        }
    }
    out
}

pub fn render(p: &Preview, format: Format, style: Style, out: &mut dyn Write) -> io::Result<()> {
    match format {
        Format::Json => json(p, out),
        Format::Markdown => markdown(p, out),
        Format::Human | Format::Sql => human(p, style, out),
    }
}

#[derive(Serialize)]
struct MigrationDoc<'a> {
    migration: String,
    path: &'a str,
    statements: usize,
    duration_ms: u128,
    transactional: bool,
    changes: Vec<String>,
    rollback: &'a Rollback,
    sql: &'a str,
}

#[derive(Serialize)]
struct FindingDoc<'a> {
    description: String,
    class: Class,
    reasons: &'a [String],
    #[serde(skip_serializing_if = "Option::is_none")]
    path: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    line: Option<usize>,
    lock: Lock,
    rewrites: bool,
    scans: bool,
    change: &'a Change,
}

fn json(p: &Preview, out: &mut dyn Write) -> io::Result<()> {
    let s = summary(p);
    let migrations: Vec<MigrationDoc> = p
        .replayed
        .iter()
        .zip(&p.rollbacks)
        .map(|(r, rollback)| MigrationDoc {
            migration: r.migration.label(),
            path: &r.migration.up.path,
            statements: r.statements,
            duration_ms: r.duration.as_millis(),
            transactional: r.transactional,
            changes: r.changes.iter().map(Change::describe).collect(),
            rollback,
            sql: &r.migration.up.sql,
        })
        .collect();
    let findings: Vec<FindingDoc> = p
        .findings
        .iter()
        .map(|f| FindingDoc {
            description: f.change.describe(),
            class: f.class.class,
            reasons: &f.class.reasons,
            path: f.path.as_deref(),
            line: f.line,
            lock: f.lock,
            rewrites: f.rewrites,
            scans: f.scans,
            change: &f.change,
        })
        .collect();
    write_json(
        out,
        "diff",
        &serde_json::json!({
            "mode": "migrations",
            "base": p.base_label,
            "head": p.head_label,
            "tool": p.tool.map(|t| t.name()),
            "sandbox_server_major": p.sandbox_major,
            "verdict": verdict(&s),
            "summary": s,
            "tables_touched": tables_touched(p),
            "new_migrations": migrations,
            "changes": findings,
            "edited_migrations": p.edited,
            "removed_migrations": p.removed,
            "command": p.command.as_ref().map(|(c, d)| serde_json::json!({"command": c, "duration_ms": d.as_millis()})),
        }),
    )
}

fn class_label(c: Class) -> &'static str {
    match c {
        Class::Safe => "safe",
        Class::Hazard => "⚠️ hazard",
        Class::Breaking => "❌ breaking",
    }
}

fn fence(sql: &str) -> &'static str {
    if sql.contains("```") {
        "~~~~"
    } else {
        "```"
    }
}

fn headline(p: &Preview) -> String {
    match &p.command {
        Some((c, _)) => format!("`{c}` against {}", p.base_label),
        None => format!(
            "{} new migration{} against {}",
            p.replayed.len(),
            if p.replayed.len() == 1 { "" } else { "s" },
            p.base_label
        ),
    }
}

fn markdown(p: &Preview, out: &mut dyn Write) -> io::Result<()> {
    let s = summary(p);
    writeln!(out, "### pgkeel diff: {}", md_escape(&headline(p)))?;
    writeln!(out)?;
    writeln!(out, "**{}**", verdict_line(&s))?;
    writeln!(out)?;
    if !p.replayed.is_empty() {
        let names: Vec<String> = p
            .replayed
            .iter()
            .map(|r| format!("`{}`", r.migration.up.path))
            .collect();
        writeln!(out, "New migrations: {}  ", names.join(", "))?;
    }
    let tables = tables_touched(p);
    if !tables.is_empty() {
        let t: Vec<String> = tables.iter().map(|t| format!("`{t}`")).collect();
        writeln!(out, "Tables touched: {}", t.join(", "))?;
    }
    writeln!(out)?;
    writeln!(
        out,
        "| identical tables | changed | added | removed | breaking | hazards |\n|---:|---:|---:|---:|---:|---:|\n| {} | {} | {} | {} | {} | {} |",
        s.tables_identical, s.tables_changed, s.tables_added, s.tables_removed, s.breaking, s.hazards
    )?;
    for e in &p.edited {
        writeln!(out, "\n> ⚠️ `{e}` was already applied on the base and this PR changes it: a changed migration does not run again; add a new one.")?;
    }
    for r in &p.removed {
        writeln!(
            out,
            "\n> ⚠️ `{r}` exists on the base and this PR removes it."
        )?;
    }
    writeln!(out)?;
    if p.findings.is_empty() {
        writeln!(out, "No schema changes.")?;
    } else {
        writeln!(out, "#### Schema changes\n")?;
        writeln!(
            out,
            "| | change | class | where | lock |\n|---|---|---|---|---|"
        )?;
        for f in &p.findings {
            writeln!(
                out,
                "| {} | {} | {} | {} | {} |",
                mark(&f.change),
                md_escape(&f.change.describe()),
                class_label(f.class.class),
                location(f).map(|l| format!("`{l}`")).unwrap_or_default(),
                md_escape(&impact(f)),
            )?;
        }
        for (title, class) in [
            ("Breaking changes", Class::Breaking),
            ("Hazards", Class::Hazard),
        ] {
            let items: Vec<&Finding> = p
                .findings
                .iter()
                .filter(|f| f.class.class == class)
                .collect();
            if items.is_empty() {
                continue;
            }
            writeln!(out, "\n#### {title}\n")?;
            for f in items {
                writeln!(
                    out,
                    "- **{}**{}: {} ({})",
                    md_escape(&f.change.describe()),
                    location(f)
                        .map(|l| format!(" at `{l}`"))
                        .unwrap_or_default(),
                    md_escape(&f.class.reasons.join("; ")),
                    impact(f)
                )?;
            }
        }
    }
    if !p.rollbacks.is_empty() {
        writeln!(out, "\n#### Rollback plan\n")?;
        for (r, rb) in p.replayed.iter().zip(&p.rollbacks) {
            let label = r.migration.label();
            match rb {
                Rollback::Down { path, checked, ok } => {
                    let check = match (ok, checked) {
                        (Some(true), Some(c)) => format!(" ✅ {}", md_escape(c)),
                        (Some(false), Some(c)) => format!(" ❌ {}", md_escape(c)),
                        _ => " (not checked; `--check-down` runs it in the sandbox)".to_string(),
                    };
                    writeln!(out, "- `{label}`: its down migration `{path}`{check}")?;
                }
                Rollback::Generated { sql, data_loss } => {
                    let loss = if data_loss.is_empty() {
                        "no data is lost".to_string()
                    } else {
                        format!("**loses data**: {}", md_escape(&data_loss.join("; ")))
                    };
                    let f = fence(sql);
                    writeln!(
                        out,
                        "- `{label}`: no down migration; reverse SQL generated by pgkeel ({loss})\n  <details><summary>reverse SQL</summary>\n\n{f}sql\n{}{f}\n\n  </details>",
                        if sql.is_empty() { "-- nothing to undo\n" } else { sql }
                    )?;
                }
                Rollback::RestoreBackup { reasons } => {
                    writeln!(
                        out,
                        "- `{label}`: cannot be reversed automatically ({}); restore from the pre-deploy backup",
                        md_escape(&reasons.join("; "))
                    )?;
                }
            }
        }
    }
    if !p.replayed.is_empty() {
        writeln!(out, "\n#### Migrations\n")?;
        for r in &p.replayed {
            let f = fence(&r.migration.up.sql);
            writeln!(
                out,
                "<details><summary><code>{}</code>: {} {}, {} ms in the sandbox{}</summary>\n\n{f}sql\n{}{}{f}\n\n</details>\n",
                r.migration.up.path,
                r.statements,
                plural(r.statements, "statement", "statements"),
                r.duration.as_millis(),
                if r.transactional { "" } else { ", outside a transaction" },
                r.migration.up.sql.trim_start_matches('\u{feff}'),
                if r.migration.up.sql.ends_with('\n') { "" } else { "\n" },
            )?;
        }
    }
    if let Some((_, d)) = &p.command {
        writeln!(
            out,
            "\nThe command took {} ms in the sandbox.",
            d.as_millis()
        )?;
    }
    writeln!(
        out,
        "\n<sub>Replayed by pgkeel in a throwaway PostgreSQL {}; no real database was touched.</sub>",
        p.sandbox_major
    )
}

fn human(p: &Preview, st: Style, out: &mut dyn Write) -> io::Result<()> {
    let s = summary(p);
    writeln!(out, "{}", st.bold(&format!("pgkeel diff: {}", headline(p))))?;
    writeln!(out, "═══════════════════════════════════════════════")?;
    for r in &p.replayed {
        writeln!(
            out,
            "  {} {} {}",
            st.good("+"),
            r.migration.up.path,
            st.dim(&format!(
                "({} {}, {} ms{})",
                r.statements,
                plural(r.statements, "statement", "statements"),
                r.duration.as_millis(),
                if r.transactional {
                    ""
                } else {
                    ", no transaction"
                }
            ))
        )?;
    }
    for e in &p.edited {
        writeln!(
            out,
            "  {} {e} changes a migration the base already has",
            st.warn("!")
        )?;
    }
    for r in &p.removed {
        writeln!(out, "  {} {r} is removed", st.warn("!"))?;
    }
    writeln!(out)?;
    writeln!(
        out,
        "✅ {} {} unchanged, {} changed, {} added, {} removed",
        s.tables_identical,
        plural(s.tables_identical, "table", "tables"),
        s.tables_changed,
        s.tables_added,
        s.tables_removed
    )?;
    if !p.findings.is_empty() {
        writeln!(out, "\nCHANGES:")?;
        for f in &p.findings {
            let tag = match f.class.class {
                Class::Safe => String::new(),
                Class::Hazard => format!(" {}", st.warn("[hazard]")),
                Class::Breaking => format!(" {}", st.bad("[breaking]")),
            };
            writeln!(
                out,
                "  {} {}{tag}{}",
                mark(&f.change),
                f.change.describe(),
                st.dim(&location(f).map(|l| format!("  {l}")).unwrap_or_default())
            )?;
            if f.class.class != Class::Safe {
                for r in &f.class.reasons {
                    writeln!(out, "      - {r} ({})", impact(f))?;
                }
            }
        }
    }
    if !p.rollbacks.is_empty() {
        writeln!(out, "\nROLLBACK PLAN:")?;
        for (r, rb) in p.replayed.iter().zip(&p.rollbacks) {
            let line = match rb {
                Rollback::Down { path, checked, .. } => format!(
                    "down migration {path}{}",
                    checked
                        .as_ref()
                        .map(|c| format!(": {c}"))
                        .unwrap_or_default()
                ),
                Rollback::Generated { data_loss, .. } if data_loss.is_empty() => {
                    "generated reverse SQL (see --format markdown or json)".to_string()
                }
                Rollback::Generated { data_loss, .. } => {
                    format!(
                        "generated reverse SQL, loses data: {}",
                        data_loss.join("; ")
                    )
                }
                Rollback::RestoreBackup { reasons } => {
                    format!("restore the pre-deploy backup ({})", reasons.join("; "))
                }
            };
            writeln!(out, "  {}: {line}", r.migration.label())?;
        }
    }
    writeln!(out, "\nRECOMMENDATION: {}", verdict_line(&s))
}

/// Fills the notification for a PR preview.
pub fn notice(notice: &mut super::notice::Notice, p: &Preview) {
    use crate::notify::{Fact, List, Outcome};
    let s = summary(p);
    notice.changed = !p.findings.is_empty();
    notice.title = Some(headline(p));
    notice.summary = Some(verdict_line(&s));
    if s.breaking > 0 || s.hazards > 0 {
        notice.outcome = Some(Outcome::Warning);
    }
    for (label, value) in [
        ("Base", p.base_label.clone()),
        ("New migrations", p.replayed.len().to_string()),
        ("Tables modified", s.tables_changed.to_string()),
        ("Tables added", s.tables_added.to_string()),
        ("Breaking", s.breaking.to_string()),
        ("Hazards", s.hazards.to_string()),
    ] {
        notice.facts.push(Fact::new(label, value));
    }
    notice.lists.push(List::new(
        "Changes",
        p.findings
            .iter()
            .map(|f| match location(f) {
                Some(l) => format!("{} ({l})", f.change.describe()),
                None => f.change.describe(),
            })
            .collect(),
    ));
    notice.document = super::notice::json_document(|buf| json(p, buf));
}

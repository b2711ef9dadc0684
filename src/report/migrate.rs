//! `pgkeel status` and `pgkeel migrate`: the state of each migration, what ran, what a dry run
//! would run, and what command mode changed.

use std::io::{self, Write};
use std::time::Duration;

use serde::Serialize;

use super::{write_json, Format, Style};
use crate::commands::Context;
use crate::migrations::apply::{ApplyError, Direction, Done, Preview};
use crate::migrations::command::CommandRun;
use crate::migrations::status::{Entry, State};

#[derive(Serialize)]
struct EntryJson<'a> {
    version: String,
    name: &'a str,
    state: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    path: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    applied_at: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    applied_by: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    recorded_checksum: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    file_checksum: Option<&'a str>,
}

fn count(entries: &[Entry], state: &str) -> usize {
    entries.iter().filter(|e| e.state.name() == state).count()
}

pub fn status(
    entries: &[Entry],
    tool: crate::migrations::Format,
    table: &str,
    ctx: &Context,
    out: &mut dyn Write,
) -> io::Result<()> {
    if ctx.format == Format::Json {
        let list: Vec<EntryJson> = entries
            .iter()
            .map(|e| {
                let (recorded, file) = match &e.state {
                    State::Edited { recorded, on_disk } => {
                        (Some(recorded.as_str()), Some(on_disk.as_str()))
                    }
                    _ => (None, None),
                };
                EntryJson {
                    version: e.version.to_string(),
                    name: &e.name,
                    state: e.state.name(),
                    path: e.path.as_deref(),
                    applied_at: e.applied_at.as_deref(),
                    applied_by: e.applied_by.as_deref(),
                    recorded_checksum: recorded,
                    file_checksum: file,
                }
            })
            .collect();
        let summary: serde_json::Map<String, serde_json::Value> = [
            "applied",
            "pending",
            "dirty",
            "edited",
            "missing",
            "out-of-order",
        ]
        .into_iter()
        .map(|s| (s.to_string(), count(entries, s).into()))
        .collect();
        return write_json(
            out,
            "status",
            &serde_json::json!({
                "tool": tool.name(),
                "history_table": table,
                "summary": summary,
                "migrations": list,
            }),
        );
    }
    let s = ctx.style;
    writeln!(
        out,
        "{} migrations ({}, history in {table})",
        s.bold(&entries.len().to_string()),
        tool.name()
    )?;
    for e in entries {
        let mark = match e.state {
            State::Applied => s.good("applied     "),
            State::Pending => s.warn("pending     "),
            _ => s.bad(&format!("{:<12}", e.state.name())),
        };
        let label = if e.name.is_empty() {
            e.version.to_string()
        } else {
            format!("{}_{}", e.version, e.name)
        };
        let when = e
            .applied_at
            .as_deref()
            .map(|a| s.dim(&format!("  {a}")))
            .unwrap_or_default();
        writeln!(out, "  {mark} {label}{when}")?;
        if let State::Edited { recorded, on_disk } = &e.state {
            writeln!(out, "               recorded {recorded}")?;
            writeln!(out, "               file now {on_disk}")?;
        }
    }
    let pending = count(entries, "pending") + count(entries, "out-of-order");
    writeln!(
        out,
        "{} applied, {} pending{}",
        count(entries, "applied"),
        pending,
        match entries.iter().filter(|e| e.state.is_conflict()).count() {
            0 => String::new(),
            n => format!(", {}", s.bad(&format!("{n} need attention"))),
        }
    )
}

#[derive(Serialize)]
struct DoneJson<'a> {
    migration: &'a str,
    path: &'a str,
    direction: &'static str,
    duration_ms: u128,
    statements: usize,
    transactional: bool,
}

fn direction(d: Direction) -> &'static str {
    match d {
        Direction::Up => "up",
        Direction::Down => "down",
    }
}

pub fn applied(
    done: &[Done],
    total: Duration,
    ctx: &Context,
    out: &mut dyn Write,
) -> io::Result<()> {
    if ctx.format == Format::Json {
        let list: Vec<DoneJson> = done
            .iter()
            .map(|d| DoneJson {
                migration: &d.label,
                path: &d.path,
                direction: direction(d.direction),
                duration_ms: d.duration.as_millis(),
                statements: d.statements,
                transactional: d.transactional,
            })
            .collect();
        return write_json(
            out,
            "migrate",
            &serde_json::json!({ "ran": list, "duration_ms": total.as_millis() }),
        );
    }
    let s = ctx.style;
    if done.is_empty() {
        return writeln!(
            out,
            "{} nothing to do: the database is up to date",
            s.good("✓")
        );
    }
    for d in done {
        writeln!(
            out,
            "{} {} {} {}",
            s.good("✓"),
            if d.direction == Direction::Up {
                "applied "
            } else {
                "reverted"
            },
            d.label,
            s.dim(&format!(
                "({} statement{}, {} ms{})",
                d.statements,
                if d.statements == 1 { "" } else { "s" },
                d.duration.as_millis(),
                if d.transactional {
                    ""
                } else {
                    ", no transaction"
                }
            ))
        )?;
    }
    writeln!(
        out,
        "{} migration{} {} in {} ms",
        done.len(),
        if done.len() == 1 { "" } else { "s" },
        if done[0].direction == Direction::Up {
            "applied"
        } else {
            "reverted"
        },
        total.as_millis()
    )
}

pub fn dry_run(
    plan: &[(String, String, Preview)],
    down: bool,
    ctx: &Context,
    out: &mut dyn Write,
) -> io::Result<()> {
    if ctx.format == Format::Json {
        let list: Vec<serde_json::Value> = plan
            .iter()
            .map(|(label, path, p)| {
                serde_json::json!({
                    "migration": label,
                    "path": path,
                    "statements": p.statements,
                    "transactional": p.alone.is_none(),
                    "why_not_transactional": p.alone,
                })
            })
            .collect();
        return write_json(
            out,
            "migrate",
            &serde_json::json!({ "dry_run": true, "direction": if down { "down" } else { "up" }, "would_run": list }),
        );
    }
    let s = ctx.style;
    if plan.is_empty() {
        return writeln!(out, "{} nothing to do (dry run)", s.good("✓"));
    }
    writeln!(
        out,
        "Dry run: would {} {} migration{}; nothing was changed.",
        if down { "revert" } else { "apply" },
        plan.len(),
        if plan.len() == 1 { "" } else { "s" }
    )?;
    for (label, path, p) in plan {
        writeln!(
            out,
            "  {label}  {}",
            s.dim(&format!(
                "{path}, {} statement{}",
                p.statements,
                if p.statements == 1 { "" } else { "s" }
            ))
        )?;
        if let Some(why) = &p.alone {
            writeln!(out, "    {} statement by statement: {why}", s.warn("!"))?;
        }
    }
    Ok(())
}

pub fn resolved(
    label: &str,
    before: &str,
    applied: bool,
    ctx: &Context,
    out: &mut dyn Write,
) -> io::Result<()> {
    let now = if applied { "applied" } else { "rolled back" };
    if ctx.format == Format::Json {
        return write_json(
            out,
            "migrate",
            &serde_json::json!({ "resolved": label, "was": before, "now": now }),
        );
    }
    writeln!(
        out,
        "{} {label}: {before} → recorded as {now}",
        ctx.style.good("✓")
    )
}

pub fn command(
    command: &str,
    _run: &CommandRun,
    elapsed: Duration,
    changes: &[String],
    ctx: &Context,
    out: &mut dyn Write,
) -> io::Result<()> {
    if ctx.format == Format::Json {
        return write_json(
            out,
            "migrate",
            &serde_json::json!({
                "command": command,
                "duration_ms": elapsed.as_millis(),
                "schema_changes": changes,
            }),
        );
    }
    let s = ctx.style;
    writeln!(
        out,
        "{} `{command}` finished in {} ms",
        s.good("✓"),
        elapsed.as_millis()
    )?;
    schema_changes(changes, s, out)
}

/// After a failed command, what it changed anyway (on stderr: stdout is for results).
pub fn command_failed(changes: &[String], ctx: &Context) -> io::Result<()> {
    let mut err = io::stderr().lock();
    schema_changes(changes, ctx.style, &mut err)
}

fn schema_changes(changes: &[String], s: Style, out: &mut dyn Write) -> io::Result<()> {
    if changes.is_empty() {
        return writeln!(out, "  schema unchanged");
    }
    writeln!(out, "  schema changes ({}):", changes.len())?;
    for c in changes {
        writeln!(out, "    {} {c}", s.dim("•"))?;
    }
    Ok(())
}

/// What `migrate up|down` tells its notification: what ran, and where it stopped.
pub fn notice(
    notice: &mut super::notice::Notice,
    done: &[Done],
    total: Duration,
    down: bool,
    error: Option<&ApplyError>,
) {
    use crate::notify::{Fact, List};
    let verb = if down { "reverted" } else { "applied" };
    let n = done.len();
    let plural = if n == 1 { "" } else { "s" };
    notice.changed = n > 0;
    notice.title = Some(if n == 0 {
        "Database up to date".to_string()
    } else if down {
        "Migrations reverted".to_string()
    } else {
        "Migrations applied".to_string()
    });
    notice.summary = Some(match (error, n) {
        (None, 0) => "Nothing to do: every migration is applied.".to_string(),
        (None, _) => format!("{n} migration{plural} {verb}."),
        (Some(_), 0) => format!("No migration {verb}: the first one failed."),
        (Some(_), _) => format!("{n} migration{plural} {verb} before the failure."),
    });
    notice.facts.push(Fact::new(
        if down { "Reverted" } else { "Applied" },
        n.to_string(),
    ));
    if let Some(e) = error {
        let (label, location) = match e {
            ApplyError::Statement {
                label, path, line, ..
            }
            | ApplyError::InvalidIndex {
                label, path, line, ..
            } => (Some(label.as_str()), Some(format!("{path}:{line}"))),
            ApplyError::Split { path, line, .. } => (None, Some(format!("{path}:{line}"))),
            ApplyError::NotTransactional { path, .. } => (None, Some(path.clone())),
            ApplyError::History(_) => (None, None),
        };
        if let Some(l) = label {
            notice.facts.push(Fact::new("Failed migration", l));
        }
        if let Some(l) = location {
            notice.facts.push(Fact::new("Failed at", l));
        }
    }
    if n > 0 {
        notice.lists.push(List::new(
            if down {
                "Reverted migrations"
            } else {
                "Applied migrations"
            },
            done.iter()
                .map(|d| {
                    format!(
                        "{} ({} statement{}, {} ms)",
                        d.label,
                        d.statements,
                        if d.statements == 1 { "" } else { "s" },
                        d.duration.as_millis()
                    )
                })
                .collect(),
        ));
    }
    let ctx = Context::of(Format::Json);
    notice.document = super::notice::json_document(|out| applied(done, total, &ctx, out));
}

/// What a dry run tells its notification: nothing changed.
pub fn notice_dry_run(
    notice: &mut super::notice::Notice,
    plan: &[(String, String, Preview)],
    down: bool,
) {
    let n = plan.len();
    notice.title = Some("Dry run".into());
    notice.summary = Some(format!(
        "Would {} {n} migration{}; nothing was changed.",
        if down { "revert" } else { "apply" },
        if n == 1 { "" } else { "s" }
    ));
    notice.lists.push(crate::notify::List::new(
        "Would run",
        plan.iter().map(|(label, _, _)| label.clone()).collect(),
    ));
    let ctx = Context::of(Format::Json);
    notice.document = super::notice::json_document(|out| dry_run(plan, down, &ctx, out));
}

/// What command mode tells its notification: the command and the schema changes it made
/// (`run` is `None` when the command failed).
pub fn notice_command(
    notice: &mut super::notice::Notice,
    command_line: &str,
    run: Option<&CommandRun>,
    elapsed: Duration,
    changes: &[String],
) {
    use crate::notify::{Fact, List};
    notice.changed = !changes.is_empty();
    notice.title = Some("Migration command finished".into());
    notice.summary = Some(match changes.len() {
        0 => "The schema is unchanged.".to_string(),
        n => format!("{n} schema change{}.", if n == 1 { "" } else { "s" }),
    });
    notice.facts.push(Fact::new("Command", command_line));
    notice
        .facts
        .push(Fact::new("Schema changes", changes.len().to_string()));
    if !changes.is_empty() {
        notice
            .lists
            .push(List::new("Schema changes", changes.to_vec()));
    }
    if let Some(run) = run {
        let ctx = Context::of(Format::Json);
        notice.document = super::notice::json_document(|out| {
            command(command_line, run, elapsed, changes, &ctx, out)
        });
    }
}

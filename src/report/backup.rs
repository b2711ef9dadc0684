//! Reports of `backup`, `backup list` and `restore`: human text, one JSON document, or markdown
//! (`backup` and `restore`: the step summary inside GitHub Actions).

use std::io::{self, Write};

use serde::Serialize;

use super::progress::bytes;
use super::{write_json, Format};
use crate::backup::id::{human_age, Stamp};
use crate::backup::manifest::{Manifest, Status};
use crate::commands::restore::Restored;
use crate::commands::Context;
use crate::storage::Location;

fn seconds(ms: u64) -> String {
    format!("{:.1} s", ms as f64 / 1000.0)
}

fn dump_sha(m: &Manifest) -> &str {
    m.dump_sha256()
        .unwrap_or("(directory: one checksum per file in the manifest)")
}

pub fn created(
    m: &Manifest,
    location: &str,
    pruned: &[String],
    dry_run: bool,
    ctx: &Context,
    out: &mut dyn Write,
) -> io::Result<()> {
    if ctx.format == Format::Json {
        #[derive(Serialize)]
        struct Doc<'a> {
            location: &'a str,
            manifest: &'a Manifest,
            retention: Retention<'a>,
        }
        #[derive(Serialize)]
        struct Retention<'a> {
            dry_run: bool,
            deleted: &'a [String],
        }
        return write_json(
            out,
            "backup",
            &Doc {
                location,
                manifest: m,
                retention: Retention {
                    dry_run,
                    deleted: pruned,
                },
            },
        );
    }
    if ctx.format == Format::Markdown {
        return created_markdown(m, location, pruned, dry_run, out);
    }
    let s = ctx.style;
    let status = match m.status {
        Status::Verified => s.good("verified"),
        Status::Unverified => s.warn("not verified"),
        Status::Failed => s.bad("verification failed"),
    };
    writeln!(out, "Backup {} ({status})", s.bold(&m.id))?;
    writeln!(out, "  where     {location}")?;
    writeln!(
        out,
        "  size      {} ({}, {} compression)",
        bytes(m.size),
        m.format.name(),
        m.compression
    )?;
    writeln!(out, "  sha256    {}", dump_sha(m))?;
    let rows: i64 = m.row_counts.values().sum();
    writeln!(
        out,
        "  contents  {rows} rows in {} tables, schema {}",
        m.row_counts.len(),
        &m.schema_fingerprint[..12.min(m.schema_fingerprint.len())]
    )?;
    writeln!(
        out,
        "  source    PostgreSQL {}, pg_dump {}",
        m.server_version, m.pg_dump_version
    )?;
    writeln!(out, "  dumped in {}", seconds(m.duration_ms))?;
    match (&m.verification.mode[..], m.verification.restore_ms) {
        ("restore", Some(ms)) => writeln!(
            out,
            "  restore   verified in {} into {}",
            seconds(ms),
            m.verification
                .restored_into
                .as_deref()
                .unwrap_or("a throwaway server")
        )?,
        ("list", _) => writeln!(out, "  verified  pg_restore --list")?,
        _ => writeln!(out, "  verified  no (--verify none)")?,
    }
    if !pruned.is_empty() {
        let verb = if dry_run { "would delete" } else { "deleted" };
        writeln!(
            out,
            "Retention {verb} {}: {}",
            pruned.len(),
            pruned.join(", ")
        )?;
    } else if dry_run {
        writeln!(out, "Retention would delete nothing")?;
    }
    Ok(())
}

pub fn list(
    all: &[Manifest],
    from: &Location,
    now: Stamp,
    ctx: &Context,
    out: &mut dyn Write,
) -> io::Result<()> {
    let age = |m: &Manifest| Stamp::parse_rfc3339(&m.started_at).map(|t| t.until(now).as_secs());
    if ctx.format == Format::Json {
        #[derive(Serialize)]
        struct Item<'a> {
            id: &'a str,
            started_at: &'a str,
            size: u64,
            server_version: &'a str,
            status: Status,
            kind: crate::backup::manifest::Kind,
            age_seconds: Option<u64>,
            location: String,
        }
        #[derive(Serialize)]
        struct Doc<'a> {
            from: String,
            backups: Vec<Item<'a>>,
        }
        let backups = all
            .iter()
            .map(|m| Item {
                id: &m.id,
                started_at: &m.started_at,
                size: m.size,
                server_version: &m.server_version,
                status: m.status,
                kind: m.kind,
                age_seconds: age(m),
                location: from.child(&m.id).to_string(),
            })
            .collect();
        return write_json(
            out,
            "backup list",
            &Doc {
                from: from.to_string(),
                backups,
            },
        );
    }
    if all.is_empty() {
        return writeln!(out, "No backups in {from}");
    }
    let s = ctx.style;
    let width = all.iter().map(|m| m.id.len()).max().unwrap_or(2).max(2);
    writeln!(
        out,
        "{:<width$}  {:<20}  {:>9}  {:<8}  {:<12}  AGE",
        "ID", "TIME (UTC)", "SIZE", "SERVER", "STATUS"
    )?;
    for m in all {
        let status = match (m.status, m.kind) {
            (Status::Verified, crate::backup::manifest::Kind::Safety) => "verified*",
            (Status::Verified, _) => "verified",
            (Status::Unverified, _) => "unverified",
            (Status::Failed, _) => "FAILED",
        };
        let painted = match m.status {
            Status::Verified => s.good(&format!("{status:<12}")),
            Status::Unverified => s.warn(&format!("{status:<12}")),
            Status::Failed => s.bad(&format!("{status:<12}")),
        };
        writeln!(
            out,
            "{:<width$}  {:<20}  {:>9}  {:<8}  {painted}  {}",
            m.id,
            m.started_at,
            bytes(m.size),
            m.server_version.split_whitespace().next().unwrap_or(""),
            age(m)
                .map(|a| human_age(std::time::Duration::from_secs(a)))
                .unwrap_or_default()
        )?;
    }
    if all
        .iter()
        .any(|m| m.kind == crate::backup::manifest::Kind::Safety)
    {
        writeln!(
            out,
            "* safety backup taken by `pgkeel restore` before it changed a database"
        )?;
    }
    Ok(())
}

pub fn restored(r: &Restored, ctx: &Context, out: &mut dyn Write) -> io::Result<()> {
    if ctx.format == Format::Json {
        #[derive(Serialize)]
        struct Doc<'a> {
            id: &'a str,
            from: &'a str,
            target: &'a str,
            strategy: &'a str,
            safety_backup: Option<&'a str>,
            safety_backup_id: Option<&'a str>,
            verified: bool,
            tables: usize,
            rows: i64,
            migrations_applied: &'a [String],
            previous_database: Option<&'a str>,
            duration_ms: u64,
        }
        return write_json(
            out,
            "restore",
            &Doc {
                id: &r.id,
                from: &r.from,
                target: &r.target,
                strategy: r.strategy.name(),
                safety_backup: r.safety.as_deref(),
                safety_backup_id: r.safety_id.as_deref(),
                verified: true,
                tables: r.tables,
                rows: r.rows,
                migrations_applied: &r.migrations,
                previous_database: r.old_database.as_deref(),
                duration_ms: r.duration.as_millis() as u64,
            },
        );
    }
    if ctx.format == Format::Markdown {
        return restored_markdown(r, out);
    }
    let s = ctx.style;
    writeln!(
        out,
        "Restored {} into {} ({})",
        s.bold(&r.id),
        r.target,
        r.strategy.name()
    )?;
    writeln!(out, "  from       {}", r.from)?;
    match &r.safety {
        Some(at) => writeln!(out, "  safety     {at}")?,
        None => writeln!(out, "  safety     none (--no-safety-backup)")?,
    }
    writeln!(
        out,
        "  verified   {} rows in {} tables and the schema match the manifest",
        r.rows, r.tables
    )?;
    if !r.migrations.is_empty() {
        writeln!(
            out,
            "  migrations {} applied: {}",
            r.migrations.len(),
            r.migrations.join(", ")
        )?;
    }
    if let Some(old) = &r.old_database {
        writeln!(
            out,
            "  previous   kept as database `{old}` (drop it when satisfied)"
        )?;
    }
    writeln!(
        out,
        "  took       {}",
        seconds(r.duration.as_millis() as u64)
    )
}

/// `text` as a table cell's code span: pipes escaped, one line, no backtick to end it early.
fn cell(text: &str) -> String {
    format!("`{}`", super::diff::md_escape(&text.replace('`', "'")))
}

fn created_markdown(
    m: &Manifest,
    location: &str,
    pruned: &[String],
    dry_run: bool,
    out: &mut dyn Write,
) -> io::Result<()> {
    let status = match m.status {
        Status::Verified => "✅ verified",
        Status::Unverified => "⚠️ not verified",
        Status::Failed => "❌ verification failed",
    };
    writeln!(out, "### pgkeel backup {}: {status}\n", cell(&m.id))?;
    writeln!(out, "| | |\n|---|---|")?;
    writeln!(out, "| Where | {} |", cell(location))?;
    writeln!(
        out,
        "| Size | {} ({}, {} compression) |",
        bytes(m.size),
        m.format.name(),
        m.compression
    )?;
    writeln!(out, "| SHA-256 of the dump | {} |", cell(dump_sha(m)))?;
    let rows: i64 = m.row_counts.values().sum();
    writeln!(
        out,
        "| Contents | {rows} rows in {} tables, schema {} |",
        m.row_counts.len(),
        cell(&m.schema_fingerprint[..12.min(m.schema_fingerprint.len())])
    )?;
    writeln!(
        out,
        "| Source | PostgreSQL {}, pg_dump {} |",
        super::diff::md_escape(&m.server_version),
        super::diff::md_escape(&m.pg_dump_version)
    )?;
    writeln!(out, "| Dumped in | {} |", seconds(m.duration_ms))?;
    let verified = match (&m.verification.mode[..], m.verification.restore_ms) {
        ("restore", Some(ms)) => format!(
            "restored in {} into {}",
            seconds(ms),
            super::diff::md_escape(
                m.verification
                    .restored_into
                    .as_deref()
                    .unwrap_or("a throwaway server")
            )
        ),
        ("list", _) => "`pg_restore --list` read every entry".to_string(),
        _ => "no (`verify: none`)".to_string(),
    };
    writeln!(out, "| Verification | {verified} |")?;
    for problem in &m.verification.problems {
        writeln!(out, "| Problem | {} |", super::diff::md_escape(problem))?;
    }
    if !pruned.is_empty() || dry_run {
        let verb = if dry_run { "would delete" } else { "deleted" };
        let list: Vec<String> = pruned.iter().map(|p| cell(p)).collect();
        writeln!(
            out,
            "| Retention | {verb} {}{}{} |",
            pruned.len(),
            if list.is_empty() { "" } else { ": " },
            list.join(", ")
        )?;
    }
    Ok(())
}

fn restored_markdown(r: &Restored, out: &mut dyn Write) -> io::Result<()> {
    writeln!(
        out,
        "### pgkeel restore: {} into {} ✅\n",
        cell(&r.id),
        cell(&r.target)
    )?;
    writeln!(out, "| | |\n|---|---|")?;
    writeln!(out, "| From | {} |", cell(&r.from))?;
    writeln!(out, "| Strategy | {} |", r.strategy.name())?;
    match (&r.safety_id, &r.safety) {
        (Some(id), Some(at)) => writeln!(
            out,
            "| Safety backup | {} at {} (restore it to undo) |",
            cell(id),
            cell(at)
        )?,
        _ => writeln!(out, "| Safety backup | none (`--no-safety-backup`) |")?,
    }
    writeln!(
        out,
        "| Verified | {} rows in {} tables and the schema match the backup's manifest |",
        r.rows, r.tables
    )?;
    if !r.migrations.is_empty() {
        let list: Vec<String> = r.migrations.iter().map(|m| cell(m)).collect();
        writeln!(
            out,
            "| Migrations applied | {}: {} |",
            r.migrations.len(),
            list.join(", ")
        )?;
    }
    if let Some(old) = &r.old_database {
        writeln!(
            out,
            "| Previous database | kept as {} (drop it when satisfied) |",
            cell(old)
        )?;
    }
    writeln!(out, "| Took | {} |", seconds(r.duration.as_millis() as u64))
}

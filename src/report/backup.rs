//! Reports of `backup`, `backup list` and `restore`: human text or one JSON document.

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
    m.files
        .iter()
        .find(|f| f.name == m.dump)
        .map(|f| f.sha256.as_str())
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
                verified: true,
                tables: r.tables,
                rows: r.rows,
                migrations_applied: &r.migrations,
                previous_database: r.old_database.as_deref(),
                duration_ms: r.duration.as_millis() as u64,
            },
        );
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

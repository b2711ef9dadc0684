//! `pgkeel check`: the connection preflight.

use std::io::{self, Write};

use super::{write_json, Format, Style};
use crate::pg::probe::ServerFacts;

pub fn render(
    facts: &ServerFacts,
    format: Format,
    style: Style,
    out: &mut dyn Write,
) -> io::Result<()> {
    match format {
        Format::Json => write_json(out, "check", facts),
        _ => human(facts, style, out),
    }
}

fn yes_no(v: bool, yes: &str, no: &str) -> String {
    if v {
        yes.into()
    } else {
        no.into()
    }
}

fn human(f: &ServerFacts, s: Style, out: &mut dyn Write) -> io::Result<()> {
    writeln!(out, "{} connected to {}", s.good("✓"), f.target)?;
    writeln!(
        out,
        "  {}   PostgreSQL {} (server_version_num {})",
        s.bold("server"),
        f.server.version,
        f.server.version_num
    )?;
    writeln!(out, "  {} {}", s.bold("database"), f.database)?;
    let mut powers = Vec::new();
    if f.user.superuser {
        powers.push("superuser");
    }
    if f.user.create_db || f.user.superuser {
        powers.push("can create databases");
    } else {
        powers.push("cannot create databases");
    }
    if f.user.create_role {
        powers.push("can create roles");
    }
    writeln!(
        out,
        "  {}     {} ({})",
        s.bold("user"),
        f.user.name,
        powers.join(", ")
    )?;
    writeln!(
        out,
        "  {}     {}",
        s.bold("role"),
        if f.in_recovery {
            s.warn("standby (read-only): migrations cannot run here")
        } else {
            "primary (read-write)".to_string()
        }
    )?;
    let tls = if !f.tls.in_use {
        let text = format!("not in use (sslmode={})", f.tls.sslmode.as_str());
        if f.target.contains("127.0.0.1")
            || f.target.contains("localhost")
            || f.target.contains("?host=/")
        {
            text
        } else {
            s.warn(&text)
        }
    } else {
        let what = format!(
            "{} {}",
            f.tls.protocol.as_deref().unwrap_or("TLS"),
            f.tls.cipher.as_deref().unwrap_or("")
        );
        let verified = if f.tls.hostname_verified {
            s.good("certificate and host name verified")
        } else if f.tls.certificate_verified {
            s.good("certificate verified") + " (host name not checked)"
        } else {
            s.warn("certificate not verified")
        };
        format!(
            "{}, {verified} (sslmode={})",
            what.trim_end(),
            f.tls.sslmode.as_str()
        )
    };
    writeln!(out, "  {}      {tls}", s.bold("tls"))?;
    for (i, schema) in f.schemas.iter().enumerate() {
        let label = if i == 0 {
            s.bold("schemas")
        } else {
            " ".repeat(7)
        };
        let text = if !schema.exists {
            s.bad(&format!("{}: does not exist", schema.name))
        } else {
            let owner = schema.owner.as_deref().unwrap_or("?");
            format!(
                "{}: owner {}{}, {}, {}",
                schema.name,
                owner,
                if schema.owned_by_you { " (you)" } else { "" },
                yes_no(schema.usage, "usage", "no usage"),
                yes_no(schema.create, "create", "no create"),
            )
        };
        writeln!(out, "  {label}  {text}")?;
    }
    writeln!(
        out,
        "  {}  connect {:.2} ms, round trip {:.2} ms (median of 5)",
        s.bold("latency"),
        f.latency.connect_ms,
        f.latency.round_trip_ms
    )?;
    Ok(())
}

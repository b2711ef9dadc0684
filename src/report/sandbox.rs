//! `pgkeel sandbox start|status|stop`.

use std::io::{self, Write};

use serde::Serialize;

use super::{write_json, Format, Style};
use crate::sandbox::registry::Entry;

/// One sandbox as shown to the user.
#[derive(Debug, Serialize)]
pub struct SandboxView<'a> {
    pub name: &'a str,
    pub url: &'a str,
    pub running: bool,
    pub pid: u32,
    pub port: u16,
    pub pg_version: &'a str,
    pub data_dir: String,
    pub log_file: String,
    /// Whether `sandbox stop` deletes the data.
    pub throwaway: bool,
}

impl<'a> SandboxView<'a> {
    pub fn new(e: &'a Entry, running: bool) -> Self {
        SandboxView {
            name: &e.name,
            url: &e.url,
            running,
            pid: e.server.pid,
            port: e.server.port,
            pg_version: &e.server.version,
            data_dir: e.server.data_dir.display().to_string(),
            log_file: e.server.log_file.display().to_string(),
            throwaway: e.server.remove_on_stop,
        }
    }
}

/// `sandbox start`: the URL alone on stdout in human mode, so `$(pgkeel sandbox start)` works.
pub fn started(view: &SandboxView<'_>, format: Format, out: &mut dyn Write) -> io::Result<()> {
    match format {
        Format::Json => write_json(out, "sandbox start", view),
        _ => writeln!(out, "{}", view.url),
    }
}

#[derive(Serialize)]
struct StatusDoc<'a> {
    sandboxes: &'a [SandboxView<'a>],
}

pub fn status(
    views: &[SandboxView<'_>],
    format: Format,
    style: Style,
    out: &mut dyn Write,
) -> io::Result<()> {
    if format == Format::Json {
        return write_json(out, "sandbox status", &StatusDoc { sandboxes: views });
    }
    if views.is_empty() {
        return writeln!(out, "no sandboxes (start one with `pgkeel sandbox start`)");
    }
    for v in views {
        let state = if v.running {
            style.good("running")
        } else {
            style.bad("not running")
        };
        writeln!(
            out,
            "{}  {state}  PostgreSQL {}  {}",
            style.bold(v.name),
            v.pg_version,
            v.url
        )?;
        writeln!(
            out,
            "    pid {}  data {}{}  log {}",
            v.pid,
            v.data_dir,
            if v.throwaway {
                " (deleted on stop)"
            } else {
                ""
            },
            v.log_file
        )?;
    }
    Ok(())
}

pub fn stopped(view: &SandboxView<'_>, format: Format, out: &mut dyn Write) -> io::Result<()> {
    match format {
        Format::Json => write_json(out, "sandbox stop", view),
        _ => writeln!(
            out,
            "stopped sandbox `{}`{}",
            view.name,
            if view.throwaway {
                " and deleted its data".to_string()
            } else {
                format!(" (data kept in {})", view.data_dir)
            }
        ),
    }
}

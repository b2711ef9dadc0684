//! The only place that renders. Every renderer writes to any `io::Write`, so output is testable;
//! JSON documents carry `"version": 1` and are a contract (see the tests that guard them).
//!
//! stdout gets the result only; progress and logs go to stderr (see `cli`).

pub mod actions;
pub mod backup;
pub mod check;
pub mod diff;
pub mod drift;
pub mod migrate;
pub mod notice;
pub mod preview;
pub mod progress;
pub mod sandbox;

use std::io::{self, Write};

use serde::Serialize;

/// Output formats. Not every command supports every format; commands validate.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    Human,
    Json,
    Markdown,
    Sql,
}

impl Format {
    pub fn name(self) -> &'static str {
        match self {
            Format::Human => "human",
            Format::Json => "json",
            Format::Markdown => "markdown",
            Format::Sql => "sql",
        }
    }
}

/// Version of every JSON document pgkeel prints.
pub const JSON_VERSION: u32 = 1;

/// Terminal styling, off unless the caller decided colour is wanted.
#[derive(Debug, Clone, Copy, Default)]
pub struct Style {
    pub color: bool,
}

impl Style {
    fn paint(self, style: anstyle::Style, text: &str) -> String {
        if self.color {
            format!("{}{text}{}", style.render(), style.render_reset())
        } else {
            text.to_string()
        }
    }

    pub fn good(self, text: &str) -> String {
        self.paint(anstyle::AnsiColor::Green.on_default().bold(), text)
    }

    pub fn warn(self, text: &str) -> String {
        self.paint(anstyle::AnsiColor::Yellow.on_default().bold(), text)
    }

    pub fn bad(self, text: &str) -> String {
        self.paint(anstyle::AnsiColor::Red.on_default().bold(), text)
    }

    pub fn dim(self, text: &str) -> String {
        self.paint(anstyle::Style::new().dimmed(), text)
    }

    pub fn bold(self, text: &str) -> String {
        self.paint(anstyle::Style::new().bold(), text)
    }
}

/// Writes `{"version": 1, "command": <command>, ...body}` and a newline.
pub fn write_json<T: Serialize>(out: &mut dyn Write, command: &str, body: &T) -> io::Result<()> {
    let mut value = serde_json::to_value(body).map_err(io::Error::other)?;
    let object = match value.as_object_mut() {
        Some(o) => std::mem::take(o),
        None => {
            let mut m = serde_json::Map::new();
            m.insert("result".into(), value);
            m
        }
    };
    let mut doc = serde_json::Map::new();
    doc.insert("version".into(), JSON_VERSION.into());
    doc.insert("command".into(), command.into());
    doc.extend(object);
    serde_json::to_writer_pretty(&mut *out, &serde_json::Value::Object(doc))
        .map_err(io::Error::other)?;
    writeln!(out)
}

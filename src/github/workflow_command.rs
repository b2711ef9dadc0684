//! Workflow commands: the `::name props::data` lines the runner reads from a step's stdout and
//! stderr, and the defences against text we print being read as one.
//!
//! The runner (actions/runner `ActionCommandManager`) splits output into lines at `\n`, `\r`
//! or `\r\n`; a line is a command when, after leading whitespace, it starts with `::` (the
//! current syntax) or when it contains `##[` anywhere (the legacy one). Both are honoured on
//! either stream, so any line of untrusted text — SQL, object names, file names, server
//! messages — could add a mask, forge an annotation, or stop command processing for the rest
//! of the job. Two defences:
//!
//! - [`fence`]: `::stop-commands::<token>` before and `::<token>::` after a block, with a fresh
//!   random token the text cannot know; used for the reports on stdout.
//! - [`neutralize`]: rewrites only the lines that would parse (a zero-width space after the
//!   first `:` or `#`), for streams where a fence cannot be held open safely (stderr logs,
//!   written while stdout may be fenced: the runner keeps one stop state for both streams).

use std::io::{self, Write};
use std::sync::{Mutex, OnceLock};

/// GitHub shows at most 10 annotations of each level per step.
pub const MAX_PER_LEVEL: usize = 10;

/// Breaks a command marker without changing how the text reads.
const BREAK: char = '\u{200B}';

/// Escapes a command's data (`%`, CR, LF), as actions/toolkit `escapeData` does.
pub fn escape_data(s: &str) -> String {
    s.replace('%', "%25")
        .replace('\r', "%0D")
        .replace('\n', "%0A")
}

/// Escapes a property value: the data escapes plus `:` and `,`, which end a property.
pub fn escape_property(s: &str) -> String {
    escape_data(s).replace(':', "%3A").replace(',', "%2C")
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Level {
    Error,
    Warning,
    Notice,
}

impl Level {
    pub fn name(self) -> &'static str {
        match self {
            Level::Error => "error",
            Level::Warning => "warning",
            Level::Notice => "notice",
        }
    }
}

/// An annotation on a file and line of the PR (or on the run, without a file).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Annotation {
    pub level: Level,
    pub file: Option<String>,
    pub line: Option<usize>,
    pub title: Option<String>,
    pub message: String,
}

impl Annotation {
    pub fn new(level: Level, message: impl Into<String>) -> Annotation {
        Annotation {
            level,
            file: None,
            line: None,
            title: None,
            message: message.into(),
        }
    }

    pub fn at(mut self, file: impl Into<String>, line: Option<usize>) -> Annotation {
        self.file = Some(file.into());
        self.line = line;
        self
    }

    pub fn titled(mut self, title: impl Into<String>) -> Annotation {
        self.title = Some(title.into());
        self
    }

    /// The command line, without the newline.
    pub fn command(&self) -> String {
        let mut props = Vec::new();
        if let Some(f) = &self.file {
            props.push(format!("file={}", escape_property(f)));
        }
        if let Some(l) = self.line {
            props.push(format!("line={l}"));
        }
        if let Some(t) = &self.title {
            props.push(format!("title={}", escape_property(t)));
        }
        let props = if props.is_empty() {
            String::new()
        } else {
            format!(" {}", props.join(","))
        };
        format!(
            "::{}{props}::{}",
            self.level.name(),
            escape_data(&self.message)
        )
    }
}

/// The first [`MAX_PER_LEVEL`] annotations of each level, in the order given (callers put the
/// most important first); the rest belong in the summary.
pub fn limit(annotations: Vec<Annotation>) -> Vec<Annotation> {
    let mut counts = [0usize; 3];
    annotations
        .into_iter()
        .filter(|a| {
            let n = &mut counts[a.level as usize];
            *n += 1;
            *n <= MAX_PER_LEVEL
        })
        .collect()
}

/// `::add-mask::` lines for a secret: the value, and each of its lines on its own (the runner
/// masks line by line, so a multi-line secret would otherwise show in pieces).
pub fn add_mask(secret: &str) -> Vec<String> {
    let mut values = vec![secret.to_string()];
    if secret.contains(['\n', '\r']) {
        values.extend(
            secret
                .split(['\n', '\r'])
                .filter(|l| l.trim().len() >= 3)
                .map(str::to_string),
        );
    }
    values
        .iter()
        .map(|v| format!("::add-mask::{}", escape_data(v)))
        .collect()
}

/// The lines of `text` as the runner splits them (`\r\n`, `\n` or a lone `\r`).
fn runner_lines(text: &str) -> impl Iterator<Item = &str> {
    text.split('\n').flat_map(|l| l.split('\r'))
}

/// True when the runner would read `line` as a workflow command.
pub fn parses_as_command(line: &str) -> bool {
    line.trim_start().starts_with("::") || line.contains("##[")
}

/// True when any line of `text` would be read as a workflow command.
pub fn contains_command(text: &str) -> bool {
    runner_lines(text).any(parses_as_command)
}

/// `text` with every line the runner would read as a command made inert; other text is
/// unchanged. Line breaks are kept as they were.
pub fn neutralize(text: &str) -> String {
    if !contains_command(text) {
        return text.to_string();
    }
    let mut out = String::with_capacity(text.len() + 16);
    let mut line = String::new();
    let flush = |line: &mut String, out: &mut String| {
        let mut l = std::mem::take(line).replace("##[", &format!("#{BREAK}#["));
        let lead = l.len() - l.trim_start().len();
        if l[lead..].starts_with("::") {
            l.insert(lead + 1, BREAK);
        }
        out.push_str(&l);
    };
    for c in text.chars() {
        if c == '\n' || c == '\r' {
            flush(&mut line, &mut out);
            out.push(c);
        } else {
            line.push(c);
        }
    }
    flush(&mut line, &mut out);
    out
}

/// A fresh `::stop-commands::` token.
pub fn stop_token() -> String {
    format!("pgkeel-{}", super::random_hex(16))
}

/// `text` between `::stop-commands::<token>` and `::<token>::`, so the runner reads none of it
/// as a command. Ends with a newline.
pub fn fence(text: &str) -> String {
    let token = stop_token();
    let mut s = String::with_capacity(text.len() + 2 * token.len() + 24);
    s.push_str("::stop-commands::");
    s.push_str(&token);
    s.push('\n');
    s.push_str(text);
    if !text.ends_with('\n') {
        s.push('\n');
    }
    s.push_str("::");
    s.push_str(&token);
    s.push_str("::\n");
    s
}

/// Secrets already announced with `::add-mask::` by this process (once per value is enough).
fn announced() -> &'static Mutex<Vec<String>> {
    static ANNOUNCED: OnceLock<Mutex<Vec<String>>> = OnceLock::new();
    ANNOUNCED.get_or_init(|| Mutex::new(Vec::new()))
}

/// Writes `::add-mask::` for every registered secret (and its percent-encoded form) not yet
/// announced, to `w` (stderr in practice).
pub fn mask_new_secrets(w: &mut dyn Write) -> io::Result<()> {
    let mut done = announced().lock().unwrap_or_else(|e| e.into_inner());
    for secret in crate::secret::registered() {
        let encoded =
            percent_encoding::utf8_percent_encode(&secret, percent_encoding::NON_ALPHANUMERIC)
                .to_string();
        for value in [secret, encoded] {
            if done.contains(&value) {
                continue;
            }
            for line in add_mask(&value) {
                writeln!(w, "{line}")?;
            }
            done.push(value);
        }
    }
    w.flush()
}

/// A stderr writer for logs that neutralizes what it writes (see [`neutralize`]).
#[derive(Debug, Clone, Copy, Default)]
pub struct NeutralStderr;

impl Write for NeutralStderr {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        let text = String::from_utf8_lossy(buf);
        io::stderr()
            .lock()
            .write_all(neutralize(&text).as_bytes())?;
        Ok(buf.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        io::stderr().flush()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn annotation_properties_and_data_are_escaped() {
        let a = Annotation::new(Level::Error, "100% bad\nline two")
            .at("db/mig,rations/a:b.sql", Some(3))
            .titled("breaking: drop, column");
        assert_eq!(
            a.command(),
            "::error file=db/mig%2Crations/a%3Ab.sql,line=3,title=breaking%3A drop%2C column::100%25 bad%0Aline two"
        );
        assert_eq!(
            Annotation::new(Level::Warning, "x").command(),
            "::warning::x"
        );
    }

    #[test]
    fn at_most_ten_per_level_in_order() {
        let mut all = Vec::new();
        for i in 0..15 {
            all.push(Annotation::new(Level::Error, format!("e{i}")));
            all.push(Annotation::new(Level::Warning, format!("w{i}")));
        }
        let kept = limit(all);
        assert_eq!(kept.len(), 20);
        assert_eq!(kept[0].message, "e0");
        assert!(kept.iter().all(|a| !a.message.ends_with("14")));
    }

    #[test]
    fn masks_cover_multiline_secrets() {
        assert_eq!(add_mask("s3cr%t"), ["::add-mask::s3cr%25t"]);
        let lines = add_mask("first-part\nsecond-part");
        assert_eq!(
            lines,
            [
                "::add-mask::first-part%0Asecond-part",
                "::add-mask::first-part",
                "::add-mask::second-part"
            ]
        );
    }

    #[test]
    fn neutralized_text_has_no_command_left_and_reads_the_same() {
        let hostile =
            "ok line\n  ::add-mask::x\r::error::y\nselect '##[set-output name=a;]b'\r\nend";
        assert!(contains_command(hostile));
        let safe = neutralize(hostile);
        assert!(!contains_command(&safe), "{safe:?}");
        assert_eq!(safe.replace(BREAK, ""), hostile);
        assert_eq!(neutralize("plain: text"), "plain: text");
    }

    #[test]
    fn fences_use_a_fresh_token_around_the_text() {
        let a = fence("::add-mask::x");
        let b = fence("y\n");
        let token = a
            .lines()
            .next()
            .and_then(|l| l.strip_prefix("::stop-commands::"))
            .expect("stop line")
            .to_string();
        assert!(token.len() > 20);
        assert!(a.ends_with(&format!("::{token}::\n")));
        assert!(!b.contains(&token));
        assert!(b.contains("\ny\n::"));
    }
}

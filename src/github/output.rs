//! Step outputs: `name<<DELIMITER` / value / `DELIMITER` appended to `$GITHUB_OUTPUT`, with a
//! random delimiter per value so no value — a path, a verdict, a digest, whatever text ends up
//! there — can end its own heredoc early and set another output.

use std::io::Write;
use std::path::Path;

/// Output names as GitHub accepts them: letters, digits, `-` and `_`, starting with a letter
/// or `_`.
fn valid_name(name: &str) -> bool {
    name.chars()
        .next()
        .is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
}

/// The text appended for `outputs`.
pub fn encode(outputs: &[(&str, String)]) -> Result<String, OutputError> {
    let mut text = String::new();
    for (name, value) in outputs {
        if !valid_name(name) {
            return Err(OutputError::Name(name.to_string()));
        }
        // A delimiter that occurs in the value would end it early; draw again (vanishingly
        // rare with 128 random bits, but the check is what makes it a guarantee).
        let delimiter = loop {
            let d = format!("ghadelimiter_{}", super::random_hex(16));
            if !value.contains(&d) {
                break d;
            }
        };
        text.push_str(&format!("{name}<<{delimiter}\n{value}\n{delimiter}\n"));
    }
    Ok(text)
}

/// Appends `outputs` to the outputs file at `path`.
pub fn append(path: &Path, outputs: &[(&str, String)]) -> Result<(), OutputError> {
    let text = encode(outputs)?;
    let mut f = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(path)
        .map_err(|e| OutputError::Write {
            path: path.display().to_string(),
            source: e,
        })?;
    f.write_all(text.as_bytes())
        .map_err(|e| OutputError::Write {
            path: path.display().to_string(),
            source: e,
        })
}

#[derive(Debug, thiserror::Error)]
pub enum OutputError {
    #[error("`{0}` is not a valid step output name")]
    Name(String),
    #[error("cannot write the step's outputs to {path}: {source}")]
    Write {
        path: String,
        source: std::io::Error,
    },
}

impl OutputError {
    pub fn hint(&self) -> Option<String> {
        match self {
            OutputError::Name(_) => None,
            OutputError::Write { .. } => Some(
                "GITHUB_OUTPUT must name a writable file; the runner sets it for every step".into(),
            ),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn values_cannot_break_out_of_their_heredoc() {
        let hostile = "x\nEOF\nverdict<<EOF\nsafe\nEOF".to_string();
        let text = encode(&[
            ("report-path", hostile.clone()),
            ("verdict", "breaking".into()),
        ])
        .expect("encode");
        let mut lines = text.lines();
        let first = lines.next().expect("line");
        let delim = first.strip_prefix("report-path<<").expect("heredoc");
        assert!(delim.starts_with("ghadelimiter_") && delim.len() > 40);
        let value: Vec<&str> = lines.by_ref().take_while(|l| *l != delim).collect();
        assert_eq!(value.join("\n"), hostile);
        assert!(lines
            .next()
            .expect("next")
            .starts_with("verdict<<ghadelimiter_"));
    }

    #[test]
    fn names_are_checked() {
        assert!(encode(&[("has-changes", "true".into())]).is_ok());
        assert!(encode(&[("bad name", "x".into())]).is_err());
        assert!(encode(&[("x<<EOF", "x".into())]).is_err());
    }
}

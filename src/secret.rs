//! Secrets: a wrapper type whose `Debug`/`Display` never show the value, and a process-wide
//! registry of secret strings that every outward-facing writer scrubs before printing.
//!
//! Typed redaction (`ConnSpec`'s Display) is the first line of defence; the registry is the
//! second, for text we do not control (server error messages, child-process output).

use std::fmt;
use std::sync::{Mutex, OnceLock};

/// Shown in place of a secret.
pub const MASK: &str = "***";

/// A secret value (password, token, webhook URL). Never printed.
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(String);

impl Secret {
    /// Wraps `value` and registers it so free text containing it is scrubbed too.
    pub fn new(value: impl Into<String>) -> Self {
        let value = value.into();
        register(&value);
        Secret(value)
    }

    /// The raw value, for handing to a library or child process; never for output.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(MASK)
    }
}

impl fmt::Display for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(MASK)
    }
}

fn registry() -> &'static Mutex<Vec<String>> {
    static REGISTRY: OnceLock<Mutex<Vec<String>>> = OnceLock::new();
    REGISTRY.get_or_init(|| Mutex::new(Vec::new()))
}

/// Remembers `value` as secret. Very short values are ignored: masking every "a" in a report
/// would destroy it while protecting nothing.
pub fn register(value: &str) {
    if value.len() < 3 {
        return;
    }
    let mut secrets = registry().lock().unwrap_or_else(|e| e.into_inner());
    if !secrets.iter().any(|s| s == value) {
        secrets.push(value.to_string());
        // Longest first, so a secret containing another is masked whole.
        secrets.sort_by_key(|s| std::cmp::Reverse(s.len()));
    }
}

/// Every registered secret, for `::add-mask::` and similar.
pub fn registered() -> Vec<String> {
    registry().lock().unwrap_or_else(|e| e.into_inner()).clone()
}

/// `text` with every registered secret (raw or percent-encoded) replaced by [`MASK`].
pub fn scrub(text: &str) -> String {
    let secrets = registry().lock().unwrap_or_else(|e| e.into_inner());
    let mut out = text.to_string();
    for secret in secrets.iter() {
        if out.contains(secret.as_str()) {
            out = out.replace(secret.as_str(), MASK);
        }
        let encoded =
            percent_encoding::utf8_percent_encode(secret, percent_encoding::NON_ALPHANUMERIC)
                .to_string();
        if encoded != *secret && out.contains(encoded.as_str()) {
            out = out.replace(encoded.as_str(), MASK);
        }
    }
    out
}

/// How untrusted text (a child process's output, say) must be shown, set once by the entry
/// point for its environment: inside GitHub Actions, lines the runner would read as workflow
/// commands are made inert. Domain code calls [`for_display`] and knows nothing of CI.
static DISPLAY_FILTER: OnceLock<fn(&str) -> String> = OnceLock::new();

/// Sets the filter [`for_display`] applies (first call wins).
pub fn set_display_filter(filter: fn(&str) -> String) {
    let _ = DISPLAY_FILTER.set(filter);
}

/// Untrusted `text`, scrubbed of secrets and made safe for the log it is shown in.
pub fn for_display(text: &str) -> String {
    let scrubbed = scrub(text);
    match DISPLAY_FILTER.get() {
        Some(filter) => filter(&scrubbed),
        None => scrubbed,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secret_never_formats_its_value() {
        let s = Secret::new("hunter2-very-secret");
        assert_eq!(format!("{s}"), MASK);
        assert_eq!(format!("{s:?}"), MASK);
        assert_eq!(s.expose(), "hunter2-very-secret");
    }

    #[test]
    fn scrub_masks_raw_and_percent_encoded_forms() {
        register("p@ss/w:rd-xyz");
        let text = "failed for p@ss/w:rd-xyz and p%40ss%2Fw%3Ard%2Dxyz";
        let out = scrub(text);
        assert!(!out.contains("p@ss/w:rd-xyz"), "{out}");
        assert!(!out.contains("p%40ss%2Fw%3Ard%2Dxyz"), "{out}");
    }
}

//! GitHub Actions and the GitHub API: what pgkeel does when it runs as a step of a workflow.
//!
//! - [`context`]: the run, read from the runner's `GITHUB_*` variables (`GITHUB_ACTIONS=true`
//!   switches everything here on; tests set the same variables).
//! - [`workflow_command`]: `::error file=…,line=…::` annotations (properties escaped, at most 10
//!   per level), `::add-mask::` for every secret, and untrusted text made inert — fenced with
//!   `::stop-commands::<random>` … `::<random>::`, or neutralised line by line where a fence
//!   cannot be used (logs on stderr).
//! - [`output`]: step outputs as heredocs with a random delimiter; [`summary`]: the step summary,
//!   capped at 1 MiB with a pointer to the full report.
//! - [`api`]: a small REST client; [`comment`]: the sticky PR comment; [`issue`]: the drift
//!   issue; [`environment`]: environment protection rules; [`event`]: the event payload.
//!
//! Why not `octocrab`: with rustls on ring and no default features it adds about 60 crates to
//! the build (hyper, tower, the ICU stack behind `url`, chrono, snafu) and a large crate of
//! models, for four endpoints we use through our own serde types anyway (it has no typed
//! environments API). [`api`] is ~200 lines over `ureq` 3 (5 new crates, and the same client
//! the notifications use), and it is tested against a real loopback HTTP server.
//!
//! This module renders nothing and decides nothing about schemas: `report` hands it finished
//! markdown, outputs and annotations (see `report::actions`).

pub mod api;
pub mod comment;
pub mod context;
pub mod environment;
pub mod event;
pub mod issue;
pub mod output;
pub mod summary;
pub mod workflow_command;

pub use api::{ApiError, Client};
pub use context::{Context, Repo};
pub use workflow_command::{Annotation, Level};

/// `n` random bytes from the operating system, as lowercase hex: unguessable tokens for
/// `::stop-commands::` and output delimiters (text we print must not be able to predict them).
pub fn random_hex(n: usize) -> String {
    let mut bytes = vec![0u8; n];
    if getrandom::getrandom(&mut bytes).is_err() {
        // No OS randomness is a broken system; fall back to the hasher's per-process keys
        // mixed with the time, which is still unknown to text written before the run.
        use std::hash::{BuildHasher, Hasher};
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_nanos())
            .unwrap_or_default();
        for (i, chunk) in bytes.chunks_mut(8).enumerate() {
            let mut h = std::collections::hash_map::RandomState::new().build_hasher();
            h.write_u128(now);
            h.write_usize(i);
            h.write_u32(std::process::id());
            let v = h.finish().to_le_bytes();
            chunk.copy_from_slice(&v[..chunk.len()]);
        }
    }
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

#[cfg(test)]
mod tests {
    #[test]
    fn random_hex_is_random_and_sized() {
        let a = super::random_hex(16);
        let b = super::random_hex(16);
        assert_eq!(a.len(), 32);
        assert_ne!(a, b);
        assert!(a.chars().all(|c| c.is_ascii_hexdigit()));
    }
}

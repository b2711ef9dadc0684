//! Logs and progress go to stderr, never stdout (which carries the result only).

use tracing_subscriber::fmt::writer::BoxMakeWriter;
use tracing_subscriber::EnvFilter;

/// Installs the stderr logger. `PGKEEL_LOG` (an `EnvFilter` directive) overrides -q/-v.
pub fn init(quiet: u8, verbose: u8, color: bool) {
    let level = match (quiet, verbose) {
        (q, _) if q >= 2 => "error",
        (1, _) => "warn",
        (_, 0) => "info",
        (_, 1) => "debug",
        _ => "trace",
    };
    let filter = EnvFilter::try_from_env("PGKEEL_LOG")
        .unwrap_or_else(|_| EnvFilter::new(format!("pgkeel={level},warn")));
    // Inside GitHub Actions a log line could carry untrusted text (file names, SQL): written
    // inert, so it cannot be read as a workflow command.
    let writer = if crate::report::actions::in_actions() {
        BoxMakeWriter::new(|| crate::github::workflow_command::NeutralStderr)
    } else {
        BoxMakeWriter::new(std::io::stderr)
    };
    let _ = tracing_subscriber::fmt()
        .with_writer(writer)
        .with_env_filter(filter)
        .with_target(false)
        .with_ansi(color)
        .without_time()
        .try_init();
}

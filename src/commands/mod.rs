//! One file per subcommand: each wires domain modules into a pipeline and hands the result to
//! `report`. Commands take validated settings (built in `cli`), never raw flags.

pub mod backup;
pub mod check;
pub mod diff;
pub mod drift;
pub mod inspect;
pub mod migrate;
pub mod preview;
pub mod restore;
pub mod sandbox;

use crate::report::{Format, Style};

/// How results are printed.
#[derive(Debug, Clone, Copy)]
pub struct Context {
    pub format: Format,
    pub style: Style,
}

impl Context {
    /// Plain `format`, no colour: for documents written beside the terminal output (the
    /// step summary, a notification's JSON).
    pub fn of(format: Format) -> Context {
        Context {
            format,
            style: Style::default(),
        }
    }
}

//! TODO

use super::{Applied, History, HistoryError, Rows, Run};
use crate::migrations::Migration;

pub struct Flyway;

pub static TABLE: Flyway = Flyway;

impl History for Flyway {
    fn table(&self) -> &'static str {
        "todo"
    }
    fn create(&self) -> String {
        String::new()
    }
    fn select(&self) -> String {
        String::new()
    }
    fn parse(&self, _rows: &Rows, _on_disk: &[Migration]) -> Result<Vec<Applied>, HistoryError> {
        Ok(Vec::new())
    }
    fn checksum(&self, _m: &Migration) -> Option<String> {
        None
    }
    fn record_applied(&self, _run: &Run) -> String {
        String::new()
    }
    fn record_reverted(&self, _run: &Run) -> String {
        String::new()
    }
    fn record_dirty(&self, _run: &Run) -> Option<String> {
        None
    }
}

//! TODO

use super::{LoadError, Tree};
use crate::migrations::Migration;

pub(super) fn load(tree: &Tree, files: &[String]) -> Result<Vec<Migration>, LoadError> {
    let _ = (tree, files);
    Ok(Vec::new())
}

pub(super) fn is_flyway_name(rel: &str) -> bool {
    rel.contains("__") && matches!(rel.as_bytes().first(), Some(b'V' | b'U' | b'R'))
}

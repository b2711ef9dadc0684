//! pgkeel's own layout: `NNNN_name.up.sql` with an optional `NNNN_name.down.sql` (a plain
//! `NNNN_name.sql` is an up migration without a down). No markers: a migration runs in one
//! transaction unless it holds a statement that cannot (see `transaction`).

use super::{load_numbered_pairs, LoadError, Tree};
use crate::migrations::Migration;

pub(super) fn load(tree: &Tree, files: &[String]) -> Result<Vec<Migration>, LoadError> {
    load_numbered_pairs(tree, files, true)
}

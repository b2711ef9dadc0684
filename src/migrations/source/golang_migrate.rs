//! golang-migrate: `{version}_{title}.up.sql` and `{version}_{title}.down.sql`. Every file runs
//! as written: golang-migrate sends the whole file in one multi-statement query, so a file
//! without its own `BEGIN`/`COMMIT` is not wrapped in a transaction by the tool. pgkeel wraps
//! it (safer, same result) unless it holds a statement that cannot run in one.

use super::{load_numbered_pairs, LoadError, Tree};
use crate::migrations::Migration;

pub(super) fn load(tree: &Tree, files: &[String]) -> Result<Vec<Migration>, LoadError> {
    load_numbered_pairs(tree, files, false)
}

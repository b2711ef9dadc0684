//! Supabase: `supabase/migrations/<timestamp>_<name>.sql`, up only. The CLI runs each file's
//! statements in one transaction.

use super::{load_numbered_pairs, LoadError, Tree};
use crate::migrations::Migration;

pub(super) fn load(tree: &Tree, files: &[String]) -> Result<Vec<Migration>, LoadError> {
    let migrations = load_numbered_pairs(tree, files, true)?;
    if let Some(m) = migrations.iter().find(|m| m.down.is_some()) {
        return Err(LoadError::Invalid {
            path: m.down.as_ref().map(|d| d.path.clone()).unwrap_or_default(),
            message: "Supabase migrations have no down files".into(),
            hint: "remove the .down.sql file, or name the format with --format".into(),
        });
    }
    Ok(migrations)
}

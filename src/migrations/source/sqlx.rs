//! sqlx: `<version>_<description>.sql` (simple) or `.up.sql` / `.down.sql` (reversible). A
//! first line `-- no-transaction` runs the file outside a transaction, as `sqlx migrate run`
//! does.

use super::{load_numbered_pairs, LoadError, Tree};
use crate::migrations::{Migration, Script};

/// sqlx's marker, which it looks for at the very start of the file.
const NO_TRANSACTION: &str = "-- no-transaction";

pub(super) fn load(tree: &Tree, files: &[String]) -> Result<Vec<Migration>, LoadError> {
    let mut migrations = load_numbered_pairs(tree, files, true)?;
    for m in &mut migrations {
        mark(&mut m.up);
        if let Some(down) = &mut m.down {
            mark(down);
        }
    }
    Ok(migrations)
}

fn mark(script: &mut Script) {
    script.transaction = !script.sql.starts_with(NO_TRANSACTION);
}

/// sqlx's description: the name with `_` as spaces.
pub fn description(name: &str) -> String {
    name.replace('_', " ")
}

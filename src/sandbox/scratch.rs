//! Scratch databases: cheap per-use databases inside a sandbox (or any server pgkeel may create
//! databases on), cloned from a template with `CREATE DATABASE … TEMPLATE`.

use super::SandboxError;
use crate::pg::{quote, Client};

/// Creates database `name`, as a copy of `template` when given.
pub async fn create(
    admin: &Client,
    name: &str,
    template: Option<&str>,
) -> Result<(), SandboxError> {
    let mut sql = format!("CREATE DATABASE {}", quote::ident(name));
    if let Some(t) = template {
        sql.push_str(" TEMPLATE ");
        sql.push_str(&quote::ident(t));
    }
    admin
        .pg()
        .batch_execute(&sql)
        .await
        .map_err(|e| SandboxError::Scratch {
            name: name.to_string(),
            source: Box::new(e.into()),
        })
}

/// Drops database `name` if it exists, disconnecting its sessions first.
pub async fn drop(admin: &Client, name: &str) -> Result<(), SandboxError> {
    let force = admin
        .server_version_num()
        .await
        .map(|v| v >= 130000)
        .unwrap_or(false);
    let sql = format!(
        "DROP DATABASE IF EXISTS {}{}",
        quote::ident(name),
        if force { " WITH (FORCE)" } else { "" }
    );
    admin
        .pg()
        .batch_execute(&sql)
        .await
        .map_err(|e| SandboxError::Scratch {
            name: name.to_string(),
            source: Box::new(e.into()),
        })
}

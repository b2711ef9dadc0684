//! `pgkeel check`: connect and report what the next steps need to know.

use std::io::Write;

use super::Context;
use crate::error::{Error, Outcome};
use crate::pg::{self, probe, ConnSpec};
use crate::report;

pub struct Settings {
    pub conn: ConnSpec,
    pub schemas: Vec<String>,
    /// Schemas were named by the user, so a missing one is a finding (exit 1).
    pub fail_on_missing_schema: bool,
    /// The GitHub Environment gate, checked before connecting.
    pub gate: report::actions::Gate,
}

pub async fn run(
    settings: &Settings,
    ctx: &Context,
    out: &mut dyn Write,
) -> Result<Outcome, Error> {
    report::actions::require_protection(&settings.gate)?;
    tracing::debug!("connecting to {}", settings.conn);
    let client = pg::connect(&settings.conn).await?;
    let facts = probe::probe(&client, &settings.schemas)
        .await
        .map_err(|source| Error::Query {
            context: "cannot read server facts",
            source,
        })?;
    report::check::render(&facts, ctx.format, ctx.style, out).map_err(Error::Output)?;
    let missing = facts.schemas.iter().any(|s| !s.exists);
    Ok(if missing && settings.fail_on_missing_schema {
        Outcome::Finding
    } else {
        Outcome::Clean
    })
}

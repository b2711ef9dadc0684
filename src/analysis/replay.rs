//! Replaying migrations into a scratch database one at a time, reading the schema after each:
//! what each migration changed, how long it took, and (with `check_down`) whether its down
//! script brings the schema back exactly and its up script applies again after it.

use std::time::Duration;

use super::history_tables;
use crate::catalog::{self, CatalogError, Filter, Schema};
use crate::diff::{self, Change};
use crate::migrations::apply::{Applier, ApplyError, Options};
use crate::migrations::history::History;
use crate::migrations::Migration;
use crate::pg::Client;
use crate::plan::{self, PlanOptions};

/// What the down script of a migration did in the sandbox.
#[derive(Debug, Clone, PartialEq)]
pub enum DownCheck {
    /// Down restored the schema before the migration, and up applied again.
    Clean,
    /// Down ran, but the schema differs from before the migration.
    Differs(Vec<String>),
    /// Down ran, but up applied after it gives another schema.
    UpAgainDiffers(Vec<String>),
    /// Down (or up again) failed.
    Failed(String),
}

/// One migration, replayed.
#[derive(Debug, Clone)]
pub struct Replayed {
    pub migration: Migration,
    pub duration: Duration,
    pub statements: usize,
    pub transactional: bool,
    pub changes: Vec<Change>,
    pub before: Schema,
    pub after: Schema,
    pub down_check: Option<DownCheck>,
}

#[derive(Debug, thiserror::Error)]
pub enum ReplayError {
    #[error(transparent)]
    Catalog(#[from] CatalogError),
    #[error(transparent)]
    Apply(Box<ApplyError>),
}

/// Replays migrations on one scratch database.
pub struct Replayer<'a> {
    pub client: &'a Client,
    pub history: &'a dyn History,
    pub audit: Option<&'a dyn History>,
    pub options: &'a Options,
    pub filter: &'a Filter,
}

impl Replayer<'_> {
    /// The schema now, without history tables.
    ///
    /// # Errors
    ///
    /// When introspection fails.
    pub async fn schema(&self) -> Result<Schema, CatalogError> {
        let mut s = catalog::introspect(self.client, self.filter).await?;
        history_tables::strip(&mut s);
        Ok(s)
    }

    /// Creates the history tables, so the replayed migrations are recorded as the tool would.
    ///
    /// # Errors
    ///
    /// When the server refuses.
    pub async fn prepare(&self) -> Result<(), ReplayError> {
        let sql = crate::migrations::history::both(self.history, self.audit, |h| h.create());
        self.client
            .pg()
            .batch_execute(&sql)
            .await
            .map_err(|e| ReplayError::Apply(Box::new(ApplyError::History(e.into()))))
    }

    /// Applies `migrations` (each with the one before it) in one go, without reading the
    /// schema between them: the base side of a comparison.
    ///
    /// # Errors
    ///
    /// The first migration that fails.
    pub async fn apply_all(
        &self,
        migrations: &[(&Migration, Option<&Migration>)],
    ) -> Result<(), ReplayError> {
        let applier = Applier::new(self.client, self.history, self.audit, self.options);
        match applier.up(migrations).await.error {
            None => Ok(()),
            Some(e) => Err(ReplayError::Apply(Box::new(e))),
        }
    }

    /// Applies `migrations` one by one, reading the schema after each.
    ///
    /// # Errors
    ///
    /// The first migration that fails, or introspection failing.
    pub async fn replay(
        &self,
        migrations: &[(&Migration, Option<&Migration>)],
        check_down: bool,
    ) -> Result<Vec<Replayed>, ReplayError> {
        let applier = Applier::new(self.client, self.history, self.audit, self.options);
        let mut before = self.schema().await?;
        let mut out = Vec::with_capacity(migrations.len());
        for (m, prev) in migrations {
            let ran = applier.up(&[(m, *prev)]).await;
            if let Some(e) = ran.error {
                return Err(ReplayError::Apply(Box::new(e)));
            }
            let done = ran.done.first();
            let after = self.schema().await?;
            let down_check = match (&m.down, check_down) {
                (Some(down), true) => Some(
                    self.check_down(&applier, m, down, *prev, &before, &after)
                        .await?,
                ),
                _ => None,
            };
            out.push(Replayed {
                migration: (*m).clone(),
                duration: done.map_or(Duration::ZERO, |d| d.duration),
                statements: done.map_or(0, |d| d.statements),
                transactional: done.is_some_and(|d| d.transactional),
                changes: diff::diff(&before, &after),
                before: std::mem::replace(&mut before, after.clone()),
                after,
                down_check,
            });
        }
        Ok(out)
    }

    async fn check_down(
        &self,
        applier: &Applier<'_>,
        m: &Migration,
        down: &crate::migrations::Script,
        prev: Option<&Migration>,
        before: &Schema,
        after: &Schema,
    ) -> Result<DownCheck, ReplayError> {
        let ran = applier.down(&[(m, down, prev)]).await;
        if let Some(e) = ran.error {
            self.restore(after).await?;
            return Ok(DownCheck::Failed(e.to_string()));
        }
        let reverted = self.schema().await?;
        let left: Vec<String> = diff::diff(before, &reverted)
            .iter()
            .map(Change::describe)
            .collect();
        if !left.is_empty() {
            // Up would run on a schema it was not written for; put `after` back instead.
            self.restore(after).await?;
            return Ok(DownCheck::Differs(left));
        }
        let ran = applier.up(&[(m, prev)]).await;
        if let Some(e) = ran.error {
            self.restore(after).await?;
            return Ok(DownCheck::Failed(format!("up after down: {e}")));
        }
        let again = self.schema().await?;
        let differs: Vec<String> = diff::diff(after, &again)
            .iter()
            .map(Change::describe)
            .collect();
        if differs.is_empty() {
            Ok(DownCheck::Clean)
        } else {
            self.restore(after).await?;
            Ok(DownCheck::UpAgainDiffers(differs))
        }
    }

    /// Brings the scratch database back to `schema` with the engine's DDL, so the migrations
    /// after a failed down check replay on the schema they expect.
    async fn restore(&self, schema: &Schema) -> Result<(), ReplayError> {
        let now = self.schema().await?;
        let changes = diff::diff(&now, schema);
        let (steps, _) = plan::plan(&changes, &now, schema, PlanOptions::default());
        self.client
            .pg()
            .batch_execute(&plan::to_sql(&steps))
            .await
            .map_err(|e| ReplayError::Apply(Box::new(ApplyError::History(e.into()))))
    }
}

//! `pgkeel restore`: confirmation → locate and checksum the backup → check the target is the
//! database named → safety backup of the target (verified) → restore (`replace` or `swap`) →
//! verify against the manifest → re-apply pending migrations. Any failure after the target
//! was touched puts the safety backup back, verifies it, and exits 6 saying what happened
//! (8 when even that fails).

use std::io::Write;
use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, Instant};

use super::migrate::Source as MigrationSource;
use super::Context;
use crate::backup::manifest::{DumpFormat, Kind, Manifest, Provenance};
use crate::backup::{self, BackupOptions, Progress, VerifyMode, SCHEMA_FILE};
use crate::catalog::Schema;
use crate::error::{Error, Outcome};
use crate::migrations::apply::Options as ApplyOptions;
use crate::pg::{self, Client, ConnSpec};
use crate::report::backup as render;
use crate::restore::fetch::{self, Fetched, Located};
use crate::restore::{load, target, RestoreError, Strategy};
use crate::storage::{Location, S3Options, Store};

pub struct Migrations {
    pub source: MigrationSource,
    pub options: ApplyOptions,
    pub lock_wait: Duration,
}

pub struct Settings {
    pub conn: ConnSpec,
    pub from: String,
    /// Where `latest` and bare ids are looked up, and where the safety backup goes.
    pub backups: Location,
    pub s3: S3Options,
    pub confirm: Option<String>,
    pub confirm_token: Option<String>,
    pub strategy: Strategy,
    pub jobs: u32,
    pub safety_backup: bool,
    pub safety_verify: VerifyMode,
    pub migrations: Option<Migrations>,
    /// The GitHub Environment gate, checked before anything else.
    pub gate: crate::report::actions::Gate,
}

/// What a finished restore reports.
pub struct Restored {
    pub id: String,
    pub from: String,
    pub target: String,
    pub strategy: Strategy,
    /// Where the safety backup is, and its id (what `restore --from` takes to undo).
    pub safety: Option<String>,
    pub safety_id: Option<String>,
    pub tables: usize,
    pub rows: i64,
    pub migrations: Vec<String>,
    pub old_database: Option<String>,
    pub duration: Duration,
}

fn schema_of(files: &Fetched) -> Result<Schema, RestoreError> {
    let path = files.root().join(SCHEMA_FILE);
    let text = std::fs::read(&path).map_err(|e| RestoreError::Io {
        action: "read",
        path: path.display().to_string(),
        source: e,
    })?;
    serde_json::from_slice(&text).map_err(|e| RestoreError::Corrupt {
        path: path.display().to_string(),
        reason: e.to_string(),
    })
}

fn programs_for(manifest: &Manifest) -> Result<load::Programs, RestoreError> {
    let major = pg::tools::parse_major(&manifest.pg_dump_version)
        .unwrap_or_else(|| pg::tools::major_of(manifest.server_version_num));
    Ok(load::Programs::at_least(major)?)
}

pub async fn run(
    settings: &Settings,
    ctx: &Context,
    out: &mut dyn Write,
    notice: &mut crate::report::notice::Notice,
) -> Result<Outcome, Error> {
    let started = Instant::now();
    let db = settings.conn.dbname.clone();
    // 0. Inside the job's protected environment (when one is named), so that a workflow
    //    calling `pgkeel restore` directly is guarded like the action.
    crate::report::actions::require_protection(&settings.gate)?;
    // 1. Nothing happens without the confirmation.
    target::check_confirmation(
        &db,
        settings.confirm.as_deref(),
        settings.confirm_token.as_deref(),
    )?;
    let progress = crate::report::progress::stderr();

    // 2. The backup, every file checked, before the target is touched.
    let located = fetch::locate(&settings.from, &settings.backups, &settings.s3).await?;
    let t0 = Instant::now();
    let files = fetch::fetch(&located.store, &located.manifest, progress.as_ref()).await?;
    tracing::debug!("restore: fetched and checksummed in {:?}", t0.elapsed());
    let expected = schema_of(&files)?;
    let programs = programs_for(&located.manifest)?;
    if located.manifest.database != db {
        tracing::warn!(
            "backup {} was taken from database `{}`; restoring it into `{db}`",
            located.manifest.id,
            located.manifest.database
        );
    }

    // 3. The target is the database named.
    let client = pg::connect(&settings.conn).await?;
    target::check_identity(&client, &db).await?;

    // 4. Safety backup, verified, before anything changes.
    let safety = if settings.safety_backup {
        let store = Arc::new(
            Store::open(&settings.backups, &settings.s3)
                .await
                .map_err(backup::BackupError::from)?,
        );
        let manifest = backup::create(
            &settings.conn,
            store.clone(),
            &BackupOptions {
                format: DumpFormat::Custom,
                compression: Default::default(),
                jobs: settings.jobs,
                verify: settings.safety_verify,
                kind: Kind::Safety,
                provenance: Provenance::from_env(&|k| std::env::var(k).ok()),
            },
            progress.clone(),
        )
        .await?;
        let at = store.location().child(&manifest.id).to_string();
        tracing::info!("safety backup of `{db}` ({}): {at}", manifest.status_word());
        Some(Safety {
            store,
            manifest,
            at,
        })
    } else {
        tracing::warn!("--no-safety-backup: if this restore fails, nothing can put `{db}` back");
        None
    };

    let outcome = match settings.strategy {
        Strategy::Replace => {
            replace(
                settings,
                &client,
                &located,
                &files,
                &expected,
                &programs,
                progress.clone(),
            )
            .await
        }
        Strategy::Swap => {
            swap(
                settings,
                &located,
                &files,
                &expected,
                &programs,
                progress.clone(),
            )
            .await
        }
    };
    let (counts, migrations, old_database) = match outcome {
        Ok(done) => done,
        Err(Failure::Untouched(e)) => return Err(e),
        Err(Failure::Touched(e)) => {
            return Err(roll_back(settings, &client, safety.as_ref(), e, progress).await);
        }
    };
    let restored = Restored {
        id: located.manifest.id.clone(),
        from: located.describe(),
        target: settings.conn.to_string(),
        strategy: settings.strategy,
        safety_id: safety.as_ref().map(|s| s.manifest.id.clone()),
        safety: safety.map(|s| s.at),
        tables: counts.0,
        rows: counts.1,
        migrations,
        old_database,
        duration: started.elapsed(),
    };
    notice.changed = true;
    notice.title = Some(format!("Restore of {} completed", restored.id));
    for (label, value) in [
        ("Backup", restored.id.clone()),
        ("Target", restored.target.clone()),
        (
            "Safety backup",
            restored.safety.clone().unwrap_or_else(|| "none".into()),
        ),
        ("Tables", restored.tables.to_string()),
        ("Rows", restored.rows.to_string()),
    ] {
        notice.facts.push(crate::notify::Fact::new(label, value));
    }
    crate::report::actions::outputs(&[
        ("restored", "true".to_string()),
        (
            "safety-backup-id",
            restored.safety_id.clone().unwrap_or_default(),
        ),
    ])?;
    crate::report::actions::summary(|buf| {
        render::restored(
            &restored,
            &Context::of(crate::report::Format::Markdown),
            buf,
        )
    })?;
    render::restored(&restored, ctx, out).map_err(Error::Output)?;
    Ok(Outcome::Clean)
}

struct Safety {
    store: Arc<Store>,
    manifest: Manifest,
    at: String,
}

enum Failure {
    /// Failed before the target changed: nothing to undo.
    Untouched(Error),
    /// Failed after the target changed: put the safety backup back.
    Touched(Error),
}

type Done = ((usize, i64), Vec<String>, Option<String>);

fn totals(m: &Manifest) -> (usize, i64) {
    (m.row_counts.len(), m.row_counts.values().sum())
}

async fn load_into(
    files: &Fetched,
    manifest: &Manifest,
    spec: &ConnSpec,
    programs: &load::Programs,
    jobs: u32,
    clean: bool,
    progress: Arc<dyn Progress>,
) -> Result<(), RestoreError> {
    let path = files.dump_path(manifest);
    let (format, compression) = (manifest.format, manifest.compression);
    let spec = spec.clone();
    let programs = load::Programs {
        pg_restore: programs.pg_restore.clone(),
        psql: programs.psql.clone(),
    };
    progress.phase("restore", Some(manifest.size));
    let result = tokio::task::spawn_blocking(move || {
        load::load(
            &load::Archive {
                format,
                compression,
                path: Path::new(&path),
            },
            &spec,
            &programs,
            &load::LoadOptions { jobs, clean },
            progress.as_ref(),
        )
    })
    .await
    .map_err(|e| RestoreError::Io {
        action: "run the restore thread for",
        path: manifest.id.clone(),
        source: std::io::Error::other(e.to_string()),
    })?;
    result
}

/// Makes the load durable, then compares it with the backup's manifest and schema.
async fn verify(client: &Client, manifest: &Manifest, expected: &Schema) -> Result<(), Error> {
    let t0 = Instant::now();
    target::make_durable(client).await?;
    let problems = backup::verify::compare(client, manifest, expected)
        .await
        .map_err(backup::BackupError::Measure)?;
    tracing::debug!("restore: verified in {:?}", t0.elapsed());
    if problems.is_empty() {
        return Ok(());
    }
    Err(Error::Backup(Box::new(
        backup::BackupError::VerificationFailed {
            id: manifest.id.clone(),
            manifest: "the restored database".into(),
            problems,
        },
    )))
}

async fn migrate(settings: &Settings, client: &Client) -> Result<Vec<String>, Error> {
    match &settings.migrations {
        Some(m) => super::migrate::apply_pending(client, &m.source, &m.options, m.lock_wait).await,
        None => Ok(Vec::new()),
    }
}

async fn replace(
    settings: &Settings,
    client: &Client,
    located: &Located,
    files: &Fetched,
    expected: &Schema,
    programs: &load::Programs,
    progress: Arc<dyn Progress>,
) -> Result<Done, Failure> {
    let touched = |e: Error| Failure::Touched(e);
    target::clean_slate(client)
        .await
        .map_err(|e| touched(e.into()))?;
    load_into(
        files,
        &located.manifest,
        &settings.conn,
        programs,
        settings.jobs,
        true,
        progress,
    )
    .await
    .map_err(|e| touched(e.into()))?;
    verify(client, &located.manifest, expected)
        .await
        .map_err(touched)?;
    let applied = migrate(settings, client).await.map_err(touched)?;
    Ok((totals(&located.manifest), applied, None))
}

async fn maintenance(conn: &ConnSpec) -> Result<Client, Error> {
    let mut last = None;
    for db in ["postgres", "template1"] {
        if db == conn.dbname {
            continue;
        }
        match pg::connect(&conn.with_dbname(db)).await {
            Ok(c) => return Ok(c),
            Err(e) => last = Some(e),
        }
    }
    Err(last.map(Error::from).unwrap_or_else(|| {
        Error::usage("no maintenance database to connect to for --strategy swap")
    }))
}

async fn swap(
    settings: &Settings,
    located: &Located,
    files: &Fetched,
    expected: &Schema,
    programs: &load::Programs,
    progress: Arc<dyn Progress>,
) -> Result<Done, Failure> {
    let untouched = |e: Error| Failure::Untouched(e);
    let db = &settings.conn.dbname;
    let suffix = backup::id::Stamp::now().compact();
    let new = format!("{db}_pgkeel_restore_{suffix}");
    let old = format!("{db}_pgkeel_old_{suffix}");
    let admin = maintenance(&settings.conn).await.map_err(untouched)?;
    let owner = target::owner_of(&admin, db)
        .await
        .map_err(|e| untouched(e.into()))?;
    target::create_database(&admin, &new, &owner)
        .await
        .map_err(|e| untouched(e.into()))?;
    let staged = async {
        let spec = settings.conn.with_dbname(&new);
        load_into(
            files,
            &located.manifest,
            &spec,
            programs,
            settings.jobs,
            false,
            progress,
        )
        .await?;
        let client = pg::connect(&spec).await?;
        verify(&client, &located.manifest, expected).await
    }
    .await;
    if let Err(e) = staged {
        let _ = target::drop_database(&admin, &new).await;
        return Err(untouched(e));
    }
    target::swap(&admin, db, &new, &old)
        .await
        .map_err(|e| untouched(Error::from(e)))?;
    let client = pg::connect(&settings.conn)
        .await
        .map_err(|e| Failure::Touched(e.into()))?;
    match migrate(settings, &client).await {
        Ok(applied) => Ok((totals(&located.manifest), applied, Some(old))),
        Err(e) => {
            drop(client);
            // The original database is still there under `old`: swap it back.
            let failed = format!("{db}_pgkeel_failed_{suffix}");
            match target::swap(&admin, db, &old, &failed).await {
                Ok(()) => Err(Failure::Untouched(Error::RestoreFailed {
                    message: format!("migrations after the restore failed: {e}; the original database was swapped back into place (the restored copy is kept as `{failed}`)"),
                    hint: "fix the migration, then restore again".into(),
                    rolled_back: true,
                })),
                Err(e2) => Err(Failure::Touched(Error::RestoreFailed {
                    message: format!("migrations after the restore failed: {e}; swapping the original back failed too: {e2}"),
                    hint: format!("the original database is `{old}`: rename it back by hand"),
                    rolled_back: false,
                })),
            }
        }
    }
}

/// Puts the safety backup back into the target and verifies it.
async fn roll_back(
    settings: &Settings,
    client: &Client,
    safety: Option<&Safety>,
    cause: Error,
    progress: Arc<dyn Progress>,
) -> Error {
    let db = &settings.conn.dbname;
    let cause_text = crate::secret::scrub(&cause.to_string());
    let Some(safety) = safety else {
        return Error::RestoreFailed {
            message: format!("restore into `{db}` failed after it was changed: {cause_text}; no safety backup was taken (--no-safety-backup)"),
            hint: "restore another backup, or a backup of your own".into(),
            rolled_back: false,
        };
    };
    tracing::warn!(
        "restore failed ({cause_text}); putting the safety backup {} back",
        safety.at
    );
    let put_back = async {
        let files = fetch::fetch(&safety.store, &safety.manifest, progress.as_ref()).await?;
        let expected = schema_of(&files)?;
        let programs = programs_for(&safety.manifest)?;
        target::clean_slate(client).await?;
        load_into(
            &files,
            &safety.manifest,
            &settings.conn,
            &programs,
            settings.jobs,
            true,
            progress,
        )
        .await?;
        verify(client, &safety.manifest, &expected).await
    }
    .await;
    match put_back {
        Ok(()) => Error::RestoreFailed {
            message: format!("restore into `{db}` failed: {cause_text}; `{db}` was put back from the safety backup {} and verified", safety.at),
            hint: "nothing was lost: fix the cause above, then restore again".into(),
            rolled_back: true,
        },
        Err(e) => Error::RestoreFailed {
            message: format!(
                "restore into `{db}` failed: {cause_text}; putting back the safety backup {} failed too: {}",
                safety.at,
                crate::secret::scrub(&e.to_string())
            ),
            hint: format!(
                "the safety backup is intact: `pgkeel restore --from {} --confirm {db} --no-safety-backup`",
                safety.at
            ),
            rolled_back: false,
        },
    }
}

//! The second layer: raw flags + environment + `pgkeel.yml` → validated settings that the
//! commands take. Precedence: flags > environment > file > defaults.

use super::{
    ApplyArgs, CheckArgs, ColorArg, ConnectionArgs, DiffArgs, FormatArg, GlobalArgs, InspectArgs,
    MigrateAction, MigrateArgs, MigrationsArgs, SandboxServerArgs, SchemaFilterArgs, StatusArgs,
    ToolArg, TxModeArg,
};
use crate::catalog::Filter;
use crate::commands::{check, diff, inspect, migrate, Context};
use crate::config::Loaded;
use crate::error::Error;
use crate::migrations::apply::{Options, TxMode};
use crate::migrations::Format as Tool;
use crate::pg::ConnSpec;
use crate::report::{Format, Style};
use crate::sandbox::{registry, SandboxOptions};
use std::io::IsTerminal;

/// Output settings from the global flags.
pub fn context(global: &GlobalArgs) -> Context {
    Context {
        format: match global.format {
            FormatArg::Human => Format::Human,
            FormatArg::Json => Format::Json,
            FormatArg::Markdown => Format::Markdown,
            FormatArg::Sql => Format::Sql,
        },
        style: Style {
            color: color_enabled(global.color, std::io::stdout().is_terminal()),
        },
    }
}

/// `auto` means: a terminal, `NO_COLOR` unset, and not a dumb terminal.
pub fn color_enabled(arg: ColorArg, is_terminal: bool) -> bool {
    match arg {
        ColorArg::Always => true,
        ColorArg::Never => false,
        ColorArg::Auto => {
            is_terminal
                && std::env::var_os("NO_COLOR").is_none_or(|v| v.is_empty())
                && std::env::var("TERM").map_or(true, |t| t != "dumb")
        }
    }
}

/// The connection: `--database-url` / `PGKEEL_DATABASE_URL` (clap), then `DATABASE_URL`, then
/// the file's `database_url`; `PG*` variables fill in what is left out.
pub fn connection(args: &ConnectionArgs, file: &Loaded) -> Result<ConnSpec, Error> {
    let from_env = std::env::var("DATABASE_URL").ok().filter(|v| !v.is_empty());
    let url = args
        .database_url
        .clone()
        .filter(|v| !v.is_empty())
        .or(from_env)
        .or_else(|| file.config.database_url.clone());
    Ok(ConnSpec::from_env(url.as_deref())?)
}

pub fn check(args: &CheckArgs, file: &Loaded) -> Result<check::Settings, Error> {
    let explicit = !args.schemas.is_empty();
    let schemas = if explicit {
        args.schemas.clone()
    } else {
        file.config
            .schemas
            .clone()
            .unwrap_or_else(|| vec!["public".to_string()])
    };
    Ok(check::Settings {
        conn: connection(&args.connection, file)?,
        schemas,
        fail_on_missing_schema: explicit || file.config.schemas.is_some(),
    })
}

pub fn sandbox_options(args: &SandboxServerArgs, file: &Loaded) -> SandboxOptions {
    let section = &file.config.sandbox;
    SandboxOptions {
        pg_version: args.pg_version.or(section.pg_version),
        port: args.port.or(section.port),
        data_dir: args
            .data_dir
            .clone()
            .or_else(|| section.data_dir.as_ref().map(|d| file.resolve_path(d))),
        ..SandboxOptions::default()
    }
}

pub fn sandbox_name(name: &str) -> Result<String, Error> {
    registry::check_name(name).map_err(Error::usage)?;
    Ok(name.to_string())
}

/// Refuses formats a command cannot produce.
pub fn require_format(ctx: &Context, command: &str, allowed: &[Format]) -> Result<(), Error> {
    if allowed.contains(&ctx.format) {
        return Ok(());
    }
    let names: Vec<&str> = allowed.iter().map(|f| f.name()).collect();
    Err(Error::Usage {
        message: format!(
            "`pgkeel {command}` cannot print --format {}",
            ctx.format.name()
        ),
        hint: Some(format!("use --format {}", names.join(" or "))),
    })
}

fn filter(args: &SchemaFilterArgs, file: &Loaded) -> Filter {
    let include = if !args.schemas.is_empty() {
        Some(args.schemas.clone())
    } else {
        file.config.schemas.clone()
    };
    Filter {
        include,
        exclude: args.exclude_schemas.clone(),
    }
}

pub fn inspect(args: &InspectArgs, file: &Loaded) -> Result<inspect::Settings, Error> {
    Ok(inspect::Settings {
        conn: connection(&args.connection, file)?,
        filter: filter(&args.filter, file),
    })
}

/// A URL (or libpq string) is a database; anything else must be an existing snapshot file.
fn side(value: &str, flag: &str) -> Result<diff::Side, Error> {
    let lower = value.to_ascii_lowercase();
    if lower.starts_with("postgres://") || lower.starts_with("postgresql://") || value.contains('=')
    {
        return Ok(diff::Side::Database(ConnSpec::from_env(Some(value))?));
    }
    let path = std::path::PathBuf::from(value);
    if path.is_file() {
        return Ok(diff::Side::Snapshot(path));
    }
    Err(Error::Usage {
        message: format!(
            "{flag} `{value}` is neither a postgres:// URL nor an existing snapshot file"
        ),
        hint: Some("pass a connection URL, or a file written by `pgkeel inspect`".into()),
    })
}

pub fn diff(args: &DiffArgs, file: &Loaded) -> Result<diff::Settings, Error> {
    Ok(diff::Settings {
        from: side(&args.from, "--from")?,
        to: side(&args.to, "--to")?,
        filter: filter(&args.filter, file),
        online: args.online,
        allow_recreate: args.allow_recreate,
        exit_code: args.exit_code,
        ignore_column_order: args.ignore_column_order,
    })
}

/// Directories looked for when neither `--migrations` nor `migrations.dir` is given.
const MIGRATION_DIRS: [&str; 5] = [
    "migrations",
    "db/migrations",
    "prisma/migrations",
    "drizzle",
    "supabase/migrations",
];

fn tool(arg: ToolArg) -> Tool {
    match arg {
        ToolArg::Pgkeel => Tool::Pgkeel,
        ToolArg::GolangMigrate => Tool::GolangMigrate,
        ToolArg::Prisma => Tool::Prisma,
        ToolArg::Drizzle => Tool::Drizzle,
        ToolArg::Flyway => Tool::Flyway,
        ToolArg::Dbmate => Tool::Dbmate,
        ToolArg::Goose => Tool::Goose,
        ToolArg::Sqlx => Tool::Sqlx,
        ToolArg::Supabase => Tool::Supabase,
    }
}

fn migrations_source(args: &MigrationsArgs, file: &Loaded) -> Result<migrate::Source, Error> {
    let section = &file.config.migrations;
    let dir = match (&args.migrations, &section.dir) {
        (Some(d), _) => d.clone(),
        (None, Some(d)) => file.resolve_path(d),
        (None, None) => MIGRATION_DIRS
            .iter()
            .map(std::path::PathBuf::from)
            .find(|d| d.is_dir())
            .ok_or_else(|| Error::Usage {
                message: "no migrations directory given, and none of ./migrations, ./db/migrations, ./prisma/migrations, ./drizzle, ./supabase/migrations exists".into(),
                hint: Some("pass --migrations DIR, or set migrations.dir in pgkeel.yml".into()),
            })?,
    };
    let tool = match (args.tool, &section.tool) {
        (Some(t), _) => Some(tool(t)),
        (None, Some(name)) => Some(Tool::from_name(name).ok_or_else(|| Error::Usage {
            message: format!("pgkeel.yml: unknown migrations.tool `{name}`"),
            hint: Some(format!(
                "use one of {}",
                Tool::ALL.iter().map(|t| t.name()).collect::<Vec<_>>().join(", ")
            )),
        })?),
        (None, None) => None,
    };
    Ok(migrate::Source {
        dir,
        tool,
        at_ref: args.at_ref.clone(),
    })
}

/// `5s`, `500ms`, `2m`, `1h`, or a bare number of seconds.
pub fn duration(value: &str, flag: &str) -> Result<std::time::Duration, Error> {
    use std::time::Duration;
    let v = value.trim();
    let split = v
        .find(|c: char| !c.is_ascii_digit() && c != '.')
        .unwrap_or(v.len());
    let (number, unit) = v.split_at(split);
    let n: f64 = number.parse().map_err(|_| bad_duration(value, flag))?;
    let seconds = match unit.trim() {
        "" | "s" => n,
        "ms" => n / 1000.0,
        "m" | "min" => n * 60.0,
        "h" => n * 3600.0,
        _ => return Err(bad_duration(value, flag)),
    };
    if !seconds.is_finite() || seconds < 0.0 {
        return Err(bad_duration(value, flag));
    }
    Ok(Duration::from_secs_f64(seconds))
}

fn bad_duration(value: &str, flag: &str) -> Error {
    Error::Usage {
        message: format!("{flag} `{value}` is not a duration"),
        hint: Some("write it as 5s, 500ms, 2m or 1h".into()),
    }
}

/// The commit and CI run a migration came from, for the history's audit columns.
fn provenance() -> (Option<String>, Option<String>) {
    let env = |k: &str| std::env::var(k).ok().filter(|v| !v.is_empty());
    let sha = env("GITHUB_SHA").or_else(|| {
        std::process::Command::new("git")
            .args(["rev-parse", "HEAD"])
            .stderr(std::process::Stdio::null())
            .output()
            .ok()
            .filter(|o| o.status.success())
            .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_string())
            .filter(|s| !s.is_empty())
    });
    let url = match (
        env("GITHUB_SERVER_URL"),
        env("GITHUB_REPOSITORY"),
        env("GITHUB_RUN_ID"),
    ) {
        (Some(server), Some(repo), Some(run)) => {
            Some(format!("{server}/{repo}/actions/runs/{run}"))
        }
        _ => None,
    };
    (sha, url)
}

fn apply_options(args: &ApplyArgs) -> Result<(Options, std::time::Duration), Error> {
    let (git_sha, run_url) = provenance();
    let options = Options {
        tx_mode: match args.tx_mode {
            TxModeArg::PerMigration => TxMode::PerMigration,
            TxModeArg::All => TxMode::All,
            TxModeArg::None => TxMode::None,
        },
        lock_timeout: duration(&args.lock_timeout, "--lock-timeout")?,
        statement_timeout: args
            .statement_timeout
            .as_deref()
            .map(|v| duration(v, "--statement-timeout"))
            .transpose()?,
        retries: args.retries,
        git_sha,
        run_url,
        ..Options::default()
    };
    Ok((options, duration(&args.lock_wait, "--lock-wait")?))
}

pub fn status(args: &StatusArgs, file: &Loaded) -> Result<migrate::StatusSettings, Error> {
    Ok(migrate::StatusSettings {
        conn: connection(&args.connection, file)?,
        source: migrations_source(&args.migrations, file)?,
        exit_code: args.exit_code,
    })
}

pub fn migrate(args: &MigrateArgs, file: &Loaded) -> Result<migrate::MigrateSettings, Error> {
    let (conn, migrations, apply, action) = match &args.action {
        MigrateAction::Up(a) => (
            &a.connection,
            &a.migrations,
            Some(&a.apply),
            match &a.command {
                Some(c) => migrate::Action::Command(c.clone()),
                None => migrate::Action::Up {
                    to: a.to.clone(),
                    allow_out_of_order: a.allow_out_of_order,
                },
            },
        ),
        MigrateAction::Down(a) => (
            &a.connection,
            &a.migrations,
            Some(&a.apply),
            migrate::Action::Down {
                steps: a.steps,
                to: a.to.clone(),
            },
        ),
        MigrateAction::Resolve(a) => (
            &a.connection,
            &a.migrations,
            None,
            match (&a.applied, &a.rolled_back) {
                (Some(v), _) => migrate::Action::Resolve {
                    version: v.clone(),
                    applied: true,
                },
                (None, Some(v)) => migrate::Action::Resolve {
                    version: v.clone(),
                    applied: false,
                },
                (None, None) => {
                    return Err(Error::usage(
                        "pass --applied VERSION or --rolled-back VERSION",
                    ))
                }
            },
        ),
    };
    let (options, lock_wait, dry_run) = match (apply, &args.action) {
        (Some(a), _) => {
            let (o, w) = apply_options(a)?;
            (o, w, a.dry_run)
        }
        (None, MigrateAction::Resolve(r)) => {
            let (git_sha, run_url) = provenance();
            (
                Options {
                    git_sha,
                    run_url,
                    ..Options::default()
                },
                duration(&r.lock_wait, "--lock-wait")?,
                false,
            )
        }
        (None, _) => (
            Options::default(),
            std::time::Duration::from_secs(60),
            false,
        ),
    };
    // Command mode needs no migrations directory.
    let source = match (&action, migrations_source(migrations, file)) {
        (migrate::Action::Command(_), Err(_)) => migrate::Source {
            dir: std::path::PathBuf::from("."),
            tool: None,
            at_ref: None,
        },
        (_, source) => source?,
    };
    Ok(migrate::MigrateSettings {
        conn: connection(conn, file)?,
        source,
        action,
        options,
        lock_wait,
        dry_run,
    })
}

fn s3_options(args: &super::S3Args) -> crate::storage::S3Options {
    crate::storage::S3Options {
        endpoint: args.s3_endpoint.clone().filter(|v| !v.is_empty()),
        region: args.s3_region.clone().filter(|v| !v.is_empty()),
        path_style: args.s3_path_style,
        checksums_when_required: args.s3_no_default_checksums,
    }
}

fn location(value: &str, flag: &str) -> Result<crate::storage::Location, Error> {
    crate::storage::Location::parse(value).map_err(|e| Error::Usage {
        message: format!("{flag}: {e}"),
        hint: e.hint(),
    })
}

fn jobs(arg: Option<u32>) -> Result<u32, Error> {
    match arg {
        Some(0) => Err(Error::Usage {
            message: "--jobs must be at least 1".into(),
            hint: None,
        }),
        Some(n) => Ok(n),
        None => Ok(std::thread::available_parallelism()
            .map(|n| n.get() as u32)
            .unwrap_or(1)),
    }
}

fn verify_mode(arg: super::VerifyArg) -> crate::backup::VerifyMode {
    match arg {
        super::VerifyArg::None => crate::backup::VerifyMode::None,
        super::VerifyArg::List => crate::backup::VerifyMode::List,
        super::VerifyArg::Restore => crate::backup::VerifyMode::Restore,
    }
}

pub fn backup(
    args: &super::BackupArgs,
    file: &Loaded,
) -> Result<crate::commands::backup::Settings, Error> {
    use crate::backup::manifest::{DumpFormat, Kind, Provenance};
    let compression =
        crate::backup::compress::Compression::parse(&args.compress).map_err(|m| Error::Usage {
            message: format!("--compress: {m}"),
            hint: Some("e.g. --compress zstd, --compress gzip:9, --compress none".into()),
        })?;
    if args.keep_last == Some(0) {
        return Err(Error::Usage {
            message: "--keep-last must be at least 1 (the new backup is always kept)".into(),
            hint: None,
        });
    }
    Ok(crate::commands::backup::Settings {
        conn: connection(&args.connection, file)?,
        to: location(&args.to, "--to")?,
        s3: s3_options(&args.s3),
        options: crate::backup::BackupOptions {
            format: match args.dump_format {
                super::DumpFormatArg::Custom => DumpFormat::Custom,
                super::DumpFormatArg::Directory => DumpFormat::Directory,
                super::DumpFormatArg::Plain => DumpFormat::Plain,
            },
            compression,
            jobs: jobs(args.jobs)?,
            verify: verify_mode(args.verify),
            kind: Kind::Scheduled,
            provenance: Provenance::from_env(&|k| std::env::var(k).ok()),
        },
        retention: crate::backup::retention::Policy {
            keep_days: args.keep_days,
            keep_last: args.keep_last,
        },
        dry_run: args.dry_run,
    })
}

pub fn backup_list(
    args: &super::BackupListArgs,
) -> Result<crate::commands::backup::ListSettings, Error> {
    Ok(crate::commands::backup::ListSettings {
        from: location(&args.from, "--from")?,
        s3: s3_options(&args.s3),
    })
}

pub fn restore(
    args: &super::RestoreArgs,
    file: &Loaded,
) -> Result<crate::commands::restore::Settings, Error> {
    let migrations = match &args.migrations {
        None => None,
        Some(dir) => {
            let (options, lock_wait) = apply_options(&ApplyArgs {
                lock_timeout: "5s".into(),
                statement_timeout: None,
                retries: 3,
                lock_wait: "60s".into(),
                tx_mode: TxModeArg::PerMigration,
                dry_run: false,
            })?;
            Some(crate::commands::restore::Migrations {
                source: migrate::Source {
                    dir: dir.clone(),
                    tool: args.tool.map(tool),
                    at_ref: None,
                },
                options,
                lock_wait,
            })
        }
    };
    Ok(crate::commands::restore::Settings {
        conn: connection(&args.connection, file)?,
        from: args.from.clone(),
        backups: location(&args.backups, "--backups")?,
        s3: s3_options(&args.s3),
        confirm: args.confirm.clone(),
        confirm_token: args.confirm_token.clone().filter(|t| !t.is_empty()),
        strategy: match args.strategy {
            super::StrategyArg::Replace => crate::restore::Strategy::Replace,
            super::StrategyArg::Swap => crate::restore::Strategy::Swap,
        },
        jobs: jobs(args.jobs)?,
        safety_backup: !args.no_safety_backup,
        safety_verify: verify_mode(args.safety_verify),
        migrations,
    })
}

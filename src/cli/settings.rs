//! The second layer: raw flags + environment + `pgkeel.yml` → validated settings that the
//! commands take. Precedence: flags > environment > file > defaults.

use super::{
    CheckArgs, ColorArg, ConnectionArgs, DiffArgs, FormatArg, GlobalArgs, InspectArgs,
    SandboxServerArgs, SchemaFilterArgs,
};
use crate::catalog::Filter;
use crate::commands::{check, diff, inspect, Context};
use crate::config::Loaded;
use crate::error::Error;
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

//! The second layer: raw flags + environment + `pgkeel.yml` → validated settings that the
//! commands take. Precedence: flags > environment > file > defaults.

use super::{
    ApplyArgs, CheckArgs, ColorArg, CommentArg, ConnectionArgs, DiffArgs, DriftArgs, FailOnArg,
    FormatArg, GithubArgs, GlobalArgs, InspectArgs, MigrateAction, MigrateArgs, MigrationsArgs,
    NotifyArgs, NotifyChannelArg, NotifyOnArg, ProtectionArg, ProtectionArgs, ReplayServerArgs,
    SandboxServerArgs, SchemaFilterArgs, StatusArgs, ToolArg, TxModeArg,
};
use crate::catalog::Filter;
use crate::commands::{check, diff, drift, inspect, migrate, preview, Context};
use crate::config::Loaded;
use crate::error::Error;
use crate::github::comment::Mode as CommentMode;
use crate::github::environment::Policy;
use crate::migrations::apply::{Options, TxMode};
use crate::migrations::Format as Tool;
use crate::pg::ConnSpec;
use crate::report::actions::{Gate, Publish};
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
        gate: gate(&args.protection, 1),
    })
}

/// The environment gate: checked by default when an environment is named. `min_reviewers` is
/// the command's default (a restore asks for two people).
pub fn gate(args: &ProtectionArgs, min_reviewers: usize) -> Gate {
    let environment = args.environment.clone().filter(|e| !e.is_empty());
    let policy = match (args.require_protection, &environment) {
        (Some(ProtectionArg::Fail), _) | (None, Some(_)) => Policy::Fail,
        (Some(ProtectionArg::Warn), _) => Policy::Warn,
        (Some(ProtectionArg::Off), _) | (None, None) => Policy::Off,
    };
    Gate {
        environment,
        policy,
        min_reviewers: args.min_reviewers.unwrap_or(min_reviewers),
    }
}

/// How a command publishes to GitHub Actions.
fn publish(args: &GithubArgs, open_issue: bool) -> Publish {
    Publish {
        comment: match args.comment {
            CommentArg::Always => CommentMode::Always,
            CommentArg::OnChange => CommentMode::OnChange,
            CommentArg::OnFailure => CommentMode::OnFailure,
            CommentArg::Never => CommentMode::Never,
        },
        open_issue,
        artifact: args.artifact_name.clone().filter(|a| !a.is_empty()),
    }
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

/// What `pgkeel diff` was asked to do.
pub enum DiffMode {
    Schemas(Box<diff::Settings>),
    Preview(Box<preview::Settings>),
}

pub fn diff(args: &DiffArgs, file: &Loaded) -> Result<DiffMode, Error> {
    let (from, to) = match (&args.from, &args.to) {
        (Some(from), Some(to)) => (from, to),
        _ => return Ok(DiffMode::Preview(Box::new(preview(args, file)?))),
    };
    Ok(DiffMode::Schemas(Box::new(diff::Settings {
        from: side(from, "--from")?,
        to: side(to, "--to")?,
        filter: filter(&args.filter, file),
        online: args.online,
        allow_recreate: args.allow_recreate,
        exit_code: args.exit_code,
        ignore_column_order: args.ignore_column_order,
    })))
}

fn preview(args: &DiffArgs, file: &Loaded) -> Result<preview::Settings, Error> {
    let base = match (&args.base_ref, &args.database_url, &args.from_snapshot) {
        (_, Some(url), _) => preview::Base::Database(ConnSpec::from_env(Some(url))?),
        (rev, None, Some(path)) => preview::Base::Snapshot(path.clone(), rev.clone()),
        (Some(rev), None, None) => preview::Base::Ref(rev.clone()),
        (None, None, None) => preview::Base::Empty,
    };
    let source = match (&args.command, migrations_source(&args.migrations, file)) {
        (Some(_), Err(_)) => migrate::Source {
            dir: std::path::PathBuf::from("."),
            tool: None,
            at_ref: None,
        },
        (None, Err(Error::Usage { message, .. })) => {
            return Err(Error::Usage {
                message,
                hint: Some("pass --from and --to to compare two schemas, or --migrations DIR to preview migrations".into()),
            })
        }
        (_, source) => source?,
    };
    Ok(preview::Settings {
        source,
        command: args.command.clone(),
        base,
        sandbox_url: sandbox_url(args.replay.sandbox_url.as_deref())?,
        sandbox: replay_sandbox(&args.replay, file),
        fail_on: match args.fail_on {
            FailOnArg::Breaking => preview::FailOn::Breaking,
            FailOnArg::Hazard => preview::FailOn::Hazard,
            FailOnArg::Never => preview::FailOn::Never,
        },
        check_down: args.check_down,
        filter: filter(&args.filter, file),
        output_dir: args.output_dir.clone(),
        publish: publish(&args.github, false),
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

fn replay_sandbox(args: &ReplayServerArgs, file: &Loaded) -> SandboxOptions {
    SandboxOptions {
        pg_version: args.pg_version.or(file.config.sandbox.pg_version),
        ..SandboxOptions::default()
    }
}

fn sandbox_url(value: Option<&str>) -> Result<Option<ConnSpec>, Error> {
    Ok(value
        .filter(|u| !u.is_empty())
        .map(|u| ConnSpec::from_env(Some(u)))
        .transpose()?)
}

pub fn drift(args: &DriftArgs, file: &Loaded) -> Result<drift::Settings, Error> {
    let section = &file.config.drift.ignore;
    let mut kinds = Vec::new();
    for name in args.ignore_kinds.iter().chain(&section.kinds) {
        kinds.push(
            crate::diff::ignore::Kind::from_name(name).ok_or_else(|| Error::Usage {
                message: format!("unknown drift kind `{name}`"),
                hint: Some("use grants, comments, ownership, column-order or unmodelled".into()),
            })?,
        );
    }
    let expected = match &args.expected {
        Some(path) => drift::Expected::Snapshot(path.clone()),
        None => drift::Expected::Migrations(migrations_source(&args.migrations, file)?),
    };
    Ok(drift::Settings {
        conn: connection(&args.connection, file)?,
        expected,
        sandbox_url: sandbox_url(args.replay.sandbox_url.as_deref())?,
        sandbox: replay_sandbox(&args.replay, file),
        filter: filter(&args.filter, file),
        ignore: crate::diff::ignore::Rules {
            schemas: args
                .ignore_schemas
                .iter()
                .chain(&section.schemas)
                .cloned()
                .collect(),
            objects: args
                .ignore_objects
                .iter()
                .chain(&section.objects)
                .cloned()
                .collect(),
            kinds,
        },
        output_dir: args.output_dir.clone(),
        fail_on_drift: args.fail_on_drift,
        publish: publish(&args.github, args.open_issue),
    })
}

/// Notification settings: `--notify` / `PGKEEL_NOTIFY`, else `notify.channels` in the file.
/// Every webhook or SMTP URL given is registered as a secret whether or not it is used. A
/// channel named on the command line without its target is an error before anything runs; one
/// named only in the file is skipped, so a local run without the CI secrets still works.
pub fn notify(args: Option<&NotifyArgs>, file: &Loaded) -> Result<crate::notify::Settings, Error> {
    use crate::notify::email::SmtpServer;
    use crate::notify::{
        Channel, ChannelKind, RetryPolicy, Settings, SetupError, WebhookUrl, When,
    };
    let Some(args) = args else {
        return Ok(Settings::none());
    };
    let section = &file.config.notify;
    let given = |v: &Option<String>| v.clone().filter(|v| !v.trim().is_empty());
    // Parsed (and so registered) before anything else can print them.
    let slack =
        given(&args.slack_webhook_url).map(|u| WebhookUrl::parse(&u, "--slack-webhook-url"));
    let webhook = given(&args.webhook_url).map(|u| WebhookUrl::parse(&u, "--webhook-url"));
    let smtp = given(&args.smtp_url).map(|u| SmtpServer::parse(&u));

    let (kinds, explicit) = if !args.channels.is_empty() {
        let kinds = args
            .channels
            .iter()
            .map(|c| match c {
                NotifyChannelArg::Slack => ChannelKind::Slack,
                NotifyChannelArg::Webhook => ChannelKind::Webhook,
                NotifyChannelArg::Email => ChannelKind::Email,
            })
            .collect::<Vec<_>>();
        (kinds, true)
    } else {
        let names = section.channels.clone().unwrap_or_default();
        let kinds = names
            .iter()
            .map(|n| {
                ChannelKind::from_name(n.trim()).ok_or_else(|| SetupError::Unknown {
                    what: "notify.channels entry in pgkeel.yml",
                    value: n.clone(),
                    allowed: &ChannelKind::NAMES,
                })
            })
            .collect::<Result<Vec<_>, _>>()?;
        (kinds, false)
    };
    let when = match (args.notify_on, &section.on) {
        (Some(NotifyOnArg::Always), _) => When::Always,
        (Some(NotifyOnArg::Failure), _) => When::Failure,
        (Some(NotifyOnArg::Change), _) => When::Change,
        (None, Some(name)) => When::from_name(name.trim()).ok_or_else(|| SetupError::Unknown {
            what: "notify.on in pgkeel.yml",
            value: name.clone(),
            allowed: &When::NAMES,
        })?,
        (None, None) => When::Always,
    };

    let mut channels = Vec::new();
    let mut seen = std::collections::BTreeSet::new();
    for kind in kinds {
        if !seen.insert(kind) {
            continue;
        }
        let channel = match kind {
            ChannelKind::Slack => slack.clone().map(|r| r.map(Channel::Slack)).ok_or(
                SetupError::Missing {
                    channel: "slack",
                    what: "a webhook URL",
                    hint: "set SLACK_WEBHOOK_URL (Slack → Apps → Incoming Webhooks; keep it in a CI secret) or pass --slack-webhook-url",
                },
            ),
            ChannelKind::Webhook => webhook.clone().map(|r| r.map(Channel::Webhook)).ok_or(
                SetupError::Missing {
                    channel: "webhook",
                    what: "a URL",
                    hint: "set PGKEEL_WEBHOOK_URL (keep it in a CI secret) or pass --webhook-url",
                },
            ),
            ChannelKind::Email => email(args, section, smtp.clone()),
        };
        match channel {
            Ok(Ok(c)) => channels.push(c),
            Ok(Err(e)) => return Err(e.into()),
            Err(e) if explicit => return Err(e.into()),
            Err(e) => {
                // A team-wide file names the channel; this run lacks its secret (a local
                // run, a fork's pull request). Say so where it matters, and go on.
                if std::env::var_os("CI").is_some_and(|v| !v.is_empty()) {
                    tracing::warn!("not notifying via {kind} (listed in pgkeel.yml): {e}");
                } else {
                    tracing::debug!("not notifying via {kind} (listed in pgkeel.yml): {e}");
                }
            }
        }
    }
    let policy = match given(&args.notify_timeout) {
        Some(v) => RetryPolicy::with_budget(duration(&v, "--notify-timeout")?),
        None => RetryPolicy::default(),
    };
    Ok(Settings {
        channels,
        when,
        environment: given(&args.notify_environment).or_else(|| given(&section.environment)),
        policy,
    })
}

/// The email channel: server, sender and recipients, each from its flag or the file.
fn email(
    args: &NotifyArgs,
    section: &crate::config::NotifySection,
    smtp: Option<Result<crate::notify::email::SmtpServer, crate::notify::SetupError>>,
) -> Result<Result<crate::notify::Channel, crate::notify::SetupError>, crate::notify::SetupError> {
    use crate::notify::email::EmailSettings;
    use crate::notify::{Channel, SetupError};
    let server = match smtp {
        Some(Ok(s)) => s,
        Some(Err(e)) => return Ok(Err(e)),
        None => {
            return Err(SetupError::Missing {
                channel: "email",
                what: "an SMTP server",
                hint: "set PGKEEL_SMTP_URL=smtps://user:password@host:465 (keep it in a CI secret) or pass --smtp-url",
            })
        }
    };
    let to: Vec<String> = if args.email_to.iter().any(|a| !a.trim().is_empty()) {
        args.email_to.clone()
    } else {
        section.email.to.clone().unwrap_or_default()
    };
    if to.iter().all(|a| a.trim().is_empty()) {
        return Err(SetupError::Missing {
            channel: "email",
            what: "a recipient",
            hint: "pass --email-to ADDRESS (repeatable), or set notify.email.to in pgkeel.yml",
        });
    }
    let Some(from) = args
        .email_from
        .clone()
        .filter(|f| !f.trim().is_empty())
        .or_else(|| section.email.from.clone())
    else {
        return Err(SetupError::Missing {
            channel: "email",
            what: "a sender",
            hint: "pass --email-from ADDRESS, or set notify.email.from in pgkeel.yml",
        });
    };
    Ok(EmailSettings::new(server, &from, &to).map(Channel::Email))
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
        gate: gate(&args.protection, 2),
    })
}

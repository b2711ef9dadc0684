//! The process entry point: parse, configure, run one command, print the error once with its
//! causes and hint, and map everything to an exit code.

use std::io::Write;
use std::process::ExitCode as ProcessExit;

use clap::Parser;

use super::{settings, Cli, Command, NotifyArgs, SandboxAction};
use crate::commands::{self, Context};
use crate::config;
use crate::error::{Error, ExitCode, Outcome};
use crate::notify::Kind;
use crate::report::{self, notice::Notice, Format};

/// Runs pgkeel with the process's arguments and returns its exit status.
pub fn main() -> ProcessExit {
    // Composite actions pass every input, empty or not; an empty choice means "not given"
    // (clap would refuse it as a missing value). Still one thread here, so this is sound.
    for var in super::NOTIFY_CHOICE_VARS {
        if std::env::var_os(var).is_some_and(|v| v.is_empty()) {
            std::env::remove_var(var);
        }
    }
    drop_empty_variables();
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        // clap quotes a bad value verbatim: inside Actions, printed inert.
        Err(e) if e.use_stderr() && crate::report::actions::in_actions() => {
            let text = crate::report::actions::stderr_text(&e.render().to_string());
            let _ = write!(std::io::stderr(), "{text}");
            return ProcessExit::from(ExitCode::Usage.code());
        }
        Err(e) => e.exit(),
    };
    let ctx = settings::context(&cli.global);
    let stderr_color = settings::color_enabled(cli.global.color, {
        use std::io::IsTerminal;
        std::io::stderr().is_terminal()
    });
    super::logging::init(cli.global.quiet, cli.global.verbose, stderr_color);
    if crate::report::actions::in_actions() {
        crate::secret::set_display_filter(crate::github::workflow_command::neutralize);
    }

    let result = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .map_err(|e| Error::Spawn {
            program: "the async runtime".into(),
            source: e,
        })
        .and_then(|rt| rt.block_on(dispatch(cli, &ctx)));

    match result {
        Ok(Outcome::Clean) => ProcessExit::from(ExitCode::Success.code()),
        Ok(Outcome::Finding) => ProcessExit::from(ExitCode::Finding.code()),
        Ok(Outcome::Conflict) => ProcessExit::from(ExitCode::HistoryConflict.code()),
        Ok(Outcome::Passthrough(code)) => ProcessExit::from(code),
        // A closed pipe (`pgkeel … | head`) is the reader's choice, not our failure.
        Err(Error::Output(e)) if e.kind() == std::io::ErrorKind::BrokenPipe => {
            ProcessExit::from(ExitCode::Success.code())
        }
        Err(e) => {
            print_error(&e, ctx.format);
            ProcessExit::from(e.exit_code().code())
        }
    }
}

async fn dispatch(cli: Cli, ctx: &Context) -> Result<Outcome, Error> {
    let cwd = std::env::current_dir()
        .map_err(|e| Error::usage(format!("cannot read the working directory: {e}")))?;
    let file = config::load(cli.global.config.as_deref(), &cwd)?;
    // Inside GitHub Actions, collected and written with nothing the runner reads as a command.
    let mut out = crate::report::actions::Stdout::new(ctx.format);
    let outcome = match &cli.command {
        Command::Check(args) => {
            settings::require_format(ctx, "check", &[Format::Human, Format::Json])?;
            let s = settings::check(args, &file)?;
            commands::check::run(&s, ctx, &mut out).await?
        }
        Command::Sandbox(args) => {
            settings::require_format(ctx, "sandbox", &[Format::Human, Format::Json])?;
            match &args.action {
                SandboxAction::Start(a) => {
                    let name = settings::sandbox_name(&a.name)?;
                    let opts = settings::sandbox_options(&a.server, &file);
                    commands::sandbox::start(&name, &opts, ctx, &mut out)?
                }
                SandboxAction::Stop(a) => {
                    let name = settings::sandbox_name(&a.name)?;
                    commands::sandbox::stop(&name, ctx, &mut out)?
                }
                SandboxAction::Status(a) => {
                    let name = a.name.as_deref().map(settings::sandbox_name).transpose()?;
                    commands::sandbox::status(name.as_deref(), ctx, &mut out)?
                }
                SandboxAction::Run(a) => {
                    let opts = settings::sandbox_options(&a.server, &file);
                    drop(out);
                    return commands::sandbox::run(&opts, &a.command).await;
                }
            }
        }
        Command::Diff(args) => {
            let mode = settings::diff(args, &file)?;
            if matches!(mode, settings::DiffMode::Preview(_)) {
                settings::require_format(
                    ctx,
                    "diff --migrations",
                    &[Format::Human, Format::Json, Format::Markdown],
                )?;
            }
            notified(
                Kind::Diff,
                Some(&args.notify),
                &file,
                &mut out,
                async |notice, out| match mode {
                    settings::DiffMode::Schemas(s) => {
                        commands::diff::run(&s, ctx, out, notice).await
                    }
                    settings::DiffMode::Preview(s) => {
                        commands::preview::run(&s, ctx, out, notice).await
                    }
                },
            )
            .await?
        }
        Command::Backup(args) => {
            settings::require_format(ctx, "backup", &[Format::Human, Format::Json])?;
            match &args.action {
                Some(super::BackupAction::List(a)) => {
                    let s = settings::backup_list(a)?;
                    commands::backup::list(&s, ctx, &mut out).await?
                }
                None => {
                    let s = settings::backup(args, &file)?;
                    notified(
                        Kind::Backup,
                        Some(&args.notify),
                        &file,
                        &mut out,
                        async |notice, out| commands::backup::run(&s, ctx, out, notice).await,
                    )
                    .await?
                }
            }
        }
        Command::Restore(args) => {
            settings::require_format(ctx, "restore", &[Format::Human, Format::Json])?;
            let s = settings::restore(args, &file)?;
            notified(
                Kind::Restore,
                Some(&args.notify),
                &file,
                &mut out,
                async |notice, out| commands::restore::run(&s, ctx, out, notice).await,
            )
            .await?
        }
        Command::Drift(args) => {
            let s = settings::drift(args, &file)?;
            notified(
                Kind::Drift,
                Some(&args.notify),
                &file,
                &mut out,
                async |notice, out| commands::drift::run(&s, ctx, out, notice).await,
            )
            .await?
        }
        Command::Deploy(_) => return Err(Error::NotAvailable { command: "deploy" }),
        Command::Inspect(args) => {
            settings::require_format(ctx, "inspect", &[Format::Human, Format::Json])?;
            let s = settings::inspect(args, &file)?;
            commands::inspect::run(&s, ctx, &mut out).await?
        }
        Command::Lint(_) => return Err(Error::NotAvailable { command: "lint" }),
        Command::Migrate(args) => {
            settings::require_format(ctx, "migrate", &[Format::Human, Format::Json])?;
            notified(
                Kind::Migrate,
                args.notify(),
                &file,
                &mut out,
                async |notice, out| {
                    let s = settings::migrate(args, &file)?;
                    commands::migrate::migrate(&s, ctx, out, notice).await
                },
            )
            .await?
        }
        Command::Status(args) => {
            settings::require_format(ctx, "status", &[Format::Human, Format::Json])?;
            let s = settings::status(args, &file)?;
            commands::migrate::status(&s, ctx, &mut out).await?
        }
    };
    out.flush().map_err(Error::Output)?;
    Ok(outcome)
}

/// Runs a command that notifies. Its notification settings are checked first (a channel
/// without its target stops the run before anything happens); the command fills the notice it
/// is handed; once its result — `Ok` or `Err` — is known and stdout is flushed, the
/// notification goes out. A failed notification is a logged warning: the result is the
/// command's, unchanged.
async fn notified(
    kind: Kind,
    args: Option<&NotifyArgs>,
    file: &config::Loaded,
    out: &mut dyn Write,
    run: impl AsyncFnOnce(&mut Notice, &mut dyn Write) -> Result<Outcome, Error>,
) -> Result<Outcome, Error> {
    let notify = settings::notify(args, file)?;
    let mut notice = Notice::new(kind);
    let result = run(&mut notice, out).await;
    if notify.is_enabled() {
        let _ = out.flush();
        report::notice::deliver(notice, &result, &notify).await;
    }
    result
}

/// Prints the error once, with each distinct cause and the hint, all scrubbed of secrets.
/// With `--format json` the same goes to stdout as a JSON document, so scripts always get one.
fn print_error(err: &Error, format: Format) {
    crate::report::actions::mask_secrets();
    let message = crate::report::actions::stderr_text(&err.full_message());
    let hint = err
        .hint()
        .map(|h| crate::report::actions::stderr_text(&crate::secret::scrub(&h)));
    let mut stderr = std::io::stderr().lock();
    let _ = writeln!(stderr, "error: {message}");
    if let Some(h) = &hint {
        let _ = writeln!(stderr, "  hint: {h}");
    }
    if format == Format::Json {
        let doc = serde_json::json!({
            "version": crate::report::JSON_VERSION,
            "error": {
                "message": message,
                "hint": hint,
                "exit_code": err.exit_code().code(),
            }
        });
        let text = crate::report::actions::stdout_text(&format!("{doc:#}\n"), Format::Json);
        let _ = std::io::stdout().lock().write_all(text.as_bytes());
    }
}

/// Composite actions pass every input, given or not, so an empty `PGKEEL_*` variable means
/// "not set" (clap would otherwise refuse an empty choice or path). Runs first, while the
/// process has one thread.
fn drop_empty_variables() {
    let empty: Vec<std::ffi::OsString> = std::env::vars_os()
        .filter(|(k, v)| v.is_empty() && k.to_str().is_some_and(|k| k.starts_with("PGKEEL_")))
        .map(|(k, _)| k)
        .collect();
    for k in empty {
        std::env::remove_var(k);
    }
}

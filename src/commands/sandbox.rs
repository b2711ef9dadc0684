//! `pgkeel sandbox start|stop|status|run`.

use std::ffi::OsString;
use std::io::Write;

use super::Context;
use crate::error::{Error, Outcome};
use crate::report::sandbox::{self as view, SandboxView};
use crate::sandbox::{registry, Cluster, SandboxError, SandboxOptions};

pub fn start(
    name: &str,
    opts: &SandboxOptions,
    ctx: &Context,
    out: &mut dyn Write,
) -> Result<Outcome, Error> {
    if let Some(existing) = registry::load(name)? {
        if existing.is_running() {
            return Err(SandboxError::AlreadyRunning {
                name: name.to_string(),
                url: existing.url,
            }
            .into());
        }
    }
    let cluster = Cluster::start(opts)?;
    let url = cluster.conn_spec().to_string();
    let entry = registry::Entry::new(name, url, cluster.detach());
    if let Err(e) = registry::save(&entry) {
        // Unrecorded, nobody could stop it: stop it now.
        let _ = registry::stop(name);
        // SAFETY: kill(2) on the server we just started.
        unsafe {
            libc::kill(entry.server.pid as libc::pid_t, libc::SIGINT);
        }
        return Err(e.into());
    }
    tracing::info!(
        "sandbox `{name}` running PostgreSQL {} (stop it with `pgkeel sandbox stop{}`)",
        entry.server.version,
        if name == "default" {
            String::new()
        } else {
            format!(" --name {name}")
        }
    );
    view::started(&SandboxView::new(&entry, true), ctx.format, out).map_err(Error::Output)?;
    Ok(Outcome::Clean)
}

pub fn stop(name: &str, ctx: &Context, out: &mut dyn Write) -> Result<Outcome, Error> {
    let entry = registry::stop(name)?;
    view::stopped(&SandboxView::new(&entry, false), ctx.format, out).map_err(Error::Output)?;
    Ok(Outcome::Clean)
}

pub fn status(name: Option<&str>, ctx: &Context, out: &mut dyn Write) -> Result<Outcome, Error> {
    let entries = match name {
        Some(n) => vec![registry::load(n)?.ok_or_else(|| SandboxError::NotRunning {
            name: n.to_string(),
        })?],
        None => registry::list()?,
    };
    let running: Vec<bool> = entries.iter().map(registry::Entry::is_running).collect();
    let views: Vec<SandboxView<'_>> = entries
        .iter()
        .zip(&running)
        .map(|(e, r)| SandboxView::new(e, *r))
        .collect();
    view::status(&views, ctx.format, ctx.style, out).map_err(Error::Output)?;
    // Asking about one named sandbox that is not running is a finding scripts can test.
    Ok(if name.is_some() && !running.iter().all(|r| *r) {
        Outcome::Finding
    } else {
        Outcome::Clean
    })
}

/// Starts a sandbox, runs `command` with `DATABASE_URL` (and the libpq variables) pointing at
/// it, removes the sandbox, and exits with the command's status.
pub async fn run(opts: &SandboxOptions, command: &[OsString]) -> Result<Outcome, Error> {
    let opts = opts.clone();
    let cluster = tokio::task::spawn_blocking(move || Cluster::start(&opts))
        .await
        .map_err(|e| Error::usage(format!("sandbox start-up panicked: {e}")))??;
    let spec = cluster.conn_spec();
    let url = spec.to_url_with_password();
    tracing::info!(
        "sandbox running PostgreSQL {} at {}",
        cluster.version(),
        spec
    );

    let (program, args) = command
        .split_first()
        .ok_or_else(|| Error::usage("no command given after `--`"))?;
    let mut cmd = tokio::process::Command::new(program);
    cmd.args(args)
        .env("DATABASE_URL", &url)
        .env("PGKEEL_DATABASE_URL", &url)
        .env("PGHOST", "127.0.0.1")
        .env("PGPORT", cluster.port().to_string())
        .env("PGUSER", &spec.user)
        .env("PGDATABASE", &spec.dbname)
        .env_remove("PGPASSWORD")
        .env_remove("PGSERVICE");
    // So `pgkeel sandbox run -- pgkeel check` finds this very binary.
    if let Ok(exe) = std::env::current_exe() {
        if let Some(dir) = exe.parent() {
            let mut paths = vec![dir.to_path_buf()];
            if let Some(p) = std::env::var_os("PATH") {
                paths.extend(std::env::split_paths(&p));
            }
            if let Ok(joined) = std::env::join_paths(paths) {
                cmd.env("PATH", joined);
            }
        }
    }
    let mut child = cmd.spawn().map_err(|source| Error::Spawn {
        program: program.to_string_lossy().into_owned(),
        source,
    })?;
    // The terminal's Ctrl-C reaches the command too; we wait for it to finish, then clean up.
    let status = loop {
        tokio::select! {
            status = child.wait() => break status,
            _ = tokio::signal::ctrl_c() => continue,
        }
    }
    .map_err(|source| Error::Spawn {
        program: program.to_string_lossy().into_owned(),
        source,
    })?;
    drop(cluster);
    let code = match status.code() {
        Some(c) => c.clamp(0, 255) as u8,
        None => {
            use std::os::unix::process::ExitStatusExt;
            128u8.saturating_add(status.signal().unwrap_or(0) as u8)
        }
    };
    Ok(Outcome::Passthrough(code))
}

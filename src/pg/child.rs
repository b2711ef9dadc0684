//! Running PostgreSQL's own programs (pg_dump, pg_restore, psql) against a [`ConnSpec`]:
//! the connection goes in libpq's environment variables, never on the command line (where
//! `ps` would show a password), and the child dies with pgkeel.

use std::process::Command;

use super::conn_spec::{ConnSpec, Host, RootCert, SslMode};

/// Variables from the caller's environment that would change what the child connects to.
const INHERITED: [&str; 8] = [
    "PGSERVICE",
    "PGSERVICEFILE",
    "PGPASSFILE",
    "PGREQUIRESSL",
    "PGSSLCERT",
    "PGSSLKEY",
    "PGTARGETSESSIONATTRS",
    "PGHOSTADDR",
];

/// Sets `cmd`'s libpq environment to reach `spec` (password in `PGPASSWORD`).
pub fn libpq_env(cmd: &mut Command, spec: &ConnSpec) {
    for var in INHERITED {
        cmd.env_remove(var);
    }
    let hosts: Vec<String> = spec
        .hosts
        .iter()
        .map(|h| match h {
            Host::Tcp(h) => h.clone(),
            Host::Unix(p) => p.display().to_string(),
        })
        .collect();
    let ports: Vec<String> = (0..spec.hosts.len())
        .map(|i| spec.port_for(i).to_string())
        .collect();
    cmd.env("PGHOST", hosts.join(","))
        .env("PGPORT", ports.join(","))
        .env("PGUSER", &spec.user)
        .env("PGDATABASE", &spec.dbname)
        .env("PGSSLMODE", spec.sslmode.as_str())
        .env(
            "PGCONNECT_TIMEOUT",
            spec.connect_timeout.as_secs().max(2).to_string(),
        )
        .env("PGAPPNAME", &spec.application_name);
    match &spec.password {
        Some(pw) => cmd.env("PGPASSWORD", pw.expose()),
        None => cmd.env_remove("PGPASSWORD"),
    };
    match &spec.sslrootcert {
        Some(RootCert::File(p)) => cmd.env("PGSSLROOTCERT", p),
        Some(RootCert::System) => cmd.env("PGSSLROOTCERT", "system"),
        None => cmd.env_remove("PGSSLROOTCERT"),
    };
    match &spec.options {
        Some(o) => cmd.env("PGOPTIONS", o),
        None => cmd.env_remove("PGOPTIONS"),
    };
    if spec.sslmode == SslMode::Allow {
        cmd.env("PGSSLMODE", "prefer");
    }
}

/// Makes the child receive SIGKILL when pgkeel dies, so a killed pgkeel never leaves a
/// pg_restore writing into a database behind its back (Linux; elsewhere a no-op).
pub fn die_with_parent(cmd: &mut Command) {
    #[cfg(target_os = "linux")]
    {
        use std::os::unix::process::CommandExt;
        // SAFETY: prctl is async-signal-safe and touches no memory of the parent.
        unsafe {
            cmd.pre_exec(|| {
                libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGKILL);
                Ok(())
            });
        }
    }
}

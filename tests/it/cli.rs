//! The command line as a user meets it: help, unfinished subcommands, global flags.

use crate::support::{pgkeel, run, temp_dir};

#[test]
fn help_lists_every_subcommand_and_the_exit_codes() {
    let dir = temp_dir();
    let r = run(pgkeel(dir.path()).arg("--help"));
    assert_eq!(r.code, 0, "{r:?}");
    for sub in [
        "diff", "backup", "restore", "drift", "deploy", "inspect", "lint", "migrate", "status",
        "sandbox", "check",
    ] {
        assert!(
            r.stdout.lines().any(|l| l.trim_start().starts_with(sub)),
            "missing {sub}: {r:?}"
        );
        let sub_help = run(pgkeel(dir.path()).args([sub, "--help"]));
        assert_eq!(sub_help.code, 0, "{sub}: {sub_help:?}");
    }
    assert!(r.stdout.contains("101  bug in pgkeel"), "{r:?}");
}

#[test]
fn unfinished_subcommands_say_so_and_exit_2() {
    let dir = temp_dir();
    for sub in ["deploy", "lint"] {
        let r = run(pgkeel(dir.path()).args([sub, "--whatever", "x"]));
        assert_eq!(r.code, 2, "{sub}: {r:?}");
        assert!(r.stderr.contains("not available yet"), "{sub}: {r:?}");
        assert_eq!(r.stdout, "", "nothing on stdout: {r:?}");
    }
}

#[test]
fn help_never_shows_the_database_url_from_the_environment() {
    let dir = temp_dir();
    let r = run(pgkeel(dir.path())
        .args(["check", "--help"])
        .env("PGKEEL_DATABASE_URL", "postgres://u:HelpLeak99@h/db"));
    assert_eq!(r.code, 0, "{r:?}");
    r.assert_no_secret("HelpLeak99");
}

#[test]
fn unsupported_format_is_a_usage_error() {
    let dir = temp_dir();
    let r = run(pgkeel(dir.path()).args(["check", "--format", "sql"]));
    assert_eq!(r.code, 2, "{r:?}");
    assert!(r.stderr.contains("cannot print --format sql"), "{r:?}");
}

#[test]
fn bad_flags_exit_2() {
    let dir = temp_dir();
    let r = run(pgkeel(dir.path()).args(["check", "--no-such-flag"]));
    assert_eq!(r.code, 2, "{r:?}");
}

//! Finding PostgreSQL programs by major version.

use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};

use pgkeel::pg::tools::{self, Requirement, Tool};

/// A fake program that only answers `--version`, as an old client would.
fn stub(dir: &Path, name: &str, version: &str) {
    let path = dir.join(name);
    std::fs::write(
        &path,
        format!("#!/bin/sh\necho \"{name} (PostgreSQL) {version}\"\n"),
    )
    .unwrap();
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o755)).unwrap();
}

#[test]
fn finds_the_installed_server_and_clients() {
    for tool in [
        Tool::Initdb,
        Tool::PgCtl,
        Tool::Postgres,
        Tool::PgDump,
        Tool::PgRestore,
        Tool::Psql,
    ] {
        let found =
            tools::find(tool, Requirement::Any).unwrap_or_else(|e| panic!("{e}; {}", e.hint()));
        assert!(found.path.ends_with(tool.name()), "{found:?}");
        assert!(found.major >= 14, "{found:?}");
    }
}

#[test]
fn newest_satisfying_wins_and_a_pinned_dir_beats_newer() {
    let old = crate::support::temp_dir();
    let new = crate::support::temp_dir();
    stub(old.path(), "pg_dump", "13.9");
    stub(new.path(), "pg_dump", "99.1");
    let dirs: Vec<PathBuf> = vec![old.path().into(), new.path().into()];

    let pick = tools::find_in(Tool::PgDump, Requirement::AtLeast(13), &dirs, &[]).unwrap();
    assert_eq!(pick.version, "99.1");
    let pick = tools::find_in(
        Tool::PgDump,
        Requirement::AtLeast(13),
        &dirs,
        &[old.path().into()],
    )
    .unwrap();
    assert_eq!(pick.version, "13.9", "PGKEEL_PG_BIN wins when it satisfies");
    let pick = tools::find_in(
        Tool::PgDump,
        Requirement::AtLeast(14),
        &dirs,
        &[old.path().into()],
    )
    .unwrap();
    assert_eq!(pick.version, "99.1", "…and is skipped when it does not");
    let pick = tools::find_in(Tool::PgDump, Requirement::Exact(13), &dirs, &[]).unwrap();
    assert_eq!(pick.major, 13);
}

#[test]
fn too_old_client_gives_the_exact_version_and_install_command() {
    let old = crate::support::temp_dir();
    stub(old.path(), "pg_dump", "12.22");
    let err = tools::find_in(
        Tool::PgDump,
        Requirement::AtLeast(17),
        &[old.path().into()],
        &[],
    )
    .unwrap_err();
    let msg = err.to_string();
    assert!(
        msg.contains("no pg_dump with major version 17 or newer found"),
        "{msg}"
    );
    assert!(msg.contains("12.22 at"), "{msg}");
    assert!(
        err.hint().contains("apt-get install postgresql-client-17"),
        "{}",
        err.hint()
    );
    assert!(err.hint().contains("PGKEEL_PG_BIN"), "{}", err.hint());
}

#[test]
fn programs_that_do_not_answer_are_ignored() {
    let dir = crate::support::temp_dir();
    let path = dir.path().join("psql");
    std::fs::write(&path, "#!/bin/sh\nexit 1\n").unwrap();
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o755)).unwrap();
    assert!(tools::candidates_in(Tool::Psql, &[dir.path().into()]).is_empty());
}

//! Every example project under `examples/<tool>/` runs as a user would run it: from its own
//! directory, with no flags but the database (pgkeel finds the migrations directory and the
//! tool by itself, or from the example's pgkeel.yml), up, status, down to nothing where the
//! tool has down migrations, and up again.

use std::path::{Path, PathBuf};

use crate::support::{pgkeel, repo_root, run, temp_dir, Run, TestDb};

fn example_dirs() -> Vec<PathBuf> {
    let mut dirs: Vec<PathBuf> = std::fs::read_dir(repo_root().join("examples"))
        .expect("examples/")
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.is_dir())
        .filter(|p| {
            p.file_name()
                .and_then(|n| n.to_str())
                .and_then(pgkeel::migrations::Format::from_name)
                .is_some()
        })
        .collect();
    dirs.sort();
    assert_eq!(
        dirs.len(),
        pgkeel::migrations::Format::ALL.len(),
        "one example per tool: {dirs:?}"
    );
    dirs
}

fn in_example(dir: &Path, db: &TestDb, args: &[&str]) -> Run {
    let state = temp_dir();
    let mut cmd = pgkeel(state.path());
    cmd.current_dir(dir)
        .args(args)
        .args(["--database-url", &db.url()]);
    run(&mut cmd)
}

fn summary(r: &Run) -> (String, u64, u64) {
    let doc = r.json();
    (
        doc["tool"].as_str().unwrap_or_default().to_string(),
        doc["summary"]["applied"].as_u64().unwrap_or(99),
        doc["summary"]["pending"].as_u64().unwrap_or(99),
    )
}

#[test]
fn every_example_project_migrates_up_down_and_up_again() {
    let dirs = example_dirs();
    assert!(!dirs.is_empty(), "no example projects");
    for dir in dirs {
        let tool = dir
            .file_name()
            .and_then(|n| n.to_str())
            .unwrap_or_default()
            .to_string();
        let db = TestDb::new();
        let r = in_example(&dir, &db, &["status", "--format", "json"]);
        assert_eq!(r.code, 0, "{tool}: {r:?}");
        let (detected, applied, pending) = summary(&r);
        assert_eq!(detected, tool, "{tool}: detected as {detected}");
        assert_eq!(applied, 0, "{tool}");
        assert!(pending >= 3, "{tool}: at least three migrations: {r:?}");

        let r = in_example(&dir, &db, &["migrate", "up"]);
        assert_eq!(r.code, 0, "{tool}: {r:?}");
        let r = in_example(&dir, &db, &["status", "--format", "json"]);
        assert_eq!(r.code, 0, "{tool}: {r:?}");
        assert_eq!(summary(&r), (tool.clone(), pending, 0), "{tool}: {r:?}");

        let has_down = pgkeel::migrations::Format::from_name(&tool).is_some_and(|f| f.has_down());
        if has_down {
            let r = in_example(&dir, &db, &["migrate", "down", "--to", "0"]);
            assert_eq!(r.code, 0, "{tool}: {r:?}");
            let r = in_example(&dir, &db, &["status", "--format", "json"]);
            assert_eq!(summary(&r), (tool.clone(), 0, pending), "{tool}: {r:?}");
            let r = in_example(&dir, &db, &["migrate", "up"]);
            assert_eq!(r.code, 0, "{tool}: {r:?}");
        } else {
            let r = in_example(&dir, &db, &["migrate", "down"]);
            assert_eq!(r.code, 2, "{tool}: {r:?}");
            assert!(r.stderr.contains("no down scripts"), "{tool}: {r:?}");
        }
    }
}

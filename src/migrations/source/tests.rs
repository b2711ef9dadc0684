use super::*;

#[test]
fn numbered_names() {
    assert_eq!(
        split_numbered("0001_init.up.sql"),
        Some(("0001", "init", Direction::Up))
    );
    assert_eq!(
        split_numbered("2_x.down.sql"),
        Some(("2", "x", Direction::Down))
    );
    assert_eq!(
        split_numbered("20240101_a_b.sql"),
        Some(("20240101", "a_b", Direction::Single))
    );
    assert_eq!(split_numbered("7.sql"), Some(("7", "", Direction::Single)));
    assert_eq!(split_numbered("x_1.sql"), None);
    assert_eq!(split_numbered("1x.sql"), None);
    assert_eq!(split_numbered("a/1_x.sql"), None);
}

#[test]
fn example_projects_load() {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("examples");
    for (dir, format, downs) in [
        ("pgkeel/migrations", Format::Pgkeel, true),
        ("golang-migrate/migrations", Format::GolangMigrate, true),
        ("sqlx/migrations", Format::Sqlx, true),
        ("supabase/supabase/migrations", Format::Supabase, false),
        ("prisma/prisma/migrations", Format::Prisma, false),
        ("drizzle/drizzle", Format::Drizzle, false),
    ] {
        let tree = Tree::Dir(root.join(dir));
        let detected = detect(&tree).unwrap_or_else(|e| panic!("{dir}: {e}"));
        assert!(
            detected.format == format || detected.alternatives.contains(&format),
            "{dir}: detected {detected:?}"
        );
        let migrations = load(&tree, format).unwrap_or_else(|e| panic!("{dir}: {e}"));
        assert_eq!(migrations.len(), 3, "{dir}");
        assert!(
            migrations.iter().all(|m| m.down.is_some() == downs),
            "{dir}"
        );
    }
}

/// An example project's migrations (`examples/<tool>/migrations`), checked to be detected as
/// that tool.
pub(crate) fn example(format: Format) -> Vec<crate::migrations::Migration> {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("examples")
        .join(format.name())
        .join("migrations");
    let tree = Tree::Dir(dir);
    let detected = detect(&tree).unwrap_or_else(|e| panic!("{format}: {e}"));
    assert_eq!(detected.format, format);
    load(&tree, format).unwrap_or_else(|e| panic!("{format}: {e}"))
}

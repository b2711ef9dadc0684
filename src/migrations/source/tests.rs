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

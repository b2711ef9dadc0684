//! The one place identifiers and literals become SQL text. Every generated statement goes
//! through these two functions, so a hostile name is data, never syntax.

/// `"name"` with embedded quotes doubled. Always quotes, so case and reserved words survive.
pub fn ident(name: &str) -> String {
    let mut out = String::with_capacity(name.len() + 2);
    out.push('"');
    for c in name.chars() {
        if c == '"' {
            out.push('"');
        }
        out.push(c);
    }
    out.push('"');
    out
}

/// `schema.name`, both parts quoted.
pub fn qualified(schema: &str, name: &str) -> String {
    format!("{}.{}", ident(schema), ident(name))
}

/// A string literal that means `value` whatever `standard_conforming_strings` is: plain
/// `'…'` when there is no backslash, `E'…'` with backslashes doubled otherwise (what
/// PostgreSQL's own `quote_literal` does).
pub fn literal(value: &str) -> String {
    let escape = value.contains('\\');
    let mut out = String::with_capacity(value.len() + 3);
    if escape {
        out.push('E');
    }
    out.push('\'');
    for c in value.chars() {
        match c {
            '\'' => out.push_str("''"),
            '\\' if escape => out.push_str("\\\\"),
            c => out.push(c),
        }
    }
    out.push('\'');
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn identifiers() {
        assert_eq!(ident("users"), "\"users\"");
        assert_eq!(ident("Mixed Case"), "\"Mixed Case\"");
        assert_eq!(ident("a\"b"), "\"a\"\"b\"");
        assert_eq!(ident("\"; DROP TABLE t; --"), "\"\"\"; DROP TABLE t; --\"");
        assert_eq!(qualified("public", "select"), "\"public\".\"select\"");
    }

    #[test]
    fn literals() {
        assert_eq!(literal("x"), "'x'");
        assert_eq!(literal("x'); DROP TABLE t; --"), "'x''); DROP TABLE t; --'");
        assert_eq!(literal("a\\b'c"), "E'a\\\\b''c'");
        assert_eq!(literal(""), "''");
        assert_eq!(literal("ünï'cødé"), "'ünï''cødé'");
    }
}

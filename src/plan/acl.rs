//! Privileges: `aclitem` lists (`grantee=privs/grantor`) turned into GRANT/REVOKE statements.
//! An empty list means "the built-in defaults": the owner's own default privileges are treated
//! as equal to whatever the other side lists for the owner, so ownership defaults never produce
//! noise, and PUBLIC holds what PostgreSQL gives it on that kind of object (EXECUTE on
//! functions, USAGE on types and domains), so revoking that from PUBLIC is a real change.

use std::collections::{BTreeMap, BTreeSet};

use crate::diff::Target;
use crate::pg::quote::ident;

/// privilege letter → keyword, as in `aclitem` text.
const PRIVILEGES: [(char, &str); 15] = [
    ('r', "SELECT"),
    ('a', "INSERT"),
    ('w', "UPDATE"),
    ('d', "DELETE"),
    ('D', "TRUNCATE"),
    ('x', "REFERENCES"),
    ('t', "TRIGGER"),
    ('m', "MAINTAIN"),
    ('X', "EXECUTE"),
    ('U', "USAGE"),
    ('C', "CREATE"),
    ('c', "CONNECT"),
    ('T', "TEMPORARY"),
    ('s', "SET"),
    ('A', "ALTER SYSTEM"),
];

type Grants = BTreeMap<String, BTreeSet<(char, bool)>>;

/// Parses `grantee=privs/grantor` items; an empty grantee is PUBLIC.
fn parse(items: &[String]) -> Grants {
    let mut out: Grants = BTreeMap::new();
    for item in items {
        let Some((grantee, rest)) = split_grantee(item) else {
            continue;
        };
        let privs = rest.split('/').next().unwrap_or("");
        let mut chars = privs.chars().peekable();
        let set = out.entry(grantee).or_default();
        while let Some(c) = chars.next() {
            let grant_option = chars.peek() == Some(&'*');
            if grant_option {
                chars.next();
            }
            set.insert((c, grant_option));
        }
    }
    out
}

fn split_grantee(item: &str) -> Option<(String, &str)> {
    if let Some(rest) = item.strip_prefix('"') {
        // Quoted role name with "" escapes.
        let mut name = String::new();
        let mut chars = rest.char_indices().peekable();
        while let Some((i, c)) = chars.next() {
            if c == '"' {
                if chars.peek().map(|(_, c)| *c) == Some('"') {
                    name.push('"');
                    chars.next();
                } else {
                    return Some((name, rest[i + 1..].strip_prefix('=')?));
                }
            } else {
                name.push(c);
            }
        }
        None
    } else {
        let (g, rest) = item.split_once('=')?;
        Some((g.to_string(), rest))
    }
}

fn role(grantee: &str) -> String {
    if grantee.is_empty() {
        "PUBLIC".to_string()
    } else {
        ident(grantee)
    }
}

/// `items` with role `old` replaced by `new` as grantee and as grantor, as ALTER … OWNER TO
/// does to an object's privileges.
pub fn replace_role(items: &[String], old: &str, new: &str) -> Vec<String> {
    if old == new {
        return items.to_vec();
    }
    let swap = |r: &str| {
        if r == old {
            new.to_string()
        } else {
            r.to_string()
        }
    };
    items
        .iter()
        .map(|item| {
            let Some((grantee, rest)) = split_grantee(item) else {
                return item.clone();
            };
            let (privs, grantor) = rest.rsplit_once('/').unwrap_or((rest, ""));
            let grantor = grantor.trim_matches('"').replace("\"\"", "\"");
            let name = |r: String| {
                if r.is_empty() {
                    r
                } else {
                    acl_name(&r)
                }
            };
            format!("{}={privs}/{}", name(swap(&grantee)), name(swap(&grantor)))
        })
        .collect()
}

/// A role name as `aclitem` text writes it: quoted only when it must be.
fn acl_name(role: &str) -> String {
    let plain = role
        .chars()
        .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_');
    if plain {
        role.to_string()
    } else {
        format!("\"{}\"", role.replace('"', "\"\""))
    }
}

/// The privilege PUBLIC holds by default on objects of this kind (`acldefault`).
pub fn public_default(target: &Target) -> Option<char> {
    match target {
        Target::Function { .. } => Some('X'),
        Target::Type(_) | Target::Domain(_) => Some('U'),
        _ => None,
    }
}

/// GRANT/REVOKE statements that turn privileges `from` into `to` on `object` (e.g.
/// `TABLE "public"."t"`).
pub fn statements(
    object: &str,
    target: &Target,
    from: &[String],
    to: &[String],
    owner: Option<&str>,
) -> Vec<String> {
    let mut before = parse(from);
    let mut after = parse(to);
    if let Some(privilege) = public_default(target) {
        let default: BTreeSet<(char, bool)> = [(privilege, false)].into();
        if from.is_empty() {
            before.insert(String::new(), default.clone());
        }
        if to.is_empty() {
            after.insert(String::new(), default);
        }
    }
    if let Some(owner) = owner {
        // Defaults: the owner holds everything; mirror the explicit side.
        if from.is_empty() {
            if let Some(p) = after.get(owner).cloned() {
                before.insert(owner.to_string(), p);
            }
        }
        if to.is_empty() {
            if let Some(p) = before.get(owner).cloned() {
                after.insert(owner.to_string(), p);
            }
        }
    }
    let column = match target {
        Target::Column(_, c) => Some(ident(c)),
        _ => None,
    };
    render(object, column.as_deref(), &before, &after)
}

/// GRANT/REVOKE statements from `from` to `to` taken literally (no defaults), for
/// `ALTER DEFAULT PRIVILEGES … ON TABLES`, whose lists the caller has made explicit.
pub fn literal_statements(object: &str, from: &[String], to: &[String]) -> Vec<String> {
    render(object, None, &parse(from), &parse(to))
}

fn render(object: &str, column: Option<&str>, before: &Grants, after: &Grants) -> Vec<String> {
    let cols = column.map(|c| format!(" ({c})")).unwrap_or_default();
    let mut out = Vec::new();
    let grantees: BTreeSet<&String> = before.keys().chain(after.keys()).collect();
    let empty = BTreeSet::new();
    for g in grantees {
        let was = before.get(g).unwrap_or(&empty);
        let now = after.get(g).unwrap_or(&empty);
        if was == now {
            continue;
        }
        if !was.is_empty() {
            out.push(format!("REVOKE ALL{cols} ON {object} FROM {}", role(g)));
        }
        for grant_option in [false, true] {
            let names: Vec<&str> = PRIVILEGES
                .iter()
                .filter(|(letter, _)| now.contains(&(*letter, grant_option)))
                .map(|(_, name)| *name)
                .collect();
            if !names.is_empty() {
                let list: Vec<String> = names.iter().map(|n| format!("{n}{cols}")).collect();
                out.push(format!(
                    "GRANT {} ON {object} TO {}{}",
                    list.join(", "),
                    role(g),
                    if grant_option {
                        " WITH GRANT OPTION"
                    } else {
                        ""
                    }
                ));
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::catalog::model::QName;

    #[test]
    fn grants_and_revokes_per_grantee() {
        let t = Target::Relation(QName::new("public", "t"));
        let from = vec![
            "postgres=arwdDxt/postgres".to_string(),
            "alice=r/postgres".to_string(),
        ];
        let to = vec![
            "postgres=arwdDxt/postgres".to_string(),
            "bob=ar*/postgres".to_string(),
            "=r/postgres".to_string(),
        ];
        let s = statements("TABLE \"public\".\"t\"", &t, &from, &to, Some("postgres"));
        assert_eq!(
            s,
            vec![
                "GRANT SELECT ON TABLE \"public\".\"t\" TO PUBLIC",
                "REVOKE ALL ON TABLE \"public\".\"t\" FROM \"alice\"",
                "GRANT INSERT ON TABLE \"public\".\"t\" TO \"bob\"",
                "GRANT SELECT ON TABLE \"public\".\"t\" TO \"bob\" WITH GRANT OPTION",
            ]
        );
    }

    #[test]
    fn owner_defaults_do_not_produce_statements() {
        let t = Target::Relation(QName::new("public", "t"));
        let to = vec![
            "postgres=arwdDxt/postgres".to_string(),
            "alice=r/postgres".to_string(),
        ];
        let s = statements("TABLE t", &t, &[], &to, Some("postgres"));
        assert_eq!(s, vec!["GRANT SELECT ON TABLE t TO \"alice\""]);
    }

    #[test]
    fn column_privileges_and_quoted_roles() {
        let t = Target::Column(QName::new("public", "t"), "c".into());
        let to = vec!["\"odd \"\"role\"=w/postgres".to_string()];
        let s = statements("TABLE t", &t, &[], &to, Some("postgres"));
        assert_eq!(
            s,
            vec!["GRANT UPDATE (\"c\") ON TABLE t TO \"odd \"\"role\""]
        );
    }

    #[test]
    fn public_defaults_of_functions_and_types_are_real_privileges() {
        let f = Target::Function {
            name: QName::new("s", "f"),
            arguments: String::new(),
            procedure: false,
        };
        let revoked = vec!["postgres=X/postgres".to_string()];
        let s = statements("FUNCTION f()", &f, &[], &revoked, Some("postgres"));
        assert_eq!(s, vec!["REVOKE ALL ON FUNCTION f() FROM PUBLIC"]);
        let s = statements("FUNCTION f()", &f, &revoked, &[], Some("postgres"));
        assert_eq!(s, vec!["GRANT EXECUTE ON FUNCTION f() TO PUBLIC"]);
        let t = Target::Type(QName::new("s", "e"));
        let s = statements(
            "TYPE e",
            &t,
            &[],
            &["postgres=U/postgres".into()],
            Some("postgres"),
        );
        assert_eq!(s, vec!["REVOKE ALL ON TYPE e FROM PUBLIC"]);
        // A table has no PUBLIC default.
        let r = Target::Relation(QName::new("s", "t"));
        assert!(statements(
            "TABLE t",
            &r,
            &[],
            &["postgres=arwdDxt/postgres".into()],
            Some("postgres")
        )
        .is_empty());
    }
}

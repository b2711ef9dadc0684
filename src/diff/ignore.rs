//! Ignore rules for drift: changes a team has decided not to care about (a schema managed by
//! an extension, objects matching a name pattern, whole kinds such as grants). Ignored changes
//! are counted per rule, never silently dropped from the report.

use serde::Serialize;

use super::change::Change;

/// A kind of change that can be ignored as a whole.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Kind {
    Grants,
    Comments,
    Ownership,
    ColumnOrder,
    /// Objects of kinds pgkeel does not migrate (reported as "not migrated by pgkeel").
    Unmodelled,
}

impl Kind {
    pub fn from_name(name: &str) -> Option<Kind> {
        match name {
            "grants" | "privileges" => Some(Kind::Grants),
            "comments" => Some(Kind::Comments),
            "ownership" | "owners" => Some(Kind::Ownership),
            "column-order" | "column_order" => Some(Kind::ColumnOrder),
            "unmodelled" | "not-migrated" => Some(Kind::Unmodelled),
            _ => None,
        }
    }

    pub fn name(self) -> &'static str {
        match self {
            Kind::Grants => "grants",
            Kind::Comments => "comments",
            Kind::Ownership => "ownership",
            Kind::ColumnOrder => "column-order",
            Kind::Unmodelled => "unmodelled",
        }
    }

    fn matches(self, change: &Change) -> bool {
        matches!(
            (self, change),
            (
                Kind::Grants,
                Change::Privileges { .. } | Change::DefaultPrivileges { .. }
            ) | (Kind::Comments, Change::Comment { .. })
                | (Kind::Ownership, Change::Owner { .. })
                | (Kind::ColumnOrder, Change::ColumnOrder { .. })
                | (Kind::Unmodelled, Change::NotMigrated { .. })
        )
    }
}

/// What to leave out.
#[derive(Debug, Clone, Default)]
pub struct Rules {
    pub schemas: Vec<String>,
    /// Glob patterns (`*`, `?`) over `schema.name` of the object (or its table).
    pub objects: Vec<String>,
    pub kinds: Vec<Kind>,
}

/// One rule and how many changes it took out.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Ignored {
    pub rule: String,
    pub count: usize,
    pub changes: Vec<String>,
}

impl Rules {
    pub fn is_empty(&self) -> bool {
        self.schemas.is_empty() && self.objects.is_empty() && self.kinds.is_empty()
    }

    /// Splits `changes` into kept ones and what each rule ignored (first matching rule wins).
    pub fn apply(&self, changes: Vec<Change>) -> (Vec<Change>, Vec<Ignored>) {
        let rules: Vec<Rule> = self
            .kinds
            .iter()
            .map(|k| Rule::Kind(*k))
            .chain(self.schemas.iter().map(|s| Rule::Schema(s)))
            .chain(self.objects.iter().map(|p| Rule::Object(p)))
            .collect();
        let mut ignored: Vec<Ignored> = rules
            .iter()
            .map(|rule| Ignored {
                rule: rule.to_string(),
                count: 0,
                changes: Vec::new(),
            })
            .collect();
        let mut kept = Vec::new();
        for change in changes {
            match rules.iter().position(|r| r.matches(&change)) {
                Some(i) => {
                    ignored[i].count += 1;
                    ignored[i].changes.push(change.describe());
                }
                None => kept.push(change),
            }
        }
        (kept, ignored)
    }
}

enum Rule<'r> {
    Kind(Kind),
    Schema(&'r str),
    Object(&'r str),
}

impl Rule<'_> {
    fn matches(&self, c: &Change) -> bool {
        match self {
            Rule::Kind(k) => k.matches(c),
            Rule::Schema(s) => object_name(c).is_some_and(|(schema, _)| schema == *s),
            Rule::Object(p) => object_name(c).is_some_and(|(schema, name)| {
                glob(p, &format!("{schema}.{name}")) || glob(p, &name)
            }),
        }
    }
}

impl std::fmt::Display for Rule<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Rule::Kind(k) => write!(f, "kind {}", k.name()),
            Rule::Schema(s) => write!(f, "schema {s}"),
            Rule::Object(p) => write!(f, "object {p}"),
        }
    }
}

/// `(schema, name)` of the object a change is about: its table when it has one, else the
/// first schema-qualified object it carries.
pub fn object_name(change: &Change) -> Option<(String, String)> {
    if let Some(t) = change.table() {
        return Some((t.schema.clone(), t.name.clone()));
    }
    let value = serde_json::to_value(change).ok()?;
    find_qname(&value, 0)
}

fn find_qname(value: &serde_json::Value, depth: usize) -> Option<(String, String)> {
    if depth > 3 {
        return None;
    }
    match value {
        serde_json::Value::Object(map) => {
            if let (Some(serde_json::Value::String(s)), Some(serde_json::Value::String(n))) =
                (map.get("schema"), map.get("name"))
            {
                return Some((s.clone(), n.clone()));
            }
            map.values().find_map(|v| find_qname(v, depth + 1))
        }
        serde_json::Value::Array(items) => items.iter().find_map(|v| find_qname(v, depth + 1)),
        _ => None,
    }
}

/// `*` any run of characters, `?` one character; everything else literal.
pub fn glob(pattern: &str, text: &str) -> bool {
    let p: Vec<char> = pattern.chars().collect();
    let t: Vec<char> = text.chars().collect();
    let (mut pi, mut ti) = (0, 0);
    let mut star: Option<(usize, usize)> = None;
    while ti < t.len() {
        if pi < p.len() && (p[pi] == '?' || p[pi] == t[ti]) {
            pi += 1;
            ti += 1;
        } else if pi < p.len() && p[pi] == '*' {
            star = Some((pi, ti));
            pi += 1;
        } else if let Some((sp, st)) = star {
            pi = sp + 1;
            ti = st + 1;
            star = Some((sp, st + 1));
        } else {
            return false;
        }
    }
    p[pi..].iter().all(|c| *c == '*')
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unmodelled_objects_are_ignored_only_by_name_and_counted() {
        let change = Change::NotMigrated {
            kind: "foreign server".into(),
            name: "srv".into(),
            from: None,
            to: Some("w".into()),
        };
        let rules = Rules {
            kinds: vec![Kind::from_name("unmodelled").expect("known kind")],
            ..Rules::default()
        };
        let (kept, ignored) = rules.apply(vec![change]);
        assert!(kept.is_empty());
        assert_eq!(ignored[0].rule, "kind unmodelled");
        assert_eq!(ignored[0].count, 1);
    }

    #[test]
    fn globs() {
        assert!(glob("public.tmp_*", "public.tmp_2024"));
        assert!(glob("*_backup", "orders_backup"));
        assert!(glob("a?c", "abc"));
        assert!(!glob("a?c", "abbc"));
        assert!(glob("*", ""));
        assert!(!glob("public.x", "public.xy"));
        assert!(glob("*.*_old*", "app.users_old_2"));
    }
}

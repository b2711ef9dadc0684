//! `pgkeel diff`: the schema comparison report (human, markdown), the migration (sql), and the
//! JSON document.

use std::collections::BTreeMap;
use std::io::{self, Write};

use serde::Serialize;

use super::{write_json, Format, Style};
use crate::catalog::model::{QName, Schema};
use crate::diff::{Change, Class, Classification};
use crate::plan::{self, Refusal, Step};

pub struct Input<'a> {
    pub from_label: String,
    pub to_label: String,
    pub from: &'a Schema,
    pub to: &'a Schema,
    pub changes: &'a [Change],
    pub steps: &'a [Step],
    pub refusals: &'a [Refusal],
}

#[derive(Serialize)]
struct ChangeDoc<'a> {
    description: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    table: Option<String>,
    classification: Classification,
    change: &'a Change,
}

#[derive(Serialize)]
struct Doc<'a> {
    from: &'a str,
    to: &'a str,
    has_changes: bool,
    verdict: &'static str,
    summary: Summary,
    changes: Vec<ChangeDoc<'a>>,
    steps: &'a [Step],
    refused: Vec<String>,
    sql: String,
}

#[derive(Serialize, Default)]
pub(super) struct Summary {
    pub(super) tables_identical: usize,
    pub(super) tables_changed: usize,
    pub(super) tables_added: usize,
    pub(super) tables_removed: usize,
    pub(super) breaking: usize,
    pub(super) hazards: usize,
}

fn classified<'a>(input: &Input<'a>) -> Vec<(Classification, &'a Change)> {
    input
        .changes
        .iter()
        .map(|c| {
            let new = c
                .table()
                .is_some_and(|t| !input.from.tables.iter().any(|x| &x.name == t));
            (c.classify(new), c)
        })
        .collect()
}

fn summary(input: &Input<'_>, classes: &[(Classification, &Change)]) -> Summary {
    summarize(
        input.from,
        input.to,
        input.changes,
        classes.iter().map(|(c, _)| c.class),
    )
}

/// Table counts and the number of breaking and hazardous changes.
pub(super) fn summarize(
    from: &Schema,
    to: &Schema,
    changes: &[Change],
    classes: impl Iterator<Item = Class>,
) -> Summary {
    let mut s = Summary::default();
    let changed: std::collections::BTreeSet<&QName> = changes
        .iter()
        .filter(|c| !matches!(c, Change::CreateTable(_) | Change::DropTable(_)))
        .filter_map(Change::table)
        .collect();
    // Sets, not scans: a schema of 5,000 tables made the scans 25 million comparisons.
    let from_names: std::collections::BTreeSet<&QName> =
        from.tables.iter().map(|t| &t.name).collect();
    let to_names: std::collections::BTreeSet<&QName> = to.tables.iter().map(|t| &t.name).collect();
    for t in &to.tables {
        if from_names.contains(&t.name) {
            if changed.contains(&t.name) {
                s.tables_changed += 1;
            } else {
                s.tables_identical += 1;
            }
        } else {
            s.tables_added += 1;
        }
    }
    s.tables_removed = from
        .tables
        .iter()
        .filter(|t| !to_names.contains(&t.name))
        .count();
    for class in classes {
        match class {
            Class::Breaking => s.breaking += 1,
            Class::Hazard => s.hazards += 1,
            Class::Safe => {}
        }
    }
    s
}

pub(super) fn verdict(s: &Summary) -> &'static str {
    if s.breaking > 0 {
        "breaking"
    } else if s.hazards > 0 {
        "review"
    } else {
        "safe"
    }
}

pub fn render(
    input: &Input<'_>,
    format: Format,
    style: Style,
    out: &mut dyn Write,
) -> io::Result<()> {
    let classes = classified(input);
    let s = summary(input, &classes);
    match format {
        Format::Sql => {
            let sql = plan::to_sql(input.steps);
            if sql.is_empty() {
                writeln!(out, "-- no differences")
            } else {
                out.write_all(sql.as_bytes())
            }
        }
        Format::Json => {
            let doc = Doc {
                from: &input.from_label,
                to: &input.to_label,
                has_changes: !input.changes.is_empty(),
                verdict: verdict(&s),
                changes: classes
                    .iter()
                    .map(|(c, ch)| ChangeDoc {
                        description: ch.describe(),
                        table: ch.table().map(|t| t.to_string()),
                        classification: c.clone(),
                        change: ch,
                    })
                    .collect(),
                summary: s,
                steps: input.steps,
                refused: input.refusals.iter().map(|r| r.to_string()).collect(),
                sql: plan::to_sql(input.steps),
            };
            write_json(out, "diff", &doc)
        }
        Format::Markdown => markdown(input, &classes, &s, out),
        Format::Human => human(input, &classes, &s, style, out),
    }
}

/// A change with its classification, as rendered.
type Item<'a> = (Classification, &'a Change);

/// Changes grouped by the table they touch, and the rest.
type Grouped<'a> = (BTreeMap<&'a QName, Vec<&'a Item<'a>>>, Vec<&'a Item<'a>>);

fn by_table<'a>(classes: &'a [Item<'a>]) -> Grouped<'a> {
    let mut tables: BTreeMap<&QName, Vec<&(Classification, &Change)>> = BTreeMap::new();
    let mut other = Vec::new();
    for item in classes {
        match item.1.table() {
            Some(t) => tables.entry(t).or_default().push(item),
            None => other.push(item),
        }
    }
    (tables, other)
}

pub(super) fn mark(c: &Change) -> &'static str {
    match c {
        Change::CreateTable(_)
        | Change::AddColumn { .. }
        | Change::AddConstraint { .. }
        | Change::AddIndex { .. }
        | Change::AddTrigger { .. }
        | Change::AddPolicy { .. }
        | Change::CreateView(_)
        | Change::CreateFunction(_)
        | Change::CreateSchema(_)
        | Change::CreateExtension(_)
        | Change::CreateEnum(_)
        | Change::CreateDomain(_)
        | Change::CreateComposite(_)
        | Change::CreateSequence(_)
        | Change::CreateRange(_)
        | Change::CreateEventTrigger(_)
        | Change::CreatePublication(_)
        | Change::AddEnumValue { .. } => "➕",
        Change::DropTable(_)
        | Change::DropColumn { .. }
        | Change::DropConstraint { .. }
        | Change::DropIndex { .. }
        | Change::DropTrigger { .. }
        | Change::DropPolicy { .. }
        | Change::DropView(_)
        | Change::DropFunction(_)
        | Change::DropSchema(_)
        | Change::DropExtension(_)
        | Change::DropEnum(_)
        | Change::DropDomain(_)
        | Change::DropComposite(_)
        | Change::DropSequence(_)
        | Change::DropRange(_)
        | Change::DropEventTrigger(_)
        | Change::DropPublication(_) => "➖",
        _ => "🔄",
    }
}

pub(super) fn verdict_line(s: &Summary) -> String {
    match verdict(s) {
        "breaking" => format!(
            "Breaking: {} change{} ❌",
            s.breaking,
            if s.breaking == 1 { "" } else { "s" }
        ),
        "review" => format!(
            "Review: {} hazard{} ⚠️",
            s.hazards,
            if s.hazards == 1 { "" } else { "s" }
        ),
        _ => "Safe to deploy ✅".to_string(),
    }
}

fn human(
    input: &Input<'_>,
    classes: &[(Classification, &Change)],
    s: &Summary,
    st: Style,
    out: &mut dyn Write,
) -> io::Result<()> {
    writeln!(
        out,
        "{}",
        st.bold(&format!(
            "Schema Comparison: {} vs {}",
            input.from_label, input.to_label
        ))
    )?;
    writeln!(out, "═══════════════════════════════════════════════")?;
    writeln!(out)?;
    if input.changes.is_empty() {
        writeln!(
            out,
            "✅ {} {} perfectly; no differences",
            s.tables_identical,
            plural(s.tables_identical, "table matches", "tables match")
        )?;
        return Ok(());
    }
    writeln!(
        out,
        "✅ {} {} perfectly",
        s.tables_identical,
        plural(s.tables_identical, "table matches", "tables match")
    )?;
    if s.tables_changed > 0 {
        writeln!(
            out,
            "⚠️  {} {} differences",
            s.tables_changed,
            plural(s.tables_changed, "table has", "tables have")
        )?;
    }
    if s.tables_added > 0 {
        writeln!(
            out,
            "➕ {} {} only in {}",
            s.tables_added,
            plural(s.tables_added, "table", "tables"),
            input.to_label
        )?;
    }
    if s.tables_removed > 0 {
        writeln!(
            out,
            "➖ {} {} only in {}",
            s.tables_removed,
            plural(s.tables_removed, "table", "tables"),
            input.from_label
        )?;
    }
    writeln!(out)?;
    writeln!(out, "DIFFERENCES:")?;
    let (tables, other) = by_table(classes);
    let n = tables.len();
    for (i, (table, items)) in tables.iter().enumerate() {
        let last = i + 1 == n && other.is_empty();
        writeln!(
            out,
            "{} {}",
            if last { "└─" } else { "├─" },
            st.bold(&table.to_string())
        )?;
        for (j, (_, c)) in items.iter().enumerate() {
            writeln!(
                out,
                "{}  {} {} {}",
                if last { " " } else { "│" },
                if j + 1 == items.len() {
                    "└─"
                } else {
                    "├─"
                },
                mark(c),
                c.describe()
            )?;
        }
    }
    for (j, (_, c)) in other.iter().enumerate() {
        writeln!(
            out,
            "{} {} {}",
            if j + 1 == other.len() {
                "└─"
            } else {
                "├─"
            },
            mark(c),
            c.describe()
        )?;
    }
    writeln!(out)?;
    let breaking: Vec<&(Classification, &Change)> = classes
        .iter()
        .filter(|(c, _)| c.class == Class::Breaking)
        .collect();
    let hazards: Vec<&(Classification, &Change)> = classes
        .iter()
        .filter(|(c, _)| c.class == Class::Hazard)
        .collect();
    if breaking.is_empty() {
        writeln!(out, "BREAKING CHANGES: None detected")?;
    } else {
        writeln!(
            out,
            "{}",
            st.bad(&format!("BREAKING CHANGES: {}", breaking.len()))
        )?;
        for (c, _) in &breaking {
            for r in &c.reasons {
                writeln!(out, "  - {r}")?;
            }
        }
    }
    if !hazards.is_empty() {
        writeln!(out, "{}", st.warn(&format!("HAZARDS: {}", hazards.len())))?;
        for (c, _) in &hazards {
            for r in &c.reasons {
                writeln!(out, "  - {r}")?;
            }
        }
    }
    for r in input.refusals {
        writeln!(out, "{} {r}", st.bad("NOT MIGRATABLE:"))?;
    }
    writeln!(out, "RECOMMENDATION: {}", verdict_line(s))?;
    Ok(())
}

fn markdown(
    input: &Input<'_>,
    classes: &[(Classification, &Change)],
    s: &Summary,
    out: &mut dyn Write,
) -> io::Result<()> {
    writeln!(
        out,
        "### Schema comparison: `{}` → `{}`",
        input.from_label, input.to_label
    )?;
    writeln!(out)?;
    writeln!(out, "**{}**", verdict_line(s))?;
    writeln!(out)?;
    writeln!(
        out,
        "| identical tables | changed | added | removed | breaking | hazards |\n|---:|---:|---:|---:|---:|---:|\n| {} | {} | {} | {} | {} | {} |",
        s.tables_identical, s.tables_changed, s.tables_added, s.tables_removed, s.breaking, s.hazards
    )?;
    writeln!(out)?;
    if input.changes.is_empty() {
        return writeln!(out, "No differences.");
    }
    writeln!(out, "| | change | class |\n|---|---|---|")?;
    for (c, ch) in classes {
        let class = match c.class {
            Class::Safe => "safe",
            Class::Hazard => "⚠️ hazard",
            Class::Breaking => "❌ breaking",
        };
        writeln!(
            out,
            "| {} | {} | {} |",
            mark(ch),
            md_escape(&ch.describe()),
            class
        )?;
    }
    let reasons: Vec<&String> = classes
        .iter()
        .filter(|(c, _)| c.class != Class::Safe)
        .flat_map(|(c, _)| c.reasons.iter())
        .collect();
    if !reasons.is_empty() {
        writeln!(out)?;
        for r in reasons {
            writeln!(out, "- {}", md_escape(r))?;
        }
    }
    for r in input.refusals {
        writeln!(out, "\n> **Not migratable:** {}", md_escape(&r.to_string()))?;
    }
    let sql = plan::to_sql(input.steps);
    if !sql.is_empty() {
        let fence = if sql.contains("```") { "~~~~" } else { "```" };
        writeln!(out, "\n<details><summary>SQL ({} statements)</summary>\n\n{fence}sql\n{sql}{fence}\n\n</details>", input.steps.len())?;
    }
    Ok(())
}

pub(super) fn plural<'a>(n: usize, one: &'a str, many: &'a str) -> &'a str {
    if n == 1 {
        one
    } else {
        many
    }
}

pub(super) fn md_escape(s: &str) -> String {
    s.replace('|', "\\|").replace('\n', " ")
}

/// What `pgkeel diff` tells its notification: counts, the changes, breaking changes and
/// hazards, and the JSON document. `from`/`to` name the sides without their hosts.
pub fn notice(notice: &mut super::notice::Notice, input: &Input<'_>, from: &str, to: &str) {
    use crate::notify::{Fact, List, Outcome};
    let classes = classified(input);
    let s = summary(input, &classes);
    let n = input.changes.len();
    notice.changed = n > 0;
    notice.title = Some(if n == 0 {
        "No schema differences".to_string()
    } else {
        "Schema differences found".to_string()
    });
    notice.summary = Some(verdict_line(&s));
    if s.breaking > 0 || s.hazards > 0 || !input.refusals.is_empty() {
        notice.outcome = Some(Outcome::Warning);
    }
    let columns_added = input
        .changes
        .iter()
        .filter(|c| matches!(c, Change::AddColumn { .. }))
        .count();
    for (label, value) in [
        ("From", from.to_string()),
        ("To", to.to_string()),
        ("Changes", n.to_string()),
        ("Tables modified", s.tables_changed.to_string()),
        ("Tables added", s.tables_added.to_string()),
        ("Tables removed", s.tables_removed.to_string()),
        ("Columns added", columns_added.to_string()),
        ("Breaking", s.breaking.to_string()),
        ("Hazards", s.hazards.to_string()),
    ] {
        notice.facts.push(Fact::new(label, value));
    }
    let reasons = |class: Class| -> Vec<String> {
        classes
            .iter()
            .filter(|(c, _)| c.class == class)
            .flat_map(|(c, ch)| {
                let what = ch.describe();
                c.reasons.iter().map(move |r| format!("{what}: {r}"))
            })
            .collect()
    };
    notice.lists.push(List::new(
        "Changes",
        classes
            .iter()
            .map(|(_, c)| format!("{} {}", mark(c), c.describe()))
            .collect(),
    ));
    notice
        .lists
        .push(List::new("Breaking changes", reasons(Class::Breaking)));
    notice
        .lists
        .push(List::new("Hazards", reasons(Class::Hazard)));
    notice.lists.push(List::new(
        "Not migratable",
        input.refusals.iter().map(|r| r.to_string()).collect(),
    ));
    notice.document =
        super::notice::json_document(|out| render(input, Format::Json, Style::default(), out));
}

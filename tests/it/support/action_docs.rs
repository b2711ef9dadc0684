//! The reference pages `docs/actions/<action>.md`, generated from the action.yml files so they
//! cannot drift from them (a test regenerates and compares; `PGKEEL_UPDATE_DOCS=1` rewrites).

use serde_yaml::Value;

fn cell(s: &str) -> String {
    s.split_whitespace()
        .collect::<Vec<_>>()
        .join(" ")
        .replace('|', "\\|")
}

/// The markdown page for the action in `dir` (e.g. `action-diff`).
pub fn render(dir: &str, action_yml: &str) -> String {
    let doc: Value = serde_yaml::from_str(action_yml).expect("action.yml");
    let name = doc["name"].as_str().unwrap_or(dir);
    let mut md = format!(
        "<!-- Generated from {dir}/action.yml by tests/it/support/action_docs.rs: edit the action, then run\n     PGKEEL_UPDATE_DOCS=1 cargo test --test it actions::action_docs -->\n\n# {name} (`{dir}`)\n\n{}\n\n```yaml\n- uses: pgkeel/pgkeel/{dir}@<full commit SHA> # vX.Y.Z\n```\n\nEvery input reaches pgkeel as an environment variable (never interpolated into a script);\n`required` is checked by pgkeel itself, since GitHub does not enforce it.\n\n## Inputs\n\n| input | required | default | description |\n|---|---|---|---|\n",
        cell(doc["description"].as_str().unwrap_or(""))
    );
    if let Some(inputs) = doc["inputs"].as_mapping() {
        for (k, v) in inputs {
            let default = match v["default"].as_str() {
                None | Some("") => "—".to_string(),
                Some(d) => format!("`{}`", d.replace('|', "\\|")),
            };
            md.push_str(&format!(
                "| `{}` | {} | {} | {} |\n",
                k.as_str().unwrap_or(""),
                if v["required"].as_bool() == Some(true) {
                    "yes"
                } else {
                    "no"
                },
                default,
                cell(v["description"].as_str().unwrap_or(""))
            ));
        }
    }
    md.push_str("\n## Outputs\n\n| output | description |\n|---|---|\n");
    if let Some(outputs) = doc["outputs"].as_mapping() {
        for (k, v) in outputs {
            md.push_str(&format!(
                "| `{}` | {} |\n",
                k.as_str().unwrap_or(""),
                cell(v["description"].as_str().unwrap_or(""))
            ));
        }
    }
    md
}

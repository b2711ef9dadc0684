//! Runs a composite action's steps the way the GitHub Actions runner does, so the action.yml
//! files are tested as they run: inputs (with their defaults) reach steps only through the
//! expressions in `env:`, `with:`, `if:` and `working-directory:`, evaluated by a small
//! evaluator for the subset of the expression language the actions use; each `run:` step is
//! `bash --noprofile --norc -eo pipefail` with a fresh `GITHUB_OUTPUT` and
//! `GITHUB_STEP_SUMMARY`, `GITHUB_ACTION_PATH` set, and no `INPUT_*` variables (composite
//! actions get none); outputs are read back as the runner reads them (heredocs included);
//! `if:` defaults to `success()`; `actions/upload-artifact` is replaced by a local copy.
//!
//! Workflow commands in the steps' output are parsed with the runner's rules (see
//! [`parse_commands`]) so tests can assert which annotations and masks the runner would see —
//! and that none came from untrusted text.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;

use serde_yaml::Value as Yaml;

// ---------------------------------------------------------------- expressions

#[derive(Debug, Clone, PartialEq)]
pub enum Val {
    Null,
    Bool(bool),
    Num(f64),
    Str(String),
}

impl Val {
    pub fn truthy(&self) -> bool {
        match self {
            Val::Null => false,
            Val::Bool(b) => *b,
            Val::Num(n) => *n != 0.0 && !n.is_nan(),
            Val::Str(s) => !s.is_empty(),
        }
    }

    pub fn text(&self) -> String {
        match self {
            Val::Null => String::new(),
            Val::Bool(b) => b.to_string(),
            Val::Num(n) if n.fract() == 0.0 => format!("{}", *n as i64),
            Val::Num(n) => n.to_string(),
            Val::Str(s) => s.clone(),
        }
    }

    /// GitHub's loose equality: strings compare case-insensitively; mixed types compare as
    /// numbers.
    fn equals(&self, other: &Val) -> bool {
        match (self, other) {
            (Val::Str(a), Val::Str(b)) => a.eq_ignore_ascii_case(b),
            (Val::Null, Val::Null) => true,
            (Val::Bool(a), Val::Bool(b)) => a == b,
            _ => {
                let (a, b) = (self.number(), other.number());
                !a.is_nan() && a == b
            }
        }
    }

    fn number(&self) -> f64 {
        match self {
            Val::Null => 0.0,
            Val::Bool(b) => f64::from(u8::from(*b)),
            Val::Num(n) => *n,
            Val::Str(s) if s.trim().is_empty() => 0.0,
            Val::Str(s) => s.trim().parse().unwrap_or(f64::NAN),
        }
    }
}

#[derive(Debug, Clone, PartialEq)]
enum Tok {
    Ident(String),
    Str(String),
    Num(f64),
    Op(&'static str),
}

fn tokenize(src: &str) -> Vec<Tok> {
    let chars: Vec<char> = src.chars().collect();
    let mut out = Vec::new();
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        if c.is_whitespace() {
            i += 1;
        } else if c == '\'' {
            let mut s = String::new();
            i += 1;
            loop {
                match chars.get(i) {
                    Some('\'') if chars.get(i + 1) == Some(&'\'') => {
                        s.push('\'');
                        i += 2;
                    }
                    Some('\'') => {
                        i += 1;
                        break;
                    }
                    Some(ch) => {
                        s.push(*ch);
                        i += 1;
                    }
                    None => panic!("unterminated string in expression {src:?}"),
                }
            }
            out.push(Tok::Str(s));
        } else if c.is_ascii_digit() {
            let start = i;
            while i < chars.len() && (chars[i].is_ascii_digit() || chars[i] == '.') {
                i += 1;
            }
            let n: String = chars[start..i].iter().collect();
            out.push(Tok::Num(n.parse().expect("number")));
        } else if c.is_alphabetic() || c == '_' {
            let start = i;
            while i < chars.len()
                && (chars[i].is_alphanumeric() || matches!(chars[i], '_' | '-' | '.'))
            {
                i += 1;
            }
            out.push(Tok::Ident(chars[start..i].iter().collect()));
        } else {
            let two: String = chars[i..(i + 2).min(chars.len())].iter().collect();
            let op = match two.as_str() {
                "==" => Some("=="),
                "!=" => Some("!="),
                "&&" => Some("&&"),
                "||" => Some("||"),
                _ => None,
            };
            if let Some(op) = op {
                out.push(Tok::Op(op));
                i += 2;
                continue;
            }
            let op = match c {
                '!' => "!",
                '(' => "(",
                ')' => ")",
                ',' => ",",
                other => panic!("unsupported character {other:?} in expression {src:?}"),
            };
            out.push(Tok::Op(op));
            i += 1;
        }
    }
    out
}

/// What an expression can see.
pub struct Scope<'a> {
    /// `inputs.x`, `steps.id.outputs.y`, `github.token`, `runner.temp`, `env.X`…
    pub lookup: &'a dyn Fn(&str) -> Val,
    /// A previous step failed.
    pub failed: bool,
}

struct Parser<'a, 'b> {
    toks: Vec<Tok>,
    pos: usize,
    scope: &'a Scope<'b>,
}

impl Parser<'_, '_> {
    fn peek(&self) -> Option<&Tok> {
        self.toks.get(self.pos)
    }

    fn eat(&mut self, op: &str) -> bool {
        if self.peek()
            == Some(&Tok::Op(match op {
                "==" => "==",
                "!=" => "!=",
                "&&" => "&&",
                "||" => "||",
                "!" => "!",
                "(" => "(",
                ")" => ")",
                "," => ",",
                _ => unreachable!(),
            }))
        {
            self.pos += 1;
            true
        } else {
            false
        }
    }

    fn or(&mut self) -> Val {
        let mut v = self.and();
        while self.eat("||") {
            let r = self.and();
            if !v.truthy() {
                v = r;
            }
        }
        v
    }

    fn and(&mut self) -> Val {
        let mut v = self.cmp();
        while self.eat("&&") {
            let r = self.cmp();
            if v.truthy() {
                v = r;
            }
        }
        v
    }

    fn cmp(&mut self) -> Val {
        let v = self.unary();
        if self.eat("==") {
            let r = self.unary();
            return Val::Bool(v.equals(&r));
        }
        if self.eat("!=") {
            let r = self.unary();
            return Val::Bool(!v.equals(&r));
        }
        v
    }

    fn unary(&mut self) -> Val {
        if self.eat("!") {
            return Val::Bool(!self.unary().truthy());
        }
        self.primary()
    }

    fn primary(&mut self) -> Val {
        if self.eat("(") {
            let v = self.or();
            assert!(self.eat(")"), "missing )");
            return v;
        }
        match self.toks.get(self.pos).cloned() {
            Some(Tok::Str(s)) => {
                self.pos += 1;
                Val::Str(s)
            }
            Some(Tok::Num(n)) => {
                self.pos += 1;
                Val::Num(n)
            }
            Some(Tok::Ident(name)) => {
                self.pos += 1;
                if self.eat("(") {
                    let mut args = Vec::new();
                    if !self.eat(")") {
                        loop {
                            args.push(self.or());
                            if self.eat(")") {
                                break;
                            }
                            assert!(self.eat(","), "expected , in call to {name}");
                        }
                    }
                    return self.call(&name, &args);
                }
                match name.as_str() {
                    "true" => Val::Bool(true),
                    "false" => Val::Bool(false),
                    "null" => Val::Null,
                    _ => (self.scope.lookup)(&name),
                }
            }
            other => panic!("unexpected token {other:?}"),
        }
    }

    fn call(&self, name: &str, args: &[Val]) -> Val {
        let s = |i: usize| {
            args.get(i)
                .map(Val::text)
                .unwrap_or_default()
                .to_lowercase()
        };
        match name {
            "always" => Val::Bool(true),
            "success" => Val::Bool(!self.scope.failed),
            "failure" => Val::Bool(self.scope.failed),
            "cancelled" => Val::Bool(false),
            "startsWith" => Val::Bool(s(0).starts_with(&s(1))),
            "endsWith" => Val::Bool(s(0).ends_with(&s(1))),
            "contains" => Val::Bool(s(0).contains(&s(1))),
            other => panic!("unsupported function {other}()"),
        }
    }
}

/// Evaluates one expression (without `${{ }}`).
pub fn evaluate(expr: &str, scope: &Scope) -> Val {
    let mut p = Parser {
        toks: tokenize(expr),
        pos: 0,
        scope,
    };
    let v = p.or();
    assert!(p.pos == p.toks.len(), "trailing tokens in {expr:?}");
    v
}

/// Replaces every `${{ … }}` in `text` with its value.
pub fn interpolate(text: &str, scope: &Scope) -> String {
    let mut out = String::new();
    let mut rest = text;
    while let Some(start) = rest.find("${{") {
        out.push_str(&rest[..start]);
        let end = rest[start..].find("}}").expect("unterminated ${{") + start;
        out.push_str(&evaluate(&rest[start + 3..end], scope).text());
        rest = &rest[end + 2..];
    }
    out.push_str(rest);
    out
}

/// An `if:` condition: status functions explicit, else `success() && (…)`.
pub fn condition(text: &str, scope: &Scope) -> bool {
    let t = text.trim();
    let t = t
        .strip_prefix("${{")
        .and_then(|t| t.strip_suffix("}}"))
        .unwrap_or(t);
    let has_status = ["always(", "success(", "failure(", "cancelled("]
        .iter()
        .any(|f| t.contains(f));
    if has_status {
        evaluate(t, scope).truthy()
    } else {
        !scope.failed && evaluate(t, scope).truthy()
    }
}

// ---------------------------------------------------------- workflow commands

/// A workflow command the runner would act on.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WorkflowCommand {
    pub name: String,
    pub properties: BTreeMap<String, String>,
    pub data: String,
}

const REGISTERED: [&str; 16] = [
    "add-mask",
    "add-path",
    "debug",
    "error",
    "warning",
    "notice",
    "group",
    "endgroup",
    "echo",
    "add-matcher",
    "remove-matcher",
    "save-state",
    "set-env",
    "set-output",
    "stop-commands",
    "internal-set-repo-path",
];

fn unescape(s: &str, property: bool) -> String {
    let mut v = s.replace("%0D", "\r").replace("%0A", "\n");
    if property {
        v = v.replace("%3A", ":").replace("%2C", ",");
    }
    v.replace("%25", "%")
}

/// actions/runner `ActionCommand.TryParseV2`: `::name k=v,k=v::data` after leading spaces.
fn parse_v2(line: &str, registered: &[String]) -> Option<WorkflowCommand> {
    let m = line.trim_start().strip_prefix("::")?;
    let end = m.find("::")?;
    let (info, data) = (&m[..end], &m[end + 2..]);
    let (name, props) = match info.split_once(' ') {
        Some((n, p)) => (n, p),
        None => (info, ""),
    };
    if !registered.iter().any(|r| r.eq_ignore_ascii_case(name)) {
        return None;
    }
    let properties = props
        .split(',')
        .filter_map(|kv| kv.split_once('='))
        .map(|(k, v)| (k.trim().to_string(), unescape(v, true)))
        .collect();
    Some(WorkflowCommand {
        name: name.to_ascii_lowercase(),
        properties,
        data: unescape(data, false),
    })
}

/// actions/runner `ActionCommand.TryParse`: the legacy `##[name k=v;]data`, anywhere in a line.
fn parse_v1(line: &str, registered: &[String]) -> Option<WorkflowCommand> {
    let start = line.find("##[")?;
    let rest = &line[start + 3..];
    let rb = rest.find(']')?;
    let (info, data) = (&rest[..rb], &rest[rb + 1..]);
    let (name, props) = match info.split_once(' ') {
        Some((n, p)) => (n, p),
        None => (info, ""),
    };
    if !registered.iter().any(|r| r.eq_ignore_ascii_case(name)) {
        return None;
    }
    let properties = props
        .split(';')
        .filter_map(|kv| kv.split_once('='))
        .map(|(k, v)| (k.trim().to_string(), v.to_string()))
        .collect();
    Some(WorkflowCommand {
        name: name.to_ascii_lowercase(),
        properties,
        data: data.to_string(),
    })
}

/// The commands the runner would act on in `texts`, read in order as one stream, with
/// `::stop-commands::` honoured across them (the runner keeps one state per job). Lines break
/// at `\n`, `\r\n` and a lone `\r`, as .NET's ReadLine does.
pub fn parse_commands(texts: &[&str]) -> Vec<WorkflowCommand> {
    let mut registered: Vec<String> = REGISTERED.iter().map(|s| s.to_string()).collect();
    let mut stop: Option<String> = None;
    let mut out = Vec::new();
    for text in texts {
        for line in text.split('\n').flat_map(|l| l.split('\r')) {
            let Some(cmd) = parse_v2(line, &registered).or_else(|| parse_v1(line, &registered))
            else {
                continue;
            };
            if let Some(token) = &stop {
                if cmd.name.eq_ignore_ascii_case(token) {
                    registered.retain(|r| !r.eq_ignore_ascii_case(token));
                    stop = None;
                }
                continue;
            }
            if cmd.name == "stop-commands" {
                registered.push(cmd.data.clone());
                stop = Some(cmd.data.clone());
                continue;
            }
            out.push(cmd);
        }
    }
    out
}

/// `$GITHUB_OUTPUT`'s text as the runner reads it.
pub fn parse_outputs(text: &str) -> BTreeMap<String, String> {
    let mut out = BTreeMap::new();
    let mut lines = text.split('\n').peekable();
    while let Some(line) = lines.next() {
        let line = line.strip_suffix('\r').unwrap_or(line);
        if line.is_empty() {
            continue;
        }
        let eq = line.find('=');
        let heredoc = line.find("<<");
        match (eq, heredoc) {
            (Some(e), h) if h.is_none_or(|h| e < h) => {
                out.insert(line[..e].to_string(), line[e + 1..].to_string());
            }
            (_, Some(h)) => {
                let (name, delimiter) = (&line[..h], &line[h + 2..]);
                let mut value = Vec::new();
                let mut closed = false;
                for l in lines.by_ref() {
                    let l = l.strip_suffix('\r').unwrap_or(l);
                    if l == delimiter {
                        closed = true;
                        break;
                    }
                    value.push(l.to_string());
                }
                assert!(closed, "matching delimiter not found: {delimiter}");
                out.insert(name.to_string(), value.join("\n"));
            }
            _ => panic!("invalid output line {line:?}"),
        }
    }
    out
}

// ---------------------------------------------------------------- the runner

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Status {
    Success,
    Failure,
    Skipped,
}

#[derive(Debug, Clone)]
pub struct StepRun {
    pub id: Option<String>,
    pub name: String,
    pub status: Status,
    pub code: Option<i32>,
    pub stdout: String,
    pub stderr: String,
    pub summary: String,
    pub outputs: BTreeMap<String, String>,
    /// The evaluated `with:` of a `uses:` step.
    pub with: BTreeMap<String, String>,
}

#[derive(Debug)]
pub struct ActionRun {
    pub steps: Vec<StepRun>,
    pub outputs: BTreeMap<String, String>,
    pub failed: bool,
}

impl ActionRun {
    pub fn step(&self, id: &str) -> &StepRun {
        self.steps
            .iter()
            .find(|s| s.id.as_deref() == Some(id))
            .unwrap_or_else(|| panic!("no step {id}"))
    }

    pub fn output(&self, name: &str) -> &str {
        self.outputs.get(name).map(String::as_str).unwrap_or("")
    }

    /// Workflow commands, each step's stderr before its stdout (the order pgkeel writes them).
    pub fn commands(&self) -> Vec<WorkflowCommand> {
        let texts: Vec<&str> = self
            .steps
            .iter()
            .flat_map(|s| [s.stderr.as_str(), s.stdout.as_str()])
            .collect();
        parse_commands(&texts)
    }

    /// Workflow commands with each step's stdout read before its stderr: the runner reads the
    /// two pipes concurrently, so injection checks must hold in either order.
    pub fn commands_other_order(&self) -> Vec<WorkflowCommand> {
        let texts: Vec<&str> = self
            .steps
            .iter()
            .flat_map(|s| [s.stdout.as_str(), s.stderr.as_str()])
            .collect();
        parse_commands(&texts)
    }

    pub fn summary(&self) -> String {
        self.steps.iter().map(|s| s.summary.as_str()).collect()
    }

    /// Everything the run printed or wrote, for secret checks (add-mask lines excepted: the
    /// runner consumes them).
    pub fn visible_text(&self) -> String {
        let mut all = String::new();
        for s in &self.steps {
            for t in [&s.stdout, &s.stderr] {
                for line in t
                    .lines()
                    .filter(|l| !l.trim_start().starts_with("::add-mask::"))
                {
                    all.push_str(line);
                    all.push('\n');
                }
            }
            all.push_str(&s.summary);
            for v in s.outputs.values() {
                all.push_str(v);
                all.push('\n');
            }
        }
        all
    }
}

impl std::fmt::Display for ActionRun {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        for s in &self.steps {
            writeln!(
                f,
                "=== step {:?} ({}) {:?} exit {:?}",
                s.id, s.name, s.status, s.code
            )?;
            writeln!(f, "--- stdout\n{}\n--- stderr\n{}", s.stdout, s.stderr)?;
            writeln!(f, "--- outputs {:?}", s.outputs)?;
        }
        writeln!(f, "=== action outputs {:?}", self.outputs)
    }
}

/// A runner for one job: workspace, `RUNNER_TEMP`, tool cache, artifacts, job variables.
pub struct Runner {
    pub workspace: PathBuf,
    pub root: tempfile::TempDir,
    pub vars: BTreeMap<String, String>,
    pub github: BTreeMap<String, String>,
}

impl Runner {
    pub fn new(workspace: &Path) -> Runner {
        let root = super::temp_dir();
        for d in ["temp", "tool-cache", "artifacts", "step"] {
            std::fs::create_dir_all(root.path().join(d)).expect("mkdir");
        }
        let p = |d: &str| root.path().join(d).display().to_string();
        let mut vars = BTreeMap::new();
        for (k, v) in [
            ("CI", "true".to_string()),
            ("GITHUB_ACTIONS", "true".into()),
            (
                "GITHUB_REPOSITORY",
                format!("{}/{}", super::github_api::OWNER, super::github_api::REPO),
            ),
            ("GITHUB_RUN_ID", "4242".into()),
            ("GITHUB_RUN_ATTEMPT", "1".into()),
            ("GITHUB_SERVER_URL", "https://github.com".into()),
            ("GITHUB_WORKSPACE", workspace.display().to_string()),
            ("GITHUB_EVENT_NAME", "push".into()),
            (
                "GITHUB_SHA",
                "0123456789abcdef0123456789abcdef01234567".into(),
            ),
            ("RUNNER_TEMP", p("temp")),
            ("RUNNER_TOOL_CACHE", p("tool-cache")),
            ("RUNNER_OS", "Linux".into()),
            ("RUNNER_ARCH", "X64".into()),
        ] {
            vars.insert(k.to_string(), v);
        }
        let mut github = BTreeMap::new();
        github.insert("event_name".to_string(), "push".to_string());
        github.insert("token".to_string(), super::github_api::TOKEN.to_string());
        github.insert("workspace".to_string(), workspace.display().to_string());
        Runner {
            workspace: workspace.to_path_buf(),
            root,
            vars,
            github,
        }
    }

    pub fn var(&mut self, k: &str, v: &str) -> &mut Runner {
        self.vars.insert(k.to_string(), v.to_string());
        self
    }

    /// The event that started the run, with its payload.
    pub fn event(&mut self, name: &str, payload: serde_json::Value) -> &mut Runner {
        let path = self.root.path().join("event.json");
        std::fs::write(&path, payload.to_string()).expect("write event");
        self.vars.insert("GITHUB_EVENT_NAME".into(), name.into());
        self.vars
            .insert("GITHUB_EVENT_PATH".into(), path.display().to_string());
        self.github.insert("event_name".into(), name.into());
        self
    }

    pub fn artifacts(&self) -> PathBuf {
        self.root.path().join("artifacts")
    }

    pub fn tool_cache(&self) -> PathBuf {
        self.root.path().join("tool-cache")
    }

    /// Runs `repo/<action>/action.yml` with `inputs`.
    pub fn run(&self, action: &str, inputs: &[(&str, &str)]) -> ActionRun {
        let action_dir = super::repo_root().join(action);
        let text = std::fs::read_to_string(action_dir.join("action.yml")).expect("action.yml");
        let doc: Yaml = serde_yaml::from_str(&text).expect("action.yml is YAML");
        assert_eq!(
            doc["runs"]["using"].as_str(),
            Some("composite"),
            "{action} is a composite action"
        );

        // Inputs: given, else the default (itself an expression over `github`).
        let declared = doc["inputs"].as_mapping().cloned().unwrap_or_default();
        for (name, _) in inputs {
            assert!(
                declared.contains_key(Yaml::from(*name)),
                "{action} has no input {name}"
            );
        }
        let mut input_values = BTreeMap::new();
        for (k, spec) in &declared {
            let k = k.as_str().expect("input name").to_string();
            let given = inputs
                .iter()
                .find(|(n, _)| *n == k)
                .map(|(_, v)| v.to_string());
            let value = given.unwrap_or_else(|| {
                let default = spec["default"].as_str().unwrap_or("");
                let scope = Scope {
                    lookup: &|path| {
                        self.context(path, &BTreeMap::new(), &BTreeMap::new(), &action_dir)
                    },
                    failed: false,
                };
                interpolate(default, &scope)
            });
            input_values.insert(k, value);
        }

        let mut steps: Vec<StepRun> = Vec::new();
        let mut extra_env: BTreeMap<String, String> = BTreeMap::new();
        let mut failed = false;
        for (i, step) in doc["runs"]["steps"]
            .as_sequence()
            .expect("steps")
            .iter()
            .enumerate()
        {
            let id = step["id"].as_str().map(String::from);
            let name = step["name"].as_str().unwrap_or("").to_string();
            let outputs_so_far: BTreeMap<String, StepRun> = steps
                .iter()
                .filter_map(|s| s.id.clone().map(|id| (id, s.clone())))
                .collect();
            let lookup = |path: &str| {
                if let Some(rest) = path.strip_prefix("inputs.") {
                    return Val::Str(input_values.get(rest).cloned().unwrap_or_default());
                }
                if let Some(rest) = path.strip_prefix("steps.") {
                    let mut parts = rest.splitn(3, '.');
                    let (sid, kind, key) = (parts.next(), parts.next(), parts.next());
                    let Some(s) = sid.and_then(|sid| outputs_so_far.get(sid)) else {
                        return Val::Null;
                    };
                    return match (kind, key) {
                        (Some("outputs"), Some(k)) => s
                            .outputs
                            .get(k)
                            .map(|v| Val::Str(v.clone()))
                            .unwrap_or(Val::Null),
                        (Some("outcome") | Some("conclusion"), None) => Val::Str(
                            match s.status {
                                Status::Success => "success",
                                Status::Failure => "failure",
                                Status::Skipped => "skipped",
                            }
                            .into(),
                        ),
                        _ => Val::Null,
                    };
                }
                self.context(path, &extra_env, &input_values, &action_dir)
            };
            let scope = Scope {
                lookup: &lookup,
                failed,
            };
            let run_it = match step["if"].as_str() {
                Some(c) => condition(c, &scope),
                None => condition("success()", &scope),
            };
            let mut record = StepRun {
                id,
                name,
                status: Status::Skipped,
                code: None,
                stdout: String::new(),
                stderr: String::new(),
                summary: String::new(),
                outputs: BTreeMap::new(),
                with: BTreeMap::new(),
            };
            if !run_it {
                steps.push(record);
                continue;
            }
            if let Some(uses) = step["uses"].as_str() {
                let with: BTreeMap<String, String> = step["with"]
                    .as_mapping()
                    .map(|m| {
                        m.iter()
                            .map(|(k, v)| {
                                let raw = match v {
                                    Yaml::String(s) => s.clone(),
                                    other => serde_yaml::to_string(other)
                                        .expect("yaml")
                                        .trim()
                                        .to_string(),
                                };
                                (
                                    k.as_str().expect("key").to_string(),
                                    interpolate(&raw, &scope),
                                )
                            })
                            .collect()
                    })
                    .unwrap_or_default();
                record.status = self.uses(uses, &with);
                record.with = with;
            } else {
                let script = step["run"].as_str().expect("run or uses");
                assert_eq!(
                    step["shell"].as_str(),
                    Some("bash"),
                    "run steps use shell: bash"
                );
                assert!(
                    !script.contains("${{"),
                    "step {i} of {action} interpolates an expression into run:"
                );
                let env: BTreeMap<String, String> = step["env"]
                    .as_mapping()
                    .map(|m| {
                        m.iter()
                            .map(|(k, v)| {
                                (
                                    k.as_str().expect("env name").to_string(),
                                    interpolate(v.as_str().unwrap_or(""), &scope),
                                )
                            })
                            .collect()
                    })
                    .unwrap_or_default();
                let wd = step["working-directory"]
                    .as_str()
                    .map(|w| self.workspace.join(interpolate(w, &scope)))
                    .unwrap_or_else(|| self.workspace.clone());
                record = self.run_script(record, script, &env, &extra_env, &wd, &action_dir, i);
                // GITHUB_ENV written by a step is seen by the later ones.
                record.status = if record.code == Some(0) {
                    Status::Success
                } else {
                    Status::Failure
                };
                let env_file = self.root.path().join(format!("step/{i}.env"));
                if let Ok(t) = std::fs::read_to_string(&env_file) {
                    extra_env.extend(parse_outputs(&t));
                }
            }
            if record.status == Status::Failure {
                failed = true;
            }
            steps.push(record);
        }

        // The action's outputs, from its steps.
        let by_id: BTreeMap<String, StepRun> = steps
            .iter()
            .filter_map(|s| s.id.clone().map(|id| (id, s.clone())))
            .collect();
        let lookup = |path: &str| {
            let rest = path.strip_prefix("steps.").expect("outputs read steps");
            let mut parts = rest.splitn(3, '.');
            let (sid, _, key) = (parts.next(), parts.next(), parts.next());
            sid.and_then(|s| by_id.get(s))
                .and_then(|s| key.and_then(|k| s.outputs.get(k)))
                .map(|v| Val::Str(v.clone()))
                .unwrap_or(Val::Null)
        };
        let scope = Scope {
            lookup: &lookup,
            failed,
        };
        let outputs = doc["outputs"]
            .as_mapping()
            .map(|m| {
                m.iter()
                    .map(|(k, v)| {
                        (
                            k.as_str().expect("output").to_string(),
                            interpolate(v["value"].as_str().expect("output value"), &scope),
                        )
                    })
                    .collect()
            })
            .unwrap_or_default();
        ActionRun {
            steps,
            outputs,
            failed,
        }
    }

    /// `github.*`, `runner.*`, `env.*`.
    fn context(
        &self,
        path: &str,
        extra_env: &BTreeMap<String, String>,
        _inputs: &BTreeMap<String, String>,
        action_dir: &Path,
    ) -> Val {
        if let Some(k) = path.strip_prefix("github.") {
            if k == "action_path" {
                return Val::Str(action_dir.display().to_string());
            }
            return self
                .github
                .get(k)
                .map(|v| Val::Str(v.clone()))
                .unwrap_or(Val::Null);
        }
        if let Some(k) = path.strip_prefix("runner.") {
            let v = match k {
                "temp" => self.vars.get("RUNNER_TEMP"),
                "tool_cache" => self.vars.get("RUNNER_TOOL_CACHE"),
                "os" => self.vars.get("RUNNER_OS"),
                "arch" => self.vars.get("RUNNER_ARCH"),
                _ => None,
            };
            return v.map(|v| Val::Str(v.clone())).unwrap_or(Val::Null);
        }
        if let Some(k) = path.strip_prefix("env.") {
            return extra_env
                .get(k)
                .or_else(|| self.vars.get(k))
                .map(|v| Val::Str(v.clone()))
                .unwrap_or(Val::Null);
        }
        panic!("unsupported context {path}")
    }

    #[allow(clippy::too_many_arguments)]
    fn run_script(
        &self,
        mut record: StepRun,
        script: &str,
        env: &BTreeMap<String, String>,
        extra_env: &BTreeMap<String, String>,
        wd: &Path,
        action_dir: &Path,
        i: usize,
    ) -> StepRun {
        let dir = self.root.path().join("step");
        let file = dir.join(format!("{i}.sh"));
        std::fs::write(&file, script).expect("script");
        let output_file = dir.join(format!("{i}.output"));
        let summary_file = dir.join(format!("{i}.summary"));
        let env_file = dir.join(format!("{i}.env"));
        for f in [&output_file, &summary_file, &env_file] {
            std::fs::write(f, "").expect("touch");
        }
        let mut cmd = Command::new("bash");
        cmd.args(["--noprofile", "--norc", "-eo", "pipefail"])
            .arg(&file)
            .current_dir(wd)
            .env_clear();
        for k in ["PATH", "HOME", "LANG", "USER", "LOGNAME"] {
            if let Ok(v) = std::env::var(k) {
                cmd.env(k, v);
            }
        }
        cmd.envs(&self.vars)
            .envs(extra_env)
            .envs(env)
            .env("GITHUB_OUTPUT", &output_file)
            .env("GITHUB_STEP_SUMMARY", &summary_file)
            .env("GITHUB_ENV", &env_file)
            .env("GITHUB_PATH", dir.join(format!("{i}.path")))
            .env("GITHUB_ACTION_PATH", action_dir);
        let out = cmd.output().expect("run bash");
        record.code = out.status.code();
        record.stdout = String::from_utf8_lossy(&out.stdout).into_owned();
        record.stderr = String::from_utf8_lossy(&out.stderr).into_owned();
        record.summary = std::fs::read_to_string(&summary_file).unwrap_or_default();
        record.outputs = parse_outputs(&std::fs::read_to_string(&output_file).unwrap_or_default());
        record
    }

    /// `uses:` steps: only actions/upload-artifact, as a copy into the artifacts directory.
    fn uses(&self, uses: &str, with: &BTreeMap<String, String>) -> Status {
        let (action, pin) = uses.split_once('@').expect("uses: is pinned");
        assert!(
            pin.len() == 40 && pin.chars().all(|c| c.is_ascii_hexdigit()),
            "{uses} is not pinned by a full commit SHA"
        );
        assert_eq!(action, "actions/upload-artifact", "no stand-in for {uses}");
        let name = with
            .get("name")
            .cloned()
            .unwrap_or_else(|| "artifact".into());
        let path = with.get("path").cloned().unwrap_or_default();
        let source = self.workspace.join(&path);
        let target = self.artifacts().join(&name);
        if path.is_empty() || !source.exists() {
            return match with.get("if-no-files-found").map(String::as_str) {
                Some("error") => Status::Failure,
                _ => Status::Success,
            };
        }
        assert!(!target.exists(), "artifact {name} uploaded twice");
        copy_tree(&source, &target);
        Status::Success
    }
}

fn copy_tree(from: &Path, to: &Path) {
    if from.is_dir() {
        std::fs::create_dir_all(to).expect("mkdir");
        for e in std::fs::read_dir(from).expect("read_dir") {
            let e = e.expect("entry");
            copy_tree(&e.path(), &to.join(e.file_name()));
        }
    } else {
        if let Some(p) = to.parent() {
            std::fs::create_dir_all(p).expect("mkdir");
        }
        std::fs::copy(from, to).expect("copy");
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn eval(expr: &str) -> Val {
        let lookup = |p: &str| match p {
            "inputs.upload-artifact" => Val::Str("true".into()),
            "steps.diff.outputs.report-dir" => Val::Str("/tmp/x".into()),
            "inputs.empty" => Val::Str(String::new()),
            _ => Val::Null,
        };
        evaluate(
            expr,
            &Scope {
                lookup: &lookup,
                failed: false,
            },
        )
    }

    #[test]
    fn the_expression_subset_evaluates_as_github_does() {
        assert_eq!(eval("inputs.upload-artifact == 'TRUE'"), Val::Bool(true));
        assert_eq!(
            eval("always() && steps.diff.outputs.report-dir != ''"),
            Val::Bool(true)
        );
        assert_eq!(
            eval("!startsWith(steps.diff.outputs.report-dir, 's3://')"),
            Val::Bool(true)
        );
        assert_eq!(
            eval("inputs.empty || 'backups'"),
            Val::Str("backups".into())
        );
        assert_eq!(eval("'it''s'"), Val::Str("it's".into()));
        assert_eq!(eval("steps.nope.outputs.x == ''"), Val::Bool(true));
    }

    #[test]
    fn commands_follow_the_runner_rules() {
        let cmds = parse_commands(&[
            "  ::error file=a%2Cb,line=3::bad%0Anews\nx ##[warning]legacy\n::stop-commands::tok\n::add-mask::hidden\n::tok::\r::notice::after",
        ]);
        let names: Vec<&str> = cmds.iter().map(|c| c.name.as_str()).collect();
        assert_eq!(names, ["error", "warning", "notice"]);
        assert_eq!(cmds[0].properties["file"], "a,b");
        assert_eq!(cmds[0].data, "bad\nnews");
    }

    #[test]
    fn outputs_are_read_as_the_runner_reads_them() {
        let o = parse_outputs("a=1\nb<<EOF\nx\ny\nEOF\nc=\n");
        assert_eq!(o["a"], "1");
        assert_eq!(o["b"], "x\ny");
        assert_eq!(o["c"], "");
    }
}

//! Publishing a command's result to the GitHub Actions step it runs in: the step summary,
//! step outputs, annotations on migration lines, masks for secrets, the sticky PR comment, the
//! drift issue, and the environment-protection gate. Each command's report module builds a
//! [`Step`] (it knows what its result means); this module hands it to `github`, which knows
//! the runner and the API but nothing of schemas.
//!
//! Outside Actions (`GITHUB_ACTIONS` not `true`) everything here is a no-op, so the commands
//! call it unconditionally. Inside, a failure to comment or open an issue is a warning — a
//! fork's read-only token must not fail the job — while a failure to write the step's outputs
//! is an error: later steps would act on missing values.

use std::io::Write;
use std::path::PathBuf;
use std::sync::OnceLock;

use super::Format;
use crate::error::Error;
use crate::github::comment::{self, Mode, Posted, Sticky};
use crate::github::environment::{self, Policy, Protection, ProtectionError};
use crate::github::issue::{self, DriftIssue, Synced};
use crate::github::workflow_command::{self, Annotation, Level};
use crate::github::{event, output, summary, Client, Context};

/// The run's context, read once.
fn context() -> Option<&'static Context> {
    static CONTEXT: OnceLock<Option<Context>> = OnceLock::new();
    CONTEXT.get_or_init(Context::detect).as_ref()
}

/// True inside a GitHub Actions step.
pub fn in_actions() -> bool {
    context().is_some()
}

/// How a command publishes (built by `cli` from `--comment`, `--open-issue`, …).
#[derive(Debug, Clone)]
pub struct Publish {
    pub comment: Mode,
    pub open_issue: bool,
    /// The artifact the action uploads the full report as, for pointers.
    pub artifact: Option<String>,
}

impl Default for Publish {
    fn default() -> Self {
        Publish {
            comment: Mode::OnChange,
            open_issue: false,
            artifact: None,
        }
    }
}

/// A drift result, for the drift issue.
pub struct DriftFacts {
    pub title: String,
    pub digest: String,
    pub drifted: bool,
}

/// What a command hands over.
pub struct Step {
    /// `diff` or `drift`.
    pub kind: &'static str,
    /// The directory or database this is about: one sticky comment / issue per key.
    pub key: String,
    /// The full report.
    pub markdown: String,
    pub outputs: Vec<(&'static str, String)>,
    /// Most important first; only 10 per level are shown.
    pub annotations: Vec<Annotation>,
    pub has_changes: bool,
    /// The run fails (error, or a finding the user asked to fail on).
    pub failed: bool,
    pub drift: Option<DriftFacts>,
}

/// Errors publishing can stop a command with.
#[derive(Debug, thiserror::Error)]
pub enum PublishError {
    #[error(transparent)]
    Output(#[from] output::OutputError),
    #[error("cannot write the step summary to {path}: {source}")]
    Summary {
        path: String,
        source: std::io::Error,
    },
}

impl PublishError {
    pub fn hint(&self) -> Option<String> {
        match self {
            PublishError::Output(e) => e.hint(),
            PublishError::Summary { .. } => Some(
                "GITHUB_STEP_SUMMARY must name a writable file; the runner sets it for every step"
                    .into(),
            ),
        }
    }
}

/// Writes workflow commands to stderr (where logs go; stdout is the result).
fn issue_commands(lines: &[String]) {
    let mut err = std::io::stderr().lock();
    for l in lines {
        let _ = writeln!(err, "{l}");
    }
    let _ = err.flush();
}

/// `::add-mask::` for every secret registered so far and not yet announced.
pub fn mask_secrets() {
    if in_actions() {
        let _ = workflow_command::mask_new_secrets(&mut std::io::stderr().lock());
    }
}

/// A warning as an annotation in Actions (and a log line).
fn warn(message: &str) {
    let message = crate::secret::scrub(message);
    tracing::warn!("{message}");
    if in_actions() {
        issue_commands(&[Annotation::new(Level::Warning, message).command()]);
    }
}

/// Runs blocking API work without stalling the async runtime's other tasks.
fn blocking<T>(f: impl FnOnce() -> T) -> T {
    match tokio::runtime::Handle::try_current() {
        Ok(h) if h.runtime_flavor() == tokio::runtime::RuntimeFlavor::MultiThread => {
            tokio::task::block_in_place(f)
        }
        _ => f(),
    }
}

/// Publishes `step` to the Actions step; nothing outside Actions.
pub fn publish(p: &Publish, step: Step) -> Result<(), Error> {
    let Some(ctx) = context() else {
        return Ok(());
    };
    mask_secrets();
    let annotations: Vec<Annotation> = workflow_command::limit(step.annotations.clone())
        .into_iter()
        .map(|mut a| {
            a.file = a.file.map(|f| ctx.annotation_path(&f));
            a
        })
        .collect();
    issue_commands(
        &annotations
            .iter()
            .map(Annotation::command)
            .collect::<Vec<_>>(),
    );

    let run_url = ctx.run_url();
    let pointer = pointer(p, ctx);
    let mut notes = Vec::new();
    let mut outputs = step.outputs.clone();
    blocking(|| {
        if let Some(note) = sticky_comment(p, ctx, &step, &pointer) {
            notes.push(note);
        }
        if let Some(facts) = step.drift.as_ref().filter(|_| p.open_issue) {
            let url = drift_issue(ctx, &step, facts, &pointer, run_url.as_deref());
            outputs.push(("issue-url", url.unwrap_or_default()));
        }
    });

    if let Some(path) = &ctx.summary {
        let mut md = step.markdown.clone();
        for n in &notes {
            md.push_str(&format!("\n> ℹ️ {n}\n"));
        }
        summary::append(path, &md, &pointer).map_err(|source| PublishError::Summary {
            path: path.display().to_string(),
            source,
        })?;
    }
    if let Some(path) = &ctx.output {
        output::append(path, &outputs).map_err(PublishError::from)?;
    }
    Ok(())
}

/// Where the full report is, for truncated summaries and comments.
fn pointer(p: &Publish, ctx: &Context) -> String {
    let run = ctx
        .run_url()
        .map(|u| format!(" of [this run]({u})"))
        .unwrap_or_default();
    match &p.artifact {
        Some(a) => format!("The full report is in the `{a}` artifact{run}."),
        None => {
            format!("The full report is in the file named by the step's `report-path` output{run}.")
        }
    }
}

/// The head of a report (title, verdict, counts: everything before the first detail section)
/// and the pointer: what a PR comment shows when the report is too long for one.
fn fallback(markdown: &str, pointer: &str) -> String {
    let mut head = String::new();
    for line in markdown.lines() {
        if line.starts_with("#### ") || line.starts_with("<details>") || line.starts_with("| |") {
            break;
        }
        head.push_str(line);
        head.push('\n');
    }
    format!(
        "{}\n\n> The full report is too long for a comment. {pointer}\n",
        head.trim_end()
    )
}

/// Posts or updates the sticky comment when the mode wants it. Returns a note for the summary
/// when it could not.
fn sticky_comment(p: &Publish, ctx: &Context, step: &Step, pointer: &str) -> Option<String> {
    if p.comment == Mode::Never {
        return None;
    }
    let pr = event::pull_request_number(&ctx.event_name, ctx.event_path.as_deref())?;
    let repo = ctx.repository.as_ref()?;
    let create = match p.comment {
        Mode::Always => true,
        Mode::OnChange => step.has_changes,
        Mode::OnFailure => step.failed,
        Mode::Never => false,
    };
    let client = match Client::new(&ctx.api_url, ctx.token.as_ref()) {
        Ok(c) => c,
        Err(e) => {
            warn(&format!("no PR comment: {e}"));
            return Some(format!("No PR comment: {e}."));
        }
    };
    let fallback = fallback(&step.markdown, pointer);
    let digest = comment::digest(&comment::without_timings(&step.markdown));
    let sticky = Sticky {
        kind: step.kind,
        key: &step.key,
        body: &step.markdown,
        digest: &digest,
        fallback: &fallback,
        create,
    };
    match comment::upsert(&client, repo, pr, &sticky) {
        Ok(Posted::Created(id)) => tracing::info!("PR #{pr}: comment {id} created"),
        Ok(Posted::Updated(id)) => tracing::info!("PR #{pr}: comment {id} updated"),
        Ok(Posted::Unchanged(id)) => {
            tracing::info!("PR #{pr}: comment {id} already shows this report")
        }
        Ok(Posted::Skipped) => tracing::debug!("PR #{pr}: no comment wanted"),
        Err(e) if e.status() == Some(403) => {
            let msg = format!("cannot comment on PR #{pr}: the token is read-only (a pull request from a fork?); the report is in the step summary");
            warn(&msg);
            return Some(
                "The PR comment could not be posted: the token is read-only (a pull request from a fork?).".to_string(),
            );
        }
        Err(e) => {
            warn(&format!("cannot comment on PR #{pr}: {e}"));
            return Some(format!(
                "The PR comment could not be posted ({}).",
                e.status()
                    .map_or("API unreachable".to_string(), |s| format!("HTTP {s}"))
            ));
        }
    }
    None
}

/// Opens, updates or closes the drift issue; its URL.
fn drift_issue(
    ctx: &Context,
    step: &Step,
    facts: &DriftFacts,
    pointer: &str,
    run_url: Option<&str>,
) -> Option<String> {
    let Some(repo) = ctx.repository.as_ref() else {
        warn("no drift issue: GITHUB_REPOSITORY is not set");
        return None;
    };
    let client = match Client::new(&ctx.api_url, ctx.token.as_ref()) {
        Ok(c) => c,
        Err(e) => {
            warn(&format!("no drift issue: {e}"));
            return None;
        }
    };
    let fallback = fallback(&step.markdown, pointer);
    let issue = DriftIssue {
        key: &step.key,
        title: &facts.title,
        body: &step.markdown,
        fallback: &fallback,
        digest: &facts.digest,
        drifted: facts.drifted,
        run_url,
    };
    match issue::sync(&client, repo, &issue) {
        Ok(Synced::Opened { number, url }) => {
            tracing::info!("drift issue #{number} opened");
            Some(url)
        }
        Ok(Synced::Updated { number, url }) => {
            tracing::info!("drift issue #{number} updated");
            Some(url)
        }
        Ok(Synced::Unchanged { number, url }) => {
            tracing::info!("drift issue #{number} already describes this drift");
            Some(url)
        }
        Ok(Synced::Closed { number, url }) => {
            tracing::info!("drift issue #{number} closed: no drift");
            Some(url)
        }
        Ok(Synced::Nothing) => None,
        Err(e) => {
            warn(&format!("cannot open or update the drift issue: {e}"));
            None
        }
    }
}

/// The environment gate (`--environment`, `--require-protection`), built by `cli`.
#[derive(Debug, Clone)]
pub struct Gate {
    pub environment: Option<String>,
    pub policy: Policy,
    pub min_reviewers: usize,
}

/// Checks the environment's protection rules. `Ok(Some)` when protected, `Ok(None)` when not
/// checked or only warned about, `Err` when the policy is `fail` and the check did not pass.
pub fn require_protection(gate: &Gate) -> Result<Option<Protection>, Error> {
    if gate.policy == Policy::Off {
        return Ok(None);
    }
    let result = blocking(|| check_protection(gate));
    match (result, gate.policy) {
        (Ok(p), _) => {
            tracing::info!("{}", p.describe());
            Ok(Some(p))
        }
        (Err(e), Policy::Warn) => {
            warn(&format!("{e} (require-protection: warn)"));
            Ok(None)
        }
        (Err(e), _) => {
            if in_actions() {
                issue_commands(&[Annotation::new(Level::Error, e.to_string())
                    .titled("environment protection")
                    .command()]);
            }
            Err(Error::Protection(e))
        }
    }
}

fn check_protection(gate: &Gate) -> Result<Protection, ProtectionError> {
    let name = gate
        .environment
        .as_deref()
        .ok_or(ProtectionError::NoEnvironment)?;
    let ctx = context().ok_or(ProtectionError::NotInActions)?;
    let repo = ctx
        .repository
        .as_ref()
        .ok_or(ProtectionError::NotInActions)?;
    let client =
        Client::new(&ctx.api_url, ctx.token.as_ref()).map_err(|source| ProtectionError::Api {
            environment: name.to_string(),
            source,
        })?;
    environment::check(&client, repo, name, gate.min_reviewers)
}

/// A migration file and line an error points at, for an annotation.
pub fn error_location(e: &Error) -> Option<(String, usize)> {
    use crate::migrations::apply::ApplyError;
    match e {
        Error::Apply(a) => match &**a {
            ApplyError::Statement { path, line, .. }
            | ApplyError::InvalidIndex { path, line, .. }
            | ApplyError::Split { path, line, .. } => Some((path.clone(), *line)),
            ApplyError::NotTransactional { path, .. } => Some((path.clone(), 1)),
            ApplyError::History(_) => None,
        },
        _ => None,
    }
}

/// The error as the summary shows it: message and hint, scrubbed, in a block that markdown
/// will not interpret.
pub fn failure_markdown(title: &str, e: &Error) -> String {
    let message = crate::secret::scrub(&e.to_string());
    let hint = e
        .hint()
        .map(|h| {
            format!(
                "\n\n**Hint:** {}",
                crate::secret::scrub(&h).replace('\n', " ")
            )
        })
        .unwrap_or_default();
    let fence = if message.contains("```") {
        "~~~~"
    } else {
        "```"
    };
    format!(
        "### {title}\n\n**Failed ❌** (exit {})\n\n{fence}text\n{message}\n{fence}{hint}\n",
        e.exit_code().code()
    )
}

/// The error annotation for a failed run: on the migration line when known.
pub fn failure_annotation(e: &Error) -> Annotation {
    let a =
        Annotation::new(Level::Error, crate::secret::scrub(&e.to_string())).titled("pgkeel failed");
    match error_location(e) {
        Some((path, line)) => a.at(path, Some(line)),
        None => a,
    }
}

/// What goes to stdout inside Actions: `text` with nothing the runner could read as a workflow
/// command. Reports for the log (human, markdown) are fenced with `::stop-commands::`; JSON is
/// kept byte-for-byte parseable (`##[`, the only marker JSON can hold, becomes `#\u0023[`,
/// the same string); SQL is fenced only when some line would parse.
pub fn stdout_text(text: &str, format: Format) -> String {
    if text.is_empty() || !in_actions() {
        return text.to_string();
    }
    safe_stdout(text, format)
}

/// [`stdout_text`] without the Actions check.
pub fn safe_stdout(text: &str, format: Format) -> String {
    match format {
        Format::Json => {
            let escaped = text.replace("##[", "#\\u0023[");
            if workflow_command::contains_command(&escaped) {
                workflow_command::fence(&escaped)
            } else {
                escaped
            }
        }
        Format::Sql if !workflow_command::contains_command(text) => text.to_string(),
        _ => workflow_command::fence(text),
    }
}

/// stdout for the process. Inside Actions it collects everything and writes it once, made safe
/// by [`stdout_text`], when dropped (so early returns are covered). Outside, a terminal gets
/// each line as it comes; a pipe or file gets 64 KiB writes (std's stdout is line-buffered:
/// a 4 MB snapshot would otherwise cost 300,000 write calls).
pub struct Stdout {
    format: Format,
    buffer: Option<Vec<u8>>,
    pipe: Option<std::io::BufWriter<std::io::Stdout>>,
}

impl Stdout {
    pub fn new(format: Format) -> Stdout {
        use std::io::IsTerminal;
        let actions = in_actions();
        let terminal = std::io::stdout().is_terminal();
        Stdout {
            format,
            buffer: actions.then(Vec::new),
            pipe: (!actions && !terminal)
                .then(|| std::io::BufWriter::with_capacity(64 * 1024, std::io::stdout())),
        }
    }
}

impl Write for Stdout {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        match (&mut self.buffer, &mut self.pipe) {
            (Some(b), _) => {
                b.extend_from_slice(buf);
                Ok(buf.len())
            }
            (None, Some(pipe)) => pipe.write(buf),
            (None, None) => std::io::stdout().lock().write(buf),
        }
    }

    fn flush(&mut self) -> std::io::Result<()> {
        match (&self.buffer, &mut self.pipe) {
            (Some(_), _) => Ok(()),
            (None, Some(pipe)) => pipe.flush(),
            (None, None) => std::io::stdout().flush(),
        }
    }
}

impl Drop for Stdout {
    fn drop(&mut self) {
        if let Some(pipe) = self.pipe.as_mut() {
            let _ = pipe.flush();
        }
        if let Some(b) = self.buffer.take().filter(|b| !b.is_empty()) {
            // Masks first, so a secret in the report is masked in the log.
            mask_secrets();
            let text = stdout_text(&String::from_utf8_lossy(&b), self.format);
            let mut out = std::io::stdout().lock();
            let _ = out.write_all(text.as_bytes());
            let _ = out.flush();
        }
    }
}

/// Log and error text for stderr: inert inside Actions.
pub fn stderr_text(text: &str) -> String {
    if in_actions() {
        workflow_command::neutralize(text)
    } else {
        text.to_string()
    }
}

/// Where report files go (`--output-dir`), for outputs.
pub fn report_path(dir: Option<&std::path::Path>, file: &str) -> String {
    dir.map(|d| {
        let p: PathBuf = d.join(file);
        std::path::absolute(&p).unwrap_or(p).display().to_string()
    })
    .unwrap_or_default()
}

/// Writes step outputs (and masks secrets) for commands that publish nothing else, such as
/// backup and restore. Outside Actions it does nothing.
/// Appends markdown (rendered by `render`) to the step summary, within GitHub's 1 MiB, when
/// running inside GitHub Actions: what `backup` and `restore` show, with no comment or issue.
pub fn summary(render: impl FnOnce(&mut Vec<u8>) -> std::io::Result<()>) -> Result<(), Error> {
    let Some(ctx) = context() else {
        return Ok(());
    };
    let Some(path) = &ctx.summary else {
        return Ok(());
    };
    let mut md = Vec::new();
    render(&mut md).map_err(Error::Output)?;
    let pointer = ctx
        .run_url()
        .map(|u| format!("The full log is in [this run]({u})."))
        .unwrap_or_default();
    summary::append(path, &String::from_utf8_lossy(&md), &pointer).map_err(|source| {
        Error::from(PublishError::Summary {
            path: path.display().to_string(),
            source,
        })
    })
}

pub fn outputs(outputs: &[(&'static str, String)]) -> Result<(), Error> {
    let Some(ctx) = context() else {
        return Ok(());
    };
    mask_secrets();
    if let Some(path) = &ctx.output {
        crate::github::output::append(path, outputs).map_err(|e| Error::Usage {
            message: format!("cannot write step outputs to {}: {e}", path.display()),
            hint: e.hint(),
        })?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn json_stays_json_and_inert() {
        let doc = serde_json::json!({"sql": "SELECT '##[add-mask]x'", "n": "::error::y"});
        let text = serde_json::to_string_pretty(&doc).expect("json");
        let safe = safe_stdout(&text, Format::Json);
        assert!(!workflow_command::contains_command(&safe), "{safe}");
        let back: serde_json::Value = serde_json::from_str(&safe).expect("still json");
        assert_eq!(back, doc);
    }

    #[test]
    fn human_reports_are_fenced_and_sql_only_when_needed() {
        let fenced = safe_stdout("table \n::add-mask::x\n", Format::Human);
        assert!(fenced.starts_with("::stop-commands::pgkeel-"));
        assert_eq!(
            safe_stdout("CREATE TABLE t ();\n", Format::Sql),
            "CREATE TABLE t ();\n"
        );
        assert!(
            safe_stdout("CREATE TABLE \"\n::error::x\" ();\n", Format::Sql)
                .starts_with("::stop-commands::")
        );
    }

    #[test]
    fn fallback_keeps_the_head_of_the_report() {
        let md = "### pgkeel diff: 1 new migration\n\n**Breaking: 1 change ❌**\n\n| identical tables |\n|---:|\n| 1 |\n\n#### Schema changes\n\nlots\n";
        let f = fallback(md, "See the run.");
        assert!(f.contains("Breaking: 1 change"));
        assert!(f.contains("| 1 |"));
        assert!(!f.contains("lots"));
        assert!(f.ends_with("See the run.\n"));
    }
}

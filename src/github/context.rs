//! The run pgkeel is a step of, from the variables the Actions runner sets. Read once; tests
//! pass their own lookup.

use std::path::PathBuf;

use crate::secret::Secret;

/// `owner/name`, checked so it can be put into an API path as is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Repo {
    pub owner: String,
    pub name: String,
}

impl Repo {
    /// Parses `GITHUB_REPOSITORY`; `None` for anything that is not `owner/name` made of the
    /// characters GitHub allows (letters, digits, `-`, `_`, `.`).
    pub fn parse(value: &str) -> Option<Repo> {
        let (owner, name) = value.split_once('/')?;
        let ok = |s: &str| {
            !s.is_empty()
                && s != "."
                && s != ".."
                && s.chars()
                    .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'))
        };
        (ok(owner) && ok(name)).then(|| Repo {
            owner: owner.to_string(),
            name: name.to_string(),
        })
    }
}

impl std::fmt::Display for Repo {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}/{}", self.owner, self.name)
    }
}

/// What the runner tells a step about its run.
#[derive(Debug, Clone)]
pub struct Context {
    /// `GITHUB_OUTPUT`: the step's outputs file.
    pub output: Option<PathBuf>,
    /// `GITHUB_STEP_SUMMARY`: the step's summary file.
    pub summary: Option<PathBuf>,
    /// `GITHUB_EVENT_NAME`: pull_request, push, merge_group, schedule, …
    pub event_name: String,
    /// `GITHUB_EVENT_PATH`: the webhook payload that triggered the run.
    pub event_path: Option<PathBuf>,
    pub repository: Option<Repo>,
    /// `GITHUB_SERVER_URL`, for links (https://github.com or a GHES host).
    pub server_url: String,
    /// `GITHUB_API_URL` (https://api.github.com, or `https://HOST/api/v3` on GHES).
    pub api_url: String,
    pub run_id: Option<String>,
    /// `GITHUB_WORKSPACE`: annotation paths are relative to it.
    pub workspace: Option<PathBuf>,
    /// `GITHUB_TOKEN` (or `GH_TOKEN`), as the action passes its `github-token` input.
    pub token: Option<Secret>,
}

impl Context {
    /// The run's context when `GITHUB_ACTIONS=true`, else `None`.
    pub fn detect() -> Option<Context> {
        Context::from_lookup(&|k| std::env::var(k).ok())
    }

    /// Same as [`Context::detect`] with any variable lookup.
    pub fn from_lookup(get: &dyn Fn(&str) -> Option<String>) -> Option<Context> {
        let var = |k: &str| get(k).filter(|v| !v.is_empty());
        if var("GITHUB_ACTIONS").as_deref() != Some("true") {
            return None;
        }
        let trim = |s: String| s.trim_end_matches('/').to_string();
        Some(Context {
            output: var("GITHUB_OUTPUT").map(PathBuf::from),
            summary: var("GITHUB_STEP_SUMMARY").map(PathBuf::from),
            event_name: var("GITHUB_EVENT_NAME").unwrap_or_default(),
            event_path: var("GITHUB_EVENT_PATH").map(PathBuf::from),
            repository: var("GITHUB_REPOSITORY").and_then(|r| Repo::parse(&r)),
            server_url: var("GITHUB_SERVER_URL")
                .map(trim)
                .unwrap_or_else(|| "https://github.com".into()),
            api_url: var("GITHUB_API_URL")
                .map(trim)
                .unwrap_or_else(|| "https://api.github.com".into()),
            run_id: var("GITHUB_RUN_ID").filter(|r| r.chars().all(|c| c.is_ascii_digit())),
            workspace: var("GITHUB_WORKSPACE").map(PathBuf::from),
            token: var("GITHUB_TOKEN")
                .or_else(|| var("GH_TOKEN"))
                .map(Secret::new),
        })
    }

    /// The run's page, where the step summary is shown.
    pub fn run_url(&self) -> Option<String> {
        Some(format!(
            "{}/{}/actions/runs/{}",
            self.server_url,
            self.repository.as_ref()?,
            self.run_id.as_ref()?
        ))
    }

    /// `path` as the runner wants it in an annotation: relative to the workspace when it is
    /// inside it (annotations on other paths do not show on the PR's files).
    pub fn annotation_path(&self, path: &str) -> String {
        let Some(ws) = &self.workspace else {
            return path.to_string();
        };
        let p = std::path::Path::new(path);
        let absolute = if p.is_absolute() {
            p.to_path_buf()
        } else {
            match std::env::current_dir() {
                Ok(cwd) => cwd.join(p),
                Err(_) => return path.to_string(),
            }
        };
        let canonical = |q: &std::path::Path| q.canonicalize().unwrap_or_else(|_| q.to_path_buf());
        match canonical(&absolute).strip_prefix(canonical(ws)) {
            Ok(rel) => rel.display().to_string(),
            Err(_) => path.to_string(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lookup(vars: &'static [(&'static str, &'static str)]) -> impl Fn(&str) -> Option<String> {
        move |k| {
            vars.iter()
                .find(|(n, _)| *n == k)
                .map(|(_, v)| v.to_string())
        }
    }

    #[test]
    fn only_inside_actions() {
        assert!(Context::from_lookup(&lookup(&[])).is_none());
        assert!(Context::from_lookup(&lookup(&[("GITHUB_ACTIONS", "false")])).is_none());
        let c = Context::from_lookup(&lookup(&[
            ("GITHUB_ACTIONS", "true"),
            ("GITHUB_REPOSITORY", "acme/shop"),
            ("GITHUB_RUN_ID", "42"),
            ("GITHUB_API_URL", "https://ghe.example.com/api/v3/"),
        ]))
        .expect("context");
        assert_eq!(c.api_url, "https://ghe.example.com/api/v3");
        assert_eq!(
            c.run_url().as_deref(),
            Some("https://github.com/acme/shop/actions/runs/42")
        );
    }

    #[test]
    fn repository_names_are_checked() {
        assert!(Repo::parse("acme/shop.api").is_some());
        for bad in [
            "acme",
            "acme/",
            "/shop",
            "acme/../x",
            "acme/sh op",
            "a/b/c",
            "acme/..",
        ] {
            assert!(Repo::parse(bad).is_none(), "{bad}");
        }
    }
}

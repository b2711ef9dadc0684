//! A small GitHub REST client: JSON in and out, the token as a bearer header, pagination
//! through the `Link` header, GitHub's error messages kept. `GITHUB_API_URL` is the base, so
//! GitHub Enterprise Server works (and tests point it at a loopback server).
//!
//! Blocking on purpose: a handful of calls at the end of a command, made from a blocking
//! thread (`report::actions`), so the async runtime is never stalled.

use std::time::Duration;

use serde::de::DeserializeOwned;
use serde::Serialize;

use crate::secret::{scrub, Secret};

/// Per-request time limit; a slow API must not hold a CI job.
const TIMEOUT: Duration = Duration::from_secs(30);

/// Pages followed at most (100 items each): a PR with 10,000 comments is not one we can help.
const MAX_PAGES: usize = 100;

#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    #[error("GitHub API {method} {path}: HTTP {status}: {message}")]
    Status {
        method: &'static str,
        path: String,
        status: u16,
        message: String,
    },
    #[error("cannot reach the GitHub API at {url}: {message}")]
    Transport { url: String, message: String },
    #[error("unexpected answer from GitHub API {path}: {message}")]
    Decode { path: String, message: String },
    #[error("GITHUB_API_URL `{0}` is not an http:// or https:// URL")]
    BadUrl(String),
    #[error("no GitHub token: set GITHUB_TOKEN")]
    NoToken,
}

impl ApiError {
    pub fn status(&self) -> Option<u16> {
        match self {
            ApiError::Status { status, .. } => Some(*status),
            _ => None,
        }
    }

    pub fn hint(&self) -> Option<String> {
        match self.status() {
            Some(401) => Some("the token is invalid or expired: pass `github-token: ${{ github.token }}` or a valid token".into()),
            Some(403) => Some("the token lacks a permission (pull-requests: write for comments, issues: write for drift issues, actions: read for environments), or it is the read-only token of a pull request from a fork".into()),
            Some(404) => Some("check the repository and name; a private repository also answers 404 to a token without access".into()),
            _ => match self {
                ApiError::NoToken => Some("the actions pass `github-token` (default `${{ github.token }}`) as GITHUB_TOKEN".into()),
                ApiError::Transport { .. } => Some("check GITHUB_API_URL and the network (proxies are read from HTTPS_PROXY/NO_PROXY)".into()),
                _ => None,
            },
        }
    }
}

/// One authenticated API endpoint root.
pub struct Client {
    base: String,
    token: Secret,
    agent: ureq::Agent,
}

/// A decoded page and the next page's URL, if any.
struct Page<T> {
    items: T,
    next: Option<String>,
}

impl Client {
    /// A client for `api_url` (e.g. `https://api.github.com`) with `token`.
    pub fn new(api_url: &str, token: Option<&Secret>) -> Result<Client, ApiError> {
        let base = api_url.trim_end_matches('/').to_string();
        if !(base.starts_with("https://") || base.starts_with("http://")) {
            return Err(ApiError::BadUrl(base));
        }
        let token = token.cloned().ok_or(ApiError::NoToken)?;
        let config = ureq::Agent::config_builder()
            .timeout_global(Some(TIMEOUT))
            .http_status_as_error(false)
            .user_agent(concat!("pgkeel/", env!("CARGO_PKG_VERSION")))
            .tls_config(
                ureq::tls::TlsConfig::builder()
                    .root_certs(root_certs())
                    .build(),
            )
            .build();
        Ok(Client {
            base,
            token,
            agent: config.into(),
        })
    }

    pub fn base(&self) -> &str {
        &self.base
    }

    /// GET `path` (relative to the base) and decode it.
    pub fn get<T: DeserializeOwned>(&self, path: &str) -> Result<T, ApiError> {
        let url = format!("{}{path}", self.base);
        Ok(self.get_page(&url, path)?.items)
    }

    /// GET every page of a list, following `Link: <…>; rel="next"` (only within the API's own
    /// origin, so the token never goes elsewhere).
    pub fn get_all<T: DeserializeOwned>(&self, path: &str) -> Result<Vec<T>, ApiError> {
        let mut url = format!("{}{path}", self.base);
        let mut all = Vec::new();
        for _ in 0..MAX_PAGES {
            let page: Page<Vec<T>> = self.get_page(&url, path)?;
            all.extend(page.items);
            match page.next {
                Some(next) if same_origin(&next, &self.base) => url = next,
                _ => break,
            }
        }
        Ok(all)
    }

    pub fn post<B: Serialize, T: DeserializeOwned>(
        &self,
        path: &str,
        body: &B,
    ) -> Result<T, ApiError> {
        self.send("POST", path, body)
    }

    pub fn patch<B: Serialize, T: DeserializeOwned>(
        &self,
        path: &str,
        body: &B,
    ) -> Result<T, ApiError> {
        self.send("PATCH", path, body)
    }

    fn get_page<T: DeserializeOwned>(&self, url: &str, path: &str) -> Result<Page<T>, ApiError> {
        let response = self
            .with_headers(self.agent.get(url))
            .call()
            .map_err(|e| transport(url, e))?;
        let next = response
            .headers()
            .get("link")
            .and_then(|v| v.to_str().ok())
            .and_then(next_link);
        let items = decode("GET", path, response)?;
        Ok(Page { items, next })
    }

    fn send<B: Serialize, T: DeserializeOwned>(
        &self,
        method: &'static str,
        path: &str,
        body: &B,
    ) -> Result<T, ApiError> {
        let url = format!("{}{path}", self.base);
        let json = serde_json::to_string(body).map_err(|e| ApiError::Decode {
            path: path.to_string(),
            message: e.to_string(),
        })?;
        let request = match method {
            "PATCH" => self.agent.patch(&url),
            _ => self.agent.post(&url),
        };
        let response = self
            .with_headers(request)
            .header("Content-Type", "application/json")
            .send(json.as_bytes())
            .map_err(|e| transport(&url, e))?;
        decode(method, path, response)
    }

    fn with_headers<B>(&self, r: ureq::RequestBuilder<B>) -> ureq::RequestBuilder<B> {
        r.header("Accept", "application/vnd.github+json")
            .header("X-GitHub-Api-Version", "2022-11-28")
            .header("Authorization", &format!("Bearer {}", self.token.expose()))
    }
}

fn transport(url: &str, e: ureq::Error) -> ApiError {
    ApiError::Transport {
        url: url.to_string(),
        message: scrub(&e.to_string()),
    }
}

fn decode<T: DeserializeOwned>(
    method: &'static str,
    path: &str,
    mut response: ureq::http::Response<ureq::Body>,
) -> Result<T, ApiError> {
    let status = response.status().as_u16();
    let text = response
        .body_mut()
        .with_config()
        .limit(32 * 1024 * 1024)
        .read_to_string()
        .map_err(|e| ApiError::Decode {
            path: path.to_string(),
            message: e.to_string(),
        })?;
    if !(200..300).contains(&status) {
        let message = serde_json::from_str::<serde_json::Value>(&text)
            .ok()
            .and_then(|v| v["message"].as_str().map(str::to_string))
            .unwrap_or_else(|| text.chars().take(200).collect());
        return Err(ApiError::Status {
            method,
            path: path.to_string(),
            status,
            message: scrub(&message),
        });
    }
    let text = if text.trim().is_empty() {
        "null"
    } else {
        &text
    };
    serde_json::from_str(text).map_err(|e| ApiError::Decode {
        path: path.to_string(),
        message: e.to_string(),
    })
}

/// The `rel="next"` URL of a `Link` header.
fn next_link(header: &str) -> Option<String> {
    header.split(',').find_map(|part| {
        let (url, params) = part.split_once(';')?;
        let is_next = params
            .split(';')
            .any(|p| p.trim().replace(' ', "") == "rel=\"next\"");
        let url = url.trim().strip_prefix('<')?.strip_suffix('>')?;
        is_next.then(|| url.to_string())
    })
}

/// True when `url` is on the same scheme, host and port as `base`.
fn same_origin(url: &str, base: &str) -> bool {
    let origin = |u: &str| {
        let (scheme, rest) = u.split_once("://")?;
        let host = rest.split(['/', '?', '#']).next()?;
        Some((scheme.to_ascii_lowercase(), host.to_ascii_lowercase()))
    };
    origin(url).is_some() && origin(url) == origin(base)
}

/// The system's roots (GitHub Enterprise Server often uses a private CA), else Mozilla's.
fn root_certs() -> ureq::tls::RootCerts {
    let native = rustls_native_certs::load_native_certs();
    let certs: Vec<ureq::tls::Certificate<'static>> = native
        .certs
        .iter()
        .map(|c| ureq::tls::Certificate::from_der(c.as_ref()).to_owned())
        .collect();
    if certs.is_empty() {
        ureq::tls::RootCerts::WebPki
    } else {
        ureq::tls::RootCerts::new_with_certs(&certs)
    }
}

/// Percent-encodes one path segment (environment names may hold spaces and slashes).
pub fn segment(s: &str) -> String {
    percent_encoding::utf8_percent_encode(s, percent_encoding::NON_ALPHANUMERIC).to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn next_link_is_found() {
        let h = r#"<https://api.github.com/repositories/1/issues/2/comments?page=2&per_page=100>; rel="next", <https://api.github.com/repositories/1/issues/2/comments?page=5&per_page=100>; rel="last""#;
        assert_eq!(
            next_link(h).as_deref(),
            Some("https://api.github.com/repositories/1/issues/2/comments?page=2&per_page=100")
        );
        assert_eq!(next_link(r#"<https://x/1>; rel="prev""#), None);
    }

    #[test]
    fn pagination_stays_on_the_api_origin() {
        assert!(same_origin(
            "https://api.github.com/x?page=2",
            "https://api.github.com"
        ));
        assert!(!same_origin(
            "https://evil.example/x",
            "https://api.github.com"
        ));
        assert!(!same_origin(
            "http://api.github.com/x",
            "https://api.github.com"
        ));
        assert!(same_origin(
            "http://127.0.0.1:4000/r?page=2",
            "http://127.0.0.1:4000"
        ));
    }

    #[test]
    fn segments_are_encoded() {
        assert_eq!(
            segment("production restore/eu"),
            "production%20restore%2Feu"
        );
    }

    #[test]
    fn a_client_needs_a_token_and_an_http_url() {
        let t = Secret::new("ghs_test_token_value");
        assert!(matches!(
            Client::new("ftp://x", Some(&t)),
            Err(ApiError::BadUrl(_))
        ));
        assert!(matches!(
            Client::new("https://api.github.com", None),
            Err(ApiError::NoToken)
        ));
    }
}

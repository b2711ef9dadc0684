//! A real HTTP server on loopback that answers the part of the GitHub REST API pgkeel uses —
//! PR comments, issues, environments — from in-memory state, and records every request.
//! Pagination is real (`per_page`, `page`, `Link: <…>; rel="next"`, with a small server-side
//! page size so tests cross pages), a read-only mode answers writes with 403 as GitHub does for
//! a fork's token, and a path prefix stands in for GitHub Enterprise Server's `/api/v3`.

use std::collections::BTreeMap;
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::Duration;

use serde_json::{json, Value};

pub use super::http_receiver::Request;
use super::http_receiver::{read_request, write_reply, Reply};

/// The token the server accepts.
pub const TOKEN: &str = "ghs_test_token_0123456789abcdef";
pub const OWNER: &str = "acme";
pub const REPO: &str = "shop";

#[derive(Debug, Clone)]
pub struct Comment {
    pub id: u64,
    pub body: String,
    pub login: String,
    pub bot: bool,
}

#[derive(Debug, Clone)]
pub struct Issue {
    pub number: u64,
    pub title: String,
    pub body: String,
    pub state: String,
    pub labels: Vec<String>,
    pub pull_request: bool,
}

#[derive(Default)]
pub struct State {
    pub requests: Vec<Request>,
    /// Comments per issue / PR number.
    pub comments: BTreeMap<u64, Vec<Comment>>,
    pub issues: Vec<Issue>,
    /// Environment JSON documents by name.
    pub environments: BTreeMap<String, Value>,
    /// Writes answer 403, as for a pull request from a fork.
    pub read_only: bool,
    /// Largest page the server returns, whatever `per_page` asks.
    pub page_cap: usize,
    next_id: u64,
}

pub struct FakeGithub {
    addr: SocketAddr,
    prefix: String,
    state: Arc<Mutex<State>>,
    stop: Arc<AtomicBool>,
    thread: Option<JoinHandle<()>>,
}

impl FakeGithub {
    /// A server at `http://127.0.0.1:PORT`.
    pub fn start() -> FakeGithub {
        FakeGithub::with_prefix("")
    }

    /// A server whose API lives under `prefix` (e.g. `/api/v3`, as on GHES).
    pub fn with_prefix(prefix: &str) -> FakeGithub {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind loopback");
        let addr = listener.local_addr().expect("addr");
        let state = Arc::new(Mutex::new(State {
            page_cap: 100,
            next_id: 1000,
            ..State::default()
        }));
        let stop = Arc::new(AtomicBool::new(false));
        let (st, halt, pre) = (state.clone(), stop.clone(), prefix.to_string());
        let thread = std::thread::spawn(move || {
            for stream in listener.incoming() {
                if halt.load(Ordering::SeqCst) {
                    break;
                }
                let Ok(stream) = stream else { continue };
                let Some(request) = read_request(&stream) else {
                    continue;
                };
                let reply = {
                    let mut s = st.lock().unwrap();
                    s.requests.push(request.clone());
                    answer(&mut s, &request, &pre, addr)
                };
                write_reply(stream, &reply);
            }
        });
        FakeGithub {
            addr,
            prefix: prefix.to_string(),
            state,
            stop,
            thread: Some(thread),
        }
    }

    /// The value for `GITHUB_API_URL`.
    pub fn api_url(&self) -> String {
        format!("http://{}{}", self.addr, self.prefix)
    }

    pub fn state(&self) -> std::sync::MutexGuard<'_, State> {
        self.state.lock().unwrap()
    }

    pub fn requests(&self) -> Vec<Request> {
        self.state().requests.clone()
    }

    pub fn writes(&self) -> Vec<Request> {
        self.requests()
            .into_iter()
            .filter(Request::is_write)
            .collect()
    }

    pub fn clear_requests(&self) {
        self.state().requests.clear();
    }

    pub fn comments(&self, pr: u64) -> Vec<Comment> {
        self.state().comments.get(&pr).cloned().unwrap_or_default()
    }

    /// A comment someone else wrote.
    pub fn add_comment(&self, pr: u64, login: &str, body: &str) {
        let mut s = self.state();
        s.next_id += 1;
        let id = s.next_id;
        s.comments.entry(pr).or_default().push(Comment {
            id,
            body: body.to_string(),
            login: login.to_string(),
            bot: login.ends_with("[bot]"),
        });
    }

    pub fn add_issue(&self, title: &str, body: &str, pull_request: bool) -> u64 {
        let mut s = self.state();
        let number = s.issues.len() as u64 + 1;
        s.issues.push(Issue {
            number,
            title: title.to_string(),
            body: body.to_string(),
            state: "open".into(),
            labels: Vec::new(),
            pull_request,
        });
        number
    }

    pub fn issues(&self) -> Vec<Issue> {
        self.state().issues.clone()
    }

    pub fn set_environment(&self, name: &str, doc: Value) {
        self.state().environments.insert(name.to_string(), doc);
    }
}

impl Drop for FakeGithub {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        let _ = TcpStream::connect_timeout(&self.addr, Duration::from_secs(1));
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

fn reply(status: u16, body: Value) -> Reply {
    Reply::status(status, &body.to_string())
        .header("Content-Type", "application/json; charset=utf-8")
}

fn error(status: u16, message: &str) -> Reply {
    reply(
        status,
        json!({"message": message, "documentation_url": "https://docs.github.com/rest"}),
    )
}

fn comment_json(c: &Comment) -> Value {
    json!({
        "id": c.id,
        "body": c.body,
        "html_url": format!("https://github.com/{OWNER}/{REPO}/pull/0#issuecomment-{}", c.id),
        "user": {"login": c.login, "type": if c.bot { "Bot" } else { "User" }},
    })
}

fn issue_json(i: &Issue) -> Value {
    let mut v = json!({
        "number": i.number,
        "title": i.title,
        "body": i.body,
        "state": i.state,
        "html_url": format!("https://github.com/{OWNER}/{REPO}/issues/{}", i.number),
        "labels": i.labels.iter().map(|l| json!({"name": l})).collect::<Vec<_>>(),
    });
    if i.pull_request {
        v["pull_request"] = json!({"url": "x"});
    }
    v
}

/// One page of `items` and the `Link` header for the next.
fn page(
    items: Vec<Value>,
    query: &BTreeMap<String, String>,
    path: &str,
    cap: usize,
    addr: SocketAddr,
) -> Reply {
    let per_page = query
        .get("per_page")
        .and_then(|v| v.parse::<usize>().ok())
        .unwrap_or(30)
        .min(cap)
        .max(1);
    let page_no = query
        .get("page")
        .and_then(|v| v.parse::<usize>().ok())
        .unwrap_or(1)
        .max(1);
    let start = (page_no - 1) * per_page;
    let chunk: Vec<Value> = items.iter().skip(start).take(per_page).cloned().collect();
    let mut r = reply(200, Value::Array(chunk));
    if start + per_page < items.len() {
        let mut q = query.clone();
        q.insert("page".into(), (page_no + 1).to_string());
        let qs: Vec<String> = q.iter().map(|(k, v)| format!("{k}={v}")).collect();
        r.headers.push((
            "Link".into(),
            format!(
                "<http://{addr}{path}?{}>; rel=\"next\", <http://{addr}{path}?page=999>; rel=\"last\"",
                qs.join("&")
            ),
        ));
    }
    r
}

fn answer(s: &mut State, req: &Request, prefix: &str, addr: SocketAddr) -> Reply {
    if req.header("authorization") != Some(&format!("Bearer {TOKEN}")) {
        return error(401, "Bad credentials");
    }
    let Some(rest) = req.path.strip_prefix(prefix) else {
        return error(404, "Not Found");
    };
    let (route, query) = match rest.split_once('?') {
        Some((r, q)) => (r, q),
        None => (rest, ""),
    };
    let query: BTreeMap<String, String> = query
        .split('&')
        .filter_map(|kv| kv.split_once('='))
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
    let full_path = format!("{prefix}{route}");
    let base = format!("/repos/{OWNER}/{REPO}");
    let Some(route) = route.strip_prefix(&base) else {
        return error(404, "Not Found");
    };
    let parts: Vec<&str> = route.trim_start_matches('/').split('/').collect();
    if req.is_write() && s.read_only && parts.first().is_none_or(|p| *p != "environments") {
        return error(403, "Resource not accessible by integration");
    }
    // Tolerant: a malformed body is answered like an empty one (GitHub answers 400/422).
    let body: Value = serde_json::from_slice(&req.body).unwrap_or(Value::Null);
    match (req.method.as_str(), parts.as_slice()) {
        ("GET", ["issues", n, "comments"]) => {
            let n: u64 = n.parse().unwrap_or(0);
            let items = s
                .comments
                .get(&n)
                .map(|cs| cs.iter().map(comment_json).collect())
                .unwrap_or_default();
            page(items, &query, &full_path, s.page_cap, addr)
        }
        ("POST", ["issues", n, "comments"]) => {
            let n: u64 = n.parse().unwrap_or(0);
            s.next_id += 1;
            let c = Comment {
                id: s.next_id,
                body: body["body"].as_str().unwrap_or_default().to_string(),
                login: "github-actions[bot]".into(),
                bot: true,
            };
            let v = comment_json(&c);
            s.comments.entry(n).or_default().push(c);
            reply(201, v)
        }
        ("PATCH", ["issues", "comments", id]) => {
            let id: u64 = id.parse().unwrap_or(0);
            for cs in s.comments.values_mut() {
                if let Some(c) = cs.iter_mut().find(|c| c.id == id) {
                    if !c.bot {
                        return error(403, "You cannot edit another user's comment");
                    }
                    c.body = body["body"].as_str().unwrap_or_default().to_string();
                    return reply(200, comment_json(c));
                }
            }
            error(404, "Not Found")
        }
        ("GET", ["issues"]) => {
            let state = query.get("state").map(String::as_str).unwrap_or("open");
            let items = s
                .issues
                .iter()
                .filter(|i| state == "all" || i.state == state)
                .map(issue_json)
                .collect();
            page(items, &query, &full_path, s.page_cap, addr)
        }
        ("POST", ["issues"]) => {
            let number = s.issues.len() as u64 + 1;
            let i = Issue {
                number,
                title: body["title"].as_str().unwrap_or_default().to_string(),
                body: body["body"].as_str().unwrap_or_default().to_string(),
                state: "open".into(),
                labels: body["labels"]
                    .as_array()
                    .map(|ls| {
                        ls.iter()
                            .filter_map(|l| l.as_str().map(String::from))
                            .collect()
                    })
                    .unwrap_or_default(),
                pull_request: false,
            };
            let v = issue_json(&i);
            s.issues.push(i);
            reply(201, v)
        }
        ("PATCH", ["issues", n]) => {
            let n: u64 = n.parse().unwrap_or(0);
            let Some(i) = s.issues.iter_mut().find(|i| i.number == n) else {
                return error(404, "Not Found");
            };
            if let Some(t) = body["title"].as_str() {
                i.title = t.to_string();
            }
            if let Some(b) = body["body"].as_str() {
                i.body = b.to_string();
            }
            if let Some(st) = body["state"].as_str() {
                i.state = st.to_string();
            }
            reply(200, issue_json(i))
        }
        ("GET", ["environments", name]) => {
            let name = percent_decode(name);
            match s.environments.get(&name) {
                Some(doc) => reply(200, doc.clone()),
                None => error(404, "Not Found"),
            }
        }
        _ => error(404, "Not Found"),
    }
}

fn percent_decode(s: &str) -> String {
    let bytes = s.as_bytes();
    let mut out = Vec::new();
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' && i + 3 <= bytes.len() {
            let hex = std::str::from_utf8(&bytes[i + 1..i + 3]).unwrap_or("");
            if let Ok(b) = u8::from_str_radix(hex, 16) {
                out.push(b);
                i += 3;
                continue;
            }
        }
        out.push(bytes[i]);
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// An environment document as the API returns it, requiring `reviewers` (and a wait timer).
pub fn protected_environment(name: &str, reviewers: &[&str]) -> Value {
    let list: Vec<Value> = reviewers
        .iter()
        .map(|r| json!({"type": "User", "reviewer": {"login": r, "id": 1}}))
        .collect();
    json!({
        "id": 1, "name": name, "can_admins_bypass": false,
        "protection_rules": [
            {"id": 10, "type": "wait_timer", "wait_timer": 10},
            {"id": 11, "type": "required_reviewers", "prevent_self_review": true, "reviewers": list}
        ],
        "deployment_branch_policy": null
    })
}

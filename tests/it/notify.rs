//! Notifications from real runs of the binary to real receivers on loopback: a recording HTTP
//! server standing in for Slack and a webhook receiver, and aiosmtpd for email. Checks the
//! payloads, retries and their time bound, `--notify-on`, the `notify:` section, that a
//! notification never changes the exit code, and that webhook URLs and SMTP passwords never
//! reach the output.

use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

use crate::support::http_receiver::{HttpReceiver, Reply};
use crate::support::smtp_receiver::SmtpReceiver;
use crate::support::{pgkeel, run, temp_dir, TestDb};

/// A project directory with a `migrations/` folder.
struct Project {
    dir: tempfile::TempDir,
}

const USERS: (&str, &str) = (
    "0001_users.up.sql",
    "CREATE TABLE users (id bigint PRIMARY KEY, name text NOT NULL);\n",
);
const EMAIL: (&str, &str) = (
    "0002_email.up.sql",
    "ALTER TABLE users ADD COLUMN email text;\nCREATE INDEX users_email ON users (email);\n",
);
const BROKEN: (&str, &str) = (
    "0002_broken.up.sql",
    "CREATE TABLE a (id int);\nCREATE TABLE b (id int);\n\n-- the typo\nINSERT INTO a\n  SELECT nosuch FROM b;\n",
);

/// Variables a CI runner would set; removed so a run's context is what each test says.
const RUN_VARS: [&str; 12] = [
    "GITHUB_ACTIONS",
    "GITHUB_ACTOR",
    "GITHUB_REPOSITORY",
    "GITHUB_REF_NAME",
    "GITHUB_HEAD_REF",
    "GITHUB_BASE_REF",
    "GITHUB_SHA",
    "GITHUB_SERVER_URL",
    "GITHUB_RUN_ID",
    "GITHUB_WORKFLOW",
    "HTTP_PROXY",
    "HTTPS_PROXY",
];

impl Project {
    fn new(files: &[(&str, &str)]) -> Project {
        let p = Project { dir: temp_dir() };
        std::fs::create_dir(p.path().join("migrations")).expect("mkdir");
        for (name, sql) in files {
            p.write(name, sql);
        }
        p
    }

    fn path(&self) -> &Path {
        self.dir.path()
    }

    fn write(&self, name: &str, sql: &str) {
        std::fs::write(self.path().join("migrations").join(name), sql).expect("write");
    }

    /// `pgkeel <args> --database-url <db> --migrations migrations`, with a 3 s notification
    /// budget and no CI context.
    fn cmd(&self, db: &TestDb, args: &[&str]) -> Command {
        let mut cmd = bare(self.path());
        cmd.args(args)
            .args(["--database-url", &db.url(), "--migrations", "migrations"]);
        cmd
    }
}

fn bare(dir: &Path) -> Command {
    let mut cmd = pgkeel(dir);
    for v in RUN_VARS {
        cmd.env_remove(v);
    }
    cmd.env("PGKEEL_NOTIFY_TIMEOUT", "3s");
    cmd
}

/// What GitHub Actions would set for run 77 of acme/shop on main.
fn in_actions(cmd: &mut Command) -> &mut Command {
    cmd.env("GITHUB_ACTIONS", "true")
        .env("GITHUB_ACTOR", "octocat")
        .env("GITHUB_REPOSITORY", "acme/shop")
        .env("GITHUB_REF_NAME", "main")
        .env("GITHUB_SHA", "abc1234def5678abc1234def5678abc1234def56")
        .env("GITHUB_SERVER_URL", "https://github.example")
        .env("GITHUB_RUN_ID", "77")
}

fn tables(db: &TestDb) -> Vec<String> {
    db.query_strings(
        "SELECT table_schema || '.' || table_name FROM information_schema.tables \
         WHERE table_schema NOT IN ('pg_catalog', 'information_schema') ORDER BY 1",
    )
}

/// Every text of a Block Kit message: section texts, fields, context elements.
fn block_texts(payload: &serde_json::Value) -> Vec<String> {
    let mut out = Vec::new();
    for b in payload["blocks"].as_array().expect("blocks") {
        if let Some(t) = b["text"]["text"].as_str() {
            out.push(t.to_string());
        }
        for f in b["fields"].as_array().into_iter().flatten() {
            out.push(f["text"].as_str().unwrap_or_default().to_string());
        }
        for e in b["elements"].as_array().into_iter().flatten() {
            out.push(e["text"].as_str().unwrap_or_default().to_string());
        }
    }
    out
}

fn has(texts: &[String], wanted: &str) -> bool {
    texts.iter().any(|t| t == wanted)
}

#[test]
fn slack_payload_for_a_successful_migrate_up() {
    let db = TestDb::new();
    let slack = HttpReceiver::ok();
    let p = Project::new(&[USERS, EMAIL]);
    let mut cmd = p.cmd(&db, &["migrate", "up", "--notify", "slack"]);
    in_actions(&mut cmd)
        .env(
            "SLACK_WEBHOOK_URL",
            slack.url("/services/T000/B000/zzSlackTokenzz"),
        )
        .env("PGKEEL_NOTIFY_ENVIRONMENT", "staging");
    let r = run(&mut cmd);
    assert_eq!(r.code, 0, "{r:?}");
    r.assert_no_secret("zzSlackTokenzz");
    assert!(
        r.stderr
            .contains(&format!("notified slack ({}/***)", slack.origin())),
        "{r:?}"
    );

    let req = slack.single();
    assert_eq!(req.method, "POST");
    assert_eq!(req.path, "/services/T000/B000/zzSlackTokenzz");
    assert_eq!(req.header("content-type"), Some("application/json"));
    let body = req.json();
    assert_eq!(
        body["blocks"][0],
        serde_json::json!({
            "type": "header",
            "text": { "type": "plain_text", "text": "✅ Migrations applied — staging", "emoji": true }
        })
    );
    assert_eq!(
        body["text"],
        "✅ Migrations applied — staging: 2 migrations applied."
    );
    let t = block_texts(&body);
    for field in [
        "*Environment*\nstaging".to_string(),
        format!("*Database*\n{}", db.name),
        "*Tool*\npgkeel".to_string(),
        "*Applied*\n2".to_string(),
    ] {
        assert!(has(&t, &field), "missing {field:?} in {t:#?}");
    }
    assert!(t.iter().any(|s| s.starts_with("*Duration*\n")), "{t:#?}");
    let list = t
        .iter()
        .find(|s| s.starts_with("*Applied migrations* (2)\n"))
        .expect("applied list");
    assert!(list.contains("\n• 0001_users (1 statement, "), "{list}");
    assert!(list.contains("\n• 0002_email (2 statements, "), "{list}");
    assert_eq!(
        t.last().map(String::as_str),
        Some("by *octocat* · branch `main` · commit `abc1234` · <https://github.example/acme/shop/actions/runs/77|View run>")
    );
    // The database's host stays out of the message.
    let host = db.spec.hosts[0].to_string();
    assert!(!req.text().contains(&host), "host {host} in {}", req.text());
    assert!(!req.text().contains("<!channel>"));
}

#[test]
fn slack_payload_for_a_failing_migration_names_file_and_line() {
    let db = TestDb::new();
    let slack = HttpReceiver::ok();
    let p = Project::new(&[USERS, BROKEN]);
    let mut cmd = p.cmd(&db, &["migrate", "up", "--notify", "slack"]);
    cmd.env(
        "SLACK_WEBHOOK_URL",
        slack.url("/services/T000/B000/zzSlackTokenzz"),
    );
    let r = run(&mut cmd);
    // The migration's own exit code and report, as without notifications.
    assert_eq!(r.code, 4, "{r:?}");
    assert!(r
        .stderr
        .contains("0002_broken.up.sql:6: column \"nosuch\" does not exist"));
    assert_eq!(tables(&db), ["pgkeel.migrations", "public.users"]);

    let body = slack.single().json();
    assert_eq!(body["blocks"][0]["text"]["text"], "❌ Migration failed");
    let text = body["text"].as_str().unwrap();
    assert!(
        text.starts_with("❌ Migration failed: 1 migration applied before the failure. — migrations/0002_broken.up.sql:6: column \"nosuch\" does not exist"),
        "{text}"
    );
    let t = block_texts(&body);
    for field in [
        "*Applied*\n1",
        "*Failed migration*\n0002_broken",
        "*Failed at*\nmigrations/0002_broken.up.sql:6",
        "*Exit code*\n4",
    ] {
        assert!(has(&t, field), "missing {field:?} in {t:#?}");
    }
    let error = t
        .iter()
        .find(|s| s.starts_with("*Error*\n```"))
        .expect("error section");
    assert!(
        error.contains(
            "migrations/0002_broken.up.sql:6: column \"nosuch\" does not exist (SQLSTATE 42703)"
        ),
        "{error}"
    );
    assert!(error.contains("the migration was rolled back"), "{error}");
    assert!(t
        .iter()
        .any(|s| s.starts_with("*Applied migrations* (1)\n• 0001_users")));
}

#[test]
fn webhook_body_is_the_versioned_document_with_event_and_run() {
    let db = TestDb::new();
    let hook = HttpReceiver::ok();
    let p = Project::new(&[USERS, EMAIL]);
    let mut cmd = p.cmd(
        &db,
        &["migrate", "up", "--format", "json", "--notify", "webhook"],
    );
    in_actions(&mut cmd).env("PGKEEL_WEBHOOK_URL", hook.url("/pgkeel"));
    let r = run(&mut cmd);
    assert_eq!(r.code, 0, "{r:?}");
    let printed = r.json();

    let req = hook.single();
    assert_eq!(req.header("content-type"), Some("application/json"));
    assert!(req
        .header("user-agent")
        .is_some_and(|u| u.starts_with("pgkeel/")));
    let body = req.json();
    assert_eq!(body["version"], 1);
    assert_eq!(body["type"], "pgkeel.notification");
    // `report` is exactly what --format json printed.
    assert_eq!(body["report"], printed);
    let event = &body["event"];
    assert_eq!(event["kind"], "migrate");
    assert_eq!(event["outcome"], "success");
    assert_eq!(event["title"], "Migrations applied");
    assert_eq!(event["changed"], true);
    assert_eq!(event["database"], db.name.as_str());
    assert_eq!(event["error"], serde_json::Value::Null);
    assert!(event["duration_ms"].is_u64());
    assert!(event["finished_at"]
        .as_str()
        .is_some_and(|t| t.ends_with('Z')));
    assert_eq!(
        event["facts"][0],
        serde_json::json!({"label": "Tool", "value": "pgkeel"})
    );
    assert_eq!(event["lists"][0]["title"], "Applied migrations");
    assert_eq!(event["lists"][0]["items"].as_array().map(Vec::len), Some(2));
    assert_eq!(
        body["run"],
        serde_json::json!({
            "actor": "octocat",
            "repository": "acme/shop",
            "ref": "main",
            "sha": "abc1234def5678abc1234def5678abc1234def56",
            "run_id": "77",
            "url": "https://github.example/acme/shop/actions/runs/77",
        })
    );
}

#[test]
fn diff_notifies_changes_and_hazards_through_the_webhook() {
    let (a, b) = (TestDb::new(), TestDb::new());
    a.execute("CREATE TABLE t (id int PRIMARY KEY, gone text);");
    b.execute("CREATE TABLE t (id int PRIMARY KEY, added text); CREATE TABLE u (id int);");
    let hook = HttpReceiver::ok();
    let dir = temp_dir();
    let mut cmd = bare(dir.path());
    cmd.args([
        "diff",
        "--from",
        &a.url(),
        "--to",
        &b.url(),
        "--format",
        "json",
    ])
    .args(["--notify", "webhook", "--notify-on", "change"])
    .env("PGKEEL_WEBHOOK_URL", hook.url("/hook"));
    let r = run(&mut cmd);
    assert_eq!(r.code, 0, "{r:?}");
    let body = hook.single().json();
    assert_eq!(body["report"], r.json());
    let event = &body["event"];
    assert_eq!(event["kind"], "diff");
    assert_eq!(event["title"], "Schema differences found");
    // Dropping a column loses data: breaking, so a warning.
    assert_eq!(event["outcome"], "warning");
    assert_eq!(event["changed"], true);
    let fact = |label: &str| {
        event["facts"]
            .as_array()
            .unwrap()
            .iter()
            .find(|f| f["label"] == label)
            .map(|f| f["value"].as_str().unwrap().to_string())
    };
    assert_eq!(fact("From").as_deref(), Some(a.name.as_str()));
    assert_eq!(fact("To").as_deref(), Some(b.name.as_str()));
    assert_eq!(fact("Tables modified").as_deref(), Some("1"));
    assert_eq!(fact("Tables added").as_deref(), Some("1"));
    assert_eq!(fact("Columns added").as_deref(), Some("1"));
    assert_ne!(fact("Breaking").as_deref(), Some("0"));
    let lists = event["lists"].as_array().unwrap();
    assert_eq!(lists[0]["title"], "Changes");
    assert!(
        lists[1]["items"][0].as_str().unwrap().contains("gone"),
        "{lists:?}"
    );

    // Identical schemas: nothing changed, and `--notify-on change` stays quiet.
    let quiet = HttpReceiver::ok();
    let mut cmd = bare(dir.path());
    cmd.args(["diff", "--from", &a.url(), "--to", &a.url()])
        .args(["--notify", "webhook", "--notify-on", "change"])
        .env("PGKEEL_WEBHOOK_URL", quiet.url("/hook"));
    let r = run(&mut cmd);
    assert_eq!(r.code, 0, "{r:?}");
    assert!(quiet.requests().is_empty());
}

#[test]
fn rate_limited_delivery_waits_for_retry_after_then_delivers() {
    let db = TestDb::new();
    let hook = HttpReceiver::start(
        vec![Reply::status(429, "rate_limited").header("Retry-After", "1")],
        Reply::status(200, "ok"),
    );
    let p = Project::new(&[USERS]);
    let mut cmd = p.cmd(&db, &["migrate", "up", "--notify", "webhook"]);
    cmd.env("PGKEEL_WEBHOOK_URL", hook.url("/hook"));
    let r = run(&mut cmd);
    assert_eq!(r.code, 0, "{r:?}");
    let reqs = hook.requests();
    assert_eq!(reqs.len(), 2, "{reqs:?}");
    let waited = reqs[1].at - reqs[0].at;
    assert!(
        waited >= Duration::from_millis(950),
        "retried after {waited:?}"
    );
    assert!(waited < Duration::from_secs(3), "retried after {waited:?}");
    assert_eq!(reqs[0].body, reqs[1].body, "the same document is resent");
    assert!(r.stderr.contains("notified webhook"), "{r:?}");
    assert!(r.stderr.contains("2 attempts"), "{r:?}");
}

#[test]
fn a_receiver_failing_forever_is_given_up_within_the_bound_and_the_exit_code_stands() {
    let db = TestDb::new();
    let hook = HttpReceiver::start(Vec::new(), Reply::status(500, "internal error"));
    let p = Project::new(&[USERS]);

    let started = Instant::now();
    let mut cmd = p.cmd(&db, &["migrate", "up", "--notify", "webhook"]);
    cmd.env("PGKEEL_WEBHOOK_URL", hook.url("/hook"));
    let r = run(&mut cmd);
    let took = started.elapsed();
    // Success stays success, and the migration stays applied.
    assert_eq!(r.code, 0, "{r:?}");
    assert_eq!(tables(&db), ["pgkeel.migrations", "public.users"]);
    assert!(r.stderr.contains("WARN"), "{r:?}");
    assert!(
        r.stderr.contains(&format!(
            "notification via webhook ({}/***) failed: gave up after",
            hook.origin()
        )),
        "{r:?}"
    );
    assert!(
        r.stderr
            .contains("HTTP 500: internal error; the migrate result stands"),
        "{r:?}"
    );
    let reqs = hook.requests();
    assert!(reqs.len() >= 2, "retried: {reqs:?}");
    let span = reqs[reqs.len() - 1].at - reqs[0].at;
    assert!(span < Duration::from_secs(3), "attempts spanned {span:?}");
    assert!(took < Duration::from_secs(20), "the run took {took:?}");

    // A failure keeps its own exit code too.
    p.write(BROKEN.0, BROKEN.1);
    let mut cmd = p.cmd(&db, &["migrate", "up", "--notify", "webhook"]);
    cmd.env("PGKEEL_WEBHOOK_URL", hook.url("/hook"));
    let r = run(&mut cmd);
    assert_eq!(r.code, 4, "{r:?}");
    assert!(r.stderr.contains("gave up after"), "{r:?}");
}

#[test]
fn webhook_url_token_never_appears_in_output() {
    let db = TestDb::new();
    // The receiver even echoes the token back in its error body.
    let hook = HttpReceiver::start(
        Vec::new(),
        Reply::status(404, "no_service for zzWebhookTokenzz"),
    );
    let url = hook.url("/hooks/T0/zzWebhookTokenzz?token=zzQueryTokenzz");
    let p = Project::new(&[USERS, BROKEN]);
    for format in ["human", "json"] {
        let mut cmd = p.cmd(
            &db,
            &[
                "migrate",
                "up",
                "-vv",
                "--format",
                format,
                "--notify",
                "webhook,slack",
            ],
        );
        cmd.env("PGKEEL_WEBHOOK_URL", &url)
            .env("SLACK_WEBHOOK_URL", &url);
        let r = run(&mut cmd);
        assert_eq!(r.code, 4, "{r:?}");
        r.assert_no_secret("zzWebhookTokenzz");
        r.assert_no_secret("zzQueryTokenzz");
        assert!(
            r.stderr.contains(&format!(
                "({}/***) failed: refused with HTTP 404: no_service for ***",
                hook.origin()
            )),
            "{r:?}"
        );
        assert!(
            r.stderr
                .contains("hint: the webhook URL was revoked or is wrong"),
            "{r:?}"
        );
    }
    // The token is in the request line (that is where it belongs) but never in the body.
    for req in hook.requests() {
        assert!(!req.text().contains("zzWebhookTokenzz"), "{}", req.text());
    }

    // Nothing listening: the connection error names no token either.
    let closed = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        l.local_addr().unwrap().port()
    };
    let mut cmd = p.cmd(&db, &["migrate", "up", "-vv", "--notify", "webhook"]);
    cmd.env(
        "PGKEEL_WEBHOOK_URL",
        format!("http://127.0.0.1:{closed}/hooks/zzWebhookTokenzz"),
    )
    .env("PGKEEL_NOTIFY_TIMEOUT", "1s");
    let r = run(&mut cmd);
    assert_eq!(r.code, 4, "{r:?}");
    r.assert_no_secret("zzWebhookTokenzz");
    assert!(r.stderr.contains("gave up after"), "{r:?}");

    // A malformed URL is a usage error that does not quote it.
    let mut cmd = p.cmd(&db, &["migrate", "up", "--notify", "webhook"]);
    cmd.env("PGKEEL_WEBHOOK_URL", "ftp://example.test/zzWebhookTokenzz");
    let r = run(&mut cmd);
    assert_eq!(r.code, 2, "{r:?}");
    r.assert_no_secret("zzWebhookTokenzz");
    assert!(
        r.stderr.contains("--webhook-url is not a usable URL"),
        "{r:?}"
    );
}

#[test]
fn email_reaches_a_real_smtp_server_with_text_and_html_parts() {
    let Some(smtp) = SmtpReceiver::start("bot", "zzSmtpPasswordzz") else {
        return;
    };
    let db = TestDb::new();
    let p = Project::new(&[USERS, EMAIL]);
    let mut cmd = p.cmd(
        &db,
        &[
            "migrate",
            "up",
            "--notify",
            "email",
            "--email-to",
            "ops@acme.test,dba@acme.test",
            "--email-from",
            "pgkeel <pgkeel@acme.test>",
        ],
    );
    in_actions(&mut cmd)
        .env(
            "PGKEEL_SMTP_URL",
            format!(
                "smtp://bot:zzSmtpPasswordzz@127.0.0.1:{}?tls=none",
                smtp.port
            ),
        )
        .env("PGKEEL_NOTIFY_ENVIRONMENT", "staging");
    let r = run(&mut cmd);
    assert_eq!(r.code, 0, "{r:?}");
    r.assert_no_secret("zzSmtpPasswordzz");
    assert!(
        r.stderr.contains(&format!(
            "notified email (ops@acme.test, dba@acme.test via 127.0.0.1:{})",
            smtp.port
        )),
        "{r:?}"
    );

    let messages = smtp.wait_for(1, Duration::from_secs(5));
    assert_eq!(messages.len(), 1, "{messages:?}");
    let m = &messages[0];
    assert_eq!(m["login"], "bot");
    assert_eq!(m["mail_from"], "pgkeel@acme.test");
    assert_eq!(
        m["rcpt_tos"],
        serde_json::json!(["ops@acme.test", "dba@acme.test"])
    );
    assert_eq!(m["subject"], "[pgkeel] ✅ Migrations applied — staging");
    assert_eq!(m["content_type"], "multipart/alternative");
    let parts = m["parts"].as_array().expect("parts");
    assert_eq!(parts.len(), 2, "{parts:?}");
    assert_eq!(parts[0]["content_type"], "text/plain");
    assert_eq!(parts[1]["content_type"], "text/html");
    let text = parts[0]["text"].as_str().unwrap().replace("\r\n", "\n");
    let html = parts[1]["text"].as_str().unwrap().replace("\r\n", "\n");
    for wanted in [
        "✅ Migrations applied — staging\n2 migrations applied.\n",
        "Environment: staging\n",
        &format!("Database: {}\n", db.name),
        "Applied: 2\n",
        "Applied migrations (2):\n  - 0001_users (1 statement, ",
        "By octocat · branch main · commit abc1234\n",
        "Run: https://github.example/acme/shop/actions/runs/77\n",
    ] {
        assert!(text.contains(wanted), "{wanted:?} not in:\n{text}");
    }
    for wanted in [
        "<h2 style=\"color:#1a7f37\">✅ Migrations applied — staging</h2>",
        "<tr><th align=\"left\">Environment</th><td>staging</td></tr>",
        "<h3>Applied migrations (2)</h3>",
        "<li>0001_users (1 statement, ",
        "<a href=\"https://github.example/acme/shop/actions/runs/77\">View run</a>",
    ] {
        assert!(html.contains(wanted), "{wanted:?} not in:\n{html}");
    }
}

#[test]
fn smtp_password_never_appears_when_the_server_refuses_it() {
    let Some(smtp) = SmtpReceiver::start("bot", "the-right-password") else {
        return;
    };
    let db = TestDb::new();
    let p = Project::new(&[USERS]);
    let mut cmd = p.cmd(
        &db,
        &[
            "migrate",
            "up",
            "-vv",
            "--notify",
            "email",
            "--email-to",
            "ops@acme.test",
            "--email-from",
            "pgkeel@acme.test",
            "--smtp-url",
            &format!(
                "smtp://bot:zzWrongSmtpPasswordzz@127.0.0.1:{}?tls=none",
                smtp.port
            ),
        ],
    );
    let r = run(&mut cmd);
    assert_eq!(r.code, 0, "a refused email leaves the result alone: {r:?}");
    r.assert_no_secret("zzWrongSmtpPasswordzz");
    assert!(r.stderr.contains("refused by the SMTP server"), "{r:?}");
    assert!(r.stderr.contains("535"), "{r:?}");
    assert!(smtp.messages().is_empty());
    assert_eq!(tables(&db), ["pgkeel.migrations", "public.users"]);
}

#[test]
fn notify_on_failure_sends_nothing_on_success() {
    let db = TestDb::new();
    let hook = HttpReceiver::ok();
    let p = Project::new(&[USERS]);
    let up = |p: &Project| {
        let mut cmd = p.cmd(
            &db,
            &[
                "migrate",
                "up",
                "--notify",
                "webhook",
                "--notify-on",
                "failure",
            ],
        );
        cmd.env("PGKEEL_WEBHOOK_URL", hook.url("/hook"));
        run(&mut cmd)
    };
    let r = up(&p);
    assert_eq!(r.code, 0, "{r:?}");
    assert!(hook.requests().is_empty(), "{:?}", hook.requests());
    assert!(!r.stderr.contains("notified"), "{r:?}");

    p.write(BROKEN.0, BROKEN.1);
    let r = up(&p);
    assert_eq!(r.code, 4, "{r:?}");
    let event = hook.single().json()["event"].clone();
    assert_eq!(event["outcome"], "failure");
    assert_eq!(event["error"]["exit_code"], 4);
    assert!(event["error"]["message"]
        .as_str()
        .unwrap()
        .starts_with("migrations/0002_broken.up.sql:6: "));
}

#[test]
fn notify_on_change_skips_runs_that_changed_nothing() {
    let db = TestDb::new();
    let hook = HttpReceiver::ok();
    let p = Project::new(&[USERS]);
    let up = || {
        let mut cmd = p.cmd(
            &db,
            &[
                "migrate",
                "up",
                "--notify",
                "webhook",
                "--notify-on",
                "change",
            ],
        );
        cmd.env("PGKEEL_WEBHOOK_URL", hook.url("/hook"));
        run(&mut cmd)
    };
    assert_eq!(up().code, 0);
    assert_eq!(hook.requests().len(), 1);
    let r = up();
    assert_eq!(r.code, 0, "{r:?}");
    assert!(r.stdout.contains("nothing to do"), "{r:?}");
    assert_eq!(
        hook.requests().len(),
        1,
        "an up-to-date run changed nothing"
    );
}

#[test]
fn pgkeel_yml_notify_section_sets_channels_rule_and_environment() {
    let db = TestDb::new();
    let hook = HttpReceiver::ok();
    let p = Project::new(&[USERS]);
    // Slack is listed but its secret is absent here: skipped, not an error.
    std::fs::write(
        p.path().join("pgkeel.yml"),
        "notify:\n  channels: [webhook, slack]\n  on: change\n  environment: production\n",
    )
    .unwrap();
    let up = || {
        let mut cmd = p.cmd(&db, &["migrate", "up"]);
        cmd.env("PGKEEL_WEBHOOK_URL", hook.url("/hook"));
        run(&mut cmd)
    };
    let r = up();
    assert_eq!(r.code, 0, "{r:?}");
    let event = hook.single().json()["event"].clone();
    assert_eq!(event["environment"], "production");
    assert_eq!(event["changed"], true);
    assert_eq!(up().code, 0);
    assert_eq!(hook.requests().len(), 1, "on: change");

    // A flag beats the file.
    let mut cmd = p.cmd(&db, &["migrate", "up", "--notify-on", "always"]);
    cmd.env("PGKEEL_WEBHOOK_URL", hook.url("/hook"));
    assert_eq!(run(&mut cmd).code, 0);
    assert_eq!(hook.requests().len(), 2);

    std::fs::write(p.path().join("pgkeel.yml"), "notify:\n  on: sometimes\n").unwrap();
    let r = up();
    assert_eq!(r.code, 2, "{r:?}");
    assert!(
        r.stderr
            .contains("unknown notify.on in pgkeel.yml `sometimes`"),
        "{r:?}"
    );
    assert!(
        r.stderr.contains("use one of always, failure, change"),
        "{r:?}"
    );
}

#[test]
fn a_channel_without_its_secret_is_a_usage_error_before_anything_runs() {
    let db = TestDb::new();
    let p = Project::new(&[USERS]);
    let r = run(&mut p.cmd(&db, &["migrate", "up", "--notify", "slack"]));
    assert_eq!(r.code, 2, "{r:?}");
    assert!(
        r.stderr.contains("--notify slack needs a webhook URL"),
        "{r:?}"
    );
    assert!(r.stderr.contains("set SLACK_WEBHOOK_URL"), "{r:?}");
    let mut cmd = p.cmd(&db, &["migrate", "up", "--notify", "email"]);
    cmd.env("PGKEEL_SMTP_URL", "smtps://u:zzSecretzz@mail.acme.test");
    let r = run(&mut cmd);
    assert_eq!(r.code, 2, "{r:?}");
    assert!(
        r.stderr.contains("--notify email needs a recipient"),
        "{r:?}"
    );
    r.assert_no_secret("zzSecretzz");
    assert!(tables(&db).is_empty(), "nothing ran: {:?}", tables(&db));
}

#[test]
fn empty_notification_variables_mean_not_given() {
    // What a composite action passes for inputs left empty.
    let db = TestDb::new();
    let p = Project::new(&[USERS]);
    let mut cmd = p.cmd(&db, &["migrate", "up"]);
    for var in [
        "PGKEEL_NOTIFY",
        "PGKEEL_NOTIFY_ON",
        "SLACK_WEBHOOK_URL",
        "PGKEEL_WEBHOOK_URL",
        "PGKEEL_SMTP_URL",
        "PGKEEL_EMAIL_TO",
        "PGKEEL_EMAIL_FROM",
        "PGKEEL_NOTIFY_ENVIRONMENT",
        "PGKEEL_NOTIFY_TIMEOUT",
    ] {
        cmd.env(var, "");
    }
    let r = run(&mut cmd);
    assert_eq!(r.code, 0, "{r:?}");
    assert!(!r.stderr.contains("notif"), "{r:?}");
    assert_eq!(tables(&db), ["pgkeel.migrations", "public.users"]);
}

#[test]
fn the_example_notify_section_is_usable() {
    let text = std::fs::read_to_string(crate::support::repo_root().join("examples/pgkeel.yml"))
        .expect("examples/pgkeel.yml");
    let notify = pgkeel::config::parse(&text).expect("parses").notify;
    let channels = notify.channels.expect("the example lists channels");
    assert!(!channels.is_empty());
    for c in &channels {
        assert!(pgkeel::notify::ChannelKind::from_name(c).is_some(), "{c}");
    }
    let on = notify.on.expect("the example sets on");
    assert!(pgkeel::notify::When::from_name(&on).is_some(), "{on}");
    let server = pgkeel::notify::email::SmtpServer::parse("smtps://mail.example.com").unwrap();
    pgkeel::notify::email::EmailSettings::new(
        server,
        &notify.email.from.expect("from"),
        &notify.email.to.expect("to"),
    )
    .expect("the example's addresses are valid");
}

//! TLS against a TLS-only server with a throwaway CA: every sslmode, and the failures.

use std::path::PathBuf;
use std::sync::OnceLock;

use crate::support::{pgkeel, run, run_blocking, temp_dir};
use pgkeel::pg;
use pgkeel::sandbox::{Cluster, SandboxOptions};

struct TlsServer {
    cluster: Cluster,
    _dir: tempfile::TempDir,
    ca: PathBuf,
    other_ca: PathBuf,
}

const ALICE_PASSWORD: &str = "Correct-Horse-Battery-Staple-77";

fn ca_and_leaf(names: &[&str]) -> (String, String, String) {
    use rcgen::{BasicConstraints, CertificateParams, DnType, IsCa, KeyPair};
    let mut ca_params = CertificateParams::new(Vec::<String>::new()).unwrap();
    ca_params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    ca_params
        .distinguished_name
        .push(DnType::CommonName, "pgkeel test CA");
    let ca_key = KeyPair::generate().unwrap();
    let ca = ca_params.self_signed(&ca_key).unwrap();
    let leaf_params =
        CertificateParams::new(names.iter().map(|n| n.to_string()).collect::<Vec<_>>()).unwrap();
    let leaf_key = KeyPair::generate().unwrap();
    let leaf = leaf_params.signed_by(&leaf_key, &ca, &ca_key).unwrap();
    (ca.pem(), leaf.pem(), leaf_key.serialize_pem())
}

fn server() -> &'static TlsServer {
    static SERVER: OnceLock<TlsServer> = OnceLock::new();
    SERVER.get_or_init(|| {
        let dir = temp_dir();
        let (ca_pem, cert_pem, key_pem) = ca_and_leaf(&["localhost"]);
        let (other_ca_pem, _, _) = ca_and_leaf(&["localhost"]);
        let ca = dir.path().join("ca.pem");
        let other_ca = dir.path().join("other-ca.pem");
        std::fs::write(&ca, ca_pem).unwrap();
        std::fs::write(&other_ca, other_ca_pem).unwrap();
        let opts = SandboxOptions {
            settings: vec![
                ("ssl".into(), "on".into()),
                ("ssl_cert_file".into(), "server.crt".into()),
                ("ssl_key_file".into(), "server.key".into()),
            ],
            files: vec![
                ("server.crt".into(), cert_pem.into_bytes(), 0o644),
                ("server.key".into(), key_pem.into_bytes(), 0o600),
            ],
            // TLS only over TCP; alice needs a password.
            hba: Some(
                "local all all trust\n\
                 hostnossl all all all reject\n\
                 hostssl all alice all scram-sha-256\n\
                 hostssl all all all trust\n"
                    .into(),
            ),
            ..SandboxOptions::default()
        };
        let cluster = Cluster::start(&opts).expect("start TLS server");
        let mut admin = cluster.conn_spec();
        admin.sslmode = pg::SslMode::Require;
        run_blocking(async move {
            let c = pg::connect(&admin).await.expect("admin over TLS");
            c.pg()
                .batch_execute(&format!(
                    "CREATE ROLE alice LOGIN PASSWORD {}",
                    pg::quote::literal(ALICE_PASSWORD)
                ))
                .await
                .unwrap();
        });
        TlsServer {
            cluster,
            _dir: dir,
            ca,
            other_ca,
        }
    })
}

fn url(host: &str, user: &str, query: &str) -> String {
    format!(
        "postgres://{user}@{host}:{}/postgres?{query}",
        server().cluster.port()
    )
}

fn check(url: &str) -> crate::support::Run {
    let state = temp_dir();
    run(pgkeel(state.path()).args(["check", "--format", "json", "--database-url", url]))
}

#[test]
fn verify_full_with_the_right_ca_works() {
    let s = server();
    let r = check(&url(
        "localhost",
        "postgres",
        &format!("sslmode=verify-full&sslrootcert={}", s.ca.display()),
    ));
    assert_eq!(r.code, 0, "{r:?}");
    let tls = &r.json()["tls"];
    assert_eq!(tls["in_use"], true);
    assert!(
        tls["protocol"].as_str().unwrap().starts_with("TLSv1."),
        "{tls}"
    );
    assert_eq!(tls["certificate_verified"], true);
    assert_eq!(tls["hostname_verified"], true);
    assert_eq!(tls["sslmode"], "verify-full");
}

#[test]
fn verify_full_rejects_a_host_name_not_in_the_certificate() {
    let s = server();
    let r = check(&url(
        "127.0.0.1",
        "postgres",
        &format!("sslmode=verify-full&sslrootcert={}", s.ca.display()),
    ));
    assert_eq!(r.code, 3, "{r:?}");
    assert!(r.stderr.contains("TLS handshake"), "{r:?}");
}

#[test]
fn verify_ca_accepts_the_chain_without_the_name() {
    let s = server();
    let r = check(&url(
        "127.0.0.1",
        "postgres",
        &format!("sslmode=verify-ca&sslrootcert={}", s.ca.display()),
    ));
    assert_eq!(r.code, 0, "{r:?}");
    assert_eq!(r.json()["tls"]["certificate_verified"], true);
    assert_eq!(r.json()["tls"]["hostname_verified"], false);
}

#[test]
fn an_untrusted_ca_is_refused_with_a_hint() {
    let s = server();
    let state = temp_dir();
    let r = run(pgkeel(state.path()).args([
        "check",
        "--database-url",
        &url(
            "localhost",
            "postgres",
            &format!("sslmode=verify-full&sslrootcert={}", s.other_ca.display()),
        ),
    ]));
    assert_eq!(r.code, 3, "{r:?}");
    assert!(r.stderr.contains("TLS handshake with"), "{r:?}");
    assert!(r.stderr.contains("sslrootcert"), "{r:?}");
}

#[test]
fn require_encrypts_without_verifying() {
    let r = check(&url("127.0.0.1", "postgres", "sslmode=require"));
    assert_eq!(r.code, 0, "{r:?}");
    assert_eq!(r.json()["tls"]["in_use"], true);
    assert_eq!(r.json()["tls"]["certificate_verified"], false);
}

#[test]
fn plaintext_to_a_tls_only_server_says_tls_is_required() {
    let state = temp_dir();
    let r = run(pgkeel(state.path()).args([
        "check",
        "--database-url",
        &url("127.0.0.1", "postgres", "sslmode=disable"),
    ]));
    assert_eq!(r.code, 3, "{r:?}");
    assert!(r.stderr.contains("requires TLS"), "{r:?}");
}

#[test]
fn sslrootcert_from_the_environment() {
    let s = server();
    let state = temp_dir();
    let r = run(pgkeel(state.path())
        .args([
            "check",
            "--format",
            "json",
            "--database-url",
            &url("localhost", "postgres", ""),
        ])
        .env("PGSSLMODE", "verify-full")
        .env("PGSSLROOTCERT", &s.ca));
    assert_eq!(r.code, 0, "{r:?}");
    assert_eq!(r.json()["tls"]["hostname_verified"], true);
}

#[test]
fn wrong_password_is_exit_3_and_never_printed() {
    let state = temp_dir();
    let wrong = "Wrong-Password-Not-To-Print-1";
    let r = run(pgkeel(state.path()).args([
        "check",
        "--database-url",
        &url("127.0.0.1", &format!("alice:{wrong}"), "sslmode=require"),
    ]));
    assert_eq!(r.code, 3, "{r:?}");
    assert!(
        r.stderr
            .contains("password authentication failed for user \"alice\""),
        "{r:?}"
    );
    r.assert_no_secret(wrong);

    let r = run(pgkeel(state.path()).args([
        "check",
        "--database-url",
        &url("127.0.0.1", "alice", "sslmode=require"),
    ]));
    assert_eq!(r.code, 3, "{r:?}");
    assert!(r.stderr.contains("no password was given"), "{r:?}");
}

#[test]
fn right_password_works_and_is_never_printed() {
    let state = temp_dir();
    for format in ["human", "json"] {
        let r = run(pgkeel(state.path()).args([
            "check",
            "--format",
            format,
            "--database-url",
            &url(
                "127.0.0.1",
                &format!("alice:{ALICE_PASSWORD}"),
                "sslmode=require",
            ),
        ]));
        assert_eq!(r.code, 0, "{r:?}");
        assert!(r.stdout.contains("alice:***@"), "{r:?}");
        r.assert_no_secret(ALICE_PASSWORD);
    }
    // And through PGPASSWORD.
    let r = run(pgkeel(state.path())
        .args([
            "check",
            "-v",
            "--database-url",
            &url("127.0.0.1", "alice", "sslmode=require"),
        ])
        .env("PGPASSWORD", ALICE_PASSWORD));
    assert_eq!(r.code, 0, "{r:?}");
    r.assert_no_secret(ALICE_PASSWORD);
}

//! `bpfscope serve --web.config.file`: HTTPS, client certificates and
//! basic authentication as Prometheus' exporters configure them, against
//! real clients: certificates made by `openssl`, hashes by `htpasswd`, the
//! file checked by `promtool check web-config`, scraped by a real
//! Prometheus and fetched by `curl`.

use std::io::Read;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use crate::common::{Guard, have};
use crate::prometheus::{query, start_prometheus_with};
use crate::{BIN, free_port, ready};

fn ready_web(test: &str) -> bool {
    if !ready(test) {
        return false;
    }
    let missing: Vec<&str> = ["openssl", "curl", "htpasswd"]
        .into_iter()
        .filter(|t| !have(t))
        .collect();
    missing.is_empty()
        || bpfscope::test_support::skip(
            test,
            &format!("missing {missing:?} (scripts/setup installs them)"),
        )
}

fn run(dir: &Path, args: &[&str]) -> String {
    let out = Command::new(args[0])
        .args(&args[1..])
        .current_dir(dir)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// A CA, a server certificate for 127.0.0.1 and a client certificate.
fn certificates(dir: &Path) {
    let ec = [
        "-newkey",
        "ec",
        "-pkeyopt",
        "ec_paramgen_curve:prime256v1",
        "-nodes",
    ];
    let mut ca = vec!["openssl", "req", "-x509"];
    ca.extend(ec);
    ca.extend(["-keyout", "ca.key", "-out", "ca.crt", "-days", "2"]);
    ca.extend(["-subj", "/CN=bpfscope test CA"]);
    run(dir, &ca);
    for (who, usage) in [("server", "serverAuth"), ("client", "clientAuth")] {
        let (key, csr, crt, ext) = (
            format!("{who}.key"),
            format!("{who}.csr"),
            format!("{who}.crt"),
            format!("{who}.ext"),
        );
        std::fs::write(
            dir.join(&ext),
            format!(
                "subjectAltName=IP:127.0.0.1,DNS:localhost\nbasicConstraints=CA:FALSE\n\
                 extendedKeyUsage={usage}\n"
            ),
        )
        .unwrap();
        let mut req = vec!["openssl", "req"];
        req.extend(ec);
        req.extend(["-keyout", &key, "-out", &csr, "-subj", "/CN=localhost"]);
        run(dir, &req);
        run(
            dir,
            &[
                "openssl",
                "x509",
                "-req",
                "-in",
                &csr,
                "-CA",
                "ca.crt",
                "-CAkey",
                "ca.key",
                "-CAcreateserial",
                "-out",
                &crt,
                "-days",
                "2",
                "-extfile",
                &ext,
            ],
        );
    }
}

/// `htpasswd`'s bcrypt hash of `password` ($2y$, cost 5).
fn hash(dir: &Path, password: &str) -> String {
    let line = run(dir, &["htpasswd", "-nbB", "prom", password]);
    line.trim().split_once(':').unwrap().1.to_owned()
}

/// `bpfscope serve` with a web configuration, once `up` says it answers.
fn serve(config: &Path, listen: SocketAddr, up: impl Fn() -> bool) -> Guard {
    let mut child = Guard(
        Command::new(BIN)
            .args([
                "serve",
                "--interval",
                "0.5",
                "--listen",
                &listen.to_string(),
            ])
            .arg(format!("--web.config.file={}", config.display()))
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap(),
    );
    let start = Instant::now();
    while !up() {
        if let Some(status) = child.0.try_wait().unwrap() {
            let mut err = String::new();
            child
                .0
                .stderr
                .take()
                .unwrap()
                .read_to_string(&mut err)
                .unwrap();
            panic!("bpfscope serve exited ({status}): {err}");
        }
        assert!(
            start.elapsed() < Duration::from_secs(30),
            "not answering after 30 s"
        );
        std::thread::sleep(Duration::from_millis(200));
    }
    child
}

/// curl's status code for `url` with `args` ("000" when there is no HTTP
/// answer: a refused handshake), and the headers it got.
fn curl(dir: &Path, url: &str, args: &[&str]) -> (String, String) {
    let out = Command::new("curl")
        .args([
            "-s",
            "-D",
            "-",
            "-o",
            "/dev/null",
            "-w",
            "%{http_code}",
            "--max-time",
            "10",
        ])
        .args(args)
        .arg(url)
        .current_dir(dir)
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout).into_owned();
    let code = text
        .get(text.len().saturating_sub(3)..)
        .unwrap_or("")
        .to_owned();
    (code, text)
}

fn config(dir: &Path, text: &str) -> PathBuf {
    let path = dir.join("web.yml");
    std::fs::write(&path, text).unwrap();
    path
}

#[test]
fn prometheus_scrapes_over_https_with_a_password_and_a_client_certificate() {
    let test = "prometheus_scrapes_over_https_with_a_password_and_a_client_certificate";
    if !ready_web(test) {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    certificates(d);
    // Relative file names: relative to the configuration's folder.
    let web = config(
        d,
        &format!(
            "tls_server_config:\n  cert_file: server.crt\n  key_file: server.key\n  \
             client_auth_type: RequireAndVerifyClientCert\n  client_ca_file: ca.crt\n  \
             min_version: TLS12\nhttp_server_config:\n  headers:\n    \
             Strict-Transport-Security: max-age=31536000\nbasic_auth_users:\n  prom: '{}'\n",
            hash(d, "s3cret")
        ),
    );
    run(d, &["promtool", "check", "web-config", "web.yml"]);
    let listen: SocketAddr = format!("127.0.0.1:{}", free_port()).parse().unwrap();
    let url = format!("https://127.0.0.1:{}/metrics", listen.port());
    let full = [
        "--cacert",
        "ca.crt",
        "--cert",
        "client.crt",
        "--key",
        "client.key",
    ];
    let mut with_password = full.to_vec();
    with_password.extend(["-u", "prom:s3cret"]);
    let _exporter = serve(&web, listen, || curl(d, &url, &with_password).0 == "200");

    let (code, headers) = curl(d, &url, &with_password);
    assert_eq!(code, "200");
    assert!(
        headers.contains("Strict-Transport-Security: max-age=31536000"),
        "{headers}"
    );
    let (code, headers) = curl(d, &url, &full);
    assert_eq!(code, "401", "no password: {headers}");
    assert!(headers.contains("WWW-Authenticate: Basic"), "{headers}");
    let mut wrong = full.to_vec();
    wrong.extend(["-u", "prom:s3cre"]);
    assert_eq!(curl(d, &url, &wrong).0, "401", "a wrong password");
    let (code, _) = curl(d, &url, &["--cacert", "ca.crt", "-u", "prom:s3cret"]);
    assert_eq!(
        code, "000",
        "no client certificate: the handshake is refused"
    );
    let plain = format!("http://127.0.0.1:{}/metrics", listen.port());
    assert_ne!(
        curl(d, &plain, &["-u", "prom:s3cret"]).0,
        "200",
        "plain HTTP"
    );

    let target = format!("['{listen}']");
    let tls = format!(
        "    scheme: https\n    tls_config:\n      ca_file: {ca}\n      cert_file: {crt}\n      \
         key_file: {key}\n",
        ca = d.join("ca.crt").display(),
        crt = d.join("client.crt").display(),
        key = d.join("client.key").display()
    );
    let jobs = format!(
        "  - job_name: right\n{tls}    basic_auth:\n      username: prom\n      password: s3cret\n    \
         static_configs:\n      - targets: {target}\n\
         \x20 - job_name: wrong\n{tls}    basic_auth:\n      username: prom\n      password: guess\n    \
         static_configs:\n      - targets: {target}\n"
    );
    let (_prometheus, at) = start_prometheus_with(d, &jobs);
    let start = Instant::now();
    loop {
        let up = |job: &str| {
            query(at, &format!("up{{job=\"{job}\"}}"))
                .first()
                .and_then(|r| r["value"][1].as_str().map(str::to_owned))
        };
        let programs = query(at, "bpfscope_programs{job=\"right\"}");
        if up("right").as_deref() == Some("1")
            && up("wrong").as_deref() == Some("0")
            && !programs.is_empty()
        {
            break;
        }
        assert!(
            start.elapsed() < Duration::from_secs(30),
            "after 30 s: right {:?}, wrong {:?}, programs {programs:?}",
            up("right"),
            up("wrong")
        );
        std::thread::sleep(Duration::from_millis(500));
    }
    let (_, targets) = crate::get(at, "/api/v1/targets", None).unwrap();
    assert!(
        targets.contains("401"),
        "the wrong password's scrape error: {targets}"
    );
}

#[test]
fn a_changed_web_configuration_applies_to_the_next_connection_and_a_broken_one_is_ignored() {
    let test =
        "a_changed_web_configuration_applies_to_the_next_connection_and_a_broken_one_is_ignored";
    if !ready_web(test) {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let web = config(
        d,
        &format!("basic_auth_users:\n  prom: '{}'\n", hash(d, "old")),
    );
    let listen: SocketAddr = format!("127.0.0.1:{}", free_port()).parse().unwrap();
    let url = format!("http://{listen}/metrics");
    let _exporter = serve(&web, listen, || {
        curl(d, &url, &["-u", "prom:old"]).0 == "200"
    });
    // A new hash in place of the old: written to the side, renamed over.
    std::fs::write(
        d.join("next.yml"),
        format!("basic_auth_users:\n  prom: '{}'\n", hash(d, "new")),
    )
    .unwrap();
    std::fs::rename(d.join("next.yml"), &web).unwrap();
    assert_eq!(
        curl(d, &url, &["-u", "prom:old"]).0,
        "401",
        "the old password"
    );
    assert_eq!(
        curl(d, &url, &["-u", "prom:new"]).0,
        "200",
        "the new password"
    );
    // A file that does not load: the last good one stays.
    std::fs::write(&web, "basic_auth_users: [oops\n").unwrap();
    assert_eq!(
        curl(d, &url, &["-u", "prom:new"]).0,
        "200",
        "after a broken change"
    );
    assert_eq!(curl(d, &url, &["-u", "prom:old"]).0, "401");
}

#[test]
fn a_web_configuration_that_does_not_load_stops_serve_with_exit_code_2_and_says_why() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    for (text, said) in [
        (
            "basic_auth_user:\n  prom: x\n",
            "unknown field `basic_auth_user`",
        ),
        (
            "basic_auth_users:\n  prom: plain\n",
            "\"prom\": the password is not a bcrypt hash",
        ),
        (
            "tls_server_config:\n  cert_file: none.crt\n  key_file: none.key\n",
            "cannot read the certificate",
        ),
        (
            "tls_server_config:\n  cert_file: web.yml\n",
            "a certificate needs a key",
        ),
        (
            "tls_server_config:\n  client_auth_type: RequireAnyClientCert\n  cert: x\n  key: y\n",
            "RequireAnyClientCert accepts certificates nobody verified",
        ),
        (
            "tls_server_config:\n  min_version: TLS14\n  cert: x\n  key: y\n",
            "unknown TLS version \"TLS14\"",
        ),
        (
            "http_server_config:\n  headers:\n    Set-Cookie: a=b\n",
            "header \"Set-Cookie\" cannot be set",
        ),
    ] {
        let web = config(d, text);
        let out = Command::new(BIN)
            .args(["serve", "--listen", "127.0.0.1:0"])
            .arg(format!("--web.config.file={}", web.display()))
            .output()
            .unwrap();
        let err = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{text}: {err}");
        assert!(
            err.contains(&format!("web configuration {}", web.display())) && err.contains(said),
            "{text}: expected {said:?} in {err}"
        );
    }
    let missing = d.join("absent.yml");
    let out = Command::new(BIN)
        .args(["serve", "--listen", "127.0.0.1:0"])
        .arg(format!("--web.config.file={}", missing.display()))
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("cannot read"));
}

/// A Prometheus scraping nothing whose own web configuration wants user
/// `prom` with `password`, once it is ready.
pub(crate) fn locked_prometheus(dir: &Path, password: &str) -> (Guard, SocketAddr) {
    let web = dir.join("prometheus-web.yml");
    std::fs::write(
        &web,
        format!("basic_auth_users:\n  prom: '{}'\n", hash(dir, password)),
    )
    .unwrap();
    let config = dir.join("prometheus.yml");
    std::fs::write(&config, "scrape_configs: []\n").unwrap();
    let at: SocketAddr = format!("127.0.0.1:{}", free_port()).parse().unwrap();
    let server = Guard(
        Command::new("prometheus")
            .arg(format!("--config.file={}", config.display()))
            .arg(format!(
                "--storage.tsdb.path={}",
                dir.join("data").display()
            ))
            .arg(format!("--web.listen-address={at}"))
            .arg(format!("--web.config.file={}", web.display()))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("start prometheus"),
    );
    let ready = format!("http://{at}/-/ready");
    let user = format!("prom:{password}");
    let start = Instant::now();
    while curl(dir, &ready, &["-u", &user]).0 != "200" {
        assert!(
            start.elapsed() < Duration::from_secs(30),
            "not ready after 30 s"
        );
        std::thread::sleep(Duration::from_millis(200));
    }
    (server, at)
}

//! `bpfscope serve --web.config.file`: HTTPS, client certificates and
//! basic authentication as Prometheus' exporters configure them, against
//! real clients: certificates made by `openssl`, hashes by `htpasswd`, the
//! file checked by `promtool check web-config`, scraped by a real
//! Prometheus and fetched by `curl`.

use std::net::SocketAddr;
use std::process::Command;
use std::time::{Duration, Instant};

use crate::pki::{
    as_deployed, certificates, config, curl, curl_exit, hash, ready_web, replace, run, serve,
};
use crate::prometheus::{query, start_prometheus_with};
use crate::{BIN, free_port};

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
    let mut with_password = FULL.to_vec();
    with_password.extend(["-u", "prom:s3cret"]);
    let _exporter = serve(&web, listen, || curl(d, &url, &with_password).0 == "200");

    curl_sees_https_and_users(d, &url, listen);

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
    certificates(d);
    let with = |hash: &str| {
        format!(
            "tls_server_config:\n  cert_file: server.crt\n  key_file: server.key\n\
             basic_auth_users:\n  prom: '{hash}'\n"
        )
    };
    let web = config(d, &with(&hash(d, "old")));
    as_deployed(d, &web);
    let listen: SocketAddr = format!("127.0.0.1:{}", free_port()).parse().unwrap();
    let url = format!("https://127.0.0.1:{}/metrics", listen.port());
    let status = |user: &str| curl(d, &url, &["--cacert", "ca.crt", "-u", user]).0;
    // Started as root: it reads the root-only key, then becomes bpfscope.
    let _exporter = serve(&web, listen, || status("prom:old") == "200");

    // A new password: the key is not read again (bpfscope cannot), the
    // users are.
    replace(&web, &with(&hash(d, "new")));
    assert_eq!(status("prom:old"), "401", "the old password");
    assert_eq!(status("prom:new"), "200", "the new password");
    // A file that does not load, or is empty: the last good one stays.
    replace(&web, "basic_auth_users: [oops\n");
    assert_eq!(status("prom:new"), "200", "after a broken change");
    assert_eq!(status("prom:old"), "401");
    replace(&web, "");
    assert_eq!(
        curl(d, &url, &["--cacert", "ca.crt"]).0,
        "401",
        "an empty file is not 'no users'"
    );
    // Mended: taken at once.
    replace(&web, &with(&hash(d, "third")));
    assert_eq!(status("prom:third"), "200", "the mended file");
    assert_eq!(status("prom:new"), "401");
}

#[test]
fn a_client_that_trickles_a_tls_handshake_is_cut_off_at_the_deadline() {
    let test = "a_client_that_trickles_a_tls_handshake_is_cut_off_at_the_deadline";
    if !ready_web(test) {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    certificates(d);
    let web = config(
        d,
        "tls_server_config:\n  cert_file: server.crt\n  key_file: server.key\n",
    );
    let listen: SocketAddr = format!("127.0.0.1:{}", free_port()).parse().unwrap();
    let url = format!("https://127.0.0.1:{}/metrics", listen.port());
    let _exporter = serve(&web, listen, || {
        curl(d, &url, &["--cacert", "ca.crt"]).0 == "200"
    });
    // Every connection slot, each sending a TLS record header and then a
    // byte every half second: never a whole ClientHello.
    let start = Instant::now();
    let mut trickling: Vec<std::net::TcpStream> = (0..64)
        .map(|_| {
            let mut s = std::net::TcpStream::connect(listen).unwrap();
            std::io::Write::write_all(&mut s, &[0x16, 0x03, 0x01, 0x02, 0x00]).unwrap();
            s
        })
        .collect();
    let mut closed = vec![false; trickling.len()];
    while closed.iter().any(|c| !c) {
        assert!(
            start.elapsed() < Duration::from_secs(14),
            "{} of 64 trickling connections still open after 14 s",
            closed.iter().filter(|c| !**c).count()
        );
        for (s, closed) in trickling.iter_mut().zip(&mut closed) {
            if !*closed && std::io::Write::write_all(s, &[0x01]).is_err() {
                *closed = true;
            }
            s.set_nonblocking(true).unwrap();
            let mut buf = [0u8; 64];
            if !*closed && matches!(std::io::Read::read(s, &mut buf), Ok(0)) {
                *closed = true;
            }
        }
        std::thread::sleep(Duration::from_millis(500));
    }
    assert!(
        start.elapsed() >= Duration::from_secs(9),
        "cut off before the deadline"
    );
    assert_eq!(
        curl(d, &url, &["--cacert", "ca.crt"]).0,
        "200",
        "a scrape after them"
    );
}

#[test]
fn the_rate_limit_answers_429_past_the_burst() {
    let test = "the_rate_limit_answers_429_past_the_burst";
    if !ready_web(test) {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    // exporter-toolkit's newer key (Debian 12's promtool predates it).
    let web = config(d, "rate_limit:\n  interval: 10s\n  burst: 3\n");
    let listen: SocketAddr = format!("127.0.0.1:{}", free_port()).parse().unwrap();
    let url = format!("http://{listen}/metrics");
    let _exporter = serve(&web, listen, || curl(d, &url, &[]).0 == "200");
    // The probe above took at least one; at most three fit in ten seconds.
    let codes: Vec<String> = (0..4).map(|_| curl(d, &url, &[]).0).collect();
    assert!(
        codes.iter().filter(|c| *c == "200").count() <= 2,
        "{codes:?}"
    );
    assert_eq!(codes.last().map(String::as_str), Some("429"), "{codes:?}");
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
            "missing one of key or key_file",
        ),
        (
            "http_server_config:\n  headers:\n    X-Frame-Options: allow\n",
            "\"allow\" is not one of deny, sameorigin",
        ),
        (
            "tls_server_config:\n  client_auth_type: RequireAndVerifyClientCert\n  client_ca_file: web.yml\n",
            "missing one of",
        ),
        (
            "basic_auth_users:\n  prom: $2y$03$gy60jOIrVDyPzwoL.xsEieVJOV3EfuNh6oluUI5/JpDa3I6OqHSw6\n",
            "bcrypt cost 3 is outside 4 to 14",
        ),
        (
            "basic_auth_users:\n  prom: $2y$31$gy60jOIrVDyPzwoL.xsEieVJOV3EfuNh6oluUI5/JpDa3I6OqHSw6\n",
            "bcrypt cost 31 is outside 4 to 14",
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
        (
            "http_server_config:\n  headers:\n    X-Frame-Options: allow\n",
            "\"allow\" is not one of deny, sameorigin",
        ),
        (
            "tls_server_config:\n  client_auth_type: RequireAndVerifyClientCert\n  client_ca_file: web.yml\n",
            "missing one of",
        ),
        (
            "basic_auth_users:\n  prom: $2y$03$gy60jOIrVDyPzwoL.xsEieVJOV3EfuNh6oluUI5/JpDa3I6OqHSw6\n",
            "bcrypt cost 3 is outside 4 to 14",
        ),
        (
            "basic_auth_users:\n  prom: $2y$31$gy60jOIrVDyPzwoL.xsEieVJOV3EfuNh6oluUI5/JpDa3I6OqHSw6\n",
            "bcrypt cost 31 is outside 4 to 14",
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

const FULL: [&str; 6] = [
    "--cacert",
    "ca.crt",
    "--cert",
    "client.crt",
    "--key",
    "client.key",
];

/// What curl sees of an exporter with TLS, client certificates, a user
/// `prom:s3cret` and an HSTS header.
fn curl_sees_https_and_users(d: &std::path::Path, url: &str, listen: SocketAddr) {
    let mut with_password = FULL.to_vec();
    with_password.extend(["-u", "prom:s3cret"]);
    let (code, headers) = curl(d, url, &with_password);
    assert_eq!(code, "200");
    assert!(
        headers.contains("Strict-Transport-Security: max-age=31536000"),
        "{headers}"
    );
    let (code, headers) = curl(d, url, &FULL);
    assert_eq!(code, "401", "no password: {headers}");
    assert!(headers.contains("WWW-Authenticate: Basic"), "{headers}");
    let mut wrong = FULL.to_vec();
    wrong.extend(["-u", "prom:s3cre"]);
    assert_eq!(curl(d, url, &wrong).0, "401", "a wrong password");
    let (code, _, exit) = curl_exit(d, url, &["--cacert", "ca.crt", "-u", "prom:s3cret"]);
    assert_eq!(code, "000", "no client certificate: no answer");
    assert!(
        [35, 56].contains(&exit),
        "no client certificate: curl says the handshake failed, not {exit}"
    );
    let plain = format!("http://127.0.0.1:{}/metrics", listen.port());
    let (code, _, exit) = curl_exit(d, &plain, &["-u", "prom:s3cret"]);
    assert_eq!(code, "000", "plain HTTP gets no HTTP answer");
    assert_ne!(exit, 28, "plain HTTP is refused, not left hanging");
    // Every path and method asks for the user first.
    let root = format!("https://127.0.0.1:{}/", listen.port());
    assert_eq!(curl(d, &root, &FULL).0, "401", "/ without a password");
    let mut head = FULL.to_vec();
    head.push("-I");
    assert_eq!(curl(d, url, &head).0, "401", "HEAD without a password");
    let mut unknown = FULL.to_vec();
    unknown.extend(["-u", "nobody:s3cret"]);
    assert_eq!(curl(d, url, &unknown).0, "401", "an unknown user");
}

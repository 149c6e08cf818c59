//! What the web configuration tests use: certificates made by `openssl`,
//! bcrypt hashes by `htpasswd`, `curl` as the HTTPS client, the exporter
//! with a web configuration, and a Prometheus that wants a password.

use std::io::Read;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use crate::common::{Guard, have};
use crate::{BIN, free_port, ready};

pub(crate) fn ready_web(test: &str) -> bool {
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

pub(crate) fn run(dir: &Path, args: &[&str]) -> String {
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
pub(crate) fn certificates(dir: &Path) {
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
pub(crate) fn hash(dir: &Path, password: &str) -> String {
    let line = run(dir, &["htpasswd", "-nbB", "prom", password]);
    line.trim().split_once(':').unwrap().1.to_owned()
}

/// `bpfscope serve` with a web configuration, once `up` says it answers.
pub(crate) fn serve(config: &Path, listen: SocketAddr, up: impl Fn() -> bool) -> Guard {
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
pub(crate) fn curl(dir: &Path, url: &str, args: &[&str]) -> (String, String) {
    let (code, headers, _) = curl_exit(dir, url, args);
    (code, headers)
}

/// [`curl`] with curl's exit code (35, 56: the TLS handshake failed; 28:
/// a time-out).
pub(crate) fn curl_exit(dir: &Path, url: &str, args: &[&str]) -> (String, String, i32) {
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
    (code, text, out.status.code().unwrap_or(-1))
}

pub(crate) fn config(dir: &Path, text: &str) -> PathBuf {
    let path = dir.join("web.yml");
    std::fs::write(&path, text).unwrap();
    path
}

/// Writes `text` to the side and renames it over `path`, as tools that
/// rotate files do; then waits out the second a change takes to settle.
pub(crate) fn replace(path: &Path, text: &str) {
    let side = path.with_extension("next");
    std::fs::write(&side, text).unwrap();
    std::fs::rename(&side, path).unwrap();
    std::thread::sleep(Duration::from_millis(1_200));
}

/// Makes `dir` readable for the user the exporter becomes, with the key
/// for root alone, as a host's /etc/bpfscope would be.
pub(crate) fn as_deployed(dir: &Path, web: &Path) {
    use std::os::unix::fs::PermissionsExt;
    let mode =
        |p: &Path, m: u32| std::fs::set_permissions(p, std::fs::Permissions::from_mode(m)).unwrap();
    mode(dir, 0o755);
    mode(web, 0o644);
    for f in ["server.crt", "ca.crt"] {
        mode(&dir.join(f), 0o644);
    }
    mode(&dir.join("server.key"), 0o600);
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

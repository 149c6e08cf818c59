//! A real sshd (Debian's openssh-server) of the tests' own on loopback: its
//! own host key, config and authorized keys in a temporary directory, for
//! the users `scripts/elevation-env` makes (bpfscope-ssh may run the
//! installed sampler through sudo without a password, bpfscope-ssh-pw only
//! with one).

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use bpfscope::HELPER_INSTALL_PATH;
use bpfscope::source::Remote;
use bpfscope::test_support::{require_privilege, skip};

pub const SSHD: &str = "/usr/sbin/sshd";
pub const USER: &str = "bpfscope-ssh";
pub const USER_WITH_PASSWORD: &str = "bpfscope-ssh-pw";
/// A sampler sudo allows bpfscope-ssh to run, that is not installed: a
/// host whose administrator wrote the rule before installing bpfscope.
pub const MISSING_HELPER: &str = "sudo -n /usr/libexec/bpfscope-missing/bpfscope-sampler";

/// A running sshd, and the client's key and known hosts for it.
pub struct Sshd {
    pub dir: tempfile::TempDir,
    pub port: u16,
    child: Child,
}

/// Whether the machine can run the remote tests; otherwise skips (fails
/// under CI) with what is missing.
pub fn ready(test: &str) -> bool {
    if !require_privilege(test) {
        return false;
    }
    let mut missing = Vec::new();
    for path in [SSHD, "/usr/bin/ssh", "/usr/bin/sudo", HELPER_INSTALL_PATH] {
        if !Path::new(path).is_file() {
            missing.push(path.to_owned());
        }
    }
    for user in [USER, USER_WITH_PASSWORD] {
        let known = Command::new("id").arg(user).output();
        if !known.is_ok_and(|out| out.status.success()) {
            missing.push(format!("user {user}"));
        }
    }
    missing.is_empty()
        || skip(
            test,
            &format!(
                "missing {}; run scripts/setup and scripts/elevation-env as root first",
                missing.join(", ")
            ),
        )
}

fn keygen(path: &Path) {
    let out = Command::new("ssh-keygen")
        .args(["-q", "-t", "ed25519", "-N", "", "-C", "bpfscope-test", "-f"])
        .arg(path)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

fn free_port() -> u16 {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    listener.local_addr().unwrap().port()
}

impl Sshd {
    /// Starts sshd; both users accept the key `client`, and the client
    /// knows the host key.
    pub fn start() -> Self {
        let dir = tempfile::tempdir().unwrap();
        let d = dir.path();
        keygen(&d.join("host"));
        keygen(&d.join("client"));
        keygen(&d.join("stranger"));
        std::fs::create_dir(d.join("keys")).unwrap();
        let public = std::fs::read_to_string(d.join("client.pub")).unwrap();
        for user in [USER, USER_WITH_PASSWORD] {
            std::fs::write(d.join("keys").join(user), &public).unwrap();
        }
        std::fs::create_dir_all("/run/sshd").unwrap();
        let port = free_port();
        let config = format!(
            "Port {port}\nListenAddress 127.0.0.1\nHostKey {dir}/host\nPidFile {dir}/sshd.pid\n\
             AuthorizedKeysFile {dir}/keys/%u\nStrictModes no\nUsePAM no\n\
             PasswordAuthentication no\nKbdInteractiveAuthentication no\n\
             PermitRootLogin no\nAllowUsers {USER} {USER_WITH_PASSWORD}\nLogLevel VERBOSE\n",
            dir = d.display()
        );
        std::fs::write(d.join("sshd_config"), config).unwrap();
        let host_pub = std::fs::read_to_string(d.join("host.pub")).unwrap();
        std::fs::write(
            d.join("known_hosts"),
            format!("[127.0.0.1]:{port} {host_pub}"),
        )
        .unwrap();
        std::fs::write(d.join("unknown_hosts"), "").unwrap();
        let child = Command::new(SSHD)
            .args(["-D", "-e", "-f"])
            .arg(d.join("sshd_config"))
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(std::fs::File::create(d.join("sshd.log")).unwrap())
            .spawn()
            .unwrap();
        let sshd = Self { dir, port, child };
        let deadline = Instant::now() + Duration::from_secs(10);
        while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
            assert!(
                Instant::now() < deadline,
                "sshd did not listen: {}",
                sshd.log()
            );
            std::thread::sleep(Duration::from_millis(20));
        }
        sshd
    }

    pub fn path(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }

    pub fn log(&self) -> String {
        std::fs::read_to_string(self.path("sshd.log")).unwrap_or_default()
    }

    /// `-o` options for a client of this sshd, with `key` and `known`
    /// hosts.
    pub fn options_with(&self, key: &str, known: &str) -> Vec<String> {
        vec![
            format!("Port={}", self.port),
            format!("IdentityFile={}", self.path(key).display()),
            "IdentitiesOnly=yes".to_owned(),
            format!("UserKnownHostsFile={}", self.path(known).display()),
            "StrictHostKeyChecking=yes".to_owned(),
            "GlobalKnownHostsFile=/dev/null".to_owned(),
        ]
    }

    /// The client's options: the right key, the host known.
    pub fn options(&self) -> Vec<String> {
        self.options_with("client", "known_hosts")
    }

    /// `user@127.0.0.1` with the right key.
    pub fn remote(&self, user: &str) -> Remote {
        let mut remote = Remote::new(&format!("{user}@127.0.0.1")).unwrap();
        remote.ssh_options = self.options();
        remote
    }

    /// Ends every session of `user` (a connection dropped mid-run).
    pub fn drop_sessions(user: &str) {
        let _ = Command::new("pkill")
            .args(["-KILL", "-f", &format!("sshd: {user}")])
            .status();
    }
}

impl Drop for Sshd {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        Self::drop_sessions(USER);
        Self::drop_sessions(USER_WITH_PASSWORD);
    }
}

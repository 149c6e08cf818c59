//! Attachments without links for the privilege test, each read a
//! different way by the helper.

#![allow(clippy::expect_used, clippy::unwrap_used)] // tests fail loudly by design

use std::io::{BufRead, BufReader};
use std::process::Stdio;
use std::time::{Duration, Instant};

use crate::WITH_MAP;
use crate::common::Guard;

/// A bpftrace tracepoint, a cgroup program attached by bpftool and XDP on a
/// veth in a named namespace; removed on drop.
pub(crate) struct Others {
    bpftrace: Guard,
    cgroup: std::path::PathBuf,
    netns: String,
}

impl Others {
    pub(crate) fn make(ids: &mut Vec<u32>) -> Self {
        let run = |program: &str, args: &[&str]| {
            let out = std::process::Command::new(program)
                .args(args)
                .output()
                .unwrap();
            assert!(out.status.success(), "{program} {args:?}: {out:?}");
            String::from_utf8(out.stdout).unwrap()
        };
        let pid = std::process::id();
        let netns = format!("bpfscope-priv-{pid}");
        let cgroup = bpfscope::sys::cgroup2_root()
            .unwrap()
            .join(format!("bpfscope-priv-{pid}"));
        let mut bpftrace = Guard(
            std::process::Command::new("bpftrace")
                .args([
                    "-e",
                    "tracepoint:syscalls:sys_enter_getppid { @c = count(); }",
                ])
                .stdout(Stdio::piped())
                .stderr(Stdio::null())
                .spawn()
                .unwrap(),
        );
        let mut first = String::new();
        BufReader::new(bpftrace.0.stdout.take().unwrap())
            .read_line(&mut first)
            .unwrap();
        let others = Self {
            bpftrace,
            cgroup,
            netns,
        };
        // bpftrace says "Attaching" before it has attached: wait for it.
        let start = Instant::now();
        let traced = loop {
            let perf: serde_json::Value =
                serde_json::from_str(&run("bpftool", &["perf", "list", "-j"])).unwrap();
            let found = perf
                .as_array()
                .unwrap()
                .iter()
                .find(|e| e["pid"] == others.bpftrace.0.id())
                .cloned();
            if let Some(found) = found {
                break found;
            }
            assert!(
                start.elapsed() < Duration::from_secs(20),
                "bpftrace's perf event: {perf}"
            );
            std::thread::sleep(Duration::from_millis(100));
        };
        ids.push(u32::try_from(traced["prog_id"].as_u64().unwrap()).unwrap());

        std::fs::create_dir(&others.cgroup).unwrap();
        let object = bpfscope::test_support::AttachTestObject::load(false).unwrap();
        let cg_prog = object.id(WITH_MAP).unwrap();
        let path = others.cgroup.to_str().unwrap();
        let id = cg_prog.to_string();
        run(
            "bpftool",
            &["cgroup", "attach", path, "cgroup_inet_egress", "id", &id],
        );
        ids.push(cg_prog);
        drop(object); // the cgroup holds the program

        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("net_test.bpf.o");
        std::fs::write(&file, bpfscope::test_support::NET_TEST_OBJECT).unwrap();
        let n = others.netns.as_str();
        run("ip", &["netns", "add", n]);
        run(
            "ip",
            &[
                "-n", n, "link", "add", "bspriv0", "type", "veth", "peer", "name", "bspriv1",
            ],
        );
        let obj = file.to_str().unwrap();
        run(
            "ip",
            &[
                "-n",
                n,
                "link",
                "set",
                "dev",
                "bspriv0",
                "xdpgeneric",
                "obj",
                obj,
                "sec",
                "xdp",
            ],
        );
        let net: serde_json::Value = serde_json::from_str(&run(
            "ip",
            &["netns", "exec", n, "bpftool", "net", "list", "-j"],
        ))
        .unwrap();
        ids.push(u32::try_from(net[0]["xdp"][0]["id"].as_u64().unwrap()).unwrap());
        others
    }
}

impl Drop for Others {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir(&self.cgroup);
        let _ = std::process::Command::new("ip")
            .args(["netns", "del", &self.netns])
            .status();
        let _ = &self.bpftrace;
    }
}

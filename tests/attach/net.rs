//! XDP and tc attached with `ip` and `tc` in a namespace the test makes.

#![allow(clippy::expect_used, clippy::unwrap_used)] // tests fail loudly by design

use std::os::unix::ffi::OsStrExt;
use std::process::Command;

use bpfscope::model::AttachVia;
use bpfscope::test_support::require_privilege;

use crate::{as_u32, attachments, have_tools, sampler, take};

/// A network namespace with a veth pair, removed however the test ends.
struct TestNetns(String);

impl Drop for TestNetns {
    fn drop(&mut self) {
        let _ = Command::new("ip").args(["netns", "del", &self.0]).status();
    }
}

fn run(program: &str, args: &[&str]) -> String {
    let out = Command::new(program).args(args).output().unwrap();
    assert!(out.status.success(), "{program} {args:?}: {out:?}");
    String::from_utf8(out.stdout).unwrap()
}

#[test]
#[allow(clippy::too_many_lines)] // one scenario, asserted step by step
fn xdp_and_tc_attached_by_ip_and_tc_show_the_device_hook_priority_and_handle() {
    let test = "xdp_and_tc_attached_by_ip_and_tc_show_the_device_hook_priority_and_handle";
    if !require_privilege(test) || !have_tools(test, &["ip", "tc", "bpftool"]) {
        return;
    }
    let ns = TestNetns(format!("bpfscope-net-{}", std::process::id()));
    let n = ns.0.as_str();
    run("ip", &["netns", "add", n]);
    run(
        "ip",
        &[
            "-n", n, "link", "add", "bsxdp0", "type", "veth", "peer", "name", "bstc0",
        ],
    );
    run("ip", &["-n", n, "link", "set", "bsxdp0", "up"]);
    run("ip", &["-n", n, "link", "set", "bstc0", "up"]);
    let dir = tempfile::tempdir().unwrap();
    let object = dir.path().join("net_test.bpf.o");
    std::fs::write(&object, bpfscope::test_support::NET_TEST_OBJECT).unwrap();
    let obj = object.to_str().unwrap();
    run(
        "ip",
        &[
            "-n",
            n,
            "link",
            "set",
            "dev",
            "bsxdp0",
            "xdpgeneric",
            "obj",
            obj,
            "sec",
            "xdp",
        ],
    );
    run("tc", &["-n", n, "qdisc", "add", "dev", "bstc0", "clsact"]);
    run(
        "tc",
        &[
            "-n", n, "filter", "add", "dev", "bstc0", "ingress", "bpf", "da", "obj", obj, "sec",
            "tc",
        ],
    );

    // What bpftool and tc say, inside the namespace.
    let net: serde_json::Value = serde_json::from_str(&run(
        "ip",
        &["netns", "exec", n, "bpftool", "net", "list", "-j"],
    ))
    .unwrap();
    let xdp = &net[0]["xdp"][0];
    assert_eq!(
        (xdp["devname"].as_str(), xdp["mode"].as_str()),
        (Some("bsxdp0"), Some("generic"))
    );
    let tc = &net[0]["tc"][0];
    assert_eq!(
        (tc["devname"].as_str(), tc["kind"].as_str()),
        (Some("bstc0"), Some("clsact/ingress"))
    );
    let filters: serde_json::Value = serde_json::from_str(&run(
        "tc",
        &["-n", n, "-j", "filter", "show", "dev", "bstc0", "ingress"],
    ))
    .unwrap();
    let filter = filters
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["options"]["prog"]["id"] == tc["id"])
        .unwrap_or_else(|| panic!("tc shows the filter: {filters}"));

    // A device whose name is not UTF-8 (any bytes but `/`, `:` and spaces
    // may name one): its messages cannot be decoded, and must cost nothing
    // but themselves.
    let hostile = std::ffi::OsStr::from_bytes(b"bs\xff\xfe");
    let status = Command::new("ip")
        .args(["-n", n, "link", "add"])
        .arg(hostile)
        .args(["type", "veth", "peer", "name", "bshostile1"])
        .status()
        .unwrap();
    assert!(status.success(), "ip link add a non-UTF-8 name");

    let mut sampler = sampler();
    let sample = take(&mut sampler);
    let warnings = sampler.take_warnings();
    assert!(
        warnings.iter().any(|w| w.contains("could not be decoded")),
        "the skipped message is told: {warnings:?}"
    );
    let xdp_id = as_u32(&xdp["id"]);
    let found = attachments(&sample, xdp_id);
    assert_eq!(found.len(), 1, "{found:#?}");
    assert_eq!(found[0].via, AttachVia::Xdp);
    assert_eq!(found[0].attach_type.as_deref(), Some("xdpgeneric"));
    assert_eq!(found[0].target, format!("bsxdp0 (netns {n})"));
    assert_eq!(
        bpfscope::model::attach_summary(&found),
        format!("xdpgeneric bsxdp0 (netns {n})")
    );

    let tc_id = as_u32(&tc["id"]);
    let found = attachments(&sample, tc_id);
    assert_eq!(found.len(), 1, "{found:#?}");
    assert_eq!(found[0].via, AttachVia::Tc);
    assert_eq!(found[0].attach_type.as_deref(), Some("ingress"));
    assert_eq!(
        found[0].target,
        format!(
            "bstc0 (netns {n}) prio {} handle {} direct-action",
            filter["pref"],
            filter["options"]["handle"].as_str().unwrap()
        )
    );

    // The filter finds each by its device and by its hook.
    for (id, words) in [(xdp_id, "bsxdp0"), (tc_id, "bstc0"), (tc_id, "ingress")] {
        let program = sample.programs.iter().find(|p| p.id == id).unwrap();
        let links = attachments(&sample, id);
        let row = bpfscope::store::RowText::with_facts(program, None, Some(&links));
        assert!(row.haystack.contains(words), "{words}: {}", row.haystack);
    }
}

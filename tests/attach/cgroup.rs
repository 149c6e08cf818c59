//! A cgroup program attached with `bpftool cgroup attach` (no link).

#![allow(clippy::expect_used, clippy::unwrap_used)] // tests fail loudly by design

use std::process::Command;

use bpfscope::model::AttachVia;
use bpfscope::test_support::{AttachTestObject, require_privilege};

use crate::{as_u32, attachments, bpftool, have_tools, sampler, take};

/// A cgroup this test made, removed however the test ends.
struct TestCgroup(std::path::PathBuf);

impl Drop for TestCgroup {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir(&self.0);
    }
}

#[test]
fn a_cgroup_program_attached_by_bpftool_shows_the_path_and_attach_type() {
    let test = "a_cgroup_program_attached_by_bpftool_shows_the_path_and_attach_type";
    if !require_privilege(test) || !have_tools(test, &["bpftool"]) {
        return;
    }
    let root = bpfscope::sys::cgroup2_root().expect("a cgroup v2 hierarchy");
    let cgroup = TestCgroup(root.join(format!("bpfscope-attach-{}", std::process::id())));
    std::fs::create_dir(&cgroup.0).unwrap();
    let path = cgroup.0.to_str().unwrap();
    let object = AttachTestObject::load(false).unwrap();
    let prog_id = object.id("bpfscope_cgroup_ingress").unwrap();
    let id = prog_id.to_string();
    let status = Command::new("bpftool")
        .args([
            "cgroup",
            "attach",
            path,
            "cgroup_inet_ingress",
            "id",
            &id,
            "multi",
        ])
        .status()
        .unwrap();
    assert!(status.success(), "bpftool cgroup attach");
    let shown = bpftool(&["cgroup", "show", path]);
    let entry = shown
        .as_array()
        .unwrap()
        .iter()
        .find(|e| as_u32(&e["id"]) == prog_id)
        .unwrap_or_else(|| panic!("bpftool shows it: {shown}"))
        .clone();

    let found = attachments(&take(&mut sampler()), prog_id);
    assert_eq!(found.len(), 1, "{found:#?}");
    assert_eq!(found[0].via, AttachVia::Cgroup);
    assert_eq!(
        found[0].attach_type.as_deref(),
        entry["attach_type"].as_str()
    );
    assert_eq!(
        found[0].target,
        format!("{path} ({})", entry["attach_flags"].as_str().unwrap())
    );
}

//! Facts and attach points against the real kernel: programs attached
//! through links to a raw tracepoint, a cgroup and a veth device in a network
//! namespace this test creates, a uprobe and (where the kernel allows) an
//! fentry, each named in words by the sampler.

#![allow(clippy::expect_used, clippy::unwrap_used)] // tests fail loudly by design

mod common;

use std::fs::{self, File};
use std::os::fd::AsRawFd;
use std::process::Command;
use std::time::Duration;

use bpfscope::model::{LinkFacts, ProgramFacts, Sample, WITHOUT_LINK, attach_summary};
use bpfscope::sampler::{Sampler, SamplerConfig};
use bpfscope::test_support::{AttachTestObject, TestProgram, require_privilege, skip};

/// What the test made, removed again however the test ends.
struct Targets {
    cgroup: String,
    netns: String,
}

impl Drop for Targets {
    fn drop(&mut self) {
        let _ = fs::remove_dir(&self.cgroup);
        let _ = Command::new("ip")
            .args(["netns", "del", &self.netns])
            .status();
    }
}

fn ip(args: &[&str]) {
    let status = Command::new("ip").args(args).status().expect("run ip");
    assert!(status.success(), "ip {args:?} failed");
}

/// Runs `f` with this thread in network namespace `name`, then returns.
fn in_netns<T>(name: &str, f: impl FnOnce() -> T) -> T {
    let home = File::open("/proc/thread-self/ns/net").expect("own netns");
    let target = File::open(format!("/run/netns/{name}")).expect("test netns");
    // SAFETY: plain syscall on two open namespace fds; only this thread moves.
    let rc = unsafe { libc::setns(target.as_raw_fd(), libc::CLONE_NEWNET) };
    assert_eq!(rc, 0, "setns into the test netns");
    let out = f();
    // SAFETY: as above, back to where the thread was.
    let rc = unsafe { libc::setns(home.as_raw_fd(), libc::CLONE_NEWNET) };
    assert_eq!(rc, 0, "setns back");
    out
}

fn sampler() -> Sampler {
    sampler_with(false)
}

fn sampler_with(facts_by_syscall: bool) -> Sampler {
    Sampler::new(SamplerConfig {
        owners: true,
        facts: true,
        facts_by_syscall,
        ..SamplerConfig::default()
    })
    .expect("sampler starts as root")
}

fn take(sampler: &mut Sampler) -> Sample {
    sampler.sample(Duration::from_secs(1)).expect("sample")
}

fn links_of(links: &[LinkFacts], prog_id: u32) -> Vec<&LinkFacts> {
    links.iter().filter(|l| l.prog_id == prog_id).collect()
}

fn facts_of(sample: &Sample, prog_id: u32) -> &ProgramFacts {
    sample
        .facts
        .iter()
        .find(|f| f.id == prog_id)
        .unwrap_or_else(|| panic!("no facts for program {prog_id}"))
}

#[test]
#[allow(clippy::too_many_lines)] // one scenario, asserted step by step
fn links_name_their_targets_and_facts_describe_each_program() {
    let test = "links_name_their_targets_and_facts_describe_each_program";
    if !require_privilege(test) || (!common::have("ip") && !skip(test, "needs ip (iproute2)")) {
        return;
    }
    let pid = std::process::id();
    let targets = Targets {
        cgroup: bpfscope::sys::cgroup2_root()
            .expect("cgroup v2 is mounted")
            .join(format!("bpfscope-test-{pid}"))
            .display()
            .to_string(),
        netns: format!("bpfscope-test-{pid}"),
    };
    fs::create_dir(&targets.cgroup).expect("create a cgroup");
    ip(&["netns", "add", &targets.netns]);
    ip(&[
        "-n",
        &targets.netns,
        "link",
        "add",
        "bsveth0",
        "type",
        "veth",
        "peer",
        "name",
        "bsveth1",
    ]);

    let (mut object, fentry) = match AttachTestObject::load(true) {
        Ok(object) => (object, true),
        Err(err) => {
            eprintln!("fentry is not checked: this kernel refuses it ({err})");
            (
                AttachTestObject::load(false).expect("load the test object"),
                false,
            )
        }
    };
    let raw_tp = object
        .program("bpfscope_raw_tracepoint_with_a_long_name")
        .unwrap()
        .attach_raw_tracepoint("sys_enter")
        .expect("attach raw tracepoint");
    let cgroup_dir = File::open(&targets.cgroup).expect("open cgroup");
    let cgroup = object
        .program("bpfscope_cgroup_ingress")
        .unwrap()
        .attach_cgroup(cgroup_dir.as_raw_fd())
        .expect("attach cgroup");
    let xdp = in_netns(&targets.netns, || {
        let ifindex = nix_if_nametoindex("bsveth0");
        object
            .program("bpfscope_xdp")
            .unwrap()
            .attach_xdp(ifindex)
            .expect("attach xdp in the test netns")
    });
    let exe = std::env::current_exe().unwrap().canonicalize().unwrap();
    let uprobe = object
        .program("bpfscope_uprobe")
        .unwrap()
        .attach_uprobe_with_opts(
            -1,
            &exe,
            0,
            libbpf_rs::UprobeOpts {
                func_name: Some("bpfscope_uprobe_target".into()),
                ..Default::default()
            },
        )
        .expect("attach uprobe");
    bpfscope_uprobe_target();
    let fentry_link = fentry.then(|| {
        object
            .program("bpfscope_fentry")
            .unwrap()
            .attach_trace()
            .expect("attach fentry")
    });
    let unlinked = TestProgram::load("bpfscope_nolink").expect("load");

    let mut sampler = sampler();
    let first = take(&mut sampler);
    let links = first
        .links
        .clone()
        .expect("the first sample lists every link");

    let id = |name: &str| object.id(name).unwrap();
    let raw = links_of(&links, id("bpfscope_raw_tracepoint_with_a_long_name"));
    assert_eq!(raw.len(), 1, "{links:#?}");
    assert_eq!(
        (raw[0].link_type.as_str(), raw[0].target.as_str()),
        ("raw_tracepoint", "sys_enter")
    );

    let cg = links_of(&links, id("bpfscope_cgroup_ingress"));
    assert_eq!(cg.len(), 1, "{links:#?}");
    assert_eq!(cg[0].link_type, "cgroup");
    assert_eq!(cg[0].attach_type.as_deref(), Some("cgroup_inet_ingress"));
    assert_eq!(cg[0].target, targets.cgroup);

    let x = links_of(&links, id("bpfscope_xdp"));
    assert_eq!(x.len(), 1, "{links:#?}");
    assert_eq!(x[0].link_type, "xdp");
    assert_eq!(
        x[0].target,
        format!("bsveth0 (netns {})", targets.netns),
        "the device is named in its own namespace, never by a host ifindex"
    );

    let u = links_of(&links, id("bpfscope_uprobe"));
    assert_eq!(u.len(), 1, "{links:#?}");
    assert_eq!(u[0].link_type, "perf_event");
    assert_eq!(u[0].attach_type.as_deref(), Some("uprobe"));
    assert!(
        u[0].target.starts_with(&format!("{}:0x", exe.display())),
        "{:?} names the probed file",
        u[0].target
    );

    if fentry {
        let f = links_of(&links, id("bpfscope_fentry"));
        assert_eq!(f.len(), 1, "{links:#?}");
        assert_eq!(f[0].attach_type.as_deref(), Some("trace_fentry"));
        assert_eq!(f[0].target, "bpf_fentry_test1");
    }
    assert_eq!(
        attach_summary(
            &links_of(&links, unlinked.id())
                .into_iter()
                .cloned()
                .collect::<Vec<_>>()
        ),
        WITHOUT_LINK
    );

    // Facts: the full BTF name, the map with its name and type, sizes.
    let raw_facts = facts_of(&first, id("bpfscope_raw_tracepoint_with_a_long_name"));
    assert_eq!(
        raw_facts.full_name.as_deref(),
        Some("bpfscope_raw_tracepoint_with_a_long_name")
    );
    assert!(raw_facts.gpl_compatible);
    assert_eq!(raw_facts.uid, 0);
    assert!(
        raw_facts.xlated_bytes > 0 && raw_facts.verified_insns > 0,
        "{raw_facts:?}"
    );
    assert!(raw_facts.btf_id > 0, "{raw_facts:?}");
    assert!(
        raw_facts.memlock_bytes.is_some_and(|m| m > 0),
        "{raw_facts:?}"
    );
    let cg_facts = facts_of(&first, id("bpfscope_cgroup_ingress"));
    let map = cg_facts
        .maps
        .iter()
        .find(|m| m.name == "bpfscope_hits")
        .unwrap_or_else(|| panic!("map missing: {cg_facts:?}"));
    assert_eq!(
        (
            map.map_type.as_str(),
            map.key_size,
            map.value_size,
            map.max_entries
        ),
        ("hash", 4, 8, 64)
    );
    // A program loaded without BTF keeps its kernel name only.
    assert_eq!(facts_of(&first, unlinked.id()).full_name, None);

    // The iterators (what the helper reads after giving CAP_SYS_ADMIN up)
    // and the syscall path (opening each object by id) agree, field by
    // field, for every program and link of this test.
    let mut by_iter = sampler_with(false);
    let mut by_syscall = sampler_with(true);
    let (a, b) = (take(&mut by_iter), take(&mut by_syscall));
    let ours: Vec<u32> = [
        "bpfscope_raw_tracepoint_with_a_long_name",
        "bpfscope_cgroup_ingress",
        "bpfscope_xdp",
        "bpfscope_uprobe",
    ]
    .into_iter()
    .map(id)
    .chain([unlinked.id()])
    .collect();
    for prog in &ours {
        assert_eq!(facts_of(&a, *prog), facts_of(&b, *prog), "facts of {prog}");
        let (la, lb) = (a.links.as_deref().unwrap(), b.links.as_deref().unwrap());
        assert_eq!(links_of(la, *prog), links_of(lb, *prog), "links of {prog}");
    }
    drop((by_iter, by_syscall));

    // Facts are sent once per program; links only when they change.
    let second = take(&mut sampler);
    assert!(
        second.facts.iter().all(|f| f.id != unlinked.id()),
        "facts are sent once"
    );
    assert_eq!(second.links, None, "unchanged links are not sent again");
    drop(xdp);
    let third = take(&mut sampler);
    let after = third.links.expect("a detached link changes the list");
    assert!(
        links_of(&after, id("bpfscope_xdp")).is_empty(),
        "{after:#?}"
    );
    assert_eq!(links_of(&after, id("bpfscope_cgroup_ingress")).len(), 1);

    drop((raw_tp, cgroup, uprobe, fentry_link));
}

/// A function of this test binary for the uprobe.
#[unsafe(no_mangle)]
#[inline(never)]
pub extern "C" fn bpfscope_uprobe_target() {
    std::hint::black_box(());
}

fn nix_if_nametoindex(name: &str) -> i32 {
    let c = std::ffi::CString::new(name).unwrap();
    // SAFETY: `c` is a valid NUL-terminated string for the call.
    let index = unsafe { libc::if_nametoindex(c.as_ptr()) };
    assert!(index > 0, "no device {name} in the test netns");
    i32::try_from(index).unwrap()
}

#[test]
fn a_sampler_without_facts_sends_none() {
    if !require_privilege("a_sampler_without_facts_sends_none") {
        return;
    }
    let _prog = TestProgram::load("bpfscope_nofact").expect("load");
    let mut sampler = Sampler::new(SamplerConfig::default()).expect("sampler");
    let sample = take(&mut sampler);
    assert!(sample.facts.is_empty() && sample.links.is_none());
}

//! What a program is, beyond its counters: read once per program (they do
//! not change after load) and where it is attached (read every pass, sent
//! when it changes).

use std::collections::HashMap;
use std::fmt::Write as _;
use std::sync::Arc;

use serde::{Deserialize, Serialize};

use super::{ProgramKey, Sample};

/// The fixed facts of one loaded program.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ProgramFacts {
    pub id: u32,
    /// With `id`, names one program even if an id is reused.
    pub load_time_ns: u64,
    /// The function name from the program's BTF, where it has one: the
    /// kernel's own name is cut at 15 bytes.
    pub full_name: Option<String>,
    /// Who loaded it.
    pub uid: u32,
    pub gpl_compatible: bool,
    /// Whether the program runs as native code (JIT) or is interpreted.
    pub jited: bool,
    /// Size of the verified (translated) BPF code, in bytes.
    pub xlated_bytes: u32,
    /// Size of the native code, in bytes (0 when not JIT-compiled).
    pub jited_bytes: u32,
    /// Instructions the verifier processed (kernel ≥ 5.16; 0 before).
    pub verified_insns: u32,
    /// Memory charged to the program, in bytes, where the kernel says.
    pub memlock_bytes: Option<u64>,
    /// The program's BTF object (0: none).
    pub btf_id: u32,
    /// Maps the program uses, by id.
    pub maps: Vec<MapFacts>,
}

impl ProgramFacts {
    /// Roughly what these facts take in memory, for byte budgets on what a
    /// source (a recording, another host) may make bpfscope keep.
    #[must_use]
    pub fn approx_bytes(&self) -> usize {
        let maps: usize = self
            .maps
            .iter()
            .map(|m| std::mem::size_of::<MapFacts>() + m.name.len() + m.map_type.len())
            .sum();
        std::mem::size_of::<Self>() + self.full_name.as_ref().map_or(0, String::len) + maps
    }
}

/// One map a program uses.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct MapFacts {
    pub id: u32,
    pub name: String,
    /// As libbpf names it (`hash`, `array`, `ringbuf`, …).
    pub map_type: String,
    pub key_size: u32,
    pub value_size: u32,
    pub max_entries: u32,
}

/// How a program is attached where no BPF link says so.
#[derive(
    Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize,
)]
#[serde(rename_all = "snake_case")]
pub enum AttachVia {
    /// A BPF link (`LinkFacts::id` is its id).
    #[default]
    Link,
    /// A perf event (`perf_event_open` and `PERF_EVENT_IOC_SET_BPF`: what
    /// bpftrace, BCC and older libbpf use), open in process `pid` as `fd`.
    PerfEvent { pid: u32, fd: u32 },
    /// XDP attached through netlink (`ip link set … xdp`).
    Xdp,
    /// A classic tc filter or action (`tc filter add … bpf`).
    Tc,
    /// `bpf_prog_attach` to a cgroup (`bpftool cgroup attach`).
    Cgroup,
    /// In a program array: it runs as another program's tail call.
    TailCall,
    /// An extension program (freplace) replaces one of its functions.
    Freplace,
}

impl AttachVia {
    /// `link`, `perf_event`, `xdp`, `tc`, `cgroup`.
    #[must_use]
    pub fn name(self) -> &'static str {
        match self {
            Self::Link => "link",
            Self::PerfEvent { .. } => "perf_event",
            Self::Xdp => "xdp",
            Self::Tc => "tc",
            Self::Cgroup => "cgroup",
            Self::TailCall => "tail_call",
            Self::Freplace => "freplace",
        }
    }
}

/// One attachment the kernel can describe: a BPF link, or a perf event, an
/// XDP or tc hook or a cgroup that runs the program without one.
#[derive(Clone, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
pub struct LinkFacts {
    /// The program the link runs.
    pub prog_id: u32,
    /// The link's id; 0 for an attachment without a link.
    pub id: u32,
    /// As libbpf names it (`tracing`, `cgroup`, `xdp`, `tcx`, …).
    pub link_type: String,
    /// As libbpf names it (`cgroup_inet_ingress`, `trace_fentry`, …), where
    /// the link has one.
    pub attach_type: Option<String>,
    /// Where it is attached, in words: a cgroup path, a device name, a
    /// tracepoint, a kernel function, a file.
    pub target: String,
    /// How: a link, or which other way.
    pub via: AttachVia,
}

impl LinkFacts {
    /// `type target` for a table cell: `xdp veth0`, `cgroup_inet_ingress /sys/fs/cgroup/…`.
    #[must_use]
    pub fn summary(&self) -> String {
        let kind = self.attach_type.as_deref().unwrap_or(&self.link_type);
        if self.target.is_empty() {
            kind.to_owned()
        } else {
            format!("{kind} {}", self.target)
        }
    }
}

/// What the attach column says for a program nothing is found to run.
pub const WITHOUT_LINK: &str = "not attached";

/// The longer words for [`WITHOUT_LINK`], for tooltips and the details pane.
pub const WITHOUT_LINK_EXPLAINED: &str = "Nothing bpfscope can see runs this program: no \
    BPF link, perf event, XDP hook, tc filter on a clsact or ingress qdisc, cgroup or \
    program array. Not searched: tc filters on other qdiscs and tc actions (act_bpf), \
    socket filters (SO_ATTACH_BPF) and reuseport programs, sockmap, flow dissector and \
    lirc attachments made without a link, and network namespaces bpfscope cannot \
    reach.";

/// The attach summaries of one program's links joined by `; `, or
/// [`WITHOUT_LINK`].
#[must_use]
pub fn attach_summary(links: &[LinkFacts]) -> String {
    if links.is_empty() {
        return WITHOUT_LINK.to_owned();
    }
    let mut out = String::new();
    for (i, link) in links.iter().enumerate() {
        if i > 0 {
            out.push_str("; ");
        }
        out.push_str(&link.summary());
    }
    out
}

/// Where a program is attached, as far as its source says.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub enum Attach {
    /// The source reads no links (or has sent none yet).
    #[default]
    Unknown,
    /// Its links; empty: no BPF link points at it.
    Links(Vec<LinkFacts>),
}

impl Attach {
    /// The links, `None` when unknown.
    #[must_use]
    pub fn links(&self) -> Option<&[LinkFacts]> {
        match self {
            Self::Unknown => None,
            Self::Links(links) => Some(links),
        }
    }

    /// Known to have no link.
    #[must_use]
    pub fn is_unlinked(&self) -> bool {
        matches!(self, Self::Links(links) if links.is_empty())
    }

    /// The attach column's text: link summaries, [`WITHOUT_LINK`], or empty
    /// when unknown.
    #[must_use]
    pub fn summary(&self) -> String {
        self.links().map(attach_summary).unwrap_or_default()
    }
}

/// Map names joined by `, `.
#[must_use]
pub fn map_names(maps: &[MapFacts]) -> String {
    let mut out = String::new();
    for (i, map) in maps.iter().enumerate() {
        if i > 0 {
            out.push_str(", ");
        }
        let _ = write!(out, "{}", map.name); // cannot fail on a String
    }
    out
}

/// Facts and links as a source sent them, kept for as long as the consumer
/// wants (the window: while a program's row lives; `bpfscope sample`: while
/// the program is loaded).
#[derive(Clone, Debug, Default)]
pub struct Catalog {
    facts: HashMap<ProgramKey, Arc<ProgramFacts>>,
    /// The current links by program id; `None` until the source sends any.
    links: Option<HashMap<u32, Vec<LinkFacts>>>,
}

/// What [`Catalog::absorb`] changed.
#[derive(Debug, Default)]
pub struct Absorbed {
    /// Programs whose facts arrived.
    pub facts: Vec<ProgramKey>,
    /// Whether the links were replaced.
    pub links: bool,
}

impl Catalog {
    /// Keeps facts sent ahead of their sample.
    pub fn add_facts(&mut self, facts: Vec<ProgramFacts>) {
        for facts in facts {
            let key = ProgramKey {
                id: facts.id,
                load_time_ns: facts.load_time_ns,
            };
            self.facts.insert(key, Arc::new(facts));
        }
    }

    /// Takes the sample's facts and links (leaving them empty there).
    pub fn absorb(&mut self, sample: &mut Sample) -> Absorbed {
        let mut absorbed = Absorbed::default();
        for facts in sample.facts.drain(..) {
            let key = ProgramKey {
                id: facts.id,
                load_time_ns: facts.load_time_ns,
            };
            absorbed.facts.push(key);
            self.facts.insert(key, Arc::new(facts));
        }
        if let Some(links) = sample.links.take() {
            let mut by_prog: HashMap<u32, Vec<LinkFacts>> = HashMap::new();
            for link in links {
                by_prog.entry(link.prog_id).or_default().push(link);
            }
            self.links = Some(by_prog);
            absorbed.links = true;
        }
        absorbed
    }

    /// The program's facts, once sent.
    #[must_use]
    pub fn facts(&self, key: ProgramKey) -> Option<&Arc<ProgramFacts>> {
        self.facts.get(&key)
    }

    /// The links of program `id` (empty: none); `None` while the source has
    /// sent no links at all.
    #[must_use]
    pub fn links(&self, id: u32) -> Option<&[LinkFacts]> {
        self.links
            .as_ref()
            .map(|l| l.get(&id).map_or(&[][..], Vec::as_slice))
    }

    /// Every program's facts and the current links, as a source would send
    /// them to a consumer that starts now (a recording begun mid-session).
    #[must_use]
    pub fn snapshot(&self) -> (Vec<ProgramFacts>, Option<Vec<LinkFacts>>) {
        let facts = self.facts.values().map(|f| (**f).clone()).collect();
        let links = self
            .links
            .as_ref()
            .map(|by_prog| by_prog.values().flatten().cloned().collect());
        (facts, links)
    }

    /// Forgets one program's facts.
    pub fn remove(&mut self, key: ProgramKey) {
        self.facts.remove(&key);
    }

    /// Forgets the facts of programs `keep` says no to.
    pub fn retain(&mut self, keep: impl Fn(&ProgramKey) -> bool) {
        self.facts.retain(|k, _| keep(k));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn link(attach: Option<&str>, target: &str) -> LinkFacts {
        LinkFacts {
            prog_id: 1,
            id: 2,
            link_type: "xdp".to_owned(),
            attach_type: attach.map(str::to_owned),
            target: target.to_owned(),
            via: AttachVia::Link,
        }
    }

    #[test]
    fn summaries_name_the_attach_type_and_target() {
        assert_eq!(link(None, "veth0").summary(), "xdp veth0");
        assert_eq!(
            link(Some("cgroup_inet_ingress"), "/sys/fs/cgroup/a").summary(),
            "cgroup_inet_ingress /sys/fs/cgroup/a"
        );
        assert_eq!(
            attach_summary(&[link(None, "a"), link(None, "b")]),
            "xdp a; xdp b"
        );
        assert_eq!(attach_summary(&[]), WITHOUT_LINK);
    }
}

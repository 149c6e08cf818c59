//! XDP and classic tc programs attached through netlink (`ip link set …
//! xdp`, `tc filter add … bpf`), which no BPF link describes: found as
//! `bpftool net` finds them, with `RTM_GETLINK`, `RTM_GETQDISC` and
//! `RTM_GETTFILTER` dumps.
//!
//! A netlink socket answers for the network namespace it was made in, and
//! dumping needs no privilege. Entering another namespace to make one needs
//! CAP_SYS_ADMIN, so sockets for the namespaces named under `/run/netns`
//! are made while it is there (at start-up, before the helper gives root
//! up, and later only where it still can); a namespace named after that is
//! not searched, and [`NetReader::unreachable`] says so.

use std::collections::{BTreeMap, HashSet};
use std::fs::{self, File};
use std::io;
use std::os::fd::AsRawFd;

use netlink_packet_route::RouteNetlinkMessage;
use netlink_packet_route::link::{LinkAttribute, LinkMessage, LinkXdp, XdpAttached};
use netlink_packet_route::tc::{
    TcAttribute, TcBpfFlags, TcFilterBpfOption, TcHandle, TcMessage, TcOption,
};
use netlink_sys::{Socket, SocketAddr, protocols::NETLINK_ROUTE};

use super::NETNS_DIR;
use dump::dump;

mod dump;

/// Replies read from one dump at most (a dump of a host's devices or of
/// one device's filters is far smaller): a kernel that never ends one must
/// not hold the sampler.
const REPLIES_MAX: usize = 20_000;

/// One program attached through netlink.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub(super) struct NetAttachment {
    pub prog_id: u32,
    /// `None` for bpfscope's own namespace, else the name under
    /// `/run/netns`.
    pub netns: Option<String>,
    pub device: String,
    pub kind: NetKind,
}

#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub(super) enum NetKind {
    /// `xdpgeneric`, `xdpdrv` or `xdpoffload`, as bpftool says.
    Xdp(&'static str),
    /// A cls_bpf filter on clsact's (or ingress's) hook.
    Tc {
        ingress: bool,
        priority: u16,
        handle: u32,
        direct_action: bool,
    },
}

struct Namespace {
    /// `None`: bpfscope's own.
    name: Option<String>,
    /// The namespace's inode when the socket was made: a name removed and
    /// made again names another namespace.
    ino: u64,
    socket: Socket,
    sequence: u32,
}

/// The inode of the namespace `/run/netns/<name>` names now.
fn netns_ino(name: &str) -> Option<u64> {
    use std::os::unix::fs::MetadataExt;
    fs::metadata(std::path::Path::new(NETNS_DIR).join(name))
        .ok()
        .map(|m| m.ino())
}

/// Sockets in bpfscope's namespace and the named ones.
pub(super) struct NetReader {
    spaces: Vec<Namespace>,
    /// Named namespaces that could not be entered (no CAP_SYS_ADMIN).
    unreachable: Vec<String>,
    /// Entering failed for want of privilege: do not try again.
    cannot_enter: bool,
}

impl std::fmt::Debug for NetReader {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("NetReader")
            .field("spaces", &self.spaces.len())
            .field("unreachable", &self.unreachable)
            .finish_non_exhaustive()
    }
}

/// How long one receive may wait: a kernel that stops answering must not
/// hold the sampler (or its stop).
const RECV_TIMEOUT: libc::timeval = libc::timeval {
    tv_sec: 2,
    tv_usec: 0,
};

fn socket() -> io::Result<Socket> {
    let mut socket = Socket::new(NETLINK_ROUTE)?;
    socket.bind_auto()?;
    socket.connect(&SocketAddr::new(0, 0))?;
    let timeout = RECV_TIMEOUT;
    // SAFETY: setsockopt on this socket's fd with a timeval that outlives
    // the call and its exact size.
    let rc = unsafe {
        libc::setsockopt(
            socket.as_raw_fd(),
            libc::SOL_SOCKET,
            libc::SO_RCVTIMEO,
            (&raw const timeout).cast(),
            libc::socklen_t::try_from(std::mem::size_of::<libc::timeval>()).unwrap_or(16),
        )
    };
    if rc != 0 {
        return Err(io::Error::last_os_error());
    }
    Ok(socket)
}

/// A netlink socket made inside the namespace `/run/netns/<name>`, on a
/// short-lived thread of its own (`setns` moves only the calling thread),
/// and that namespace's inode.
fn socket_in(name: &str) -> io::Result<(Socket, u64)> {
    use std::os::unix::fs::MetadataExt;
    let path = std::path::Path::new(NETNS_DIR).join(name);
    let target = File::open(path)?;
    let ino = target.metadata()?.ino();
    std::thread::Builder::new()
        .name("bpfscope-netns".to_owned())
        .spawn(move || {
            // SAFETY: setns on an open namespace fd; only this thread moves,
            // and it ends right after making the socket.
            if unsafe { libc::setns(target.as_raw_fd(), libc::CLONE_NEWNET) } != 0 {
                return Err(io::Error::last_os_error());
            }
            socket()
        })?
        .join()
        .map_err(|_| io::Error::other("the namespace thread panicked"))?
        .map(|socket| (socket, ino))
}

impl NetReader {
    pub fn new() -> io::Result<Self> {
        let mut reader = Self {
            spaces: vec![Namespace {
                name: None,
                ino: 0,
                socket: socket()?,
                sequence: 0,
            }],
            unreachable: Vec::new(),
            cannot_enter: false,
        };
        reader.find_namespaces();
        Ok(reader)
    }

    /// Named namespaces not searched: they were named after bpfscope gave
    /// up the privilege to enter them.
    pub fn unreachable(&self) -> &[String] {
        &self.unreachable
    }

    /// Opens a socket in each newly named namespace while it can.
    fn find_namespaces(&mut self) {
        let Ok(dir) = fs::read_dir(NETNS_DIR) else {
            return;
        };
        let mut names: Vec<String> = dir
            .flatten()
            .map(|e| e.file_name().to_string_lossy().into_owned())
            .collect();
        names.sort_unstable();
        let present: HashSet<&String> = names.iter().collect();
        // Gone, or the name now points at another namespace: let go of the
        // old one (the socket keeps it alive).
        self.spaces.retain(|s| {
            s.name
                .as_ref()
                .is_none_or(|n| present.contains(n) && netns_ino(n) == Some(s.ino))
        });
        self.unreachable.retain(|n| present.contains(n));
        for name in names {
            let known = self.spaces.iter().any(|s| s.name.as_ref() == Some(&name));
            if known || self.unreachable.contains(&name) {
                continue;
            }
            if self.cannot_enter {
                self.unreachable.push(name);
                continue;
            }
            match socket_in(&name) {
                Ok((socket, ino)) => self.spaces.push(Namespace {
                    name: Some(name),
                    ino,
                    socket,
                    sequence: 0,
                }),
                Err(err) if matches!(err.raw_os_error(), Some(libc::EPERM)) => {
                    self.cannot_enter = true;
                    self.unreachable.push(name);
                }
                // Removed between the listing and the open: gone.
                Err(_) => {}
            }
        }
    }

    /// Every XDP program and tc filter in every namespace it can reach, and
    /// what went wrong on the way (a namespace that failed keeps the others
    /// from being lost).
    pub fn read(&mut self) -> (Vec<NetAttachment>, Option<String>) {
        self.find_namespaces();
        let mut out = Vec::new();
        let mut skipped = 0;
        let mut failed = Vec::new();
        for space in &mut self.spaces {
            if let Err(err) = read_namespace(space, &mut out, &mut skipped) {
                let name = space.name.as_deref().unwrap_or("bpfscope's own");
                failed.push(format!("network namespace {name}: {err}"));
            }
        }
        if skipped > 0 {
            failed.push(format!(
                "{skipped} netlink messages could not be decoded and were skipped"
            ));
        }
        out.sort_unstable();
        out.dedup();
        let trouble = (!failed.is_empty())
            .then(|| format!("XDP and tc programs may be missing: {}", failed.join("; ")));
        (out, trouble)
    }
}

fn read_namespace(
    space: &mut Namespace,
    out: &mut Vec<NetAttachment>,
    skipped: &mut usize,
) -> io::Result<()> {
    let mut devices = BTreeMap::new();
    let links = dump(space, RouteNetlinkMessage::GetLink(LinkMessage::default()))?;
    *skipped += links.skipped;
    for reply in links.replies {
        let RouteNetlinkMessage::NewLink(link) = reply else {
            continue;
        };
        let name = link.attributes.iter().find_map(|a| match a {
            LinkAttribute::IfName(name) => Some(name.clone()),
            _ => None,
        });
        let name = name.unwrap_or_else(|| format!("ifindex {}", link.header.index));
        for attr in &link.attributes {
            if let LinkAttribute::Xdp(xdp) = attr {
                for (prog_id, mode) in xdp_programs(xdp) {
                    out.push(NetAttachment {
                        prog_id,
                        netns: space.name.clone(),
                        device: name.clone(),
                        kind: NetKind::Xdp(mode),
                    });
                }
            }
        }
        devices.insert(link.header.index, name);
    }
    // Filters only where a clsact or ingress qdisc can hold them.
    let mut hooked = HashSet::new();
    let qdiscs = dump(
        space,
        RouteNetlinkMessage::GetQueueDiscipline(TcMessage::default()),
    )?;
    *skipped += qdiscs.skipped;
    for reply in qdiscs.replies {
        if let RouteNetlinkMessage::NewQueueDiscipline(qdisc) = reply
            && qdisc
                .attributes
                .iter()
                .any(|a| matches!(a, TcAttribute::Kind(k) if k == "clsact" || k == "ingress"))
        {
            hooked.insert(qdisc.header.index);
        }
    }
    for (&index, device) in &devices {
        let Ok(signed) = i32::try_from(index) else {
            continue;
        };
        if !hooked.contains(&signed) {
            continue;
        }
        for ingress in [true, false] {
            let mut request = TcMessage::default();
            request.header.index = signed;
            request.header.parent = TcHandle {
                major: u16::MAX,
                minor: if ingress {
                    TcHandle::MIN_INGRESS
                } else {
                    TcHandle::MIN_EGRESS
                },
            };
            let filters = dump(space, RouteNetlinkMessage::GetTrafficFilter(request))?;
            *skipped += filters.skipped;
            for reply in filters.replies {
                if let RouteNetlinkMessage::NewTrafficFilter(filter) = reply
                    && let Some(kind) = bpf_filter(&filter, ingress)
                {
                    out.push(NetAttachment {
                        prog_id: kind.0,
                        netns: space.name.clone(),
                        device: device.clone(),
                        kind: kind.1,
                    });
                }
            }
        }
    }
    Ok(())
}

/// The programs of one device's `IFLA_XDP`, with their modes.
fn xdp_programs(xdp: &[LinkXdp]) -> Vec<(u32, &'static str)> {
    let mut by_mode = Vec::new();
    let mut single = None;
    let mut mode = None;
    for attr in xdp {
        match attr {
            LinkXdp::DrvProgId(id) => by_mode.push((*id, "xdpdrv")),
            LinkXdp::SkbProgId(id) => by_mode.push((*id, "xdpgeneric")),
            LinkXdp::HwProgId(id) => by_mode.push((*id, "xdpoffload")),
            LinkXdp::ProgId(id) => single = Some(*id),
            LinkXdp::Attached(attached) => mode = Some(*attached),
            _ => {}
        }
    }
    if !by_mode.is_empty() {
        return by_mode;
    }
    let mode = match mode {
        Some(XdpAttached::Driver) => "xdpdrv",
        Some(XdpAttached::SocketBuffer) => "xdpgeneric",
        Some(XdpAttached::Hardware) => "xdpoffload",
        _ => "xdp",
    };
    single
        .filter(|&id| id != 0)
        .map(|id| (id, mode))
        .into_iter()
        .collect()
}

/// A cls_bpf filter's program and place, if `filter` is one.
fn bpf_filter(filter: &TcMessage, ingress: bool) -> Option<(u32, NetKind)> {
    let is_bpf = filter
        .attributes
        .iter()
        .any(|a| matches!(a, TcAttribute::Kind(k) if k == "bpf"));
    if !is_bpf {
        return None;
    }
    let mut prog_id = None;
    let mut direct_action = false;
    for attr in &filter.attributes {
        if let TcAttribute::Options(options) = attr {
            for option in options {
                match option {
                    TcOption::Bpf(TcFilterBpfOption::ProgId(id)) => prog_id = Some(*id),
                    TcOption::Bpf(TcFilterBpfOption::Flags(flags)) => {
                        direct_action = flags.contains(TcBpfFlags::DirectAction);
                    }
                    _ => {}
                }
            }
        }
    }
    Some((
        prog_id?,
        NetKind::Tc {
            ingress,
            priority: u16::try_from(filter.header.info >> 16).unwrap_or(u16::MAX),
            handle: u32::from(filter.header.handle),
            direct_action,
        },
    ))
}

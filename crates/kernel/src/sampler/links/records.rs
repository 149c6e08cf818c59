//! The records of the `iter/bpf_link` iterator (`src/bpf/links.bpf.c`) and
//! their targets in the words the syscall path uses.

use std::io;

use super::super::iter::{self, c_text, u32_at, u64_at};
use super::super::link_targets::{attach_type_name, netfilter_words, perf_kind, perf_target};

/// Size of `struct link_record` in `links.bpf.c`.
pub(super) const RECORD_SIZE: usize = 304;
const TEXT_AT: usize = 48;
const TEXT_LEN: usize = 256;
/// `PATH_PARTS` in `links.bpf.c`: path components of a uprobe_multi file.
const PATH_PARTS: usize = 8;
const NO_ATTACH_TYPE: u32 = u32::MAX;

/// One decoded `struct link_record`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(super) struct LinkRecord {
    pub id: u32,
    pub prog_id: u32,
    pub link_type: u32,
    attach_type: u32,
    num: u64,
    pub ifindex: u32,
    pub netns_ino: u32,
    a: u32,
    b: u32,
    c: i32,
    parts: u32,
    text: Vec<u8>,
}

/// The record's parts the words need from outside: cgroup paths and
/// namespaces are looked up by the reader.
pub(super) enum Target {
    Words(String),
    Cgroup(u64),
    Netns(u32),
    Device,
}

impl LinkRecord {
    /// The text field up to its first NUL.
    pub fn text(&self) -> String {
        c_text(&self.text)
    }

    /// libbpf's name of the link type; `None` for types bpfscope does not
    /// know.
    pub fn type_name(&self) -> &'static str {
        match self.link_type {
            1 => "raw_tracepoint",
            2 => "tracing",
            3 => "cgroup",
            4 => "iter",
            5 => "netns",
            6 => "xdp",
            7 => "perf_event",
            8 => "kprobe_multi",
            9 => "struct_ops",
            10 => "netfilter",
            11 => "tcx",
            12 => "uprobe_multi",
            13 => "netkit",
            14 => "sockmap",
            _ => "unknown",
        }
    }

    /// The attach type in libbpf's words, for the link types whose info
    /// carries one (the same ones the syscall path names).
    pub fn attach_type(&self) -> Option<String> {
        match self.link_type {
            7 => perf_kind(self.a).map(str::to_owned),
            2 | 3 | 5 | 11 | 13 | 14 if self.attach_type != NO_ATTACH_TYPE => {
                attach_type_name(self.attach_type)
            }
            _ => None,
        }
    }

    /// Where the link is attached.
    pub fn target(&self) -> Target {
        let text = self.text();
        Target::Words(match self.link_type {
            2 if text.is_empty() => "an unknown function".to_owned(),
            2 if self.a != 0 => format!("{text} in program {}", self.a),
            1 | 2 | 4 => text,
            3 => return Target::Cgroup(self.num),
            5 => return Target::Netns(self.netns_ino),
            6 | 11 | 13 => return Target::Device,
            7 => perf_target(self.a, self.b, self.num, text),
            8 => format!("{} kernel functions", self.num),
            9 => format!("struct_ops map {}", self.num),
            10 => netfilter_words(self.a, self.b, self.c),
            12 => {
                let pid = if self.a == 0 {
                    String::new()
                } else {
                    format!(", pid {}", self.a)
                };
                format!("{} ({} offsets{pid})", self.path(), self.num)
            }
            14 => format!("sockmap map {}", self.num),
            _ => String::new(),
        })
    }

    /// A uprobe_multi link's file: its components come leaf first; eight of
    /// them without reaching the root are shown as `…/` and the rest.
    fn path(&self) -> String {
        let part_len = TEXT_LEN / PATH_PARTS;
        let parts = (self.parts as usize).min(PATH_PARTS);
        if parts == 0 {
            return "?".to_owned();
        }
        let names: Vec<String> = (0..parts)
            .rev()
            .map(|i| c_text(&self.text[i * part_len..(i + 1) * part_len]))
            .collect();
        let lead = if parts == PATH_PARTS { "…/" } else { "/" };
        format!("{lead}{}", names.join("/"))
    }
}

/// Every record in `bytes`, sorted by link id.
pub(super) fn parse(bytes: &[u8]) -> io::Result<Vec<LinkRecord>> {
    let mut out: Vec<LinkRecord> = iter::records(bytes, RECORD_SIZE, "link")?
        .map(|rec| LinkRecord {
            id: u32_at(rec, 0),
            prog_id: u32_at(rec, 4),
            link_type: u32_at(rec, 8),
            attach_type: u32_at(rec, 12),
            num: u64_at(rec, 16),
            ifindex: u32_at(rec, 24),
            netns_ino: u32_at(rec, 28),
            a: u32_at(rec, 32),
            b: u32_at(rec, 36),
            c: i32::from_ne_bytes(u32_at(rec, 40).to_ne_bytes()),
            parts: u32_at(rec, 44),
            text: rec[TEXT_AT..TEXT_AT + TEXT_LEN].to_vec(),
        })
        .collect();
    out.sort_unstable_by_key(|r| r.id);
    out.dedup_by_key(|r| r.id);
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn record(link_type: u32, a: u32, num: u64, text: &[u8]) -> Vec<u8> {
        let mut rec = vec![0u8; RECORD_SIZE];
        rec[0..4].copy_from_slice(&7u32.to_ne_bytes());
        rec[4..8].copy_from_slice(&9u32.to_ne_bytes());
        rec[8..12].copy_from_slice(&link_type.to_ne_bytes());
        rec[12..16].copy_from_slice(&NO_ATTACH_TYPE.to_ne_bytes());
        rec[16..24].copy_from_slice(&num.to_ne_bytes());
        rec[32..36].copy_from_slice(&a.to_ne_bytes());
        rec[TEXT_AT..TEXT_AT + text.len()].copy_from_slice(text);
        rec
    }

    fn words(rec: &[u8]) -> String {
        match parse(rec).expect("one record")[0].target() {
            Target::Words(w) => w,
            _ => panic!("not words"),
        }
    }

    #[test]
    fn records_read_as_the_syscall_path_words() {
        assert_eq!(
            words(&record(7, 4, 0x1a2b, b"/usr/bin/app")),
            "/usr/bin/app:0x1a2b"
        );
        assert_eq!(
            words(&record(7, 1, 0, b"sys_enter_getpid")),
            "sys_enter_getpid"
        );
        assert_eq!(
            words(&record(2, 12, 0, b"handler")),
            "handler in program 12"
        );
        assert_eq!(words(&record(9, 0, 31, b"")), "struct_ops map 31");
        let rec = parse(&record(7, 5, 0, b"x")).expect("record");
        assert_eq!(rec[0].attach_type().as_deref(), Some("uretprobe"));
        assert_eq!(
            (rec[0].id, rec[0].prog_id, rec[0].type_name()),
            (7, 9, "perf_event")
        );
    }

    #[test]
    fn a_uprobe_multi_path_joins_its_parts_from_the_root() {
        let mut rec = record(12, 42, 3, b"");
        rec[44..48].copy_from_slice(&3u32.to_ne_bytes());
        for (i, part) in [&b"libc.so.6"[..], b"lib", b"usr"].iter().enumerate() {
            let at = TEXT_AT + i * 32;
            rec[at..at + part.len()].copy_from_slice(part);
        }
        assert_eq!(words(&rec), "/usr/lib/libc.so.6 (3 offsets, pid 42)");
    }

    #[test]
    fn an_unknown_perf_kind_says_so() {
        assert_eq!(
            words(&record(7, 99, 0, b"")),
            "a perf event bpfscope cannot describe"
        );
    }
}

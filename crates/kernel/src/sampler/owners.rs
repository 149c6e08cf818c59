//! Which processes hold which programs, from an `iter/task_file` BPF
//! iterator (see `src/bpf/owners.bpf.c`).

use std::io;
use std::sync::Arc;
use std::time::{Duration, Instant};

use libbpf_rs::{Link, Object};

use crate::model::{Owner, ProgramSample};

const OBJECT: &[u8] = include_bytes!(concat!(env!("OUT_DIR"), "/owners.bpf.o"));

/// Size of `struct owner_record` in `owners.bpf.c`.
const RECORD_SIZE: usize = 32;
/// Size of `struct perf_block`, which follows a record of kind
/// `PERF_EVENT_RUNS`.
const PERF_BLOCK_SIZE: usize = 272;
/// `enum owner_kind`'s `PERF_EVENT_RUNS`.
const PERF_EVENT_RUNS: u32 = 1;

/// A perf event that runs a program, as the owners iterator found it.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub struct PerfAttachment {
    pub prog_id: u32,
    pub pid: u32,
    pub fd: u32,
    /// `enum perf_kind` of `perf_target.h`.
    pub kind: u32,
    pub perf_type: u32,
    pub num: u64,
    pub text: String,
}

/// One read of the owners iterator.
#[derive(Debug, Default)]
pub struct OwnersRead {
    /// `(program id, owner)` pairs, sorted and without duplicates.
    pub pairs: Vec<(u32, Owner)>,
    /// Perf events running programs, sorted.
    pub perf: Vec<PerfAttachment>,
}

/// A loaded and attached owner iterator.
#[derive(Debug)]
pub struct OwnerIter {
    link: Link,
    object: Object,
}

impl OwnerIter {
    /// Loads and attaches the iterator program.
    pub fn load() -> io::Result<Self> {
        let (object, link) = super::iter::load_iterator(OBJECT, "dump_owner")?;
        Ok(Self { link, object })
    }

    /// The kernel id of the iterator program itself.
    pub fn prog_id(&self) -> Option<u32> {
        super::iter::object_prog_id(&self.object)
    }

    /// Owners and perf events, each sorted and without duplicates.
    pub fn read(&mut self, buf: &mut Vec<u8>) -> io::Result<OwnersRead> {
        super::iter::read_all(&self.link, buf)?;
        parse_stream(buf)
    }
}

/// Decodes the owners iterator's output: records, each of kind
/// `PERF_EVENT_RUNS` followed by its perf block.
fn parse_stream(bytes: &[u8]) -> io::Result<OwnersRead> {
    use super::iter::{c_text, u32_at, u64_at};
    let mut read = OwnersRead::default();
    let mut rest = bytes;
    while !rest.is_empty() {
        let Some((rec, after)) = rest.split_at_checked(RECORD_SIZE) else {
            return Err(truncated(bytes.len()));
        };
        rest = after;
        let prog_id = u32_at(rec, 0);
        let owner = Owner {
            pid: u32_at(rec, 4),
            comm: crate::model::KernelName::from_c(&rec[8..24]),
        };
        if u32_at(rec, 24) == PERF_EVENT_RUNS {
            let Some((block, after)) = rest.split_at_checked(PERF_BLOCK_SIZE) else {
                return Err(truncated(bytes.len()));
            };
            rest = after;
            read.perf.push(PerfAttachment {
                prog_id,
                pid: owner.pid,
                fd: u32_at(rec, 28),
                kind: u32_at(block, 0),
                perf_type: u32_at(block, 4),
                num: u64_at(block, 8),
                text: c_text(&block[16..]),
            });
        }
        read.pairs.push((prog_id, owner));
    }
    read.perf.sort_unstable();
    read.pairs.sort_unstable();
    read.pairs.dedup();
    Ok(read)
}

fn truncated(len: usize) -> io::Error {
    io::Error::new(
        io::ErrorKind::InvalidData,
        format!("owner iterator returned {len} bytes, which end inside a record"),
    )
}

#[cfg(test)]
fn parse_records(bytes: &[u8]) -> io::Result<Vec<(u32, Owner)>> {
    parse_stream(bytes).map(|read| read.pairs)
}

/// `(program id, owner)` pairs, sorted, as one shared list per program.
pub fn group(pairs: &[(u32, Owner)]) -> Vec<(u32, Arc<[Owner]>)> {
    pairs
        .chunk_by(|a, b| a.0 == b.0)
        .map(|run| (run[0].0, run.iter().map(|(_, o)| o.clone()).collect()))
        .collect()
}

/// Points each program at its owners' list; both lists are sorted by
/// program id.
pub fn attach(programs: &mut [ProgramSample], groups: &[(u32, Arc<[Owner]>)]) {
    let mut groups = groups.iter().peekable();
    for program in programs {
        while groups.next_if(|(id, _)| *id < program.id).is_some() {}
        if let Some((_, owners)) = groups.next_if(|(id, _)| *id == program.id) {
            program.owners = Arc::clone(owners);
        }
    }
}

/// The most of one CPU that reading owners may take on average (0.05 %),
/// once a read costs more than [`OWNERS_CHEAP`] of CPU time.
pub const OWNERS_CPU_SHARE: f64 = 0.000_5;
/// Reads cheaper than this are never held back (a few thousand open files).
pub const OWNERS_CHEAP: Duration = Duration::from_millis(5);
/// The CPU time reads may take at once after a quiet spell: the first
/// changes after it are read at once, however costly a read is; then the
/// budget refills at [`OWNERS_CPU_SHARE`] (1 s of CPU in about 33 minutes).
pub const OWNERS_BURST: Duration = Duration::from_secs(1);

/// Owners as last read, and when they are due again. Reading them walks
/// every open file of every process, so it happens when they can have
/// changed — a program or link came or went — and otherwise every
/// [`OWNERS_EVERY`](super::OWNERS_EVERY): a process that opens an existing
/// program by id or pin shows up at the next refresh. Where one read is
/// costly (a million open files: a few hundred milliseconds), reads draw
/// on a budget of CPU time, a token bucket that holds [`OWNERS_BURST`] and
/// refills at [`OWNERS_CPU_SHARE`] of one CPU: a new program after a quiet
/// spell gets its owners at the next pass, and programs that come and go
/// every second cannot make reads take more than that share on average.
/// A read is charged the CPU time it used, not its wall time, which grows
/// with the machine's load.
#[derive(Debug)]
pub struct OwnerCache {
    /// What the last read cost, in CPU time.
    cost: Duration,
    /// The budget left (negative: owed) when it was last counted, in
    /// seconds of CPU.
    credit: f64,
    credit_at: Option<Instant>,
    /// The owners of each program, shared with every sample until the next
    /// read.
    groups: Vec<(u32, Arc<[Owner]>)>,
    /// Program and link ids at the last read.
    prog_ids: Vec<u32>,
    link_ids: Vec<u32>,
    read_at: Option<Instant>,
    read_boottime_ns: Option<u64>,
}

impl Default for OwnerCache {
    fn default() -> Self {
        Self {
            cost: Duration::ZERO,
            credit: OWNERS_BURST.as_secs_f64(),
            credit_at: None,
            groups: Vec::new(),
            prog_ids: Vec::new(),
            link_ids: Vec::new(),
            read_at: None,
            read_boottime_ns: None,
        }
    }
}

impl OwnerCache {
    /// Whether the owners must be read again for these ids.
    #[must_use]
    pub fn due(&self, prog_ids: &[u32], link_ids: &[u32], every: Duration) -> bool {
        self.due_at(prog_ids, link_ids, every, Instant::now())
    }

    fn due_at(&self, prog_ids: &[u32], link_ids: &[u32], every: Duration, now: Instant) -> bool {
        let Some(at) = self.read_at else {
            return true;
        };
        let since = now.saturating_duration_since(at);
        let changed = self.prog_ids != prog_ids || self.link_ids != link_ids;
        let affordable = self.cost < OWNERS_CHEAP || self.credit_at(now) > 0.0;
        (changed || since >= every) && affordable
    }

    /// The budget at `now`: what was left plus what refilled, at most
    /// [`OWNERS_BURST`].
    fn credit_at(&self, now: Instant) -> f64 {
        let refill = self.credit_at.map_or(0.0, |at| {
            now.saturating_duration_since(at).as_secs_f64() * OWNERS_CPU_SHARE
        });
        (self.credit + refill).min(OWNERS_BURST.as_secs_f64())
    }

    /// Charges a read that used `cost` of CPU time, finished at `now`.
    fn charge(&mut self, cost: Duration, now: Instant) {
        self.credit = self.credit_at(now) - cost.as_secs_f64();
        self.credit_at = Some(now);
        self.cost = cost;
        self.read_at = Some(now);
    }

    /// Keeps a fresh read, taken at `boottime_ns` for these ids, that used
    /// `cost` of CPU time.
    pub fn keep(
        &mut self,
        pairs: &[(u32, Owner)],
        prog_ids: Vec<u32>,
        link_ids: &[u32],
        boottime_ns: u64,
        cost: Duration,
    ) {
        self.charge(cost, Instant::now());
        self.groups = group(pairs);
        self.prog_ids = prog_ids;
        self.link_ids.clear();
        self.link_ids.extend_from_slice(link_ids);
        self.read_boottime_ns = Some(boottime_ns);
    }

    /// A read that failed after using `cost`: the last owners stay, and it
    /// is charged as a read that worked.
    pub fn failed(&mut self, cost: Duration) {
        self.charge(cost, Instant::now());
    }

    /// Puts the owners last read onto `programs` (sorted by id).
    pub fn attach(&self, programs: &mut [ProgramSample]) {
        attach(programs, &self.groups);
    }

    /// `CLOCK_BOOTTIME` of the last read.
    #[must_use]
    pub fn read_boottime_ns(&self) -> Option<u64> {
        self.read_boottime_ns
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rec(id: u32, pid: u32, comm: &str) -> Vec<u8> {
        let mut r = Vec::new();
        r.extend(id.to_ne_bytes());
        r.extend(pid.to_ne_bytes());
        let mut c = [0u8; 16];
        c[..comm.len()].copy_from_slice(comm.as_bytes());
        r.extend(c);
        r.extend(0u32.to_ne_bytes());
        r.extend(3u32.to_ne_bytes());
        r
    }

    #[test]
    fn a_perf_event_record_carries_its_block() {
        let mut perf = rec(7, 40, "bpftrace");
        perf[24..28].copy_from_slice(&PERF_EVENT_RUNS.to_ne_bytes());
        let mut block = vec![0u8; PERF_BLOCK_SIZE];
        block[0..4].copy_from_slice(&1u32.to_ne_bytes());
        block[16..32].copy_from_slice(b"sys_enter_getpid");
        let bytes = [perf, block, rec(7, 41, "other")].concat();
        let read = parse_stream(&bytes).expect("whole stream");
        assert_eq!(read.pairs.len(), 2);
        assert_eq!(read.perf.len(), 1);
        assert_eq!(
            (
                read.perf[0].pid,
                read.perf[0].fd,
                read.perf[0].text.as_str()
            ),
            (40, 3, "sys_enter_getpid")
        );
        let cut = &bytes[..bytes.len() - RECORD_SIZE - 10];
        assert!(parse_stream(cut).is_err(), "a stream cut inside a block");
    }

    fn program(id: u32) -> ProgramSample {
        crate::test_support::program(id).build()
    }

    #[test]
    fn owners_are_deduplicated_and_attached_by_id() {
        let bytes = [
            rec(5, 20, "agent"),
            rec(3, 10, "systemd"),
            rec(5, 20, "agent"), // a program and a link fd in one process
            rec(5, 21, "other"),
            rec(9, 1, "gone"), // a program not in this sample
        ]
        .concat();
        let pairs = parse_records(&bytes).expect("whole records");
        let mut programs = vec![program(3), program(4), program(5)];
        attach(&mut programs, &group(&pairs));
        assert_eq!(programs[0].owners_joined(), "systemd:10");
        assert!(programs[1].owners.is_empty());
        assert_eq!(programs[2].owners_joined(), "agent:20;other:21");
    }

    #[test]
    fn a_costly_read_holds_the_next_back_even_when_programs_change() {
        let every = Duration::from_secs(10);
        let mut cache = OwnerCache::default();
        assert!(cache.due(&[1], &[], every), "never read");
        cache.keep(&[], vec![1], &[], 0, Duration::from_millis(1));
        assert!(!cache.due(&[1], &[], every), "nothing changed");
        assert!(
            cache.due(&[1, 2], &[], every),
            "a cheap read follows a change at once"
        );
        assert!(cache.due(&[1], &[7], every), "so does a new link");
        // Costly reads drain the budget; then one waits for it to refill.
        for _ in 0..4 {
            cache.keep(&[], vec![1], &[], 0, Duration::from_millis(300));
        }
        assert!(
            !cache.due(&[1, 2], &[], every),
            "1.2 s of reads against a budget of 1 s: held back"
        );
    }

    #[test]
    fn the_first_change_after_a_quiet_spell_is_read_at_once_and_the_average_holds() {
        let every = Duration::from_secs(10);
        let start = Instant::now();
        let mut cache = OwnerCache::default();
        // A busy host: every read costs 300 ms of CPU.
        let cost = Duration::from_millis(300);
        cache.charge(cost, start);
        cache.prog_ids = vec![1];
        // A program loaded 20 s later gets its owners at the next pass.
        let later = start + Duration::from_secs(20);
        assert!(cache.due_at(&[1, 2], &[], every, later));
        // Programs that churn every second: reads go on until the budget
        // is spent, then at most OWNERS_CPU_SHARE of one CPU on average.
        let mut now = later;
        let mut used = Duration::ZERO;
        let mut ids = vec![1u32];
        let hour = Duration::from_secs(3600);
        while now < later + hour {
            ids.push(ids.len() as u32 + 1);
            if cache.due_at(&ids, &[], every, now) {
                cache.charge(cost, now);
                cache.prog_ids.clone_from(&ids);
                used += cost;
            }
            now += Duration::from_secs(1);
        }
        let allowed = hour.as_secs_f64() * OWNERS_CPU_SHARE + OWNERS_BURST.as_secs_f64() + 0.3;
        assert!(
            used.as_secs_f64() <= allowed,
            "{used:?} of CPU in an hour, budget {allowed} s"
        );
        assert!(used >= Duration::from_secs(2), "{used:?}: reads went on");
    }
}

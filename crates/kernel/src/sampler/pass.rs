//! One sampler pass: programs, links, owners, new programs' facts.

use std::time::{Duration, SystemTime};

use super::{Sampler, SamplerError, is_permission, iter, link_targets, links, owners, syscall};
use crate::model::{AttachVia, LinkFacts, ProgramFacts, ProgramKey, ProgramSample, Sample};
use crate::sys;

impl Sampler {
    /// Reads every program once.
    pub fn sample(&mut self, period: Duration) -> Result<Sample, SamplerError> {
        self.sample_after(period, None)
    }

    /// Reads every program once, after statistics were on for `stats_on_ns`
    /// since the last pass (in low-overhead mode; `Some(0)` for the first
    /// sample).
    pub fn sample_after(
        &mut self,
        period: Duration,
        stats_on_ns: Option<u64>,
    ) -> Result<Sample, SamplerError> {
        let started = std::time::Instant::now();
        let taken_at = SystemTime::now();
        let boottime_ns = sys::boottime_ns();
        let mut programs = Vec::with_capacity(self.buf.len() / iter::RECORD_SIZE + 16);
        match &mut self.progs {
            Some(it) => it.read(&mut self.buf, &mut programs).inspect_err(|_| {
                // Programs the iterator marked as written may be lost:
                // start over rather than subtract from old counters.
                self.per_cpu.reset();
            }),
            None => syscall::enumerate(&mut programs),
        }
        .map_err(|err| {
            if is_permission(&err) {
                SamplerError::NoPrivilege
            } else {
                SamplerError::Enumerate(err)
            }
        })?;
        programs.sort_unstable_by_key(|p| p.id);
        programs.dedup_by_key(|p| p.id);

        // Links first: a link that came or went makes the owners due. New
        // programs make every link be described again: a link updated to a
        // new program keeps its id.
        let prog_ids: Vec<u32> = programs.iter().map(|p| p.id).collect();
        let links = self.read_links(prog_ids != self.facts_ids);
        // Owners next: their read also finds the perf events running
        // programs, which join the links.
        self.refresh_owners(&prog_ids, boottime_ns);
        let links = self.changed_links(links);
        self.owner_cache.attach(&mut programs);
        for program in &mut programs {
            program.own = self.own_ids.contains(&program.id);
        }
        let facts = self.new_facts(&programs, prog_ids);
        let per_cpu = self
            .progs
            .as_ref()
            .map(|it| self.per_cpu.update(it.parsed(), boottime_ns, stats_on_ns));
        Ok(Sample {
            taken_at,
            boottime_ns,
            period,
            programs,
            facts,
            links,
            owners_read_ns: self
                .owners
                .as_ref()
                .and(self.owner_cache.read_boottime_ns()),
            pass_ns: u64::try_from(started.elapsed().as_nanos()).unwrap_or(u64::MAX),
            per_cpu,
            stats_on_ns,
        })
    }

    /// Reads the owners when they are due (see [`owners::OwnerCache`]); a
    /// failed read keeps the last ones, which then grow older.
    fn refresh_owners(&mut self, prog_ids: &[u32], boottime_ns: u64) {
        let Some(owners) = &mut self.owners else {
            return;
        };
        let link_ids = self.links.as_ref().map_or(&[][..], links::LinkReader::ids);
        if !self.owner_cache.due(prog_ids, link_ids, self.owners_every) {
            return;
        }
        // Charged by the CPU time the walk used (the iterator runs in this
        // thread's system time), not its wall time, which grows with the
        // machine's load; wall time only where the clock is missing.
        let started = std::time::Instant::now();
        let cpu_before = crate::sys::thread_cpu_time();
        let cost = || match (cpu_before, crate::sys::thread_cpu_time()) {
            (Some(before), Some(after)) => after.saturating_sub(before),
            _ => started.elapsed(),
        };
        let failure = match owners.read(&mut self.buf) {
            Ok(read) => {
                let cost = cost();
                self.owner_cache
                    .keep(&read.pairs, prog_ids.to_vec(), link_ids, boottime_ns, cost);
                self.perf_attachments = perf_attachments(read.perf);
                None
            }
            Err(err) => {
                // Held back like a read that worked: a read that fails after
                // a long walk must not be tried again every pass.
                self.owner_cache.failed(cost());
                Some(format!("could not read owning processes: {err}"))
            }
        };
        self.warnings.extend(self.owners_failing.update(failure));
    }

    /// Facts of the programs not seen before; forgets programs that left.
    fn new_facts(&mut self, programs: &[ProgramSample], prog_ids: Vec<u32>) -> Vec<ProgramFacts> {
        let Some(reader) = &mut self.facts else {
            return Vec::new();
        };
        // The same programs as last pass, every one's facts sent: nothing
        // to look at (the common pass on a steady host).
        if prog_ids == self.facts_ids && self.facts_sent.len() == programs.len() {
            return Vec::new();
        }
        self.facts_ids = prog_ids;
        // One merge of two key-sorted lists (programs are sorted by id and
        // unique): no hashing of every program every pass.
        let mut kept = Vec::with_capacity(programs.len());
        let mut wanted = Vec::new();
        let mut sent = self.facts_sent.iter().peekable();
        for program in programs {
            let key = ProgramKey::of(program);
            while sent.next_if(|k| **k < key).is_some() {}
            if sent.next_if(|k| **k == key).is_some() {
                kept.push(key);
            } else {
                wanted.push(program);
            }
        }
        let ids: Vec<u32> = wanted.iter().map(|p| p.id).collect();
        let (mut found, failed) = reader.read(&ids);
        let mut out = Vec::new();
        for program in wanted {
            match found.remove(&program.id) {
                // A different program under a reused id is read next pass.
                Some(facts) if facts.load_time_ns == program.load_time_ns => {
                    kept.push(ProgramKey::of(program));
                    out.push(facts);
                }
                _ => {}
            }
        }
        kept.sort_unstable();
        self.facts_sent = kept;
        let failure = failed.map(|err| format!("could not read program facts: {err}"));
        self.warnings.extend(self.facts_failing.update(failure));
        out
    }

    /// Every link; `None` when they could not be read (the warning says
    /// so) or this sampler reads none.
    fn read_links(&mut self, describe_all: bool) -> Option<Vec<LinkFacts>> {
        let reader = self.links.as_mut()?;
        match reader.read(describe_all) {
            Ok(links) => {
                self.links_failing.update(None);
                let unseen = reader.unreachable_netns();
                let unseen = (!unseen.is_empty()).then(|| {
                    format!(
                        "XDP and tc programs in network namespace {} are not shown: it was \
                         named after the sampler gave up the privilege to enter it (restart \
                         bpfscope to see them)",
                        unseen.join(", ")
                    )
                });
                self.warnings.extend(self.netns_unseen.update(unseen));
                let trouble = reader.trouble();
                self.warnings.extend(self.attached_failing.update(trouble));
                Some(links)
            }
            Err(err) => {
                let failure = Some(format!("could not read BPF links: {err}"));
                self.warnings.extend(self.links_failing.update(failure));
                None
            }
        }
    }

    /// `links` and the perf events running programs, when they differ from
    /// what was last sent.
    fn changed_links(&mut self, links: Option<Vec<LinkFacts>>) -> Option<Vec<LinkFacts>> {
        let mut links = links?;
        // A perf-event link keeps its perf event open in the process that
        // made it: that event is the link, not a second attachment.
        let by_link = |p: &LinkFacts| {
            links.iter().any(|l| {
                l.via == AttachVia::Link
                    && l.link_type == "perf_event"
                    && l.prog_id == p.prog_id
                    && l.attach_type == p.attach_type
                    && l.target == p.target
            })
        };
        let perf: Vec<LinkFacts> = self
            .perf_attachments
            .iter()
            .filter(|p| !by_link(p))
            .cloned()
            .collect();
        links.extend(perf);
        if let Some(progs) = &self.progs {
            links.extend(progs.indirect().iter().flat_map(indirect_words));
        }
        links.sort_unstable();
        if self.links_sent.as_ref() == Some(&links) {
            return None;
        }
        self.links_sent = Some(links.clone());
        Some(links)
    }
}

/// How a program runs without an attachment of its own: from a program
/// array (a tail call) or in place of another (freplace).
fn indirect_words(p: &iter::Indirect) -> Vec<LinkFacts> {
    let mut out = Vec::new();
    if p.prog_array_refs > 0 {
        let arrays = if p.prog_array_refs == 1 {
            "1 program array".to_owned()
        } else {
            format!("{} program arrays", p.prog_array_refs)
        };
        out.push(LinkFacts {
            prog_id: p.id,
            id: 0,
            link_type: "tail_call".to_owned(),
            attach_type: Some("tail call target".to_owned()),
            target: format!("in {arrays}"),
            via: AttachVia::TailCall,
        });
    }
    if p.extended {
        out.push(LinkFacts {
            prog_id: p.id,
            id: 0,
            link_type: "freplace".to_owned(),
            attach_type: Some("freplace target".to_owned()),
            target: "an extension program replaces one of its functions".to_owned(),
            via: AttachVia::Freplace,
        });
    }
    out
}

/// Perf events as attachments, one per program, process and target (a
/// probe opened on every CPU is one attachment, named by its first fd).
fn perf_attachments(mut perf: Vec<owners::PerfAttachment>) -> Vec<LinkFacts> {
    perf.sort_unstable_by(|a, b| {
        (a.prog_id, a.pid, a.kind, a.num, &a.text, a.fd)
            .cmp(&(b.prog_id, b.pid, b.kind, b.num, &b.text, b.fd))
    });
    let mut out: Vec<LinkFacts> = Vec::with_capacity(perf.len());
    for p in perf {
        let attach_type = link_targets::perf_kind(p.kind).map(str::to_owned);
        let target = link_targets::perf_target(p.kind, p.perf_type, p.num, p.text);
        let same = |l: &LinkFacts| {
            l.prog_id == p.prog_id
                && matches!(l.via, AttachVia::PerfEvent { pid, .. } if pid == p.pid)
                && l.attach_type == attach_type
                && l.target == target
        };
        if out.last().is_some_and(same) {
            continue;
        }
        out.push(LinkFacts {
            prog_id: p.prog_id,
            id: 0,
            link_type: "perf_event".to_owned(),
            attach_type,
            target,
            via: AttachVia::PerfEvent {
                pid: p.pid,
                fd: p.fd,
            },
        });
    }
    out
}

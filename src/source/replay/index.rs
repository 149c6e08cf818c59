//! One pass over a recording when it opens: when every sample was taken,
//! which block holds it, where programs came and went, the facts of every
//! program and the samples whose links apply, so that any moment can be
//! rebuilt later from the blocks just before it.

use std::collections::HashMap;
use std::io::{Read, Seek};

use crate::model::{
    ProgramFacts, ProgramKey, Sample, SourceEvent, SourceInfo, TIMELINE_MARKERS_MAX, TimePoint,
    TimelineMarker,
};
use crate::record::{BlockPos, Next, RecordingReader};

/// Facts kept for the programs of a recording at most (a day of heavy
/// churn), and their bytes (a hostile file's facts can be large and
/// compress to nothing); later programs replay without them after a seek.
pub const FACTS_KEPT: usize = 200_000;
pub const FACTS_BYTES_MAX: usize = 128 << 20;

/// Samples a replay indexes at most (a week at 1 s, a day at 0.1 s): a
/// recording of more, or a hostile file of countless empty samples, is
/// replayed up to there.
pub const SAMPLES_MAX: usize = 1_000_000;
/// Hellos (sampler restarts) kept at most; later ones are not shown.
pub const HELLOS_MAX: usize = 10_000;

/// Where a block starts, and the number of the first sample after its
/// start.
#[derive(Clone, Copy, Debug)]
pub struct BlockStart {
    pub pos: BlockPos,
    pub first_sample: usize,
}

/// What the pass found.
#[derive(Debug, Default)]
pub struct Index {
    pub points: Vec<TimePoint>,
    /// For each sample: the index in `blocks` of the block holding it.
    pub block_of: Vec<u32>,
    /// For each sample: the latest sample at or before it that carried the
    /// links (none before the first that did).
    pub links_from: Vec<Option<u32>>,
    pub blocks: Vec<BlockStart>,
    pub markers: Vec<TimelineMarker>,
    pub markers_dropped: usize,
    pub facts: HashMap<ProgramKey, ProgramFacts>,
    /// What the facts kept take, roughly.
    pub facts_bytes: usize,
    /// Each Hello, with the number of the first sample after it.
    pub hellos: Vec<(usize, SourceInfo)>,
    /// Why the file stops early.
    pub stopped: Option<String>,
}

impl Index {
    /// The Hello that applies to sample `sample`, and the first sample it
    /// applies to.
    #[must_use]
    pub fn hello_for(&self, sample: usize) -> Option<(usize, &SourceInfo)> {
        self.hellos
            .iter()
            .rev()
            .find(|(first, _)| *first <= sample)
            .map(|(first, info)| (*first, info))
    }
}

/// Reads every event of `reader` (positioned after the header); `progress`
/// is asked after every event (with the byte offset of each new block) and
/// stops the pass by returning `false`.
pub fn build<R: Read + Seek>(
    reader: &mut RecordingReader<R>,
    mut progress: impl FnMut(Option<u64>) -> bool,
) -> Option<Index> {
    let mut index = Index::default();
    let mut previous: Vec<(ProgramKey, String)> = Vec::new();
    let mut links_at: Option<u32> = None;
    let mut block = 0u64;
    loop {
        let event = match reader.next_event() {
            Next::Event(event) => event,
            Next::End => break,
            Next::Stopped(why) => {
                index.stopped = Some(why.to_string());
                break;
            }
        };
        let pos = reader.position();
        let new_block = pos.number != block;
        if new_block {
            block = pos.number;
            index.blocks.push(BlockStart {
                pos,
                first_sample: index.points.len(),
            });
        }
        // Asked on every event (cheap): a block can hold a million.
        if !progress(new_block.then_some(pos.offset)) {
            return None;
        }
        match event {
            SourceEvent::Hello(info) => {
                // A restarted sampler sends its links again.
                links_at = None;
                if index.hellos.len() < HELLOS_MAX {
                    index.hellos.push((index.points.len(), info));
                }
            }
            SourceEvent::Sample(_) if index.points.len() >= SAMPLES_MAX => {
                index.stopped = Some(format!(
                    "the recording has more than {SAMPLES_MAX} samples; shown up to {}",
                    index
                        .points
                        .last()
                        .map_or_else(String::new, |p| crate::model::rfc3339(p.wall))
                ));
                break;
            }
            SourceEvent::Facts(facts) => keep_facts(&mut index, facts),
            SourceEvent::Sample(sample) => {
                let number = index.points.len();
                if sample.links.is_some() {
                    links_at = u32::try_from(number).ok();
                }
                index.links_from.push(links_at);
                index
                    .block_of
                    .push(u32::try_from(index.blocks.len().saturating_sub(1)).unwrap_or(u32::MAX));
                index.points.push(TimePoint {
                    boottime_ns: sample.boottime_ns,
                    wall: sample.taken_at,
                });
                let current = keys(&sample);
                if number > 0 {
                    changes(&previous, &current, number, &mut index);
                }
                previous = current;
                keep_facts(&mut index, sample.facts);
            }
            SourceEvent::Warning(_) | SourceEvent::Error(_) => {}
        }
    }
    Some(index)
}

/// The first sample of a rebuilt moment gets the facts of every program it
/// lists: they were sent once, when each program was new.
pub fn with_known_facts(sample: &mut Sample, index: &Index) {
    let has: std::collections::HashSet<ProgramKey> = sample
        .facts
        .iter()
        .map(|f| ProgramKey {
            id: f.id,
            load_time_ns: f.load_time_ns,
        })
        .collect();
    for program in &sample.programs {
        let key = ProgramKey::of(program);
        if !has.contains(&key)
            && let Some(facts) = index.facts.get(&key)
        {
            sample.facts.push(facts.clone());
        }
    }
}

fn keep_facts(index: &mut Index, facts: Vec<ProgramFacts>) {
    for facts in facts {
        let key = ProgramKey {
            id: facts.id,
            load_time_ns: facts.load_time_ns,
        };
        let size = facts.approx_bytes();
        let room = index.facts.len() < FACTS_KEPT && index.facts_bytes + size <= FACTS_BYTES_MAX;
        if room && let Some(old) = index.facts.insert(key, facts) {
            index.facts_bytes = index.facts_bytes.saturating_sub(old.approx_bytes());
        }
        if room {
            index.facts_bytes += size;
        }
    }
}

fn keys(sample: &Sample) -> Vec<(ProgramKey, String)> {
    let mut keys: Vec<_> = sample
        .programs
        .iter()
        .map(|p| (ProgramKey::of(p), p.name.to_string()))
        .collect();
    keys.sort_unstable_by_key(|(key, _)| *key);
    keys
}

/// Markers for the programs in one list and not the other (both sorted).
fn changes(
    before: &[(ProgramKey, String)],
    after: &[(ProgramKey, String)],
    sample: usize,
    index: &mut Index,
) {
    let mut mark = |(key, name): &(ProgramKey, String), loaded: bool| {
        if index.markers.len() < TIMELINE_MARKERS_MAX {
            index.markers.push(TimelineMarker {
                sample,
                loaded,
                id: key.id,
                name: name.clone(),
            });
        } else {
            index.markers_dropped += 1;
        }
    };
    let (mut i, mut j) = (0, 0);
    while i < before.len() || j < after.len() {
        match (before.get(i), after.get(j)) {
            (Some(b), Some(a)) if b.0 == a.0 => {
                i += 1;
                j += 1;
            }
            (Some(b), Some(a)) if b.0 < a.0 => {
                mark(b, false);
                i += 1;
            }
            (Some(b), None) => {
                mark(b, false);
                i += 1;
            }
            (_, Some(a)) => {
                mark(a, true);
                j += 1;
            }
            (None, None) => break,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{Enumeration, SourceInfo, StatsMode};
    use crate::record::Recorder;
    use crate::test_support::{program, sample_at};

    fn hello() -> SourceEvent {
        SourceEvent::Hello(SourceInfo {
            stats_mode: StatsMode::Syscall,
            enumeration: Enumeration::Iterator,
            owners_available: true,
            kernel_release: "6.18".into(),
            online_cpus: 2,
            notices: Vec::new(),
            accounting: crate::model::AccountingCost::Measured {
                without_ns: 12,
                with_ns: 40,
            },
        })
    }

    #[test]
    fn the_index_knows_each_samples_block_links_markers_and_restarts() {
        let mut recorder = Recorder::new(Vec::new(), "h".into());
        recorder.record(hello()).unwrap();
        for n in 0..12u64 {
            // Program 2 from sample 3; id 3 reused (a new load) at 6.
            let mut programs = vec![program(1).name("one").build()];
            if n >= 3 {
                programs.push(program(2).name("two").build());
            }
            programs.push(
                program(3)
                    .name("three")
                    .loaded_at(if n >= 6 { 50 } else { 5 })
                    .build(),
            );
            let mut sample = sample_at(n, programs);
            if n == 0 || n == 7 {
                sample.links = Some(Vec::new());
            }
            if n == 8 {
                recorder.record(hello()).unwrap();
            }
            recorder.record(SourceEvent::Sample(sample)).unwrap();
            if n % 4 == 3 {
                recorder.end_block().unwrap();
            }
        }
        recorder.finish().unwrap();
        let bytes = recorder.into_inner();
        let bytes_again = bytes.clone();
        let mut reader = RecordingReader::new(std::io::Cursor::new(bytes)).unwrap();
        let index = build(&mut reader, |_| true).unwrap();
        assert_eq!(index.points.len(), 12);
        assert_eq!(index.blocks.len(), 3);
        assert_eq!(index.block_of, [0, 0, 0, 0, 1, 1, 1, 1, 2, 2, 2, 2]);
        assert_eq!(
            index
                .blocks
                .iter()
                .map(|b| b.first_sample)
                .collect::<Vec<_>>(),
            [0, 4, 8]
        );
        let links: Vec<Option<u32>> = index.links_from.clone();
        assert_eq!(links[0], Some(0));
        assert_eq!(links[6], Some(0));
        assert_eq!(links[7], Some(7));
        // A restarted sampler's links are its own (it sends them again).
        assert_eq!(links[8], None);
        assert_eq!(links[11], None);
        let marks: Vec<(usize, bool, u32)> = index
            .markers
            .iter()
            .map(|m| (m.sample, m.loaded, m.id))
            .collect();
        assert_eq!(marks, [(3, true, 2), (6, false, 3), (6, true, 3)]);
        assert_eq!(
            index.hellos.iter().map(|(at, _)| *at).collect::<Vec<_>>(),
            [0, 8]
        );
        assert_eq!(index.hello_for(9).map(|(at, _)| at), Some(8));
        assert!(index.stopped.is_none());
        // A pass the window stops (it closed) gives no index.
        let mut reader = RecordingReader::new(std::io::Cursor::new(bytes_again)).unwrap();
        assert!(build(&mut reader, |_| false).is_none());
    }
}

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
/// churn); later programs replay without them after a seek.
pub const FACTS_KEPT: usize = 200_000;

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
/// hears the byte offset of each new block and may stop the pass by
/// returning `false`.
pub fn build<R: Read + Seek>(
    reader: &mut RecordingReader<R>,
    mut progress: impl FnMut(u64) -> bool,
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
                index.stopped = Some(why);
                break;
            }
        };
        let pos = reader.position();
        if pos.number != block {
            block = pos.number;
            index.blocks.push(BlockStart {
                pos,
                first_sample: index.points.len(),
            });
            if !progress(pos.offset) {
                return None;
            }
        }
        match event {
            SourceEvent::Hello(info) => index.hellos.push((index.points.len(), info)),
            SourceEvent::Facts(facts) => keep_facts(&mut index.facts, facts),
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
                keep_facts(&mut index.facts, sample.facts);
            }
            SourceEvent::Warning(_) | SourceEvent::Error(_) => {}
        }
    }
    Some(index)
}

fn keep_facts(kept: &mut HashMap<ProgramKey, ProgramFacts>, facts: Vec<ProgramFacts>) {
    for facts in facts {
        let key = ProgramKey {
            id: facts.id,
            load_time_ns: facts.load_time_ns,
        };
        if kept.len() < FACTS_KEPT || kept.contains_key(&key) {
            kept.insert(key, facts);
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

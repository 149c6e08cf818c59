//! Hostile input, end to end: a million frames, well formed and then
//! mutated byte by byte, decoded as the window decodes the helper's output
//! and fed through the store, the table model and both CSV writers. Nothing
//! may panic; whatever does not decode or validate is an error.

#![allow(clippy::expect_used, clippy::unwrap_used)] // tests fail loudly by design

use std::time::{Duration, SystemTime};

use bpfscope::model::{LinkFacts, MapFacts, ProgramFacts, Sample};
use bpfscope::protocol::{Frame, PROTOCOL_VERSION, decode_payload, encode, validate};
use bpfscope::test_support::{Consumer, program};

/// xorshift64*: a fixed sequence, so a failure names its input.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }

    /// A value from a few that break code: the edges of u64 and small ones.
    fn edgy(&mut self) -> u64 {
        match self.next() % 6 {
            0 => 0,
            1 => u64::MAX,
            2 => u64::MAX - self.next() % 1000,
            3 => self.next() % 10,
            4 => self.next() >> (self.next() % 64),
            _ => self.next(),
        }
    }

    fn text(&mut self) -> String {
        const PIECES: [&str; 8] = ["=cmd", ";", "\u{1b}[2J", "é", "", "a", "\0", "-1"];
        (0..self.next() % 6)
            .map(|_| PIECES[(self.next() % 8) as usize])
            .collect()
    }
}

fn frame(rng: &mut Rng) -> Frame {
    if rng.next().is_multiple_of(10) {
        return Frame::Warning(rng.text());
    }
    let programs = (0..rng.next() % 8)
        .map(|_| {
            let id = (rng.next() % 12) as u32;
            program(id)
                .kind((rng.next() % 40) as u32)
                .name(&rng.text())
                .loaded_at(rng.edgy())
                .ran(rng.edgy(), rng.edgy())
                .misses(rng.edgy())
                .owner((rng.next() % 5) as u32, &rng.text())
                .build()
        })
        .collect();
    let facts = (0..rng.next() % 3)
        .map(|_| ProgramFacts {
            id: (rng.next() % 12) as u32,
            load_time_ns: rng.edgy(),
            full_name: Some(rng.text()),
            memlock_bytes: Some(rng.edgy()),
            maps: vec![MapFacts {
                name: rng.text(),
                ..MapFacts::default()
            }],
            ..ProgramFacts::default()
        })
        .collect();
    let links = rng.next().is_multiple_of(2).then(|| {
        vec![LinkFacts {
            prog_id: (rng.next() % 12) as u32,
            id: 1,
            link_type: rng.text(),
            attach_type: None,
            target: rng.text(),
            via: bpfscope::model::AttachVia::Link,
        }]
    });
    Frame::Sample(Sample {
        taken_at: SystemTime::UNIX_EPOCH + Duration::from_secs(rng.edgy() % (1 << 36)),
        boottime_ns: rng.edgy(),
        period: Duration::from_millis(rng.edgy() % 4_000_000),
        programs,
        facts,
        links,
        owners_read_ns: rng.next().is_multiple_of(2).then(|| rng.edgy()),
        pass_ns: 0,
        per_cpu: None,
        stats_on_ns: None,
    })
}

#[test]
fn a_million_hostile_frames_reach_every_consumer_without_a_panic() {
    let mut rng = Rng(0x9e37_79b9_7f4a_7c15);
    let mut consumer = Consumer::default();
    let (mut taken, mut refused) = (0u32, 0u32);
    for _ in 0..1_000_000 {
        let mut bytes = encode(&frame(&mut rng)).expect("encodes");
        // Mutate a few bytes of the payload (after the length prefix).
        for _ in 0..rng.next() % 4 {
            if bytes.len() > 4 {
                let at = 4 + (rng.next() as usize) % (bytes.len() - 4);
                bytes[at] = rng.next() as u8;
            }
        }
        let decoded = decode_payload(&bytes[4..], PROTOCOL_VERSION).and_then(|mut frame| {
            validate(&mut frame)?;
            Ok(frame)
        });
        match decoded {
            Ok(frame) => {
                consumer.take(frame);
                taken += 1;
            }
            Err(_) => refused += 1,
        }
    }
    // Both kinds happen: the test reaches the consumers and the checks.
    assert!(taken > 100_000, "only {taken} frames were taken");
    assert!(refused > 10_000, "only {refused} frames were refused");
}

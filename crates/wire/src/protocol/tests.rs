use std::time::{Duration, SystemTime};

use super::*;
use crate::model::{Enumeration, StatsMode};

fn hello() -> Frame {
    Frame::Hello(Hello {
        protocol_version: PROTOCOL_VERSION,
        bpfscope_version: "0.1.0".into(),
        source: SourceInfo {
            stats_mode: StatsMode::Syscall,
            enumeration: Enumeration::Iterator,
            owners_available: true,
            kernel_release: "6.18.0".into(),
            online_cpus: 2,
            notices: vec!["a notice".into()],
            accounting: crate::model::AccountingCost::Measured {
                without_ns: 12,
                with_ns: 40,
            },
        },
    })
}

fn sample(programs: u32) -> Frame {
    Frame::Sample(Sample {
        taken_at: SystemTime::UNIX_EPOCH + Duration::from_nanos(1_764_000_000_123_456_789),
        boottime_ns: 42,
        period: Duration::from_millis(1500),
        owners_read_ns: Some(40),
        pass_ns: 0,
        per_cpu: None,
        stats_on_ns: None,
        facts: vec![crate::model::ProgramFacts {
            id: 1,
            full_name: Some("handle_a_very_long_name".into()),
            maps: vec![crate::model::MapFacts {
                id: 9,
                name: "counts".into(),
                map_type: "hash".into(),
                ..Default::default()
            }],
            ..Default::default()
        }],
        links: Some(vec![crate::model::LinkFacts {
            prog_id: 1,
            id: 3,
            link_type: "xdp".into(),
            attach_type: None,
            target: "veth0 (netns blue)".into(),
            via: crate::model::AttachVia::Link,
        }]),
        programs: (0..programs)
            .map(|id| {
                crate::test_support::program(id)
                    .kind(id % 40)
                    .name("xdp_é_prog")
                    .tag([id as u8; 8])
                    .loaded_at(u64::MAX - u64::from(id))
                    .ran(1000, u64::MAX)
                    .owner(id, "agent")
                    .own(id == 0)
                    .build()
            })
            .collect(),
    })
}

fn stream(frames: &[Frame]) -> Vec<u8> {
    frames
        .iter()
        .flat_map(|f| encode(f).expect("encode"))
        .collect()
}

fn read_all(bytes: &[u8]) -> Result<Vec<Frame>, ProtocolError> {
    let mut reader = FrameReader::new(bytes);
    let mut frames = Vec::new();
    while let Some(frame) = reader.next_frame()? {
        frames.push(frame);
    }
    Ok(frames)
}

#[test]
fn frames_round_trip_in_order() {
    let frames = vec![hello(), sample(3), Frame::Error("boom".into()), sample(0)];
    assert_eq!(read_all(&stream(&frames)).expect("valid"), frames);
    assert_eq!(read_all(&[]).expect("empty is a clean end"), vec![]);
}

#[test]
fn the_length_prefix_is_little_endian() {
    let bytes = encode(&Frame::Error(String::new())).expect("encode");
    let len = u32::from_le_bytes(bytes[..4].try_into().expect("4 bytes"));
    assert_eq!(len as usize, bytes.len() - 4);
}

#[test]
fn the_first_frame_must_be_a_hello_of_this_version() {
    let err = read_all(&stream(&[sample(1)])).expect_err("no hello");
    assert!(matches!(err, ProtocolError::NoHello), "{err}");
    let mut old = hello();
    if let Frame::Hello(h) = &mut old {
        h.protocol_version = 99;
    }
    let err = read_all(&stream(&[old])).expect_err("wrong version");
    assert!(matches!(err, ProtocolError::Version { got: 99 }), "{err}");
    assert!(err.to_string().contains("protocol 99"), "{err}");
}

#[test]
fn every_truncation_of_a_valid_stream_is_an_error_or_a_clean_prefix() {
    let bytes = stream(&[hello(), sample(5), Frame::Error("x".into())]);
    for cut in 0..bytes.len() {
        match read_all(&bytes[..cut]) {
            Ok(frames) => assert!(frames.len() < 3, "cut {cut}"),
            Err(ProtocolError::Truncated { .. }) => {}
            Err(other) => panic!("cut {cut}: unexpected {other}"),
        }
    }
}

#[test]
fn oversized_lengths_are_refused_before_reading() {
    let mut bytes = (MAX_FRAME_BYTES + 1).to_le_bytes().to_vec();
    bytes.extend([0u8; 16]);
    let err = read_all(&bytes).expect_err("oversized");
    assert!(matches!(err, ProtocolError::Oversized(_)), "{err}");
    // A length within the limit but far beyond the data: truncated, and
    // only the bytes that came were buffered.
    let mut bytes = MAX_FRAME_BYTES.to_le_bytes().to_vec();
    bytes.extend([1u8; 10]);
    let err = read_all(&bytes).expect_err("truncated");
    assert!(
        matches!(err, ProtocolError::Truncated { got: 10, .. }),
        "{err}"
    );
}

#[test]
fn trailing_bytes_inside_a_frame_are_garbage() {
    let mut bytes = encode(&hello()).expect("encode");
    bytes.push(0);
    let len = u32::try_from(bytes.len() - 4).expect("small");
    bytes[..4].copy_from_slice(&len.to_le_bytes());
    let err = read_all(&bytes).expect_err("trailing");
    assert!(matches!(err, ProtocolError::Garbage(_)), "{err}");
}

/// xorshift64*: deterministic pseudo-random bytes for the property tests.
struct Rng(u64);
impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }
}

#[test]
fn a_hundred_thousand_hostile_inputs_never_panic() {
    let mut rng = Rng(0x9e37_79b9_7f4a_7c15);
    let valid = stream(&[hello(), sample(4), Frame::Error("e".into())]);
    let mut errors = 0;
    for round in 0..100_000u32 {
        let input: Vec<u8> = match round % 4 {
            // Pure noise.
            0 => (0..rng.next() % 64).map(|_| rng.next() as u8).collect(),
            // A valid stream with bytes flipped.
            1 => {
                let mut v = valid.clone();
                for _ in 0..=rng.next() % 4 {
                    let at = (rng.next() as usize) % v.len();
                    v[at] ^= (rng.next() as u8) | 1;
                }
                v
            }
            // A valid stream cut anywhere.
            2 => valid[..(rng.next() as usize) % valid.len()].to_vec(),
            // A plausible prefix claiming a random length, then noise.
            _ => {
                let len = (rng.next() as u32) % (MAX_FRAME_BYTES * 2);
                let mut v = len.to_le_bytes().to_vec();
                v.extend((0..rng.next() % 32).map(|_| rng.next() as u8));
                v
            }
        };
        if read_all(&input).is_err() {
            errors += 1;
        }
        // The payload decoder alone, on the raw noise.
        let _ = decode_payload(&input, PROTOCOL_VERSION);
        let _ = decode_payload(&input, OLDEST_PROTOCOL);
    }
    assert!(
        errors > 50_000,
        "hostile inputs should mostly be refused ({errors})"
    );
}

#[test]
fn a_sample_too_large_for_one_frame_goes_as_facts_first_and_reads_back_whole() {
    let Frame::Sample(mut big) = sample(50) else {
        unreachable!()
    };
    big.facts = (0..200)
        .map(|id| crate::model::ProgramFacts {
            id,
            load_time_ns: u64::MAX - u64::from(id),
            full_name: Some(format!("a_long_function_name_{id:0>40}")),
            ..Default::default()
        })
        .collect();
    let whole = encode(&Frame::Sample(big.clone())).unwrap().len() - 4;
    let max = u32::try_from(whole / 5).unwrap();
    let frames = sample_frames(big.clone(), max).expect("splits");
    assert!(frames.len() > 5, "{} frames", frames.len());
    assert!(matches!(frames.last(), Some(Frame::Sample(s)) if s.facts.is_empty()));
    // Each fits, and the store sees every fact with the sample.
    let mut stream = encode(&hello()).unwrap();
    for frame in &frames {
        assert!(encode(frame).unwrap().len() - 4 <= max as usize);
        stream.extend(encode(frame).unwrap());
    }
    // Every fact arrives, ahead of the sample (the store joins them: its
    // test `facts_sent_ahead_of_their_sample_join_it`).
    let mut reader = FrameReader::new(&stream[..]);
    let mut facts = Vec::new();
    let mut programs = None;
    while let Some(frame) = reader.next_frame().expect("reads") {
        match SourceEvent::from(frame) {
            SourceEvent::Facts(chunk) => {
                assert!(programs.is_none(), "facts come before the sample");
                facts.extend(chunk.into_iter().map(|f| f.id));
            }
            SourceEvent::Sample(sample) => programs = Some(sample.programs.len()),
            _ => {}
        }
    }
    assert_eq!(facts, (0..200).collect::<Vec<_>>(), "every fact, in order");
    assert_eq!(programs, Some(50));
    // A sample that fits is one frame.
    assert_eq!(sample_frames(big, u32::MAX).unwrap().len(), 1);
}

/// Every frame of `frames` in protocol 7's layout, length-prefixed, as a
/// helper of that protocol wrote them.
fn stream_v7(frames: &[Frame]) -> Vec<u8> {
    let mut out = Vec::new();
    for frame in frames {
        let mut frame = frame.clone();
        if let Frame::Hello(hello) = &mut frame {
            hello.protocol_version = 7;
        }
        out.extend(encode_as(&frame, 7).expect("encodes"));
    }
    out
}

#[test]
fn a_protocol_7_stream_reads_as_the_same_frames() {
    let frames = [hello(), sample(5), Frame::Warning("w".into()), sample(2)];
    let read = read_all(&stream_v7(&frames)).expect("protocol 7 reads");
    let Frame::Hello(first) = &read[0] else {
        panic!("{:?}", read[0])
    };
    assert_eq!(first.protocol_version, 7);
    assert_eq!(
        first.bpfscope_version, "",
        "protocol 7 does not say its release"
    );
    let Frame::Hello(sent) = &frames[0] else {
        unreachable!()
    };
    assert_eq!(first.source, sent.source);
    assert_eq!(&read[1..], &frames[1..]);
}

#[test]
fn a_protocol_6_hello_is_refused_in_words_of_both_versions() {
    // Protocol 6's Hello, as any protocol's: message 0, the version first.
    let mut payload = postcard::to_stdvec(&(0u32, 6u32)).expect("encodes");
    payload.extend([0u8; 8]);
    let mut bytes = u32::try_from(payload.len())
        .expect("fits")
        .to_le_bytes()
        .to_vec();
    bytes.extend(payload);
    let err = read_all(&bytes).expect_err("too old");
    assert!(matches!(err, ProtocolError::Version { got: 6 }), "{err}");
    let said = err.to_string();
    assert!(said.contains("protocol 6"), "{said}");
    assert!(
        said.contains(&format!("protocols 7 to {PROTOCOL_VERSION}")),
        "{said}"
    );
}

#[test]
fn encode_sample_gives_the_bytes_of_the_frames_that_carry_the_sample() {
    let Frame::Sample(mut small) = sample(3) else {
        unreachable!()
    };
    small.facts = (0..100)
        .map(|id| crate::model::ProgramFacts {
            id,
            full_name: Some(format!("a_long_function_name_{id:0>40}")),
            ..Default::default()
        })
        .collect();
    let one = encode_sample(small.clone(), MAX_FRAME_BYTES).unwrap();
    assert_eq!(one, vec![encode(&Frame::Sample(small.clone())).unwrap()]);
    let max = u32::try_from(encode(&Frame::Sample(small.clone())).unwrap().len() / 4).unwrap();
    let split = encode_sample(small.clone(), max).unwrap();
    let expected: Vec<Vec<u8>> = sample_frames(small, max)
        .unwrap()
        .iter()
        .map(|frame| encode(frame).unwrap())
        .collect();
    assert!(split.len() > 1);
    assert_eq!(split, expected);
}

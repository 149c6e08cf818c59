#![allow(clippy::unwrap_used, clippy::expect_used)]

use super::*;
use crate::model::{Enumeration, SourceEvent, SourceInfo, StatsMode};

fn hello() -> SourceEvent {
    SourceEvent::Hello(SourceInfo {
        stats_mode: StatsMode::Syscall,
        enumeration: Enumeration::Iterator,
        owners_available: true,
        kernel_release: "6.18.0-test".into(),
        online_cpus: 2,
        notices: vec!["a notice".into()],
        accounting: crate::model::AccountingCost::Measured {
            without_ns: 12,
            with_ns: 40,
        },
    })
}

fn sample(n: u64) -> SourceEvent {
    let program = crate::test_support::program(7)
        .name("xdp_fw")
        .ran(1_000 * n, 50_000 * n)
        .owner(42, "agent")
        .build();
    SourceEvent::Sample(crate::model::Sample {
        taken_at: SystemTime::UNIX_EPOCH + Duration::from_secs(1_764_000_000 + n),
        boottime_ns: 1_000_000_000 * (n + 1),
        period: Duration::from_secs(1),
        programs: vec![program],
        facts: Vec::new(),
        links: None,
        owners_read_ns: None,
        pass_ns: 1_000,
        per_cpu: None,
        stats_on_ns: None,
    })
}

/// A recording of a hello and `n` samples, one block per `per_block`.
fn recording(n: u64, per_block: u64) -> Vec<u8> {
    let mut recorder = Recorder::new(Vec::new(), "node-1".into());
    recorder.record(hello()).unwrap();
    for i in 0..n {
        recorder.record(sample(i)).unwrap();
        if (i + 1) % per_block == 0 {
            recorder.end_block().unwrap();
        }
    }
    recorder.finish().unwrap();
    recorder.into_inner()
}

fn read_all(bytes: &[u8]) -> (Vec<SourceEvent>, Option<Stopped>) {
    let mut reader = RecordingReader::new(bytes).unwrap();
    let mut events = Vec::new();
    loop {
        match reader.next_event() {
            Next::Event(event) => events.push(event),
            Next::End => return (events, None),
            Next::Stopped(why) => return (events, Some(why)),
        }
    }
}

#[test]
fn what_is_recorded_reads_back_the_same_with_its_header() {
    let bytes = recording(10, 3);
    let reader = RecordingReader::new(&bytes[..]).unwrap();
    assert_eq!(reader.header.host, "node-1");
    assert_eq!(reader.header.kernel_release, "6.18.0-test");
    assert_eq!(reader.header.online_cpus, 2);
    let (events, stopped) = read_all(&bytes);
    assert!(stopped.is_none(), "{stopped:?}");
    assert_eq!(events[0], hello());
    let samples: Vec<&SourceEvent> = events[1..].iter().collect();
    assert_eq!(samples.len(), 10);
    for (i, event) in samples.iter().enumerate() {
        assert_eq!(**event, sample(i as u64));
    }
}

#[test]
fn a_file_cut_at_any_byte_loads_its_whole_blocks_and_says_where_it_stops() {
    let bytes = recording(12, 4);
    let (all, _) = read_all(&bytes);
    let header_end = MAGIC.len() + 8 + {
        let len = &bytes[MAGIC.len() + 4..MAGIC.len() + 8];
        u32::from_le_bytes([len[0], len[1], len[2], len[3]]) as usize
    };
    for cut in header_end + 1..bytes.len() {
        let (events, stopped) = read_all(&bytes[..cut]);
        // Whole blocks of four samples (the first with the hello) only.
        let samples = events.len().saturating_sub(1);
        assert_eq!(samples % 4, 0, "cut at {cut}: {samples} samples");
        assert_eq!(events[..], all[..events.len()], "cut at {cut}");
        let stopped = stopped.unwrap_or_else(|| panic!("cut at {cut}: no message"));
        assert!(
            matches!(
                stopped.why,
                RecordError::NoEndMark { .. }
                    | RecordError::CutInBlock { .. }
                    | RecordError::CutInEndMark { .. }
            ),
            "{stopped}"
        );
        assert!(stopped.to_string().contains("the recording stops at byte"));
        assert_eq!(stopped.shown_up_to.is_some(), samples > 0, "{stopped}");
        let said = stopped.to_string();
        assert!(
            samples == 0 && said.contains("nothing was recorded") || said.contains("shown up to"),
            "{said}"
        );
    }
}

#[test]
fn damaged_blocks_stop_the_reading_with_a_message_and_never_panic() {
    let bytes = recording(8, 4);
    let header_end = MAGIC.len() + 8 + {
        let len = &bytes[MAGIC.len() + 4..MAGIC.len() + 8];
        u32::from_le_bytes([len[0], len[1], len[2], len[3]]) as usize
    };
    for at in header_end..bytes.len() {
        for flip in [0x01u8, 0x80, 0xff] {
            let mut damaged = bytes.clone();
            damaged[at] ^= flip;
            let (events, stopped) = read_all(&damaged);
            // zstd's checksum catches what the length does not: either the
            // file reads as before (a flip it cannot see) or it says why.
            if let Some(stopped) = stopped {
                assert!(
                    matches!(
                        stopped.why,
                        RecordError::Damaged { .. }
                            | RecordError::DamagedEnd { .. }
                            | RecordError::NoEndMark { .. }
                            | RecordError::CutInBlock { .. }
                            | RecordError::CutInEndMark { .. }
                    ),
                    "{stopped}"
                );
            } else {
                assert_eq!(events.len(), 9, "flip {flip:#x} at {at}");
            }
        }
    }
}

#[test]
fn what_is_not_a_recording_of_this_format_is_refused_in_words() {
    let err = RecordingReader::new(&b"random bytes, not a recording at all"[..]).unwrap_err();
    assert!(
        matches!(err, RecordError::NotARecording { detail: None }),
        "{err}"
    );
    assert_eq!(err.to_string(), "this is not a bpfscope recording");
    let mut newer = recording(1, 1);
    newer[MAGIC.len()..MAGIC.len() + 4].copy_from_slice(&2u32.to_le_bytes());
    let err = RecordingReader::new(&newer[..]).unwrap_err();
    assert!(matches!(err, RecordError::Format { got: 2 }), "{err}");
    assert!(err.to_string().contains("newer bpfscope"), "{err}");
    let err = RecordingReader::new(&MAGIC[..]).unwrap_err();
    assert!(matches!(err, RecordError::HeaderCut), "{err}");
}

#[test]
fn zeroed_bytes_are_not_an_end_and_nothing_may_follow_the_end_mark() {
    let whole = recording(4, 2);
    let (all, stopped) = read_all(&whole);
    assert!(stopped.is_none(), "{stopped:?}");
    // The end mark replaced by zeros, as a crash can leave a file's tail.
    let mut zeroed = whole.clone();
    let at = zeroed.len() - 16;
    zeroed[at..].fill(0);
    let (events, stopped) = read_all(&zeroed);
    assert_eq!(events, all, "every block still reads");
    let stopped = stopped.expect("a message");
    assert!(
        matches!(stopped.why, RecordError::DamagedEnd { .. }),
        "{stopped}"
    );
    // Bytes after the end mark.
    let mut longer = whole;
    longer.extend_from_slice(b"trailing");
    let stopped = read_all(&longer).1.expect("a message");
    assert!(
        matches!(stopped.why, RecordError::AfterEnd { .. }),
        "{stopped}"
    );
}

#[test]
fn frames_of_a_protocol_this_build_does_not_read_are_refused_naming_both() {
    for got in [
        crate::protocol::OLDEST_PROTOCOL - 1,
        crate::protocol::PROTOCOL_VERSION + 1,
    ] {
        let mut header = Vec::new();
        header.extend_from_slice(MAGIC);
        header.extend_from_slice(&FORMAT_VERSION.to_le_bytes());
        let bytes = postcard::to_stdvec(&Header {
            host: "old".into(),
            kernel_release: "6.1".into(),
            online_cpus: 1,
            started: std::time::SystemTime::UNIX_EPOCH,
            bpfscope_version: "0.0.9".into(),
            protocol_version: got,
        })
        .unwrap();
        header.extend_from_slice(&u32::try_from(bytes.len()).unwrap().to_le_bytes());
        header.extend(bytes);
        let err = RecordingReader::new(&header[..]).unwrap_err();
        assert!(
            matches!(&err, RecordError::Protocol { got: g, made_by } if *g == got && made_by == "0.0.9"),
            "{err}"
        );
        assert!(err.to_string().contains("made by bpfscope 0.0.9"), "{err}");
    }
}

//! The Record toggle: what arrives while it is on, written to a recording
//! that opens as a source would (Hello, the facts known, the links).

use super::fixtures::*;
use bpfscope::record::{Next, RecordingReader};

#[test]
fn record_writes_what_arrives_while_it_is_on_into_a_recording_that_reads_back() {
    let home = tempfile::tempdir().unwrap();
    // SAFETY: set before the harness starts any thread; nextest runs each
    // test in a process of its own.
    unsafe { std::env::set_var("HOME", home.path()) };
    let (mut harness, tx) = harness(3);
    harness.get_by_label("⏺ Record").click();
    harness.run();
    let path = harness.state().recording_to().unwrap().to_owned();
    assert!(path.starts_with(home.path()) && path.extension().unwrap() == "bpfscope");
    for n in 3..6 {
        tx.send(SourceEvent::Sample(sample(n))).unwrap();
    }
    harness.run();
    harness.get_by_label("⏹ Stop recording").click();
    harness.run();
    assert!(harness.state().recording_to().is_none());
    let said = format!("{:?}", harness.state().notice());
    assert!(said.contains("recorded 3 samples to"), "{said}");

    let file = std::fs::File::open(&path).unwrap();
    let mut reader = RecordingReader::new(std::io::BufReader::new(file)).unwrap();
    assert_eq!(reader.header.kernel_release, "6.18.0-test");
    let mut events = Vec::new();
    loop {
        match reader.next_event() {
            Next::Event(event) => events.push(event),
            Next::End => break,
            Next::Stopped(why) => panic!("{why}"),
        }
    }
    assert!(matches!(events[0], SourceEvent::Hello(_)));
    let facts: Vec<u32> = events
        .iter()
        .filter_map(|e| match e {
            SourceEvent::Facts(f) => Some(f.iter().map(|f| f.id).collect::<Vec<_>>()),
            _ => None,
        })
        .flatten()
        .collect();
    assert_eq!(
        facts,
        [30],
        "the facts the window knew when recording began"
    );
    let samples: Vec<&Sample> = events
        .iter()
        .filter_map(|e| match e {
            SourceEvent::Sample(s) => Some(s),
            _ => None,
        })
        .collect();
    assert_eq!(samples.len(), 3);
    assert_eq!(samples[0].boottime_ns, sample(3).boottime_ns);
    let first = samples[0]
        .links
        .as_ref()
        .expect("the links with the first sample");
    assert_eq!(first.len(), links().len());
}

#[test]
fn record_before_any_source_says_there_is_nothing_to_record() {
    let (tx, rx) = bounded(4);
    let mut harness = Harness::builder()
        .with_size(egui::vec2(1280.0, 800.0))
        .build_eframe(move |cc| {
            BpfScopeApp::with_storage(cc, None, None, move |_, _| Source::from_channel(rx))
        });
    harness.run();
    harness.get_by_label("⏺ Record").click();
    harness.run();
    let said = format!("{:?}", harness.state().notice());
    assert!(said.contains("nothing to record yet"), "{said}");
    drop(tx);
}

//! Data users keep stays readable: every recording under `tests/fixtures/`
//! — one made by each build whose format changed, starting with frame
//! protocol 7 — replays through `bpfscope sample --from` to what the build
//! that made it printed (committed beside it as `.csv` and `.json`), and
//! opens in the window's replay source.
//!
//! A later build may print more (new columns, new JSON fields); everything
//! the recording's own build printed must be printed the same.

#![allow(clippy::expect_used, clippy::unwrap_used)] // tests fail loudly by design

use std::path::{Path, PathBuf};
use std::process::Command;

const BIN: &str = env!("CARGO_BIN_EXE_bpfscope");

fn fixtures() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures")
}

/// Every recording among the fixtures, oldest protocol first.
fn recordings() -> Vec<PathBuf> {
    let mut found: Vec<PathBuf> = std::fs::read_dir(fixtures())
        .unwrap()
        .map(|entry| entry.unwrap().path())
        .filter(|path| path.extension().is_some_and(|ext| ext == "bpfscope"))
        .collect();
    found.sort();
    assert!(
        found.iter().any(|p| p.ends_with("protocol-7.bpfscope")),
        "the protocol 7 recording is among {found:?}"
    );
    found
}

fn sample_from(recording: &Path, format: &str) -> String {
    let out = Command::new(BIN)
        .args(["sample", "--format", format, "--from"])
        .arg(recording)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}: {}",
        recording.display(),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

#[test]
fn every_recording_prints_as_the_build_that_made_it_printed_it_json() {
    for recording in recordings() {
        let expected = std::fs::read_to_string(recording.with_extension("json")).unwrap();
        let printed = sample_from(&recording, "json");
        let (expected, printed): (Vec<&str>, Vec<&str>) =
            (expected.lines().collect(), printed.lines().collect());
        assert_eq!(
            printed.len(),
            expected.len(),
            "{}: the same programs and periods",
            recording.display()
        );
        assert!(!expected.is_empty());
        for (n, (want, got)) in expected.iter().zip(&printed).enumerate() {
            let want: serde_json::Value = serde_json::from_str(want).unwrap();
            let got: serde_json::Value = serde_json::from_str(got).unwrap();
            for (key, value) in want.as_object().unwrap() {
                assert_eq!(
                    got.get(key),
                    Some(value),
                    "{} line {}: {key}",
                    recording.display(),
                    n + 1
                );
            }
        }
    }
}

#[test]
fn every_recording_prints_as_the_build_that_made_it_printed_it_csv() {
    for recording in recordings() {
        let expected = std::fs::read_to_string(recording.with_extension("csv")).unwrap();
        let printed = sample_from(&recording, "csv");
        let mut want = csv::Reader::from_reader(expected.as_bytes());
        let mut got = csv::Reader::from_reader(printed.as_bytes());
        let want_header = want.headers().unwrap().clone();
        let got_header = got.headers().unwrap().clone();
        let columns: Vec<(usize, usize)> = want_header
            .iter()
            .enumerate()
            .map(|(i, name)| {
                let j = got_header
                    .iter()
                    .position(|n| n == name)
                    .unwrap_or_else(|| panic!("{}: column {name} printed", recording.display()));
                (i, j)
            })
            .collect();
        let want_rows: Vec<csv::StringRecord> = want.records().map(Result::unwrap).collect();
        let got_rows: Vec<csv::StringRecord> = got.records().map(Result::unwrap).collect();
        assert_eq!(got_rows.len(), want_rows.len(), "{}", recording.display());
        assert!(!want_rows.is_empty());
        for (n, (want, got)) in want_rows.iter().zip(&got_rows).enumerate() {
            for &(i, j) in &columns {
                assert_eq!(
                    got.get(j),
                    want.get(i),
                    "{} row {}: {}",
                    recording.display(),
                    n + 1,
                    &want_header[i]
                );
            }
        }
    }
}

/// The window's replay source reads the same recordings: it indexes every
/// sample and says nothing is damaged.
#[test]
fn every_recording_opens_for_replay_whole() {
    use bpfscope::record::{Next, RecordingReader};
    for recording in recordings() {
        let file = std::fs::File::open(&recording).unwrap();
        let mut reader = RecordingReader::new(std::io::BufReader::new(file))
            .unwrap_or_else(|err| panic!("{}: {err}", recording.display()));
        let mut samples = 0;
        loop {
            match reader.next_event() {
                Next::Event(bpfscope::model::SourceEvent::Sample(_)) => samples += 1,
                Next::Event(_) => {}
                Next::End => break,
                Next::Stopped(why) => panic!("{}: {why}", recording.display()),
            }
        }
        assert!(samples >= 2, "{}: {samples} samples", recording.display());
    }
}

/// What each protocol's helper wrote (`bpfscope-sampler --once` of the
/// build that introduced it) reads whole, as that protocol.
#[test]
fn every_helpers_frames_read_as_their_protocol() {
    use bpfscope::protocol::{Frame, FrameReader};
    let mut seen = Vec::new();
    for entry in std::fs::read_dir(fixtures()).unwrap() {
        let path = entry.unwrap().path();
        if path.extension().is_none_or(|ext| ext != "frames") {
            continue;
        }
        let stem = path.file_stem().unwrap().to_string_lossy().into_owned();
        let version: u32 = stem.trim_start_matches("protocol-").parse().unwrap();
        let bytes = std::fs::read(&path).unwrap();
        let mut reader = FrameReader::new(&bytes[..]);
        let mut frames = Vec::new();
        while let Some(frame) = reader
            .next_frame()
            .unwrap_or_else(|err| panic!("{}: {err}", path.display()))
        {
            frames.push(frame);
        }
        assert_eq!(reader.version(), Some(version), "{}", path.display());
        assert!(matches!(frames.first(), Some(Frame::Hello(_))));
        let Some(Frame::Sample(sample)) = frames.last() else {
            panic!("{}: ends with a sample", path.display())
        };
        assert!(!sample.programs.is_empty(), "{}", path.display());
        seen.push(version);
    }
    seen.sort_unstable();
    assert_eq!(
        seen,
        (bpfscope::protocol::OLDEST_PROTOCOL..=bpfscope::protocol::PROTOCOL_VERSION)
            .collect::<Vec<_>>(),
        "a fixture of every protocol read"
    );
}

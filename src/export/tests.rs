#![allow(clippy::float_cmp)] // the expected values are exact in binary

use std::time::{Duration, SystemTime};

use super::*;

fn program() -> ProgramSample {
    crate::test_support::program(42)
        .name("xdp_fw")
        .ran(8, 2_000)
        .misses(1)
        .owner(7, "=cmd|calc")
        .owner(9, "agent")
        .build()
}

#[test]
fn csv_has_the_documented_header_and_values() {
    let m = Metrics {
        avg_runtime_ns: 250.0,
        total_avg_runtime_ns: 250.0,
        events_per_sec: 8.0,
        cpu_percent: 0.0002,
        recursion_misses_per_sec: 0.0,
    };
    let mut w = CsvWriter::new(Vec::new()).expect("header");
    let xdp_link = [LinkFacts {
        prog_id: 42,
        id: 5,
        link_type: "xdp".into(),
        attach_type: None,
        target: "eth0".into(),
        via: crate::model::AttachVia::Link,
    }];
    let linked = Described {
        facts: None,
        links: Some(&xdp_link),
        per_cpu: None,
        stats_on_ns: None,
        owners_read_ns: None,
    };
    w.write("2026-01-01T00:00:00.000000Z", &program(), Some(&m), linked)
        .expect("row");
    w.write(
        "2026-01-01T00:00:01.000000Z",
        &program(),
        None,
        Described::default(),
    )
    .expect("row");
    let text = String::from_utf8(w.into_inner().expect("flush")).expect("utf-8");
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(
        lines[0],
        "timestamp,id,type,name,avg_runtime_ns,total_avg_runtime_ns,events_per_sec,\
         cpu_percent,run_cnt,run_time_ns,recursion_misses,owners,attach"
    );
    assert_eq!(
        lines[1],
        "2026-01-01T00:00:00.000000Z,42,xdp,xdp_fw,250.0,250.0,8.000,0.000200,8,2000,1,\
         '=cmd|calc:7;agent:9,xdp eth0"
    );
    assert_eq!(
        lines[2],
        "2026-01-01T00:00:01.000000Z,42,xdp,xdp_fw,,250.0,,,8,2000,1,'=cmd|calc:7;agent:9,"
    );
}

#[test]
fn formula_like_text_is_neutralised_and_plain_text_kept() {
    for risky in ["=1+1", "+1", "-1", "@SUM(A1)", "\tx", "\rx"] {
        assert!(spreadsheet_safe(risky).starts_with('\''), "{risky:?}");
    }
    for plain in ["systemd", "", "a=b", "1-2"] {
        assert_eq!(spreadsheet_safe(plain), plain);
    }
}

#[test]
fn json_lines_have_the_csv_keys_and_owner_objects() {
    let mut out = Vec::new();
    let facts = ProgramFacts {
        id: 42,
        full_name: Some("xdp_firewall_main".into()),
        ..ProgramFacts::default()
    };
    let described = Described {
        facts: Some(&facts),
        links: Some(&[]),
        per_cpu: None,
        stats_on_ns: None,
        owners_read_ns: None,
    };
    write_json_line(&mut out, "t", &program(), None, described).expect("json");
    let v: serde_json::Value = serde_json::from_slice(&out).expect("valid json");
    let keys: Vec<&str> = v
        .as_object()
        .expect("object")
        .keys()
        .map(String::as_str)
        .collect();
    let mut expected = SNAPSHOT_COLUMNS.to_vec();
    expected.extend(["full_name", "facts", "links"]);
    expected.sort_unstable();
    let mut got = keys.clone();
    got.sort_unstable();
    assert_eq!(got, expected);
    assert_eq!(v["type"], "xdp");
    assert!(v["events_per_sec"].is_null());
    assert_eq!(v["owners"][0]["comm"], "=cmd|calc");
    assert_eq!(v["owners"][1]["pid"], 9);
    assert_eq!(v["attach"], "not attached");
    assert_eq!(v["full_name"], "xdp_firewall_main");
    assert_eq!(v["facts"]["id"], 42);
    assert_eq!(v["links"], serde_json::json!([]));
    assert!(out.ends_with(b"\n"));
}

#[test]
fn atomic_writes_replace_whole_files_or_leave_them_alone() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("out.csv");
    write_atomically(&path, |w| w.write_all(b"first")).expect("write");
    assert_eq!(std::fs::read(&path).expect("read"), b"first");
    let err = write_atomically(&path, |w| {
        w.write_all(b"partial")?;
        Err::<(), _>(io::Error::other("disk full"))
    })
    .expect_err("fails");
    assert_eq!(err.to_string(), "disk full");
    assert_eq!(std::fs::read(&path).expect("read"), b"first");
    let names: Vec<_> = std::fs::read_dir(dir.path())
        .expect("list")
        .map(|e| e.expect("entry").file_name())
        .collect();
    assert_eq!(names, vec![std::ffi::OsString::from("out.csv")]);
    assert!(write_atomically(&dir.path().join("missing/x.csv"), |_| Ok(())).is_err());
}

#[test]
fn timestamps_are_rfc3339_utc() {
    let t = SystemTime::UNIX_EPOCH + Duration::from_micros(1_764_051_078_123_456);
    assert_eq!(rfc3339(t), "2025-11-25T06:11:18.123456Z");
}

#[test]
fn a_time_past_year_9999_is_written_without_panicking() {
    let far = SystemTime::UNIX_EPOCH + Duration::from_secs(400_000_000_000);
    assert_eq!(rfc3339(far), "(time out of range)");
}

#[test]
fn every_part_of_a_cell_that_could_be_a_formula_is_guarded() {
    assert_eq!(
        spreadsheet_safe("agent:9;=HYPERLINK(1):10"),
        "agent:9;'=HYPERLINK(1):10"
    );
    assert_eq!(spreadsheet_safe("=a;+b,-c\t@d"), "'=a;'+b,'-c\t'@d");
    assert_eq!(spreadsheet_safe("\tx"), "'\tx");
    assert_eq!(spreadsheet_safe("\rx;\ry"), "'\rx;'\ry");
    assert_eq!(
        spreadsheet_safe("a-b;c=d"),
        "a-b;c=d",
        "only parts' first characters"
    );
}

/// Every field of `csv` read with `delimiter`, without a leading quote.
fn fields(csv: &str, delimiter: u8) -> Vec<String> {
    let mut reader = ::csv::ReaderBuilder::new()
        .delimiter(delimiter)
        .has_headers(false)
        .flexible(true)
        .quoting(delimiter == b',')
        .from_reader(csv.as_bytes());
    reader
        .records()
        .flat_map(|r| {
            r.expect("a record")
                .iter()
                .map(str::to_owned)
                .collect::<Vec<_>>()
        })
        .map(|f| f.trim_start_matches('"').to_owned())
        .collect()
}

#[test]
fn no_cell_starts_a_formula_whether_split_on_commas_or_semicolons() {
    let mut hostile = crate::test_support::program(7)
        .name("-cmd|calc")
        .owner(1, "x;=HYPERLINK(1)")
        .owner(2, "+a,@b")
        .owner(3, "\tc")
        .owner(4, "\rd")
        .build();
    let mut owners = hostile.owners.to_vec();
    owners.push(Owner {
        pid: 5,
        comm: "=e".into(),
    });
    hostile.owners = owners.into();
    let links = [LinkFacts {
        prog_id: 7,
        id: 1,
        link_type: "cgroup".into(),
        attach_type: None,
        target: "/sys/fs/cgroup/a;=b,-c".into(),
        via: crate::model::AttachVia::Link,
    }];
    let mut w = CsvWriter::new(Vec::new()).unwrap();
    let described = Described {
        facts: None,
        links: Some(&links),
        per_cpu: None,
        stats_on_ns: None,
        owners_read_ns: None,
    };
    w.write("2026-01-01T00:00:00Z", &hostile, None, described)
        .unwrap();
    let csv = String::from_utf8(w.into_inner().unwrap()).unwrap();
    for delimiter in [b',', b';'] {
        for field in fields(&csv, delimiter) {
            let first = field.chars().next();
            assert!(
                !matches!(first, Some('=' | '+' | '-' | '@' | '\t' | '\r')),
                "{:?} starts a formula (split on {:?}) in {csv}",
                field,
                delimiter as char
            );
        }
    }
}

#[test]
fn control_characters_are_escaped_for_terminals() {
    assert_eq!(terminal_safe("ok"), "ok");
    assert_eq!(terminal_safe("a\u{1b}[2Jb\n"), "a\\u{1b}[2Jb\\u{a}");
}

#[test]
fn a_new_file_gets_the_umask_mode_and_a_replaced_file_keeps_its_own() {
    use std::os::unix::fs::PermissionsExt;
    let dir = tempfile::tempdir().unwrap();
    let fresh = dir.path().join("fresh.csv");
    write_atomically(&fresh, |out| out.write_all(b"a\n")).unwrap();
    let mode = std::fs::metadata(&fresh).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode, 0o666 & !umask(), "{mode:o}");
    let kept = dir.path().join("kept.csv");
    std::fs::write(&kept, b"old").unwrap();
    std::fs::set_permissions(&kept, std::fs::Permissions::from_mode(0o640)).unwrap();
    write_atomically(&kept, |out| out.write_all(b"new")).unwrap();
    assert_eq!(std::fs::read(&kept).unwrap(), b"new");
    let mode = std::fs::metadata(&kept).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode, 0o640, "{mode:o}");
}

/// A program loaded after the owners were last read is marked: its empty
/// `owners` means "not read yet", not "held by nobody".
#[test]
fn json_marks_owners_read_before_the_program_loaded() {
    let line = |owners_read_ns| {
        let mut program = program();
        program.load_time_ns = 1_000;
        let described = Described {
            facts: None,
            links: None,
            per_cpu: None,
            stats_on_ns: None,
            owners_read_ns,
        };
        let mut out = Vec::new();
        write_json_line(&mut out, "t", &program, None, described).expect("json");
        serde_json::from_slice::<serde_json::Value>(&out).expect("valid json")
    };
    assert_eq!(line(Some(999))["owners_pending"], true);
    assert!(line(Some(1_000)).get("owners_pending").is_none());
    assert!(line(None).get("owners_pending").is_none());
}

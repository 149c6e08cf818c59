//! What a decoded frame may carry before it reaches the store: every value
//! in range, every string bounded. Frames come from a root helper today and
//! from files and other hosts later; either way nothing that decodes may
//! panic or bloat the window.

use std::time::{Duration, SystemTime};

use super::{Frame, ProtocolError};
use crate::model::{Interval, Sample};

/// Longest message (warning, error, notice) kept, in bytes.
pub const MESSAGE_MAX: usize = 4_096;
/// Longest name or target in facts and links, in bytes.
pub const TEXT_MAX: usize = 4_096;
/// Most programs one sample may list.
pub const PROGRAMS_MAX: usize = 1_000_000;
/// Most owners one program may list.
pub const OWNERS_MAX: usize = 4_096;
/// Most maps one program's facts may list: the kernel's own limit
/// (`MAX_USED_MAPS`) is 64.
pub const MAPS_MAX: usize = 64;
/// Longest BTF function name kept (the kernel's `KSYM_NAME_LEN`).
pub const FULL_NAME_MAX: usize = 512;
/// Longest map name kept: the kernel's are 16 bytes.
pub const MAP_NAME_MAX: usize = 64;
/// The latest wall-clock time accepted: the end of year 9999, the last that
/// RFC 3339 (and every export) can write.
const LATEST_WALL_SECS: u64 = 253_402_300_799;

/// Checks `frame`, cutting over-long strings; an error says what was out of
/// range.
pub fn validate(frame: &mut Frame) -> Result<(), ProtocolError> {
    match frame {
        Frame::Hello(hello) => {
            hello.bpfscope_version = crate::model::clean_label(&hello.bpfscope_version);
            cut(&mut hello.bpfscope_version, 64);
            let source = &mut hello.source;
            cut(&mut source.kernel_release, 256);
            source.notices.truncate(64);
            for notice in &mut source.notices {
                cut(notice, MESSAGE_MAX);
            }
            if let crate::model::AccountingCost::NotMeasured(reason) = &mut source.accounting {
                cut(reason, MESSAGE_MAX);
            }
            Ok(())
        }
        Frame::Error(message) | Frame::Warning(message) => {
            cut(message, MESSAGE_MAX);
            Ok(())
        }
        Frame::Sample(sample) => validate_sample(sample),
        Frame::Facts(facts) => {
            if facts.len() > PROGRAMS_MAX {
                return Err(ProtocolError::Garbage(format!(
                    "facts of {} programs",
                    facts.len()
                )));
            }
            validate_facts(facts)
        }
    }
}

fn validate_sample(sample: &mut Sample) -> Result<(), ProtocolError> {
    let bad = |what: String| Err(ProtocolError::Garbage(what));
    if !(Interval::MIN..=Interval::MAX).contains(&sample.period) {
        return bad(format!("a sample period of {:?}", sample.period));
    }
    let latest = SystemTime::UNIX_EPOCH + Duration::from_secs(LATEST_WALL_SECS);
    if sample.taken_at > latest {
        return bad("a sample taken after the year 9999".to_owned());
    }
    if sample.programs.len() > PROGRAMS_MAX {
        return bad(format!("a sample of {} programs", sample.programs.len()));
    }
    for program in &mut sample.programs {
        if program.owners.len() > OWNERS_MAX {
            return bad(format!(
                "program {} with {} owners",
                program.id,
                program.owners.len()
            ));
        }
    }
    if let Some(per_cpu) = &mut sample.per_cpu {
        validate_per_cpu(per_cpu)?;
    }
    for facts in &mut sample.facts {
        if let Some(name) = &mut facts.full_name {
            cut(name, FULL_NAME_MAX);
        }
        if facts.maps.len() > MAPS_MAX {
            return bad(format!(
                "program {} with {} maps",
                facts.id,
                facts.maps.len()
            ));
        }
        for map in &mut facts.maps {
            cut(&mut map.name, MAP_NAME_MAX);
            cut(&mut map.map_type, 64);
        }
    }
    for link in sample.links.iter_mut().flatten() {
        cut(&mut link.link_type, 64);
        if let Some(attach) = &mut link.attach_type {
            cut(attach, 64);
        }
        cut(&mut link.target, TEXT_MAX);
    }
    Ok(())
}

/// Most programs one sample may give per CPU, and most (program, CPU)
/// entries in all: a sampler sends 64 programs by default, each on at most
/// the CPUs it read.
pub const PER_CPU_PROGRAMS_MAX: usize = 4_096;
pub const PER_CPU_ENTRIES_MAX: usize = 262_144;

/// CPUs within the CPUs read, each listed once in order (sorted here, so
/// that every reader may search them); programs sorted and unique.
fn validate_per_cpu(per_cpu: &mut crate::model::PerCpuSample) -> Result<(), ProtocolError> {
    let bad = |what: String| Err(ProtocolError::Garbage(what));
    if per_cpu.nr_cpus > crate::model::CPUS_MAX {
        return bad(format!("per-CPU figures of {} CPUs", per_cpu.nr_cpus));
    }
    if per_cpu.programs.len() > PER_CPU_PROGRAMS_MAX {
        return bad(format!(
            "per-CPU figures of {} programs",
            per_cpu.programs.len()
        ));
    }
    let entries: usize = per_cpu.programs.iter().map(|p| p.cpus.len()).sum();
    if entries > PER_CPU_ENTRIES_MAX {
        return bad(format!("{entries} per-CPU figures in one sample"));
    }
    let nr_cpus = per_cpu.nr_cpus;
    let tidy = |cpus: &mut Vec<crate::model::CpuDelta>| {
        if cpus.iter().any(|c| c.cpu >= nr_cpus) {
            return Err(ProtocolError::Garbage(format!(
                "per-CPU figures for a CPU past the {nr_cpus} read"
            )));
        }
        cpus.sort_unstable_by_key(|c| c.cpu);
        cpus.dedup_by_key(|c| c.cpu);
        Ok(())
    };
    tidy(&mut per_cpu.cpus)?;
    for program in &mut per_cpu.programs {
        tidy(&mut program.cpus)?;
    }
    per_cpu.programs.sort_unstable_by_key(|p| p.id);
    per_cpu.programs.dedup_by_key(|p| p.id);
    Ok(())
}

fn validate_facts(all: &mut [crate::model::ProgramFacts]) -> Result<(), ProtocolError> {
    for facts in all {
        if let Some(name) = &mut facts.full_name {
            cut(name, FULL_NAME_MAX);
        }
        if facts.maps.len() > MAPS_MAX {
            return Err(ProtocolError::Garbage(format!(
                "program {} with {} maps",
                facts.id,
                facts.maps.len()
            )));
        }
        for map in &mut facts.maps {
            cut(&mut map.name, MAP_NAME_MAX);
            cut(&mut map.map_type, 64);
        }
    }
    Ok(())
}

/// Cuts `text` to at most `max` bytes, at a character boundary, marking
/// the cut.
fn cut(text: &mut String, max: usize) {
    if crate::model::truncate_at_char(text, max) {
        text.push('…');
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::test_support::sample_at;

    #[test]
    fn out_of_range_samples_are_refused_and_long_text_is_cut() {
        let mut zero_period = sample_at(1, Vec::new());
        zero_period.period = Duration::ZERO;
        assert!(validate(&mut Frame::Sample(zero_period)).is_err());
        let mut far = sample_at(1, Vec::new());
        far.taken_at = SystemTime::UNIX_EPOCH + Duration::from_secs(LATEST_WALL_SECS + 1);
        assert!(validate(&mut Frame::Sample(far)).is_err());
        assert!(validate(&mut Frame::Sample(sample_at(1, Vec::new()))).is_ok());
        let mut long = Frame::Error("é".repeat(MESSAGE_MAX));
        validate(&mut long).expect("cut, not refused");
        let Frame::Error(text) = long else {
            unreachable!()
        };
        assert!(text.len() <= MESSAGE_MAX + '…'.len_utf8());
    }

    #[test]
    fn per_cpu_figures_past_the_cpus_read_are_refused_and_the_rest_sorted() {
        use crate::model::{CpuDelta, PerCpuSample, ProgramCpus};
        let cpu = |cpu| CpuDelta {
            cpu,
            run_cnt: 1,
            run_time_ns: 1,
        };
        let with = |per_cpu| {
            let mut sample = sample_at(1, Vec::new());
            sample.per_cpu = Some(per_cpu);
            Frame::Sample(sample)
        };
        let mut fine = with(PerCpuSample {
            nr_cpus: 4,
            cpus: vec![cpu(3), cpu(1), cpu(3)],
            programs: vec![
                ProgramCpus {
                    id: 9,
                    cpus: vec![cpu(2), cpu(0)],
                },
                ProgramCpus {
                    id: 2,
                    cpus: vec![],
                },
            ],
            ..PerCpuSample::default()
        });
        validate(&mut fine).expect("in range");
        let Frame::Sample(sample) = fine else {
            unreachable!()
        };
        let per_cpu = sample.per_cpu.expect("kept");
        assert_eq!(per_cpu.cpus, [cpu(1), cpu(3)]);
        assert_eq!(per_cpu.programs[0].id, 2);
        assert_eq!(per_cpu.programs[1].cpus, [cpu(0), cpu(2)]);
        let past = PerCpuSample {
            nr_cpus: 2,
            cpus: vec![cpu(2)],
            ..PerCpuSample::default()
        };
        assert!(validate(&mut with(past)).is_err());
        let many = PerCpuSample {
            nr_cpus: crate::model::CPUS_MAX + 1,
            ..PerCpuSample::default()
        };
        assert!(validate(&mut with(many)).is_err());
    }
}

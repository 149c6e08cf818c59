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
            let source = &mut hello.source;
            cut(&mut source.kernel_release, 256);
            source.notices.truncate(64);
            for notice in &mut source.notices {
                cut(notice, MESSAGE_MAX);
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
}

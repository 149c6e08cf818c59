//! The program iterator's output: a `struct prog_record` per program, each
//! followed by the `struct cpu_record`s of the CPUs that ran it when its
//! counters changed (src/bpf/progs.bpf.c).

use std::io;

use super::iter::{u32_at, u64_at};
use crate::model::{CpuDelta, ProgramSample};

/// Size of `struct prog_record` in `progs.bpf.c`.
pub const RECORD_SIZE: usize = 80;
/// Size of `struct cpu_record`.
pub const CPU_RECORD_SIZE: usize = 24;
/// Most `struct cpu_record`s after one program (`MAX_CPU_RECORDS`).
const CPU_RECORDS_MAX: usize = 1_024;

const FLAG_EXTENDED: u32 = 1;
const FLAG_PER_CPU: u32 = 2;
const FLAG_TOO_MANY: u32 = 4;

/// What one pass read of a program's per-CPU counters.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CpuReading {
    /// Its counters did not change since they were last read per CPU.
    Unchanged,
    /// Its cumulative counters on each CPU that ran it: this range of
    /// [`ProgIter::cpu_values`].
    Read { start: usize, len: usize },
    /// It ran on more CPUs than the iterator writes for one program.
    TooMany,
    /// It never ran: zero on every CPU.
    NeverRan,
}

/// A program that runs as a tail call or is replaced by an extension.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub struct Indirect {
    pub id: u32,
    /// Program arrays it is in.
    pub prog_array_refs: u32,
    /// An extension (freplace) replaces it.
    pub extended: bool,
}

/// What one read found besides the programs themselves.
#[derive(Debug, Default)]
pub struct Parsed {
    /// Programs that run from a program array or are replaced by an
    /// extension, sorted by id.
    pub indirect: Vec<Indirect>,
    /// Per program (id, load time, reading), in the iterator's order.
    pub cpu_readings: Vec<(u32, u64, CpuReading)>,
    /// The values [`CpuReading::Read`] points into.
    pub cpu_values: Vec<CpuDelta>,
    /// The CPUs read (the machine's possible CPUs).
    pub nr_cpus: u32,
}

impl Parsed {
    /// Decodes a whole read into `out` and `self`.
    pub fn parse(&mut self, bytes: &[u8], out: &mut Vec<ProgramSample>) -> io::Result<()> {
        self.indirect.clear();
        self.cpu_readings.clear();
        self.cpu_values.clear();
        let mut rest = bytes;
        while !rest.is_empty() {
            let (program, tail) = self.parse_one(rest)?;
            out.push(program);
            rest = tail;
        }
        self.indirect.sort_unstable();
        Ok(())
    }

    /// Decodes one `struct prog_record` and the CPU records after it
    /// (native byte order: they come from this machine's kernel).
    fn parse_one<'a>(&mut self, bytes: &'a [u8]) -> io::Result<(ProgramSample, &'a [u8])> {
        let short = || {
            io::Error::new(
                io::ErrorKind::InvalidData,
                format!(
                    "program iterator returned {} bytes, not whole {RECORD_SIZE}-byte records",
                    bytes.len()
                ),
            )
        };
        let rec = bytes.get(..RECORD_SIZE).ok_or_else(short)?;
        let program = decode_record(rec);
        let (refs, flags) = (u32_at(rec, 64), u32_at(rec, 68));
        let cpu_records = u32_at(rec, 72) as usize;
        self.nr_cpus = u32_at(rec, 76);
        if cpu_records > CPU_RECORDS_MAX {
            return Err(short());
        }
        let end = RECORD_SIZE + cpu_records * CPU_RECORD_SIZE;
        let cpus = bytes.get(RECORD_SIZE..end).ok_or_else(short)?;
        if refs > 0 || flags & FLAG_EXTENDED != 0 {
            self.indirect.push(Indirect {
                id: program.id,
                prog_array_refs: refs,
                extended: flags & FLAG_EXTENDED != 0,
            });
        }
        let reading = if flags & FLAG_TOO_MANY != 0 {
            CpuReading::TooMany
        } else if flags & FLAG_PER_CPU != 0 {
            let start = self.cpu_values.len();
            self.cpu_values
                .extend(cpus.chunks_exact(CPU_RECORD_SIZE).map(|c| CpuDelta {
                    cpu: u32_at(c, 0),
                    run_cnt: u64_at(c, 8),
                    run_time_ns: u64_at(c, 16),
                }));
            CpuReading::Read {
                start,
                len: cpu_records,
            }
        } else if program.run_cnt == 0 && program.run_time_ns == 0 {
            CpuReading::NeverRan
        } else {
            CpuReading::Unchanged
        };
        self.cpu_readings
            .push((program.id, program.load_time_ns, reading));
        Ok((program, &bytes[end..]))
    }
}

/// Decodes the fixed part of one `struct prog_record` (`rec` is
/// [`RECORD_SIZE`] bytes).
fn decode_record(rec: &[u8]) -> ProgramSample {
    let mut tag = [0u8; 8];
    tag.copy_from_slice(&rec[40..48]);
    ProgramSample {
        id: u32_at(rec, 0),
        prog_type: u32_at(rec, 4),
        run_time_ns: u64_at(rec, 8),
        run_cnt: u64_at(rec, 16),
        recursion_misses: u64_at(rec, 24),
        load_time_ns: u64_at(rec, 32),
        tag,
        name: crate::model::KernelName::from_c(&rec[48..64]),
        owners: std::sync::Arc::default(),
        own: false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn records_decode_field_by_field() {
        let mut rec = Vec::new();
        rec.extend(7u32.to_ne_bytes());
        rec.extend(6u32.to_ne_bytes());
        rec.extend(1_000u64.to_ne_bytes());
        rec.extend(10u64.to_ne_bytes());
        rec.extend(2u64.to_ne_bytes());
        rec.extend(99u64.to_ne_bytes());
        rec.extend([1, 2, 3, 4, 5, 6, 7, 8]);
        rec.extend(b"xdp_prog\0\0\0\0\0\0\0\0");
        rec.extend(2u32.to_ne_bytes());
        rec.extend(0u32.to_ne_bytes());
        rec.extend(0u32.to_ne_bytes());
        rec.extend(2u32.to_ne_bytes());
        assert_eq!(rec.len(), RECORD_SIZE);
        let mut out = Vec::new();
        let mut parsed = Parsed::default();
        parsed.parse(&rec, &mut out).expect("whole record");
        assert_eq!(parsed.nr_cpus, 2);
        assert_eq!(parsed.cpu_readings, [(7, 99, CpuReading::Unchanged)]);
        let p = &out[0];
        assert_eq!((p.id, p.prog_type, p.name.as_str()), (7, 6, "xdp_prog"));
        assert_eq!(
            (p.run_time_ns, p.run_cnt, p.recursion_misses),
            (1_000, 10, 2)
        );
        assert_eq!(p.load_time_ns, 99);
        assert_eq!(p.tag_hex(), "0102030405060708");
    }

    fn record(id: u32, flags: u32, cpus: &[(u32, u64, u64)]) -> Vec<u8> {
        let mut rec = vec![0u8; RECORD_SIZE];
        rec[..4].copy_from_slice(&id.to_ne_bytes());
        rec[68..72].copy_from_slice(&flags.to_ne_bytes());
        let n = u32::try_from(cpus.len()).expect("few");
        rec[72..76].copy_from_slice(&n.to_ne_bytes());
        rec[76..80].copy_from_slice(&4u32.to_ne_bytes());
        for &(cpu, cnt, ns) in cpus {
            rec.extend(cpu.to_ne_bytes());
            rec.extend(0u32.to_ne_bytes());
            rec.extend(cnt.to_ne_bytes());
            rec.extend(ns.to_ne_bytes());
        }
        rec
    }

    #[test]
    fn cpu_records_follow_the_programs_that_changed() {
        let mut bytes = record(3, FLAG_PER_CPU, &[(0, 5, 50), (3, 1, 7)]);
        bytes.extend(record(4, 0, &[]));
        bytes.extend(record(9, FLAG_PER_CPU | FLAG_TOO_MANY, &[]));
        bytes.extend(record(12, FLAG_PER_CPU, &[(2, 8, 80)]));
        let (mut out, mut parsed) = (Vec::new(), Parsed::default());
        parsed.parse(&bytes, &mut out).expect("whole records");
        assert_eq!(out.iter().map(|p| p.id).collect::<Vec<_>>(), [3, 4, 9, 12]);
        assert_eq!(
            parsed.cpu_readings,
            [
                (3, 0, CpuReading::Read { start: 0, len: 2 }),
                (4, 0, CpuReading::NeverRan),
                (9, 0, CpuReading::TooMany),
                (12, 0, CpuReading::Read { start: 2, len: 1 }),
            ]
        );
        let cpu = |cpu, run_cnt, run_time_ns| CpuDelta {
            cpu,
            run_cnt,
            run_time_ns,
        };
        assert_eq!(
            parsed.cpu_values,
            [cpu(0, 5, 50), cpu(3, 1, 7), cpu(2, 8, 80)]
        );
        // A CPU record cut short is an error, not a program read wrong.
        let cut = &bytes[..RECORD_SIZE + CPU_RECORD_SIZE + 5];
        assert!(Parsed::default().parse(cut, &mut Vec::new()).is_err());
    }

    #[test]
    fn partial_records_are_an_error() {
        let mut out = Vec::new();
        let err = Parsed::default()
            .parse(&[0u8; RECORD_SIZE + 3], &mut out)
            .expect_err("partial");
        assert_eq!(err.kind(), io::ErrorKind::InvalidData);
    }
}

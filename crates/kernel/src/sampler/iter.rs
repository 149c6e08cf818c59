//! The fast path: every program's counters in one read of an `iter/bpf_prog`
//! BPF iterator (see `src/bpf/progs.bpf.c`).

use std::io::{self, Read};
use std::os::fd::AsFd;

use libbpf_rs::{Iter, Link, Object, ObjectBuilder};

pub use super::prog_records::{Indirect, Parsed, RECORD_SIZE};
use crate::model::ProgramSample;

const OBJECT: &[u8] = include_bytes!(concat!(env!("OUT_DIR"), "/progs.bpf.o"));

/// A loaded and attached program iterator. Each [`ProgIter::read`] makes a
/// fresh iterator instance from the link and reads it to the end.
#[derive(Debug)]
pub struct ProgIter {
    // Drop order: the link before the object that owns the program.
    link: Link,
    object: Object,
    /// What the last read found besides the programs.
    parsed: Parsed,
}

impl ProgIter {
    /// Loads and attaches the iterator program.
    pub fn load() -> io::Result<Self> {
        let (object, link) = load_iterator(OBJECT, "dump_prog")?;
        Ok(Self {
            link,
            object,
            parsed: Parsed::default(),
        })
    }

    /// The kernel id of the iterator program itself.
    pub fn prog_id(&self) -> Option<u32> {
        object_prog_id(&self.object)
    }

    /// Appends one sample per program to `out`, using `buf` as scratch space.
    pub fn read(&mut self, buf: &mut Vec<u8>, out: &mut Vec<ProgramSample>) -> io::Result<()> {
        read_all(&self.link, buf)?;
        self.parsed.parse(buf, out)
    }

    /// What the last [`ProgIter::read`] found besides the programs.
    pub fn parsed(&self) -> &Parsed {
        &self.parsed
    }

    /// Programs run from a program array or replaced by an extension, as of
    /// the last [`ProgIter::read`], sorted by id.
    pub fn indirect(&self) -> &[Indirect] {
        &self.parsed.indirect
    }
}

#[allow(clippy::needless_pass_by_value)] // the signature libbpf_rs::PrintCallback requires
fn libbpf_log(level: libbpf_rs::PrintLevel, message: String) {
    let message = message.trim_end();
    match level {
        libbpf_rs::PrintLevel::Warn => tracing::debug!(target: "libbpf", "{message}"),
        libbpf_rs::PrintLevel::Info | libbpf_rs::PrintLevel::Debug => {
            tracing::trace!(target: "libbpf", "{message}");
        }
    }
}

/// Opens, loads and attaches the single iterator program `prog` of `bytes`.
///
/// libbpf's own messages (a verifier log can be thousands of lines) go to
/// `tracing` at debug level; the caller reports one line of its own.
pub(super) fn load_iterator(bytes: &[u8], prog: &str) -> io::Result<(Object, Link)> {
    let (object, mut links) = load_iterators(bytes, &[prog])?;
    let link = links
        .pop()
        .ok_or_else(|| io::Error::new(io::ErrorKind::NotFound, format!("no program {prog}")))?;
    Ok((object, link))
}

/// Opens and loads the BPF object `bytes`, libbpf's messages going to
/// `tracing`.
pub(super) fn load_object(bytes: &[u8]) -> io::Result<Object> {
    libbpf_rs::set_print(Some((libbpf_rs::PrintLevel::Warn, libbpf_log)));
    ObjectBuilder::default()
        .open_memory(bytes)
        .and_then(libbpf_rs::OpenObject::load)
        .map_err(to_io)
}

/// Opens and loads `bytes`, then attaches each program in `progs`; the links
/// come back in the order asked for.
pub(super) fn load_iterators(bytes: &[u8], progs: &[&str]) -> io::Result<(Object, Vec<Link>)> {
    let object = load_object(bytes)?;
    let mut links = Vec::with_capacity(progs.len());
    for &prog in progs {
        let link = object
            .progs_mut()
            .find(|p| p.name() == prog)
            .ok_or_else(|| io::Error::new(io::ErrorKind::NotFound, format!("no program {prog}")))?
            .attach()
            .map_err(to_io)?;
        links.push(link);
    }
    Ok((object, links))
}

pub(super) fn object_prog_id(object: &Object) -> Option<u32> {
    object_prog_ids(object).first().copied()
}

/// The kernel ids of every program of `object`.
pub(super) fn object_prog_ids(object: &Object) -> Vec<u32> {
    object
        .progs()
        .filter_map(|prog| libbpf_rs::Program::id_from_fd(prog.as_fd()).ok())
        .collect()
}

/// `EAGAIN`s taken from one iterator read before giving up: the kernel
/// returns one after a million objects that wrote nothing (a task_file
/// iterator over a million open files that are not BPF objects), so this
/// bounds a pass at a thousand million objects.
const AGAIN_MAX: u32 = 1_000;

/// Reads a fresh instance of the iterator behind `link` into `buf`, to its
/// end.
pub(super) fn read_all(link: &Link, buf: &mut Vec<u8>) -> io::Result<()> {
    buf.clear();
    let mut iter = Iter::new(link).map_err(to_io)?;
    read_to_end_retrying(&mut iter, buf)
}

/// `read_to_end`, going on after `EAGAIN` (at most [`AGAIN_MAX`] times):
/// what was read before it stays in `buf`.
fn read_to_end_retrying(input: &mut impl Read, buf: &mut Vec<u8>) -> io::Result<()> {
    let mut again = 0;
    loop {
        match input.read_to_end(buf) {
            Ok(_) => return Ok(()),
            Err(err) if err.kind() == io::ErrorKind::WouldBlock && again < AGAIN_MAX => {
                again += 1;
            }
            Err(err) => return Err(err),
        }
    }
}

#[allow(clippy::needless_pass_by_value)] // used as `map_err(to_io)`
pub(super) fn to_io(err: libbpf_rs::Error) -> io::Error {
    io::Error::other(format!("{err:#}"))
}

pub(super) fn u32_at(rec: &[u8], at: usize) -> u32 {
    let mut b = [0u8; 4];
    b.copy_from_slice(&rec[at..at + 4]);
    u32::from_ne_bytes(b)
}

pub(super) fn u64_at(rec: &[u8], at: usize) -> u64 {
    let mut b = [0u8; 8];
    b.copy_from_slice(&rec[at..at + 8]);
    u64::from_ne_bytes(b)
}

/// A NUL-padded string field of a record, up to its first NUL (the whole
/// field when it has none); invalid UTF-8 is replaced.
pub(super) fn c_text(raw: &[u8]) -> String {
    let end = raw.iter().position(|&b| b == 0).unwrap_or(raw.len());
    String::from_utf8_lossy(&raw[..end]).into_owned()
}

/// `bytes` as whole `size`-byte records, or an error naming the iterator.
pub(super) fn records<'a>(
    bytes: &'a [u8],
    size: usize,
    what: &str,
) -> io::Result<std::slice::ChunksExact<'a, u8>> {
    let records = bytes.chunks_exact(size);
    if records.remainder().is_empty() {
        Ok(records)
    } else {
        Err(io::Error::new(
            io::ErrorKind::InvalidData,
            format!(
                "{what} iterator returned {} bytes, not a whole number of {size}-byte records",
                bytes.len()
            ),
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Gives `chunks` with an `EAGAIN` between each.
    struct Stuttering(Vec<&'static [u8]>, bool);

    impl Read for Stuttering {
        fn read(&mut self, out: &mut [u8]) -> io::Result<usize> {
            self.1 = !self.1;
            if self.1 && !self.0.is_empty() {
                return Err(io::Error::from_raw_os_error(libc::EAGAIN));
            }
            match self.0.first_mut() {
                None => Ok(0),
                Some(chunk) => {
                    let n = chunk.len().min(out.len());
                    out[..n].copy_from_slice(&chunk[..n]);
                    *chunk = &chunk[n..];
                    if chunk.is_empty() {
                        self.0.remove(0);
                    }
                    Ok(n)
                }
            }
        }
    }

    #[test]
    fn reads_go_on_after_eagain_and_keep_what_came_before() {
        let mut buf = Vec::new();
        read_to_end_retrying(&mut Stuttering(vec![b"ab", b"cd", b"e"], false), &mut buf)
            .expect("EAGAIN is retried");
        assert_eq!(buf, b"abcde");
    }
}

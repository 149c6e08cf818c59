//! Frames from the sampler helper to the window.
//!
//! A frame is a little-endian `u32` payload length, then the payload: one
//! [`Frame`] in postcard (a compact serde format). The first frame is a
//! [`Frame::Hello`] carrying [`PROTOCOL_VERSION`]. Frames are at most
//! [`MAX_FRAME_BYTES`] long.
//!
//! The reader treats every byte as untrusted: truncated, oversized, garbage
//! or wrong-version input is a [`ProtocolError`], never a panic, and no
//! allocation grows beyond the bytes actually received (a length prefix that
//! claims 64 MiB and then stops allocates only what arrived).

use std::io::{self, Read, Write};

use serde::{Deserialize, Serialize};
use thiserror::Error;

use crate::model::{Sample, SourceEvent, SourceInfo};

/// Bumped whenever the frame layout changes incompatibly.
pub const PROTOCOL_VERSION: u32 = 3;

/// The largest payload accepted (a sample of 100,000 programs fits).
pub const MAX_FRAME_BYTES: u32 = 64 << 20;

/// What the helper says first.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Hello {
    pub protocol_version: u32,
    /// Kernel release, CPU count, stats mode, enumeration, notices.
    pub source: SourceInfo,
}

/// One message from the helper.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub enum Frame {
    Hello(Hello),
    Sample(Sample),
    /// A pass failed, in words for the user; sampling goes on.
    Error(String),
    /// The data is incomplete (owners or links unread), said once.
    Warning(String),
}

impl From<SourceEvent> for Frame {
    fn from(event: SourceEvent) -> Self {
        match event {
            SourceEvent::Hello(source) => Self::Hello(Hello {
                protocol_version: PROTOCOL_VERSION,
                source,
            }),
            SourceEvent::Sample(sample) => Self::Sample(sample),
            SourceEvent::Warning(message) => Self::Warning(message),
            SourceEvent::Error(message) => Self::Error(message),
        }
    }
}

impl From<Frame> for SourceEvent {
    fn from(frame: Frame) -> Self {
        match frame {
            Frame::Hello(hello) => Self::Hello(hello.source),
            Frame::Sample(sample) => Self::Sample(sample),
            Frame::Warning(message) => Self::Warning(message),
            Frame::Error(message) => Self::Error(message),
        }
    }
}

/// Why the helper's output could not be read.
#[derive(Debug, Error)]
pub enum ProtocolError {
    #[error("the sampler's output ended in the middle of a frame ({got} of {want} bytes)")]
    Truncated { got: usize, want: usize },
    #[error("the sampler sent a frame of {0} bytes, more than the {MAX_FRAME_BYTES} bytes allowed")]
    Oversized(u32),
    #[error("the sampler sent a frame bpfscope cannot read: {0}")]
    Garbage(String),
    #[error(
        "the sampler speaks protocol version {got}, this bpfscope speaks version \
         {PROTOCOL_VERSION}: install matching versions"
    )]
    Version { got: u32 },
    #[error("the sampler did not introduce itself (its first frame was not a Hello)")]
    NoHello,
    #[error("cannot read the sampler's output: {0}")]
    Io(#[from] io::Error),
}

/// Encodes `frame` with its length prefix.
pub fn encode(frame: &Frame) -> Result<Vec<u8>, ProtocolError> {
    let payload =
        postcard::to_stdvec(frame).map_err(|err| ProtocolError::Garbage(err.to_string()))?;
    let len = u32::try_from(payload.len())
        .ok()
        .filter(|&len| len <= MAX_FRAME_BYTES)
        .ok_or(ProtocolError::Oversized(u32::MAX))?;
    let mut out = Vec::with_capacity(4 + payload.len());
    out.extend_from_slice(&len.to_le_bytes());
    out.extend_from_slice(&payload);
    Ok(out)
}

/// Writes one frame and flushes, so the reader sees it at once.
pub fn write_frame<W: Write>(out: &mut W, frame: &Frame) -> Result<(), ProtocolError> {
    out.write_all(&encode(frame)?)?;
    out.flush()?;
    Ok(())
}

/// Decodes one payload (without its length prefix). Trailing bytes are an
/// error: a frame is exactly one message.
pub fn decode_payload(payload: &[u8]) -> Result<Frame, ProtocolError> {
    let (frame, rest) = postcard::take_from_bytes::<Frame>(payload)
        .map_err(|err| ProtocolError::Garbage(err.to_string()))?;
    if rest.is_empty() {
        Ok(frame)
    } else {
        Err(ProtocolError::Garbage(format!(
            "{} unexpected bytes after the message",
            rest.len()
        )))
    }
}

/// Reads frames from the helper's output.
#[derive(Debug)]
pub struct FrameReader<R> {
    inner: R,
    buf: Vec<u8>,
    greeted: bool,
}

impl<R: Read> FrameReader<R> {
    pub fn new(inner: R) -> Self {
        Self {
            inner,
            buf: Vec::new(),
            greeted: false,
        }
    }

    /// The next frame; `None` at a clean end of output (between frames).
    /// The first frame must be a `Hello` of this [`PROTOCOL_VERSION`].
    pub fn next_frame(&mut self) -> Result<Option<Frame>, ProtocolError> {
        let mut prefix = [0u8; 4];
        let got = read_up_to(&mut self.inner, &mut prefix)?;
        if got == 0 {
            return Ok(None);
        }
        if got < prefix.len() {
            return Err(ProtocolError::Truncated { got, want: 4 });
        }
        let len = u32::from_le_bytes(prefix);
        if len > MAX_FRAME_BYTES {
            return Err(ProtocolError::Oversized(len));
        }
        let want = len as usize;
        self.buf.clear();
        // `take` + `read_to_end` grows the buffer only as bytes arrive.
        (&mut self.inner)
            .take(u64::from(len))
            .read_to_end(&mut self.buf)?;
        if self.buf.len() < want {
            return Err(ProtocolError::Truncated {
                got: self.buf.len(),
                want,
            });
        }
        let frame = decode_payload(&self.buf)?;
        if !self.greeted {
            match &frame {
                Frame::Hello(hello) if hello.protocol_version == PROTOCOL_VERSION => {}
                Frame::Hello(hello) => {
                    return Err(ProtocolError::Version {
                        got: hello.protocol_version,
                    });
                }
                Frame::Sample(_) | Frame::Error(_) | Frame::Warning(_) => {
                    return Err(ProtocolError::NoHello);
                }
            }
            self.greeted = true;
        }
        // Keep a large buffer from one huge frame from pinning memory.
        if self.buf.capacity() > 4 << 20 {
            self.buf = Vec::new();
        }
        Ok(Some(frame))
    }
}

/// Fills `buf` as far as the input allows; the count read (short at EOF).
fn read_up_to<R: Read>(input: &mut R, buf: &mut [u8]) -> io::Result<usize> {
    let mut filled = 0;
    while filled < buf.len() {
        match input.read(&mut buf[filled..]) {
            Ok(0) => break,
            Ok(n) => filled += n,
            Err(err) if err.kind() == io::ErrorKind::Interrupted => {}
            Err(err) => return Err(err),
        }
    }
    Ok(filled)
}

#[cfg(test)]
mod tests {
    use std::time::{Duration, SystemTime};

    use super::*;
    use crate::model::{Enumeration, StatsMode};
    use crate::model::{Owner, ProgramSample};

    fn hello() -> Frame {
        Frame::Hello(Hello {
            protocol_version: PROTOCOL_VERSION,
            source: SourceInfo {
                stats_mode: StatsMode::Syscall,
                enumeration: Enumeration::Iterator,
                owners_available: true,
                kernel_release: "6.18.0".into(),
                online_cpus: 2,
                notices: vec!["a notice".into()],
            },
        })
    }

    fn sample(programs: u32) -> Frame {
        Frame::Sample(Sample {
            taken_at: SystemTime::UNIX_EPOCH + Duration::from_nanos(1_764_000_000_123_456_789),
            boottime_ns: 42,
            period: Duration::from_millis(1500),
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
            }]),
            programs: (0..programs)
                .map(|id| ProgramSample {
                    id,
                    prog_type: id % 40,
                    name: "xdp_é_prog".into(),
                    tag: [id as u8; 8],
                    load_time_ns: u64::MAX - u64::from(id),
                    run_time_ns: u64::MAX,
                    run_cnt: 1000,
                    recursion_misses: 0,
                    owners: vec![Owner {
                        pid: id,
                        comm: "agent".into(),
                    }],
                    own: id == 0,
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
        assert!(err.to_string().contains("version 99"));
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
            let _ = decode_payload(&input);
        }
        assert!(
            errors > 50_000,
            "hostile inputs should mostly be refused ({errors})"
        );
    }
}

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

mod validate;
pub use validate::validate;

/// Bumped whenever the frame layout changes incompatibly.
pub const PROTOCOL_VERSION: u32 = 7;

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
    /// Facts of programs in the next sample, sent ahead of it so that no
    /// frame exceeds [`MAX_FRAME_BYTES`] (see [`sample_frames`]).
    Facts(Vec<crate::model::ProgramFacts>),
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
            SourceEvent::Facts(facts) => Self::Facts(facts),
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
            Frame::Facts(facts) => Self::Facts(facts),
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

/// The frames that carry `sample`, each at most `max` payload bytes: the
/// sample alone when it fits, else its facts first, in as many
/// [`Frame::Facts`] as they need, then the sample without them. An error
/// only if one program's facts, or the sample without facts, do not fit.
pub fn sample_frames(sample: crate::model::Sample, max: u32) -> Result<Vec<Frame>, ProtocolError> {
    let fits = |frame: &Frame| {
        postcard::experimental::serialized_size(frame)
            .map_err(|err| ProtocolError::Garbage(err.to_string()))
            .map(|size| u32::try_from(size).is_ok_and(|size| size <= max))
    };
    let mut sample = sample;
    let facts = std::mem::take(&mut sample.facts);
    let whole = Frame::Sample(crate::model::Sample {
        facts,
        ..sample.clone()
    });
    if fits(&whole)? {
        return Ok(vec![whole]);
    }
    let Frame::Sample(crate::model::Sample { facts, .. }) = whole else {
        unreachable!("built as a sample above")
    };
    let mut frames = Vec::new();
    // Halve chunks until each fits: facts are of similar sizes, so this
    // takes a few tries at most.
    let mut rest = facts;
    while !rest.is_empty() {
        let mut take = rest.len();
        loop {
            let chunk = Frame::Facts(rest[..take].to_vec());
            if fits(&chunk)? {
                frames.push(chunk);
                rest.drain(..take);
                break;
            }
            if take == 1 {
                return Err(ProtocolError::Oversized(u32::MAX));
            }
            take /= 2;
        }
    }
    let bare = Frame::Sample(sample);
    if !fits(&bare)? {
        return Err(ProtocolError::Oversized(u32::MAX));
    }
    frames.push(bare);
    Ok(frames)
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

    /// The input read from.
    pub fn get_mut(&mut self) -> &mut R {
        &mut self.inner
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
        let mut frame = decode_payload(&self.buf)?;
        validate::validate(&mut frame)?;
        if !self.greeted {
            match &frame {
                Frame::Hello(hello) if hello.protocol_version == PROTOCOL_VERSION => {}
                Frame::Hello(hello) => {
                    return Err(ProtocolError::Version {
                        got: hello.protocol_version,
                    });
                }
                Frame::Sample(_) | Frame::Error(_) | Frame::Warning(_) | Frame::Facts(_) => {
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
pub fn read_up_to<R: Read>(input: &mut R, buf: &mut [u8]) -> io::Result<usize> {
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
mod tests;

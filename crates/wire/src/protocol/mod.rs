//! Frames from the sampler helper to the window.
//!
//! A frame is a little-endian `u32` payload length, then the payload: one
//! message in postcard (a compact serde format) in the layout of one frame
//! protocol. The first frame is a `Hello` carrying the protocol version,
//! and every later frame of the stream is read in that version's layout.
//! Frames are at most [`MAX_FRAME_BYTES`] long.
//!
//! The layouts are their own types, one module a protocol ([`v7`], [`v8`]),
//! apart from the in-memory [`Frame`] made of model types: a writer speaks
//! [`PROTOCOL_VERSION`], a reader reads every protocol from
//! [`OLDEST_PROTOCOL`] on. Every protocol's `Hello` is its message 0 with
//! the version as its first field, so any reader can tell the version of a
//! stream it cannot read and say so. The rule for changing a layout is in
//! `docs/formats.md`.
//!
//! The reader treats every byte as untrusted: truncated, oversized, garbage
//! or wrong-version input is a [`ProtocolError`], never a panic, and no
//! allocation grows beyond the bytes actually received (a length prefix that
//! claims 64 MiB and then stops allocates only what arrived).

use std::io::{self, Read, Write};

use thiserror::Error;

use crate::model::{Sample, SourceEvent, SourceInfo};

pub mod v7;
pub mod v8;
mod validate;
pub use validate::validate;

/// The protocol this build writes. A new layout is a new module and a new
/// number (`docs/formats.md`).
pub const PROTOCOL_VERSION: u32 = 8;

/// The oldest protocol this build reads: every recording and every helper
/// from the first versioned release on.
pub const OLDEST_PROTOCOL: u32 = 7;

/// The largest payload accepted (a sample of 100,000 programs fits).
pub const MAX_FRAME_BYTES: u32 = 64 << 20;

/// What the helper says first.
#[derive(Clone, Debug, PartialEq)]
pub struct Hello {
    /// The protocol of the frames that follow.
    pub protocol_version: u32,
    /// The helper's release, where its protocol says (8 on); empty before.
    pub bpfscope_version: String,
    /// Kernel release, CPU count, stats mode, enumeration, notices.
    pub source: SourceInfo,
}

impl Hello {
    /// The `Hello` this build's helper sends.
    #[must_use]
    pub fn now(source: SourceInfo) -> Self {
        Self {
            protocol_version: PROTOCOL_VERSION,
            bpfscope_version: env!("CARGO_PKG_VERSION").to_owned(),
            source,
        }
    }
}

/// One message from the helper, in model terms (whatever protocol carried
/// it).
#[derive(Clone, Debug, PartialEq)]
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
            SourceEvent::Hello(source) => Self::Hello(Hello::now(source)),
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

impl From<&Frame> for v8::Frame {
    fn from(frame: &Frame) -> Self {
        match frame {
            Frame::Hello(hello) => Self::Hello(v8::Hello {
                protocol_version: hello.protocol_version,
                bpfscope_version: hello.bpfscope_version.clone(),
                source: (&hello.source).into(),
            }),
            Frame::Sample(sample) => Self::Sample(sample.into()),
            Frame::Error(text) => Self::Error(text.clone()),
            Frame::Warning(text) => Self::Warning(text.clone()),
            Frame::Facts(facts) => Self::Facts(facts.iter().map(Into::into).collect()),
        }
    }
}

impl From<v8::Frame> for Frame {
    fn from(frame: v8::Frame) -> Self {
        match frame {
            v8::Frame::Hello(hello) => Self::Hello(Hello {
                protocol_version: hello.protocol_version,
                bpfscope_version: hello.bpfscope_version,
                source: hello.source.into(),
            }),
            v8::Frame::Sample(sample) => Self::Sample(sample.into()),
            v8::Frame::Error(text) => Self::Error(text),
            v8::Frame::Warning(text) => Self::Warning(text),
            v8::Frame::Facts(facts) => Self::Facts(facts.into_iter().map(Into::into).collect()),
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
        "the sampler speaks frame protocol {got}; this bpfscope ({}) reads protocols \
         {OLDEST_PROTOCOL} to {PROTOCOL_VERSION}: {}",
        env!("CARGO_PKG_VERSION"),
        if *got > PROTOCOL_VERSION { "upgrade this bpfscope" } else { "upgrade the sampler's bpfscope" }
    )]
    Version { got: u32 },
    #[error("the sampler did not introduce itself (its first frame was not a Hello)")]
    NoHello,
    #[error("cannot read the sampler's output: {0}")]
    Io(#[from] io::Error),
}

/// The protocol a `Hello` payload announces, in any protocol's layout
/// (message 0, the version first); `None` if the payload is not a `Hello`.
#[must_use]
pub fn hello_version(payload: &[u8]) -> Option<u32> {
    match postcard::take_from_bytes::<(u32, u32)>(payload) {
        Ok(((0, version), _)) => Some(version),
        _ => None,
    }
}

/// Whether this build reads frames of `version`.
#[must_use]
pub fn reads(version: u32) -> bool {
    (OLDEST_PROTOCOL..=PROTOCOL_VERSION).contains(&version)
}

/// Encodes `frame` with its length prefix, in this build's protocol.
pub fn encode(frame: &Frame) -> Result<Vec<u8>, ProtocolError> {
    encode_as(frame, PROTOCOL_VERSION)
}

/// Encodes `frame` with its length prefix in the layout of protocol
/// `version` (what a helper of that protocol wrote: for tests of the
/// readers, and fixtures). What that protocol cannot carry is left out.
pub fn encode_as(frame: &Frame, version: u32) -> Result<Vec<u8>, ProtocolError> {
    let wire = v8::Frame::from(frame);
    let payload = match version {
        8 => postcard::to_stdvec(&wire),
        7 => postcard::to_stdvec(&v7::Frame::from(wire)),
        got => return Err(ProtocolError::Version { got }),
    }
    .map_err(|err| ProtocolError::Garbage(err.to_string()))?;
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
        postcard::experimental::serialized_size(&v8::Frame::from(frame))
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

/// `sample` encoded as the frames that carry it (see [`sample_frames`]),
/// each with its length prefix. A sample that fits one frame, as nearly
/// every one does, is turned into this protocol's layout and encoded once.
pub fn encode_sample(sample: Sample, max: u32) -> Result<Vec<Vec<u8>>, ProtocolError> {
    let whole = Frame::Sample(sample);
    let bytes = encode(&whole)?;
    if u32::try_from(bytes.len() - 4).is_ok_and(|len| len <= max) {
        return Ok(vec![bytes]);
    }
    let Frame::Sample(sample) = whole else {
        unreachable!("built as a sample above")
    };
    sample_frames(sample, max)?.iter().map(encode).collect()
}

/// Writes one frame and flushes, so the reader sees it at once.
pub fn write_frame<W: Write>(out: &mut W, frame: &Frame) -> Result<(), ProtocolError> {
    out.write_all(&encode(frame)?)?;
    out.flush()?;
    Ok(())
}

/// Decodes one payload (without its length prefix) of protocol `version`.
/// Trailing bytes are an error: a frame is exactly one message.
pub fn decode_payload(payload: &[u8], version: u32) -> Result<Frame, ProtocolError> {
    match version {
        7 => take_whole::<v7::Frame>(payload).map(|frame| v8::Frame::from(frame).into()),
        8 => take_whole::<v8::Frame>(payload).map(Frame::from),
        got => Err(ProtocolError::Version { got }),
    }
}

fn take_whole<'a, T: serde::Deserialize<'a>>(payload: &'a [u8]) -> Result<T, ProtocolError> {
    let (frame, rest) = postcard::take_from_bytes::<T>(payload)
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
    /// The stream's protocol, once its `Hello` is read.
    version: Option<u32>,
}

impl<R: Read> FrameReader<R> {
    pub fn new(inner: R) -> Self {
        Self {
            inner,
            buf: Vec::new(),
            version: None,
        }
    }

    /// The stream's protocol, once its `Hello` is read.
    #[must_use]
    pub fn version(&self) -> Option<u32> {
        self.version
    }

    /// The input read from.
    pub fn get_mut(&mut self) -> &mut R {
        &mut self.inner
    }

    /// The next frame; `None` at a clean end of output (between frames).
    /// The first frame must be a `Hello` of a protocol this build
    /// [`reads`]; the rest are read in its layout.
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
        let version = if let Some(version) = self.version {
            version
        } else {
            let version = hello_version(&self.buf).ok_or(ProtocolError::NoHello)?;
            if !reads(version) {
                return Err(ProtocolError::Version { got: version });
            }
            version
        };
        let mut frame = decode_payload(&self.buf, version)?;
        validate::validate(&mut frame)?;
        if let Frame::Hello(hello) = &frame
            && hello.protocol_version != version
        {
            // A stream speaks one protocol from its first Hello on.
            return Err(ProtocolError::Garbage(format!(
                "a Hello of protocol {} in a stream of protocol {version}",
                hello.protocol_version
            )));
        }
        self.version = Some(version);
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

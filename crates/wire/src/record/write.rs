//! Writing a recording: the header at the source's Hello, then its events
//! as frames, in zstd blocks ended every [`FLUSH_EVERY`] or
//! [`BLOCK_TARGET`] bytes.

use std::io::{self, Write};
use std::time::{Instant, SystemTime};

use super::{BLOCK_TARGET, END_MAGIC, FLUSH_EVERY, FORMAT_VERSION, Header, MAGIC};
use crate::model::SourceEvent;
use crate::protocol::{
    Frame, MAX_FRAME_BYTES, PROTOCOL_VERSION, encode, encode_sample, sample_frames,
};

/// zstd's level: fast, and most of the gain (names and owners repeat in
/// every sample of a block).
const LEVEL: i32 = 3;

/// Writes one recording to `out`.
#[derive(Debug)]
pub struct Recorder<W: Write> {
    out: W,
    host: String,
    /// Frames waiting for the block to end.
    block: Vec<u8>,
    started: Option<Instant>,
    header_written: bool,
    /// A write failed: nothing more is written (a retried block would
    /// follow its own partial bytes).
    failed: bool,
    /// Blocks written, said in the end mark.
    blocks: u64,
    /// Bytes written to `out`, and samples recorded.
    pub written: u64,
    pub samples: u64,
}

impl<W: Write> Recorder<W> {
    /// A recorder of `host`'s events into `out`; nothing is written before
    /// the source's Hello.
    pub fn new(out: W, host: String) -> Self {
        Self {
            out,
            host,
            block: Vec::with_capacity(BLOCK_TARGET),
            started: None,
            header_written: false,
            failed: false,
            blocks: 0,
            written: 0,
            samples: 0,
        }
    }

    /// Records `event`; ends the block when it is due.
    pub fn record(&mut self, event: SourceEvent) -> io::Result<()> {
        if let SourceEvent::Hello(info) = &event
            && !self.header_written
        {
            self.header(&Header {
                host: self.host.clone(),
                kernel_release: info.kernel_release.clone(),
                online_cpus: info.online_cpus,
                started: SystemTime::now(),
                bpfscope_version: env!("CARGO_PKG_VERSION").to_owned(),
                protocol_version: PROTOCOL_VERSION,
            })?;
        }
        if !self.header_written {
            // Nothing before the Hello is worth keeping: it would not load.
            return Ok(());
        }
        let frames = match event {
            SourceEvent::Sample(sample) => {
                self.samples += 1;
                let encoded = encode_sample(sample, MAX_FRAME_BYTES).map_err(io::Error::other)?;
                for bytes in encoded {
                    self.take(&bytes)?;
                }
                return self.end_block_if_due();
            }
            // Facts in frames of the protocol's size, as for a sample's.
            SourceEvent::Facts(facts) => {
                let mut frames = sample_frames(
                    crate::model::Sample {
                        taken_at: SystemTime::UNIX_EPOCH,
                        boottime_ns: 0,
                        period: std::time::Duration::ZERO,
                        programs: Vec::new(),
                        facts,
                        links: None,
                        owners_read_ns: None,
                        pass_ns: 0,
                        per_cpu: None,
                        stats_on_ns: None,
                    },
                    MAX_FRAME_BYTES,
                )
                .map_err(io::Error::other)?;
                match frames.pop() {
                    // The carrier of the facts, or the facts whole.
                    Some(Frame::Sample(carrier)) if !carrier.facts.is_empty() => {
                        frames.push(Frame::Facts(carrier.facts));
                    }
                    Some(Frame::Sample(_)) | None => {}
                    Some(other) => frames.push(other),
                }
                frames
            }
            other => vec![Frame::from(other)],
        };
        for frame in &frames {
            self.take(&encode(frame).map_err(io::Error::other)?)?;
        }
        self.end_block_if_due()
    }

    /// Adds one encoded frame to the block; a block never grows past its
    /// target by more than one frame.
    fn take(&mut self, bytes: &[u8]) -> io::Result<()> {
        if !self.block.is_empty() && self.block.len() + bytes.len() > BLOCK_TARGET {
            self.end_block()?;
        }
        self.block.extend_from_slice(bytes);
        Ok(())
    }

    /// Ends the block when it reached its target or its time.
    fn end_block_if_due(&mut self) -> io::Result<()> {
        let started = *self.started.get_or_insert_with(Instant::now);
        if self.block.len() >= BLOCK_TARGET || started.elapsed() >= FLUSH_EVERY {
            self.end_block()?;
        }
        Ok(())
    }

    /// Ends the block now if it is due (call when no event came for a
    /// while, so a quiet source still reaches the file).
    pub fn tick(&mut self) -> io::Result<()> {
        if self
            .started
            .is_some_and(|started| started.elapsed() >= FLUSH_EVERY)
        {
            self.end_block()?;
        }
        Ok(())
    }

    /// Writes what waits and the end mark, and flushes: the file then
    /// loads whole and says it is complete.
    pub fn finish(&mut self) -> io::Result<()> {
        self.end_block()?;
        if self.header_written {
            let mut mark = [0u8; 16];
            mark[4..8].copy_from_slice(END_MAGIC);
            mark[8..].copy_from_slice(&self.blocks.to_le_bytes());
            self.guarded(|out| out.write_all(&mark))?;
            self.written += mark.len() as u64;
        }
        self.guarded(Write::flush)
    }

    /// Runs a write unless one failed before, and remembers a failure.
    fn guarded(&mut self, write: impl FnOnce(&mut W) -> io::Result<()>) -> io::Result<()> {
        if self.failed {
            return Err(io::Error::other("an earlier write failed"));
        }
        let done = write(&mut self.out);
        self.failed = done.is_err();
        done
    }

    fn header(&mut self, header: &Header) -> io::Result<()> {
        let bytes = postcard::to_stdvec(header).map_err(io::Error::other)?;
        let len = u32::try_from(bytes.len()).map_err(io::Error::other)?;
        self.guarded(|out| {
            out.write_all(MAGIC)?;
            out.write_all(&FORMAT_VERSION.to_le_bytes())?;
            out.write_all(&len.to_le_bytes())?;
            out.write_all(&bytes)?;
            out.flush()
        })?;
        self.written += (MAGIC.len() + 8 + bytes.len()) as u64;
        self.header_written = true;
        Ok(())
    }

    /// The output, once finished.
    pub fn into_inner(self) -> W {
        self.out
    }

    /// Ends the block now, whether due or not.
    pub fn end_block(&mut self) -> io::Result<()> {
        self.started = None;
        if self.block.is_empty() {
            return Ok(());
        }
        let mut encoder = zstd::stream::Encoder::new(Vec::new(), LEVEL)?;
        encoder.include_checksum(true)?;
        encoder.write_all(&self.block)?;
        let compressed = encoder.finish()?;
        let len = u32::try_from(compressed.len()).map_err(io::Error::other)?;
        self.guarded(|out| {
            out.write_all(&len.to_le_bytes())?;
            out.write_all(&compressed)?;
            out.flush()
        })?;
        self.blocks += 1;
        self.written += 4 + compressed.len() as u64;
        self.block.clear();
        if self.block.capacity() > 2 * BLOCK_TARGET {
            self.block = Vec::with_capacity(BLOCK_TARGET);
        }
        Ok(())
    }
}

//! Reading a recording: the header, then its events block by block, each
//! frame checked as the helper's are, up to the end mark a finished
//! recorder writes. A file that stops or is damaged gives every event of
//! the whole blocks before, then why it stopped.

use std::io::{Read, Seek, SeekFrom};
use std::time::SystemTime;

use super::{
    BLOCK_MAX, BLOCK_RAW_MAX, END_MAGIC, FORMAT_VERSION, HEADER_MAX, Header, MAGIC, RecordError,
    Stopped,
};
use crate::model::SourceEvent;
use crate::protocol::{Frame, MAX_FRAME_BYTES, decode_payload, read_up_to, reads, validate};

/// What reading gives next.
#[derive(Debug)]
pub enum Next {
    Event(SourceEvent),
    /// The file ended after a whole block.
    End,
    /// The file stops or is damaged here, and what was loaded. Nothing
    /// follows.
    Stopped(Stopped),
}

/// Where a block starts: its number (from 1) and its byte in the file.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct BlockPos {
    pub number: u64,
    pub offset: u64,
}

/// A recording being read.
#[derive(Debug)]
pub struct RecordingReader<R> {
    input: R,
    pub header: Header,
    /// Bytes read from the file so far.
    offset: u64,
    /// The block being read, and where in it.
    block: Vec<u8>,
    at: usize,
    blocks: u64,
    /// Where the block being read starts in the file.
    block_at: u64,
    greeted: bool,
    last_sample: Option<SystemTime>,
    done: bool,
}

impl<R: Read> RecordingReader<R> {
    /// Reads the header; the error says in words why this is not a
    /// recording this bpfscope can read.
    pub fn new(mut input: R) -> Result<Self, RecordError> {
        let not = |detail: Option<String>| RecordError::NotARecording { detail };
        let mut magic = [0u8; MAGIC.len()];
        let got = read_up_to(&mut input, &mut magic)?;
        if got < magic.len() || &magic != MAGIC {
            return Err(not(None));
        }
        let mut words = [0u8; 8];
        if read_up_to(&mut input, &mut words)? < 8 {
            return Err(RecordError::HeaderCut);
        }
        let version = u32::from_le_bytes([words[0], words[1], words[2], words[3]]);
        if version != FORMAT_VERSION {
            return Err(RecordError::Format { got: version });
        }
        let len = u32::from_le_bytes([words[4], words[5], words[6], words[7]]);
        if len > HEADER_MAX {
            return Err(not(Some(format!("a header of {len} bytes"))));
        }
        let mut bytes = Vec::new();
        (&mut input).take(u64::from(len)).read_to_end(&mut bytes)?;
        if bytes.len() < len as usize {
            return Err(RecordError::HeaderCut);
        }
        let mut header: Header = postcard::from_bytes(&bytes)
            .map_err(|_| not(Some("its header is damaged".to_owned())))?;
        if !reads(header.protocol_version) {
            return Err(RecordError::Protocol {
                got: header.protocol_version,
                made_by: crate::model::clean_label(&header.bpfscope_version),
            });
        }
        for text in [
            &mut header.host,
            &mut header.kernel_release,
            &mut header.bpfscope_version,
        ] {
            *text = crate::model::clean_label(text);
        }
        Ok(Self {
            input,
            header,
            offset: (MAGIC.len() + 8) as u64 + u64::from(len),
            block: Vec::new(),
            at: 0,
            blocks: 0,
            block_at: 0,
            greeted: false,
            last_sample: None,
            done: false,
        })
    }

    /// The block of the event returned last.
    #[must_use]
    pub fn position(&self) -> BlockPos {
        BlockPos {
            number: self.blocks,
            offset: self.block_at,
        }
    }

    /// The next event, the end, or why the file stops here.
    pub fn next_event(&mut self) -> Next {
        if self.done {
            return Next::End;
        }
        loop {
            if self.at < self.block.len() {
                return match self.frame() {
                    Ok(event) => Next::Event(event),
                    Err(why) => self.stop(why),
                };
            }
            match self.next_block() {
                Ok(true) => {}
                Ok(false) => {
                    self.done = true;
                    return Next::End;
                }
                Err(why) => return self.stop(why),
            }
        }
    }

    fn stop(&mut self, why: RecordError) -> Next {
        self.done = true;
        Next::Stopped(Stopped {
            why,
            shown_up_to: self.last_sample,
        })
    }

    /// Reads and decompresses the next block; `false` at a clean end.
    fn next_block(&mut self) -> Result<bool, RecordError> {
        let block = self.blocks + 1;
        let start = self.offset;
        let mut prefix = [0u8; 4];
        let got = read_up_to(&mut self.input, &mut prefix)?;
        if got == 0 {
            return Err(RecordError::NoEndMark {
                offset: start,
                blocks: self.blocks,
            });
        }
        let cut = RecordError::CutInBlock {
            offset: start,
            block,
        };
        if got < 4 {
            return Err(cut);
        }
        let len = u32::from_le_bytes(prefix);
        if len == 0 {
            return self.end_mark(start).map(|()| false);
        }
        let damaged = |what: &dyn std::fmt::Display| RecordError::Damaged {
            block,
            offset: start,
            what: what.to_string(),
        };
        if len > BLOCK_MAX {
            return Err(damaged(&"its length"));
        }
        let mut compressed = Vec::new();
        (&mut self.input)
            .take(u64::from(len))
            .read_to_end(&mut compressed)?;
        if compressed.len() < len as usize {
            return Err(cut);
        }
        let mut raw = Vec::new();
        let mut decoder =
            zstd::stream::read::Decoder::new(&compressed[..]).map_err(|err| damaged(&err))?;
        // bpfscope writes at level 3 (windows of 2^21 bytes at most): a
        // frame that asks for more memory is not one of its own.
        decoder.window_log_max(23).map_err(|err| damaged(&err))?;
        decoder
            .take(BLOCK_RAW_MAX + 1)
            .read_to_end(&mut raw)
            .map_err(|err| damaged(&err))?;
        if raw.len() as u64 > BLOCK_RAW_MAX {
            return Err(damaged(&"larger than any block bpfscope writes"));
        }
        self.offset += 4 + u64::from(len);
        self.blocks = block;
        self.block_at = start;
        self.block = raw;
        self.at = 0;
        Ok(true)
    }

    /// Reads on from the start of a block this reader (or another over the
    /// same file) saw; the events before it are not read again.
    pub fn seek_block(&mut self, pos: BlockPos) -> Result<(), RecordError>
    where
        R: Seek,
    {
        self.input.seek(SeekFrom::Start(pos.offset))?;
        self.offset = pos.offset;
        self.blocks = pos.number.saturating_sub(1);
        self.block = Vec::new();
        self.at = 0;
        // A block after the first follows the Hello that started the file.
        self.greeted = true;
        self.done = false;
        Ok(())
    }

    /// Checks the end mark after its zero length: the magic, the count of
    /// blocks read, and nothing after it.
    fn end_mark(&mut self, start: u64) -> Result<(), RecordError> {
        let mut mark = [0u8; 12];
        let got = read_up_to(&mut self.input, &mut mark)?;
        let blocks = u64::from_le_bytes([
            mark[4], mark[5], mark[6], mark[7], mark[8], mark[9], mark[10], mark[11],
        ]);
        if got < mark.len() {
            return Err(RecordError::CutInEndMark {
                offset: start,
                blocks: self.blocks,
            });
        }
        if &mark[..4] != END_MAGIC || blocks != self.blocks {
            return Err(RecordError::DamagedEnd {
                offset: start,
                blocks: self.blocks,
            });
        }
        let mut more = [0u8; 1];
        if read_up_to(&mut self.input, &mut more)? > 0 {
            return Err(RecordError::AfterEnd { offset: start + 16 });
        }
        Ok(())
    }

    /// The next frame of the block, checked as the helper's are.
    fn frame(&mut self) -> Result<SourceEvent, RecordError> {
        let (block, at) = (self.blocks, self.block_at);
        let rest = &self.block[self.at..];
        let damaged = |what: &str| RecordError::Damaged {
            block,
            offset: at,
            what: what.to_owned(),
        };
        let len = rest
            .get(..4)
            .map(|p| u32::from_le_bytes([p[0], p[1], p[2], p[3]]))
            .ok_or_else(|| damaged("a frame cut short"))?;
        if len > MAX_FRAME_BYTES {
            return Err(damaged("a frame too large"));
        }
        let payload = rest
            .get(4..4 + len as usize)
            .ok_or_else(|| damaged("a frame cut short"))?;
        let mut frame = decode_payload(payload, self.header.protocol_version)
            .map_err(|err| damaged(&err.to_string()))?;
        validate(&mut frame).map_err(|err| damaged(&err.to_string()))?;
        self.at += 4 + len as usize;
        match (&frame, self.greeted) {
            (Frame::Hello(hello), _) if hello.protocol_version != self.header.protocol_version => {
                return Err(damaged("a Hello of another protocol than its header's"));
            }
            (Frame::Hello(_), false) => self.greeted = true,
            (_, false) => return Err(damaged("it does not start with the source's Hello")),
            _ => {}
        }
        if let Frame::Sample(sample) = &frame {
            self.last_sample = Some(sample.taken_at);
        }
        if self.at >= self.block.len() {
            // A read block's memory goes with it.
            self.block = Vec::new();
            self.at = 0;
        }
        Ok(SourceEvent::from(frame))
    }
}

//! Why a recording cannot be read (on): each kind a caller can tell apart,
//! in the words the user sees.

use std::io;
use std::time::SystemTime;

use thiserror::Error;

use super::FORMAT_VERSION;
use crate::protocol::{OLDEST_PROTOCOL, PROTOCOL_VERSION};

/// Why a recording cannot be opened, or why it stops where it does.
#[derive(Debug, Error)]
pub enum RecordError {
    /// Not a bpfscope recording at all (another file, or its header is
    /// damaged); `detail` says which, where it can.
    #[error("this is not a bpfscope recording{}", detail.as_deref().map(|d| format!(" ({d})")).unwrap_or_default())]
    NotARecording { detail: Option<String> },
    #[error("the recording ends inside its header")]
    HeaderCut,
    /// A container layout this build does not read.
    #[error(
        "this recording is of format {got}; this bpfscope reads format {FORMAT_VERSION}{}",
        if *got > FORMAT_VERSION { ": open it with a newer bpfscope" } else { "" }
    )]
    Format { got: u32 },
    /// Frames of a protocol this build does not read.
    #[error(
        "this recording holds frames of protocol {got} (made by bpfscope {made_by}); this \
         bpfscope ({}) reads protocols {OLDEST_PROTOCOL} to {PROTOCOL_VERSION}{}",
        env!("CARGO_PKG_VERSION"),
        if *got > PROTOCOL_VERSION { ": open it with a newer bpfscope" } else { "" }
    )]
    Protocol { got: u32, made_by: String },
    /// The file ends after a whole block, without the end mark a finished
    /// recorder writes.
    #[error(
        "the recording stops at byte {offset}, after block {blocks} without its end mark \
         (its recorder was stopped before it finished, or is still recording)"
    )]
    NoEndMark { offset: u64, blocks: u64 },
    #[error(
        "the recording stops at byte {offset}, inside block {block} (a recorder stopped or a \
         full disk)"
    )]
    CutInBlock { offset: u64, block: u64 },
    #[error("the recording stops at byte {offset}, inside its end mark (after block {blocks})")]
    CutInEndMark { offset: u64, blocks: u64 },
    /// A block's bytes are not what bpfscope wrote.
    #[error("block {block} at byte {offset} is damaged ({what})")]
    Damaged {
        block: u64,
        offset: u64,
        what: String,
    },
    #[error(
        "the recording is damaged at byte {offset}, after block {blocks} (zeroed or \
         overwritten bytes where a block or the end mark should be)"
    )]
    DamagedEnd { offset: u64, blocks: u64 },
    #[error("the recording has bytes after its end mark (at byte {offset})")]
    AfterEnd { offset: u64 },
    #[error("{0}")]
    Io(#[from] io::Error),
}

/// Where and why a recording stops: every event before was given.
#[derive(Debug, Error)]
#[error("{why}; {}", shown_up_to.map_or_else(|| "nothing was recorded before it".to_owned(), |at| format!("shown up to {}", crate::model::rfc3339(at))))]
pub struct Stopped {
    pub why: RecordError,
    /// The time of the last sample read before it.
    pub shown_up_to: Option<SystemTime>,
}

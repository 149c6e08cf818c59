//! Recordings: a session's frames in a file, to replay or convert later.
//!
//! A recording is a small header and then the same frames the helper
//! writes on its pipe (see [`crate::protocol`]), in blocks each
//! compressed on its own with zstd:
//!
//! ```text
//! MAGIC (13 bytes)  format version (u32 LE)  header length (u32 LE)  header (postcard)
//! block: compressed length (u32 LE), one zstd frame (with its checksum)
//! block …
//! end mark, when the recorder finished: 0 (u32 LE), "END!", blocks (u64 LE)
//! ```
//!
//! The recorder ends a block every few seconds ([`FLUSH_EVERY`]) and
//! flushes it to the file (no fsync), so a killed recorder or a full disk
//! loses at most the block being written: a reader loads every whole block and says
//! where the file stops. Every byte read is untrusted, as from the helper:
//! lengths are bounded, memory grows only with bytes that arrived, and a
//! damaged block stops the reading with a message, never a panic.

mod error;
mod read;
mod write;

use std::time::{Duration, SystemTime};

use serde::{Deserialize, Serialize};

pub use error::{RecordError, Stopped};
pub use read::{BlockPos, Next, RecordingReader};
pub use write::Recorder;

/// The first bytes of every recording: not text (0x89), and the line ends
/// and ^Z catch a file mangled by a text-mode transfer, as PNG does.
pub const MAGIC: &[u8; 13] = b"\x89BPFSCOPE\r\n\x1a\n";
/// After the end mark's zero length: four zero bytes alone (a zeroed
/// region of a damaged file) are not an end.
pub const END_MAGIC: &[u8; 4] = b"END!";
/// Bumped whenever the layout changes incompatibly.
pub const FORMAT_VERSION: u32 = 1;
/// The header's size at most.
pub const HEADER_MAX: u32 = 64 * 1024;
/// A block's compressed size at most.
pub const BLOCK_MAX: u32 = 128 << 20;
/// A block's decompressed size at most: the target and one whole frame of
/// the largest past it (the writer ends a block before a frame would
/// cross the target).
pub const BLOCK_RAW_MAX: u64 = BLOCK_TARGET as u64 + crate::protocol::MAX_FRAME_BYTES as u64 + 4;
/// A block ends at least this often.
pub const FLUSH_EVERY: Duration = Duration::from_secs(5);
/// … or when this many bytes of frames wait in it.
pub const BLOCK_TARGET: usize = 4 << 20;

/// Who recorded what, and when.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Header {
    /// The host recorded.
    pub host: String,
    pub kernel_release: String,
    pub online_cpus: u32,
    /// When the recording started.
    pub started: SystemTime,
    /// The bpfscope that recorded it.
    pub bpfscope_version: String,
    /// The frame protocol of the blocks.
    pub protocol_version: u32,
}

/// The host name of this machine, as `uname -n` says it.
#[must_use]
pub fn host_name() -> String {
    std::fs::read_to_string("/proc/sys/kernel/hostname")
        .map(|name| name.trim().to_owned())
        .ok()
        .filter(|name| !name.is_empty())
        .unwrap_or_else(|| "localhost".to_owned())
}

#[cfg(test)]
mod tests;

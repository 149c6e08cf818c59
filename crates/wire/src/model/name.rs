use std::fmt;
use std::ops::Deref;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// Longest text the kernel keeps for a program name or a `comm`.
pub const NAME_MAX: usize = 15;

/// A name the kernel keeps in 16 bytes (program names, process `comm`s),
/// stored inline: no allocation per program per sample.
#[derive(Clone, Copy, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct KernelName {
    len: u8,
    bytes: [u8; NAME_MAX],
}

impl KernelName {
    /// `text`, cut to at most 15 bytes at a character boundary.
    #[must_use]
    pub fn new(text: &str) -> Self {
        let mut end = text.len().min(NAME_MAX);
        while !text.is_char_boundary(end) {
            end -= 1;
        }
        let mut bytes = [0u8; NAME_MAX];
        bytes[..end].copy_from_slice(&text.as_bytes()[..end]);
        Self {
            len: end as u8,
            bytes,
        }
    }

    /// From a NUL-padded kernel buffer; invalid UTF-8 is replaced.
    #[must_use]
    pub fn from_c(raw: &[u8]) -> Self {
        let end = raw.iter().position(|&b| b == 0).unwrap_or(raw.len());
        Self::new(&String::from_utf8_lossy(&raw[..end]))
    }

    #[must_use]
    pub fn as_str(&self) -> &str {
        // Always valid: built from a &str cut at a character boundary.
        std::str::from_utf8(&self.bytes[..usize::from(self.len)]).unwrap_or_default()
    }
}

impl Deref for KernelName {
    type Target = str;
    fn deref(&self) -> &str {
        self.as_str()
    }
}

impl fmt::Display for KernelName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl fmt::Debug for KernelName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(self.as_str(), f)
    }
}

impl From<&str> for KernelName {
    fn from(text: &str) -> Self {
        Self::new(text)
    }
}

impl PartialEq<str> for KernelName {
    fn eq(&self, other: &str) -> bool {
        self.as_str() == other
    }
}

impl PartialEq<&str> for KernelName {
    fn eq(&self, other: &&str) -> bool {
        self.as_str() == *other
    }
}

impl Serialize for KernelName {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(self.as_str())
    }
}

impl<'de> Deserialize<'de> for KernelName {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let text = <std::borrow::Cow<'de, str>>::deserialize(deserializer)?;
        Ok(Self::new(&text))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_cut_at_fifteen_bytes_on_a_character_boundary() {
        assert_eq!(KernelName::new("xdp_prog"), "xdp_prog");
        assert_eq!(KernelName::new("exactly_15_byte"), "exactly_15_byte");
        assert_eq!(KernelName::new("sixteen_bytes_xx"), "sixteen_bytes_x");
        // 'é' is two bytes: the cut must not split it.
        assert_eq!(KernelName::new("aaaaaaaaaaaaaaé"), "aaaaaaaaaaaaaa");
        assert_eq!(KernelName::from_c(b"abc\0\0def"), "abc");
        assert_eq!(KernelName::from_c(b"\xffx\0"), "\u{fffd}x");
        assert_eq!(KernelName::default(), "");
    }

    #[test]
    fn serializes_as_a_string() {
        let json = serde_json::to_string(&KernelName::new("comm")).expect("json");
        assert_eq!(json, "\"comm\"");
        let back: KernelName = serde_json::from_str(&json).expect("parse");
        assert_eq!(back, "comm");
    }
}

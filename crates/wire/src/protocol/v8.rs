//! Frame protocol 8, frozen: protocol 7 with the helper's bpfscope version
//! in its `Hello`, so that a window can name the release a host runs. Every
//! other type is protocol 7's.

use serde::{Deserialize, Serialize};

use super::v7;

/// What a protocol 8 helper says first.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Hello {
    pub protocol_version: u32,
    /// The helper's release (`bpfscope-sampler --version`).
    pub bpfscope_version: String,
    pub source: v7::SourceInfo,
}

/// One protocol 8 message.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub enum Frame {
    Hello(Hello),
    Sample(v7::Sample),
    Error(String),
    Warning(String),
    Facts(Vec<v7::ProgramFacts>),
}

impl From<v7::Frame> for Frame {
    /// A protocol 7 frame as protocol 8 says it: a `Hello` without a
    /// release (empty), the rest unchanged.
    fn from(frame: v7::Frame) -> Self {
        match frame {
            v7::Frame::Hello(hello) => Self::Hello(Hello {
                protocol_version: hello.protocol_version,
                bpfscope_version: String::new(),
                source: hello.source,
            }),
            v7::Frame::Sample(sample) => Self::Sample(sample),
            v7::Frame::Error(text) => Self::Error(text),
            v7::Frame::Warning(text) => Self::Warning(text),
            v7::Frame::Facts(facts) => Self::Facts(facts),
        }
    }
}

impl From<Frame> for v7::Frame {
    /// A protocol 8 frame in protocol 7's layout: the `Hello` without its
    /// release (for tests and fixtures of protocol 7 readers).
    fn from(frame: Frame) -> Self {
        match frame {
            Frame::Hello(hello) => Self::Hello(v7::Hello {
                protocol_version: hello.protocol_version,
                source: hello.source,
            }),
            Frame::Sample(sample) => Self::Sample(sample),
            Frame::Error(text) => Self::Error(text),
            Frame::Warning(text) => Self::Warning(text),
            Frame::Facts(facts) => Self::Facts(facts),
        }
    }
}

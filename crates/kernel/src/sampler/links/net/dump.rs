//! One netlink dump: the request, then every reply to its `NLMSG_DONE`,
//! each framed by its header before anything decodes it.

use std::io;

use netlink_packet_core::{
    NLM_F_DUMP, NLM_F_REQUEST, NetlinkHeader, NetlinkMessage, NetlinkPayload,
};
use netlink_packet_route::RouteNetlinkMessage;

use super::{Namespace, REPLIES_MAX};

/// `nlmsghdr`'s size, and the message types a dump ends with.
const HEADER: usize = 16;
const NLMSG_ERROR: u16 = 2;
const NLMSG_DONE: u16 = 3;
/// A receive buffer larger than any one datagram of a dump (the kernel
/// fills at most 32 KiB per datagram).
const RECV_BUF: usize = 128 * 1024;

/// What one dump gave.
pub(super) struct Dump {
    pub replies: Vec<RouteNetlinkMessage>,
    /// Messages that could not be decoded (a device name that is not UTF-8,
    /// an option the decoder does not know): skipped, counted.
    pub skipped: usize,
}

fn u32_at(bytes: &[u8], at: usize) -> u32 {
    let mut b = [0u8; 4];
    b.copy_from_slice(&bytes[at..at + 4]);
    u32::from_ne_bytes(b)
}

/// Sends `request` as a dump and reads to its `NLMSG_DONE` (or error),
/// checking each message's header and sequence number before decoding it;
/// a message that does not decode is skipped, not fatal.
pub(super) fn dump(space: &mut Namespace, request: RouteNetlinkMessage) -> io::Result<Dump> {
    space.sequence = space.sequence.wrapping_add(1);
    let mut header = NetlinkHeader::default();
    header.flags = NLM_F_REQUEST | NLM_F_DUMP;
    header.sequence_number = space.sequence;
    let mut message = NetlinkMessage::new(header, NetlinkPayload::from(request));
    message.finalize();
    let mut bytes = vec![0u8; message.buffer_len()];
    message.serialize(&mut bytes);
    space.socket.send(&bytes, 0)?;

    let mut out = Dump {
        replies: Vec::new(),
        skipped: 0,
    };
    let mut seen = 0usize;
    let mut buf = Vec::with_capacity(RECV_BUF);
    loop {
        buf.clear();
        // MSG_TRUNC: the datagram's whole length, even past the buffer.
        let len = space.socket.recv(&mut buf, libc::MSG_TRUNC)?;
        if len > buf.len() {
            out.skipped += 1; // cut short: nothing in it can be trusted
            continue;
        }
        let mut at = 0;
        while buf.len() - at >= HEADER {
            let msg_len = u32_at(&buf, at) as usize;
            if msg_len < HEADER || msg_len > buf.len() - at {
                out.skipped += 1;
                break; // the rest of this datagram cannot be framed
            }
            let message_type = u16::from_ne_bytes([buf[at + 4], buf[at + 5]]);
            let sequence = u32_at(&buf, at + 8);
            let whole = &buf[at..at + msg_len];
            at += msg_len.next_multiple_of(4).min(buf.len() - at);
            seen += 1;
            if seen > REPLIES_MAX {
                return Err(io::Error::other("a netlink dump that does not end"));
            }
            if sequence != space.sequence {
                continue; // an answer to an earlier, abandoned request
            }
            match message_type {
                NLMSG_DONE => return Ok(out),
                NLMSG_ERROR => {
                    let code = if whole.len() >= HEADER + 4 {
                        i32::from_ne_bytes(u32_at(whole, HEADER).to_ne_bytes())
                    } else {
                        0
                    };
                    return match code.checked_neg().unwrap_or(0) {
                        // No error, or a device without that hook.
                        0 | libc::EINVAL | libc::ENOENT => Ok(out),
                        errno => Err(io::Error::from_raw_os_error(errno)),
                    };
                }
                _ => match NetlinkMessage::<RouteNetlinkMessage>::deserialize(whole) {
                    Ok(NetlinkMessage {
                        payload: NetlinkPayload::InnerMessage(inner),
                        ..
                    }) => out.replies.push(inner),
                    Ok(_) => {}
                    Err(_) => out.skipped += 1,
                },
            }
        }
    }
}

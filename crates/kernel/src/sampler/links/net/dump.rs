//! One netlink dump: the request, then every reply to its `NLMSG_DONE`,
//! each framed by its header before anything decodes it.

use std::io;

use netlink_packet_core::{
    ErrorBuffer, NLM_F_DUMP, NLM_F_REQUEST, NLMSG_ALIGNTO, NLMSG_DONE, NLMSG_ERROR, NetlinkBuffer,
    NetlinkHeader, NetlinkMessage, NetlinkPayload,
};
use netlink_packet_route::RouteNetlinkMessage;

use super::{Namespace, REPLIES_MAX};

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
        while at < buf.len() {
            // The header checked against what arrived before anything
            // else of the message is read.
            let Ok(framed) = NetlinkBuffer::new_checked(&buf[at..]) else {
                out.skipped += 1;
                break; // the rest of this datagram cannot be framed
            };
            let msg_len = framed.length() as usize;
            let (message_type, sequence) = (framed.message_type(), framed.sequence_number());
            let whole = &buf[at..at + msg_len];
            at += msg_len
                .next_multiple_of(usize::from(NLMSG_ALIGNTO))
                .min(buf.len() - at);
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
                    let code = ErrorBuffer::new_checked(framed.payload())
                        .ok()
                        .and_then(|error| error.code())
                        .map_or(0, std::num::NonZeroI32::get);
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

//! Bounds-checked parsing of rtnetlink link messages (no I/O).
//!
//! Only what link monitoring needs is decoded: `nlmsghdr`, `NLMSG_ERROR`/`NLMSG_DONE`, and for
//! `RTM_NEWLINK`/`RTM_DELLINK` the `ifinfomsg` plus the `IFLA_IFNAME`, `IFLA_OPERSTATE` and
//! `IFLA_CARRIER` attributes. Every length is checked against the bytes actually present, so any
//! input yields values or a [`ParseError`], never a panic. Netlink uses host byte order.

use crate::ifname::{IfName, IfNameError};
use crate::status::OperState;

/// Size of `struct nlmsghdr`.
pub const NLMSG_HDRLEN: usize = 16;
/// Size of `struct ifinfomsg`.
pub const IFINFOMSG_LEN: usize = 16;
/// `NLMSG_NOOP`.
pub const NLMSG_NOOP: u16 = 1;
/// `NLMSG_ERROR` (also the ACK, with error 0).
pub const NLMSG_ERROR: u16 = 2;
/// `NLMSG_DONE`: end of a multipart dump.
pub const NLMSG_DONE: u16 = 3;
/// `RTM_NEWLINK`.
pub const RTM_NEWLINK: u16 = 16;
/// `RTM_DELLINK`.
pub const RTM_DELLINK: u16 = 17;
/// `RTM_GETLINK`.
pub const RTM_GETLINK: u16 = 18;
/// `NLM_F_REQUEST`.
pub const NLM_F_REQUEST: u16 = 0x1;
/// `NLM_F_MULTI`: part of a multipart reply.
pub const NLM_F_MULTI: u16 = 0x2;
/// `NLM_F_DUMP_INTR`: the dump was interrupted by a change and may be inconsistent.
pub const NLM_F_DUMP_INTR: u16 = 0x10;
/// `NLM_F_DUMP` (`NLM_F_ROOT | NLM_F_MATCH`).
pub const NLM_F_DUMP: u16 = 0x300;
/// `IFLA_IFNAME`.
pub const IFLA_IFNAME: u16 = 3;
/// `IFLA_OPERSTATE`.
pub const IFLA_OPERSTATE: u16 = 16;
/// `IFLA_CARRIER`.
pub const IFLA_CARRIER: u16 = 33;
/// Mask removing `NLA_F_NESTED` and `NLA_F_NET_BYTEORDER` from an attribute type.
pub const NLA_TYPE_MASK: u16 = 0x3FFF;

/// Why a netlink datagram or message could not be decoded.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ParseError {
    /// Fewer bytes remain than a `nlmsghdr` needs; the rest of the datagram is dropped.
    #[error("truncated netlink header: {have} bytes left, need {NLMSG_HDRLEN}")]
    TruncatedHeader {
        /// Bytes left.
        have: usize,
    },
    /// `nlmsg_len` is shorter than the header or longer than the datagram; the rest of the
    /// datagram is dropped because message boundaries are lost.
    #[error("netlink message length {len} invalid with {have} bytes left")]
    BadLength {
        /// The claimed `nlmsg_len`.
        len: u32,
        /// Bytes left in the datagram.
        have: usize,
    },
    /// The message body is shorter than its fixed header.
    #[error("message type {kind}: body of {have} bytes, need {need}")]
    TruncatedBody {
        /// `nlmsg_type`.
        kind: u16,
        /// Body bytes present.
        have: usize,
        /// Bytes needed.
        need: usize,
    },
    /// An attribute's `rta_len` is below 4 or runs past the message.
    #[error("attribute at offset {offset} has invalid length {len} ({have} bytes left)")]
    BadAttribute {
        /// Offset of the attribute within the attribute area.
        offset: usize,
        /// The claimed `rta_len`.
        len: u16,
        /// Bytes left in the message.
        have: usize,
    },
    /// A fixed-size attribute has the wrong payload size.
    #[error("attribute type {kind} has payload of {len} bytes")]
    BadAttributeSize {
        /// Attribute type.
        kind: u16,
        /// Payload length.
        len: usize,
    },
    /// `IFLA_IFNAME` is not a valid interface name.
    #[error("bad IFLA_IFNAME: {0}")]
    BadName(IfNameError),
    /// `ifi_index` is zero or negative.
    #[error("invalid interface index {0}")]
    BadIndex(i32),
}

/// The fixed `nlmsghdr` fields.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct NlHeader {
    /// `nlmsg_len`: header plus body.
    pub len: u32,
    /// `nlmsg_type`.
    pub kind: u16,
    /// `nlmsg_flags`.
    pub flags: u16,
    /// `nlmsg_seq`: 0 for notifications, the request's sequence for replies.
    pub seq: u32,
    /// `nlmsg_pid`: sender port id.
    pub port: u32,
}

/// The decoded part of an `RTM_NEWLINK`/`RTM_DELLINK`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LinkInfo {
    /// `ifi_family`: `AF_UNSPEC` (0) for the device itself; `AF_BRIDGE` messages describe bridge
    /// ports and must not be taken as device state.
    pub family: u8,
    /// `ifi_type` (ARPHRD_*).
    pub link_type: u16,
    /// `ifi_index` (always > 0 here).
    pub ifindex: u32,
    /// `ifi_flags` (IFF_*), 32 bits.
    pub flags: u32,
    /// `ifi_change`: which flags changed (not reliable across kernels; informational).
    pub change: u32,
    /// `IFLA_IFNAME`.
    pub ifname: Option<IfName>,
    /// `IFLA_OPERSTATE`.
    pub operstate: Option<OperState>,
    /// `IFLA_CARRIER`.
    pub carrier: Option<bool>,
}

/// A decoded message body.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Body {
    /// `RTM_NEWLINK`: a link exists with this state (notification or dump entry).
    NewLink(LinkInfo),
    /// `RTM_DELLINK`: a link was removed.
    DelLink(LinkInfo),
    /// `NLMSG_DONE`: end of a dump.
    Done,
    /// `NLMSG_ERROR`: `errno` is positive (0 = ACK).
    Error {
        /// The positive errno (the kernel sends it negated).
        errno: i32,
    },
    /// `NLMSG_NOOP`.
    Noop,
    /// Any other type (e.g. address messages); ignored by link monitoring.
    Other,
}

/// One decoded message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Message {
    /// The header.
    pub header: NlHeader,
    /// The body.
    pub body: Body,
}

/// Iterator over the messages of one datagram; see [`parse_datagram`].
#[derive(Debug, Clone)]
pub struct Messages<'a> {
    rest: &'a [u8],
}

/// Splits a datagram into messages. A message whose body is malformed yields an error and the
/// iterator continues with the next; a broken header ends the iteration after its error.
pub fn parse_datagram(datagram: &[u8]) -> Messages<'_> {
    Messages { rest: datagram }
}

fn align4(len: usize) -> usize {
    len.saturating_add(3) & !3
}

fn read_u16(bytes: &[u8], at: usize) -> Option<u16> {
    let raw = bytes.get(at..at.checked_add(2)?)?;
    Some(u16::from_ne_bytes([raw[0], raw[1]]))
}

fn read_u32(bytes: &[u8], at: usize) -> Option<u32> {
    let raw = bytes.get(at..at.checked_add(4)?)?;
    Some(u32::from_ne_bytes([raw[0], raw[1], raw[2], raw[3]]))
}

fn parse_header(bytes: &[u8]) -> Option<NlHeader> {
    Some(NlHeader {
        len: read_u32(bytes, 0)?,
        kind: read_u16(bytes, 4)?,
        flags: read_u16(bytes, 6)?,
        seq: read_u32(bytes, 8)?,
        port: read_u32(bytes, 12)?,
    })
}

impl Iterator for Messages<'_> {
    type Item = Result<Message, ParseError>;

    fn next(&mut self) -> Option<Self::Item> {
        if self.rest.is_empty() {
            return None;
        }
        let have = self.rest.len();
        let Some(header) = parse_header(self.rest) else {
            self.rest = &[];
            return Some(Err(ParseError::TruncatedHeader { have }));
        };
        let len = usize::try_from(header.len).unwrap_or(usize::MAX);
        if len < NLMSG_HDRLEN || len > have {
            self.rest = &[];
            return Some(Err(ParseError::BadLength {
                len: header.len,
                have,
            }));
        }
        let body = self.rest.get(NLMSG_HDRLEN..len).unwrap_or(&[]);
        self.rest = self.rest.get(align4(len)..).unwrap_or(&[]);
        Some(parse_body(header.kind, body).map(|body| Message { header, body }))
    }
}

fn parse_body(kind: u16, body: &[u8]) -> Result<Body, ParseError> {
    match kind {
        RTM_NEWLINK => parse_link(kind, body).map(Body::NewLink),
        RTM_DELLINK => parse_link(kind, body).map(Body::DelLink),
        NLMSG_DONE => Ok(Body::Done),
        NLMSG_NOOP => Ok(Body::Noop),
        NLMSG_ERROR => {
            let raw = read_u32(body, 0).ok_or(ParseError::TruncatedBody {
                kind,
                have: body.len(),
                need: 4,
            })?;
            Ok(Body::Error {
                errno: (raw as i32).saturating_neg(),
            })
        }
        _ => Ok(Body::Other),
    }
}

fn parse_link(kind: u16, body: &[u8]) -> Result<LinkInfo, ParseError> {
    let (Some(fixed), Some(attrs)) = (body.get(..IFINFOMSG_LEN), body.get(IFINFOMSG_LEN..)) else {
        return Err(ParseError::TruncatedBody {
            kind,
            have: body.len(),
            need: IFINFOMSG_LEN,
        });
    };
    let family = fixed[0];
    let link_type = read_u16(fixed, 2).unwrap_or(0);
    let raw_index = read_u32(fixed, 4).unwrap_or(0) as i32;
    let flags = read_u32(fixed, 8).unwrap_or(0);
    let change = read_u32(fixed, 12).unwrap_or(0);
    if raw_index <= 0 {
        return Err(ParseError::BadIndex(raw_index));
    }
    let mut info = LinkInfo {
        family,
        link_type,
        ifindex: raw_index.unsigned_abs(),
        flags,
        change,
        ifname: None,
        operstate: None,
        carrier: None,
    };
    let mut offset = 0usize;
    while let Some(rest) = attrs.get(offset..) {
        if rest.len() < 4 {
            // Fewer bytes than an attribute header: trailing padding, ignored like the kernel.
            break;
        }
        let rta_len = read_u16(rest, 0).unwrap_or(0);
        let rta_type = read_u16(rest, 2).unwrap_or(0) & NLA_TYPE_MASK;
        let len = usize::from(rta_len);
        if len < 4 || len > rest.len() {
            return Err(ParseError::BadAttribute {
                offset,
                len: rta_len,
                have: rest.len(),
            });
        }
        let payload = rest.get(4..len).unwrap_or(&[]);
        match rta_type {
            IFLA_IFNAME => {
                let end = payload
                    .iter()
                    .position(|&b| b == 0)
                    .unwrap_or(payload.len());
                let name = IfName::from_bytes(payload.get(..end).unwrap_or(&[]))
                    .map_err(ParseError::BadName)?;
                info.ifname = Some(name);
            }
            IFLA_OPERSTATE => info.operstate = Some(OperState::from(one_byte(rta_type, payload)?)),
            IFLA_CARRIER => info.carrier = Some(one_byte(rta_type, payload)? != 0),
            _ => {}
        }
        offset = offset.saturating_add(align4(len));
    }
    Ok(info)
}

fn one_byte(kind: u16, payload: &[u8]) -> Result<u8, ParseError> {
    match payload {
        [value] => Ok(*value),
        _ => Err(ParseError::BadAttributeSize {
            kind,
            len: payload.len(),
        }),
    }
}

/// Encodes an `RTM_GETLINK` dump request with sequence number `seq`.
pub fn encode_dump_request(seq: u32) -> [u8; NLMSG_HDRLEN + IFINFOMSG_LEN] {
    let mut out = [0u8; NLMSG_HDRLEN + IFINFOMSG_LEN];
    out[0..4].copy_from_slice(&((NLMSG_HDRLEN + IFINFOMSG_LEN) as u32).to_ne_bytes());
    out[4..6].copy_from_slice(&RTM_GETLINK.to_ne_bytes());
    out[6..8].copy_from_slice(&(NLM_F_REQUEST | NLM_F_DUMP).to_ne_bytes());
    out[8..12].copy_from_slice(&seq.to_ne_bytes());
    // Port id 0 (kernel fills ours), ifinfomsg all zero: AF_UNSPEC, every link.
    out
}

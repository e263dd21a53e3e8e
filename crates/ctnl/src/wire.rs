//! Netlink framing: bounds-checked readers for messages and attributes, and a small writer.
//!
//! Netlink headers are in host byte order; netfilter attribute payloads are big-endian.
//! Readers never index out of bounds: every length is checked against what is left, and an
//! inconsistent length ends iteration with a [`ParseError`].

use crate::consts::{NLA_F_NESTED, NLA_HDRLEN, NLA_TYPE_MASK, NLMSG_HDRLEN};
use crate::error::{EncodeError, ParseError};
use std::net::{Ipv4Addr, Ipv6Addr};

/// Rounds `len` up to the 4-byte netlink alignment.
pub(crate) const fn align4(len: usize) -> usize {
    (len + 3) & !3
}

fn ne_u16(bytes: &[u8], at: usize) -> Option<u16> {
    let b = bytes.get(at..at + 2)?;
    Some(u16::from_ne_bytes([b[0], b[1]]))
}

fn ne_u32(bytes: &[u8], at: usize) -> Option<u32> {
    let b = bytes.get(at..at + 4)?;
    Some(u32::from_ne_bytes([b[0], b[1], b[2], b[3]]))
}

/// One netlink message inside a received datagram.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Message<'a> {
    /// `nlmsg_type`.
    pub kind: u16,
    /// `nlmsg_flags`.
    pub flags: u16,
    /// `nlmsg_seq`: the sequence number of the request this answers (0 for events).
    pub seq: u32,
    /// The bytes after the 16-byte header, without padding.
    pub payload: &'a [u8],
}

/// Iterator over the netlink messages of one datagram.
///
/// Yields an error and stops when a header is truncated or a length is inconsistent.
#[derive(Debug, Clone)]
pub struct Messages<'a> {
    rest: &'a [u8],
}

impl<'a> Messages<'a> {
    /// Iterates over the messages in `datagram`.
    pub fn new(datagram: &'a [u8]) -> Messages<'a> {
        Messages { rest: datagram }
    }
}

impl<'a> Iterator for Messages<'a> {
    type Item = Result<Message<'a>, ParseError>;

    fn next(&mut self) -> Option<Self::Item> {
        if self.rest.is_empty() {
            return None;
        }
        let buf = self.rest;
        let parsed = (|| {
            let (Some(len), Some(kind), Some(flags), Some(seq)) = (
                ne_u32(buf, 0),
                ne_u16(buf, 4),
                ne_u16(buf, 6),
                ne_u32(buf, 8),
            ) else {
                return Err(ParseError::Truncated {
                    what: "nlmsghdr",
                    need: NLMSG_HDRLEN,
                    have: buf.len(),
                });
            };
            let len = len as usize;
            if len < NLMSG_HDRLEN || len > buf.len() {
                return Err(ParseError::BadLength {
                    what: "nlmsghdr",
                    len,
                    available: buf.len(),
                });
            }
            let payload = buf.get(NLMSG_HDRLEN..len).unwrap_or_default();
            let next = align4(len).min(buf.len());
            Ok((
                Message {
                    kind,
                    flags,
                    seq,
                    payload,
                },
                next,
            ))
        })();
        match parsed {
            Ok((msg, next)) => {
                self.rest = buf.get(next..).unwrap_or_default();
                Some(Ok(msg))
            }
            Err(e) => {
                self.rest = &[];
                Some(Err(e))
            }
        }
    }
}

/// The body of an `NLMSG_ERROR` message: 0 for an acknowledgement, else a positive errno.
pub(crate) fn error_code(payload: &[u8]) -> Result<i32, ParseError> {
    let raw = ne_u32(payload, 0).ok_or(ParseError::Truncated {
        what: "nlmsgerr",
        need: 4,
        have: payload.len(),
    })?;
    // The kernel stores a negative errno in an int.
    Ok((raw as i32).saturating_neg())
}

/// One netlink attribute.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Attr<'a> {
    /// The attribute type with the NESTED and BYTEORDER flag bits removed.
    pub kind: u16,
    /// The payload, without padding.
    pub payload: &'a [u8],
}

impl<'a> Attr<'a> {
    fn exact<const N: usize>(&self, what: &'static str) -> Result<[u8; N], ParseError> {
        self.payload.try_into().map_err(|_| ParseError::AttrSize {
            what,
            len: self.payload.len(),
            expected: N,
        })
    }

    /// The payload as one byte.
    pub fn u8(&self, what: &'static str) -> Result<u8, ParseError> {
        Ok(self.exact::<1>(what)?[0])
    }

    /// The payload as a big-endian u16.
    pub fn be16(&self, what: &'static str) -> Result<u16, ParseError> {
        Ok(u16::from_be_bytes(self.exact(what)?))
    }

    /// The payload as a big-endian u32.
    pub fn be32(&self, what: &'static str) -> Result<u32, ParseError> {
        Ok(u32::from_be_bytes(self.exact(what)?))
    }

    /// The payload as an IPv4 address.
    pub fn ipv4(&self, what: &'static str) -> Result<Ipv4Addr, ParseError> {
        Ok(Ipv4Addr::from(self.exact::<4>(what)?))
    }

    /// The payload as an IPv6 address.
    pub fn ipv6(&self, what: &'static str) -> Result<Ipv6Addr, ParseError> {
        Ok(Ipv6Addr::from(self.exact::<16>(what)?))
    }

    /// The payload as a list of nested attributes.
    pub fn nested(&self) -> Attrs<'a> {
        Attrs::new(self.payload)
    }
}

/// Iterator over a run of netlink attributes.
///
/// Yields an error and stops when an attribute header is truncated or its length is
/// smaller than the header or larger than what is left.
#[derive(Debug, Clone)]
pub struct Attrs<'a> {
    rest: &'a [u8],
}

impl<'a> Attrs<'a> {
    /// Iterates over the attributes packed in `bytes`.
    pub fn new(bytes: &'a [u8]) -> Attrs<'a> {
        Attrs { rest: bytes }
    }
}

impl<'a> Iterator for Attrs<'a> {
    type Item = Result<Attr<'a>, ParseError>;

    fn next(&mut self) -> Option<Self::Item> {
        if self.rest.is_empty() {
            return None;
        }
        let buf = self.rest;
        let (Some(len), Some(kind)) = (ne_u16(buf, 0), ne_u16(buf, 2)) else {
            self.rest = &[];
            return Some(Err(ParseError::Truncated {
                what: "nlattr",
                need: NLA_HDRLEN,
                have: buf.len(),
            }));
        };
        let len = usize::from(len);
        let Some(payload) = buf.get(NLA_HDRLEN..len).filter(|_| len >= NLA_HDRLEN) else {
            self.rest = &[];
            return Some(Err(ParseError::BadLength {
                what: "nlattr",
                len,
                available: buf.len(),
            }));
        };
        self.rest = buf.get(align4(len)..).unwrap_or_default();
        Some(Ok(Attr {
            kind: kind & NLA_TYPE_MASK,
            payload,
        }))
    }
}

/// Builds netlink messages into one buffer (several messages make one datagram).
#[derive(Debug, Default)]
pub(crate) struct Writer {
    buf: Vec<u8>,
}

/// Where an open message or nest starts in the [`Writer`] buffer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Mark(usize);

impl Writer {
    pub(crate) fn with_capacity(cap: usize) -> Writer {
        Writer {
            buf: Vec::with_capacity(cap),
        }
    }

    pub(crate) fn bytes(&self) -> &[u8] {
        &self.buf
    }

    pub(crate) fn len(&self) -> usize {
        self.buf.len()
    }

    #[cfg(test)]
    pub(crate) fn is_empty(&self) -> bool {
        self.buf.is_empty()
    }

    pub(crate) fn clear(&mut self) {
        self.buf.clear();
    }

    /// Drops everything written after `mark` (used to roll back a message that failed).
    pub(crate) fn truncate(&mut self, mark: Mark) {
        self.buf.truncate(mark.0);
    }

    /// Opens a message with a netfilter generic header.
    pub(crate) fn begin(&mut self, kind: u16, flags: u16, seq: u32, family: u8) -> Mark {
        let start = self.buf.len();
        self.buf.extend_from_slice(&0u32.to_ne_bytes()); // length, patched by `end`
        self.buf.extend_from_slice(&kind.to_ne_bytes());
        self.buf.extend_from_slice(&flags.to_ne_bytes());
        self.buf.extend_from_slice(&seq.to_ne_bytes());
        self.buf.extend_from_slice(&0u32.to_ne_bytes()); // port id: the kernel is 0
        self.buf.push(family);
        self.buf.push(crate::consts::NFNETLINK_V0);
        self.buf.extend_from_slice(&0u16.to_be_bytes()); // res_id
        Mark(start)
    }

    /// Closes the message opened at `mark`, writing its length.
    pub(crate) fn end(&mut self, mark: Mark) -> Result<(), EncodeError> {
        let len = u32::try_from(self.buf.len() - mark.0).map_err(|_| EncodeError::TooLarge)?;
        self.patch(mark.0, &len.to_ne_bytes());
        Ok(())
    }

    /// ORs `flags` into the header of the message opened at `mark`.
    pub(crate) fn add_flags(&mut self, mark: Mark, flags: u16) {
        if let Some(old) = ne_u16(&self.buf, mark.0 + 6) {
            self.patch(mark.0 + 6, &(old | flags).to_ne_bytes());
        }
    }

    fn patch(&mut self, at: usize, bytes: &[u8]) {
        if let Some(dst) = self.buf.get_mut(at..at + bytes.len()) {
            dst.copy_from_slice(bytes);
        }
    }

    pub(crate) fn attr(&mut self, kind: u16, payload: &[u8]) {
        let len = NLA_HDRLEN + payload.len();
        // Attribute payloads here are at most 16 bytes, so the length fits.
        self.buf
            .extend_from_slice(&u16::try_from(len).unwrap_or(u16::MAX).to_ne_bytes());
        self.buf.extend_from_slice(&kind.to_ne_bytes());
        self.buf.extend_from_slice(payload);
        self.buf.resize(align4(self.buf.len()), 0);
    }

    pub(crate) fn u8(&mut self, kind: u16, v: u8) {
        self.attr(kind, &[v]);
    }

    pub(crate) fn be16(&mut self, kind: u16, v: u16) {
        self.attr(kind, &v.to_be_bytes());
    }

    pub(crate) fn be32(&mut self, kind: u16, v: u32) {
        self.attr(kind, &v.to_be_bytes());
    }

    pub(crate) fn nest(&mut self, kind: u16) -> Mark {
        let start = self.buf.len();
        self.buf.extend_from_slice(&0u16.to_ne_bytes());
        self.buf
            .extend_from_slice(&(kind | NLA_F_NESTED).to_ne_bytes());
        Mark(start)
    }

    pub(crate) fn end_nest(&mut self, mark: Mark) -> Result<(), EncodeError> {
        let len = u16::try_from(self.buf.len() - mark.0).map_err(|_| EncodeError::TooLarge)?;
        self.patch(mark.0, &len.to_ne_bytes());
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn writer_output_parses_back() {
        let mut w = Writer::default();
        let m = w.begin(0x0100, 1, 7, 2);
        w.u8(1, 6);
        let n = w.nest(2);
        w.be16(2, 443);
        w.be32(3, 0xdead_beef);
        w.end_nest(n).unwrap();
        w.end(m).unwrap();
        let msgs: Vec<_> = Messages::new(w.bytes()).collect::<Result<_, _>>().unwrap();
        assert_eq!(msgs.len(), 1);
        assert_eq!((msgs[0].kind, msgs[0].flags, msgs[0].seq), (0x0100, 1, 7));
        let attrs: Vec<_> = Attrs::new(&msgs[0].payload[4..])
            .collect::<Result<_, _>>()
            .unwrap();
        assert_eq!(attrs.len(), 2);
        assert_eq!(attrs[0].u8("proto").unwrap(), 6);
        assert_eq!(attrs[1].kind, 2, "nested flag is masked off");
        let inner: Vec<_> = attrs[1].nested().collect::<Result<_, _>>().unwrap();
        assert_eq!(inner[0].be16("port").unwrap(), 443);
        assert_eq!(inner[1].be32("x").unwrap(), 0xdead_beef);
    }

    #[test]
    fn rejects_bad_lengths() {
        // Attribute claiming 2 bytes (less than its header).
        let bad = [2u8, 0, 1, 0];
        assert!(matches!(
            Attrs::new(&bad).next(),
            Some(Err(ParseError::BadLength { .. }))
        ));
        // Attribute running past the buffer.
        let long = [12u8, 0, 1, 0, 0, 0];
        assert!(matches!(
            Attrs::new(&long).next(),
            Some(Err(ParseError::BadLength { .. }))
        ));
        // Truncated header; iteration stops after the error.
        let mut it = Attrs::new(&[8u8, 0]);
        assert!(matches!(it.next(), Some(Err(ParseError::Truncated { .. }))));
        assert!(it.next().is_none());
        // Message length beyond the datagram.
        let mut msg = vec![0u8; 16];
        msg[0] = 40;
        assert!(matches!(
            Messages::new(&msg).next(),
            Some(Err(ParseError::BadLength { .. }))
        ));
        // Wrong payload size for a typed read.
        let attr = Attr {
            kind: 1,
            payload: &[1, 2, 3],
        };
        assert!(matches!(
            attr.be32("x"),
            Err(ParseError::AttrSize { expected: 4, .. })
        ));
    }

    #[test]
    fn error_codes_are_positive_errnos() {
        assert_eq!(error_code(&(-17i32).to_ne_bytes()).unwrap(), 17);
        assert_eq!(error_code(&0i32.to_ne_bytes()).unwrap(), 0);
        assert!(error_code(&[0, 0]).is_err());
    }
}

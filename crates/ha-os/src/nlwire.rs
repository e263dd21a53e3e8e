//! A minimal, bounds-checked rtnetlink message encoder and decoder (pure, no I/O).
//!
//! Only what the address and link operations need: the netlink header, `ifaddrmsg`,
//! `ifinfomsg`, flat and nested attributes, and `NLMSG_ERROR`/`NLMSG_DONE` with the
//! extended-ack message. Every length read from the kernel is checked before use.

/// `NLMSG_ERROR`: an error or (with errno 0) an acknowledgement.
pub(crate) const NLMSG_ERROR: u16 = 2;
/// `NLMSG_DONE`: end of a dump.
pub(crate) const NLMSG_DONE: u16 = 3;

pub(crate) const NLM_F_REQUEST: u16 = 0x1;
pub(crate) const NLM_F_ACK: u16 = 0x4;
pub(crate) const NLM_F_DUMP: u16 = 0x300;
pub(crate) const NLM_F_EXCL: u16 = 0x200;
pub(crate) const NLM_F_CREATE: u16 = 0x400;
/// In an `NLMSG_ERROR`: the echoed request is only its header.
const NLM_F_CAPPED: u16 = 0x100;
/// In an `NLMSG_ERROR`: extended-ack attributes follow the echoed request.
const NLM_F_ACK_TLVS: u16 = 0x200;
const NLMSGERR_ATTR_MSG: u16 = 1;

pub(crate) const RTM_NEWLINK: u16 = 16;
pub(crate) const RTM_DELLINK: u16 = 17;
pub(crate) const RTM_GETLINK: u16 = 18;
pub(crate) const RTM_SETLINK: u16 = 19;
pub(crate) const RTM_NEWADDR: u16 = 20;
pub(crate) const RTM_DELADDR: u16 = 21;
pub(crate) const RTM_GETADDR: u16 = 22;
pub(crate) const RTM_NEWROUTE: u16 = 24;
pub(crate) const RTM_DELROUTE: u16 = 25;

pub(crate) const RTA_DST: u16 = 1;
pub(crate) const RTA_OIF: u16 = 4;
pub(crate) const RTA_GATEWAY: u16 = 5;
pub(crate) const RTA_PRIORITY: u16 = 6;
pub(crate) const RTA_PREFSRC: u16 = 7;
pub(crate) const RTA_TABLE: u16 = 15;

pub(crate) const IFA_ADDRESS: u16 = 1;
pub(crate) const IFA_LOCAL: u16 = 2;
pub(crate) const IFA_LABEL: u16 = 3;
pub(crate) const IFA_BROADCAST: u16 = 4;
pub(crate) const IFA_FLAGS: u16 = 8;

pub(crate) const IFLA_ADDRESS: u16 = 1;
pub(crate) const IFLA_IFNAME: u16 = 3;
pub(crate) const IFLA_MTU: u16 = 4;
pub(crate) const IFLA_LINK: u16 = 5;
pub(crate) const IFLA_LINKINFO: u16 = 18;
pub(crate) const IFLA_INFO_KIND: u16 = 1;
pub(crate) const IFLA_INFO_DATA: u16 = 2;
pub(crate) const IFLA_MACVLAN_MODE: u16 = 1;

const NLA_F_NESTED: u16 = 0x8000;
const NLA_TYPE_MASK: u16 = 0x3fff;
const HEADER_LEN: usize = 16;
const ATTR_HEADER_LEN: usize = 4;

/// Size of `struct ifaddrmsg`.
pub(crate) const IFADDRMSG_LEN: usize = 8;
/// Size of `struct ifinfomsg`.
pub(crate) const IFINFOMSG_LEN: usize = 16;

const fn align4(len: usize) -> usize {
    (len + 3) & !3
}

/// Why an encoded request or a received reply was rejected.
pub(crate) type WireError = &'static str;

/// Builds one netlink request: header, fixed family header, attributes.
#[derive(Debug)]
pub(crate) struct RequestBuilder {
    buf: Vec<u8>,
    nests: Vec<usize>,
    overflow: bool,
}

impl RequestBuilder {
    /// Starts a request of `msg_type` with `flags` (`NLM_F_REQUEST` is added).
    pub(crate) fn new(msg_type: u16, flags: u16) -> Self {
        let mut buf = Vec::with_capacity(128);
        buf.extend_from_slice(&[0; 4]); // length, written by `finish`
        buf.extend_from_slice(&msg_type.to_ne_bytes());
        buf.extend_from_slice(&(flags | NLM_F_REQUEST).to_ne_bytes());
        buf.extend_from_slice(&[0; 8]); // sequence and port, written by `finish`
        Self {
            buf,
            nests: Vec::new(),
            overflow: false,
        }
    }

    /// Appends `struct ifaddrmsg` (IPv4).
    pub(crate) fn ifaddrmsg(self, prefix_len: u8, scope: u8, index: u32) -> Self {
        self.ifaddrmsg_family(libc::AF_INET as u8, prefix_len, 0, scope, index)
    }

    /// Appends `struct ifaddrmsg` of any family, with `flags` (`IFA_F_*`, low 8 bits).
    pub(crate) fn ifaddrmsg_family(
        mut self,
        family: u8,
        prefix_len: u8,
        flags: u8,
        scope: u8,
        index: u32,
    ) -> Self {
        self.buf
            .extend_from_slice(&[family, prefix_len, flags, scope]);
        self.buf.extend_from_slice(&index.to_ne_bytes());
        self
    }

    /// Appends `struct rtmsg` (IPv4, no source prefix, TOS 0, no flags).
    pub(crate) fn rtmsg(
        mut self,
        dst_len: u8,
        table: u8,
        protocol: u8,
        scope: u8,
        kind: u8,
    ) -> Self {
        self.buf.extend_from_slice(&[
            libc::AF_INET as u8,
            dst_len,
            0,
            0,
            table,
            protocol,
            scope,
            kind,
        ]);
        self.buf.extend_from_slice(&0u32.to_ne_bytes());
        self
    }

    /// Appends `struct ifinfomsg` (family unspecified).
    pub(crate) fn ifinfomsg(mut self, index: u32, flags: u32, change: u32) -> Self {
        self.buf
            .extend_from_slice(&[libc::AF_UNSPEC as u8, 0, 0, 0]);
        self.buf.extend_from_slice(&index.to_ne_bytes());
        self.buf.extend_from_slice(&flags.to_ne_bytes());
        self.buf.extend_from_slice(&change.to_ne_bytes());
        self
    }

    fn pad(&mut self) {
        let padded = align4(self.buf.len());
        self.buf.resize(padded, 0);
    }

    /// Appends an attribute with a raw payload.
    pub(crate) fn attr(mut self, kind: u16, payload: &[u8]) -> Self {
        let len = u16::try_from(ATTR_HEADER_LEN + payload.len()).unwrap_or_else(|_| {
            self.overflow = true;
            0
        });
        self.buf.extend_from_slice(&len.to_ne_bytes());
        self.buf.extend_from_slice(&kind.to_ne_bytes());
        self.buf.extend_from_slice(payload);
        self.pad();
        self
    }

    /// Appends a NUL-terminated string attribute.
    pub(crate) fn attr_str(self, kind: u16, text: &str) -> Self {
        let mut payload = Vec::with_capacity(text.len() + 1);
        payload.extend_from_slice(text.as_bytes());
        payload.push(0);
        self.attr(kind, &payload)
    }

    /// Appends a native-endian `u32` attribute.
    pub(crate) fn attr_u32(self, kind: u16, value: u32) -> Self {
        self.attr(kind, &value.to_ne_bytes())
    }

    /// Opens a nested attribute; close it with [`Self::end_nest`].
    pub(crate) fn begin_nest(mut self, kind: u16) -> Self {
        self.nests.push(self.buf.len());
        self.buf.extend_from_slice(&[0, 0]);
        self.buf
            .extend_from_slice(&(kind | NLA_F_NESTED).to_ne_bytes());
        self
    }

    /// Closes the innermost nested attribute.
    pub(crate) fn end_nest(mut self) -> Self {
        if let Some(start) = self.nests.pop() {
            let len = u16::try_from(self.buf.len() - start).unwrap_or_else(|_| {
                self.overflow = true;
                0
            });
            self.buf[start..start + 2].copy_from_slice(&len.to_ne_bytes());
        }
        self
    }

    /// Writes the length and sequence number; fails on an oversized or unbalanced request.
    pub(crate) fn finish(mut self, seq: u32) -> Result<Vec<u8>, WireError> {
        if !self.nests.is_empty() {
            return Err("unclosed nested attribute");
        }
        if self.overflow {
            return Err("attribute too long");
        }
        let len = u32::try_from(self.buf.len()).map_err(|_| "request too long")?;
        self.buf[0..4].copy_from_slice(&len.to_ne_bytes());
        self.buf[8..12].copy_from_slice(&seq.to_ne_bytes());
        Ok(self.buf)
    }
}

pub(crate) fn read_u16(buf: &[u8], offset: usize) -> Option<u16> {
    let bytes = buf.get(offset..offset.checked_add(2)?)?;
    Some(u16::from_ne_bytes([bytes[0], bytes[1]]))
}

pub(crate) fn read_u32(buf: &[u8], offset: usize) -> Option<u32> {
    let bytes = buf.get(offset..offset.checked_add(4)?)?;
    Some(u32::from_ne_bytes([bytes[0], bytes[1], bytes[2], bytes[3]]))
}

/// One received netlink message.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Message<'a> {
    pub(crate) kind: u16,
    pub(crate) flags: u16,
    pub(crate) seq: u32,
    pub(crate) payload: &'a [u8],
}

/// Iterates over the messages of one received datagram.
pub(crate) struct Messages<'a> {
    rest: &'a [u8],
}

/// Splits a datagram into messages.
pub(crate) fn messages(datagram: &[u8]) -> Messages<'_> {
    Messages { rest: datagram }
}

impl<'a> Iterator for Messages<'a> {
    type Item = Result<Message<'a>, WireError>;

    fn next(&mut self) -> Option<Self::Item> {
        if self.rest.is_empty() {
            return None;
        }
        let rest = self.rest;
        let parsed = (|| {
            let len = read_u32(rest, 0).ok_or("truncated message header")?;
            let len = usize::try_from(len).map_err(|_| "message length")?;
            if len < HEADER_LEN || len > rest.len() {
                return Err("message length out of bounds");
            }
            let kind = read_u16(rest, 4).ok_or("truncated message header")?;
            let flags = read_u16(rest, 6).ok_or("truncated message header")?;
            let seq = read_u32(rest, 8).ok_or("truncated message header")?;
            let payload = rest
                .get(HEADER_LEN..len)
                .ok_or("message length out of bounds")?;
            let next = align4(len).min(rest.len());
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
                self.rest = rest.get(next..).unwrap_or(&[]);
                Some(Ok(msg))
            }
            Err(e) => {
                self.rest = &[];
                Some(Err(e))
            }
        }
    }
}

/// Iterates over attributes: yields (type without flag bits, payload).
pub(crate) struct Attrs<'a> {
    rest: &'a [u8],
}

/// Splits an attribute area into attributes.
pub(crate) fn attrs(area: &[u8]) -> Attrs<'_> {
    Attrs { rest: area }
}

impl<'a> Iterator for Attrs<'a> {
    type Item = Result<(u16, &'a [u8]), WireError>;

    fn next(&mut self) -> Option<Self::Item> {
        if self.rest.len() < ATTR_HEADER_LEN {
            // Fewer than 4 trailing bytes can only be padding.
            return None;
        }
        let rest = self.rest;
        let len = usize::from(read_u16(rest, 0)?);
        let kind = read_u16(rest, 2)? & NLA_TYPE_MASK;
        if len < ATTR_HEADER_LEN || len > rest.len() {
            self.rest = &[];
            return Some(Err("attribute length out of bounds"));
        }
        let payload = &rest[ATTR_HEADER_LEN..len];
        self.rest = rest.get(align4(len)..).unwrap_or(&[]);
        Some(Ok((kind, payload)))
    }
}

/// Decodes the payload of an `NLMSG_ERROR`: the errno (0 = ack, positive here) and the
/// extended-ack text if present.
pub(crate) fn parse_error(msg: &Message<'_>) -> Result<(i32, Option<String>), WireError> {
    let raw = read_u32(msg.payload, 0).ok_or("truncated error message")?;
    let errno = (raw as i32).checked_neg().ok_or("bad errno")?;
    let mut ext_ack = None;
    if msg.flags & NLM_F_ACK_TLVS != 0 {
        // The echoed request: its header only when capped, else the whole request.
        let echoed_len = if msg.flags & NLM_F_CAPPED != 0 {
            HEADER_LEN
        } else {
            let len = read_u32(msg.payload, 4).ok_or("truncated echoed request")?;
            align4(usize::try_from(len).map_err(|_| "echoed length")?)
        };
        let tlv_start = 4usize.checked_add(echoed_len).ok_or("echoed length")?;
        if let Some(area) = msg.payload.get(tlv_start..) {
            for attr in attrs(area) {
                let (kind, payload) = attr?;
                if kind == NLMSGERR_ATTR_MSG {
                    ext_ack = Some(c_string(payload));
                }
            }
        }
    }
    Ok((errno, ext_ack))
}

/// Reads a NUL-terminated (or unterminated) string attribute lossily.
pub(crate) fn c_string(payload: &[u8]) -> String {
    let end = payload
        .iter()
        .position(|&b| b == 0)
        .unwrap_or(payload.len());
    String::from_utf8_lossy(&payload[..end]).into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn builds_newaddr_request_like_iproute2() {
        let req = RequestBuilder::new(RTM_NEWADDR, NLM_F_ACK | NLM_F_CREATE | NLM_F_EXCL)
            .ifaddrmsg(24, 0, 7)
            .attr(IFA_LOCAL, &[192, 168, 200, 16])
            .attr_str(IFA_LABEL, "eth0:1")
            .finish(42)
            .unwrap();
        // 16 header + 8 ifaddrmsg + 8 IFA_LOCAL + 12 IFA_LABEL ("eth0:1\0" = 7, padded to 8).
        assert_eq!(req.len(), 44);
        assert_eq!(read_u32(&req, 0), Some(44));
        assert_eq!(read_u16(&req, 4), Some(RTM_NEWADDR));
        assert_eq!(read_u16(&req, 6), Some(0x605));
        assert_eq!(read_u32(&req, 8), Some(42));
        let mut fixed = vec![libc::AF_INET as u8, 24, 0, 0];
        fixed.extend_from_slice(&7u32.to_ne_bytes());
        assert_eq!(&req[16..24], &fixed[..]);
        assert_eq!(&req[24..32], &[8, 0, 2, 0, 192, 168, 200, 16][..]);
        assert_eq!(read_u16(&req, 32), Some(11));
        assert_eq!(&req[36..44], b"eth0:1\0\0");
    }

    #[test]
    fn nested_attributes_get_lengths_and_flag() {
        let req = RequestBuilder::new(RTM_NEWLINK, 0)
            .ifinfomsg(0, 0, 0)
            .begin_nest(IFLA_LINKINFO)
            .attr_str(IFLA_INFO_KIND, "macvlan")
            .begin_nest(IFLA_INFO_DATA)
            .attr_u32(IFLA_MACVLAN_MODE, 1)
            .end_nest()
            .end_nest()
            .finish(1)
            .unwrap();
        let area = &req[HEADER_LEN + IFINFOMSG_LEN..];
        let outer: Vec<_> = attrs(area).collect::<Result<_, _>>().unwrap();
        assert_eq!(outer.len(), 1);
        assert_eq!(outer[0].0, IFLA_LINKINFO);
        let inner: Vec<_> = attrs(outer[0].1).collect::<Result<_, _>>().unwrap();
        assert_eq!(inner[0], (IFLA_INFO_KIND, &b"macvlan\0"[..]));
        assert_eq!(inner[1].0, IFLA_INFO_DATA);
        let data: Vec<_> = attrs(inner[1].1).collect::<Result<_, _>>().unwrap();
        assert_eq!(data, vec![(IFLA_MACVLAN_MODE, &1u32.to_ne_bytes()[..])]);
    }

    #[test]
    fn oversized_attribute_is_rejected() {
        let big = vec![0u8; 70_000];
        let err = RequestBuilder::new(RTM_NEWADDR, 0)
            .ifaddrmsg(32, 0, 1)
            .attr(IFA_LABEL, &big)
            .finish(1);
        assert!(err.is_err());
        let unbalanced = RequestBuilder::new(RTM_NEWLINK, 0)
            .ifinfomsg(0, 0, 0)
            .begin_nest(IFLA_LINKINFO)
            .finish(1);
        assert!(unbalanced.is_err());
    }

    fn error_message(errno: i32, with_text: Option<&str>) -> Vec<u8> {
        let mut payload = Vec::new();
        payload.extend_from_slice(&(-errno).to_ne_bytes());
        let echoed = RequestBuilder::new(RTM_NEWADDR, 0)
            .ifaddrmsg(32, 0, 1)
            .finish(9)
            .unwrap();
        payload.extend_from_slice(&echoed[..HEADER_LEN]);
        let mut flags = NLM_F_CAPPED;
        if let Some(text) = with_text {
            flags |= NLM_F_ACK_TLVS;
            let mut tlv = Vec::new();
            let len = (ATTR_HEADER_LEN + text.len() + 1) as u16;
            tlv.extend_from_slice(&len.to_ne_bytes());
            tlv.extend_from_slice(&NLMSGERR_ATTR_MSG.to_ne_bytes());
            tlv.extend_from_slice(text.as_bytes());
            tlv.push(0);
            tlv.resize(align4(tlv.len()), 0);
            payload.extend_from_slice(&tlv);
        }
        let mut msg = Vec::new();
        msg.extend_from_slice(&((HEADER_LEN + payload.len()) as u32).to_ne_bytes());
        msg.extend_from_slice(&NLMSG_ERROR.to_ne_bytes());
        msg.extend_from_slice(&flags.to_ne_bytes());
        msg.extend_from_slice(&9u32.to_ne_bytes());
        msg.extend_from_slice(&0u32.to_ne_bytes());
        msg.extend_from_slice(&payload);
        msg
    }

    #[test]
    fn parses_error_with_extended_ack() {
        let datagram = error_message(libc::EEXIST, Some("Address already assigned"));
        let msgs: Vec<_> = messages(&datagram).collect::<Result<_, _>>().unwrap();
        assert_eq!(msgs.len(), 1);
        assert_eq!(msgs[0].kind, NLMSG_ERROR);
        assert_eq!(msgs[0].seq, 9);
        let (errno, text) = parse_error(&msgs[0]).unwrap();
        assert_eq!(errno, libc::EEXIST);
        assert_eq!(text.as_deref(), Some("Address already assigned"));

        let ack = error_message(0, None);
        let msg = messages(&ack).next().unwrap().unwrap();
        assert_eq!(parse_error(&msg).unwrap(), (0, None));
    }

    #[test]
    fn truncated_or_lying_input_is_an_error_not_a_panic() {
        let datagram = error_message(libc::ENODEV, Some("x"));
        for cut in 0..datagram.len() {
            for msg in messages(&datagram[..cut]).flatten() {
                let _ = parse_error(&msg);
            }
        }
        // A header claiming more bytes than present.
        let mut lying = datagram.clone();
        lying[0..4].copy_from_slice(&1000u32.to_ne_bytes());
        assert!(messages(&lying).next().unwrap().is_err());
        // An attribute claiming more bytes than present.
        let bad_attr = [200u8, 0, 1, 0, 1, 2, 3, 4];
        assert!(attrs(&bad_attr).next().unwrap().is_err());
        assert!(attrs(&[1, 0, 1]).next().is_none());
    }

    proptest::proptest! {
        #![proptest_config(proptest::prelude::ProptestConfig::with_cases(256))]

        #[test]
        fn arbitrary_replies_never_panic(
            bytes in proptest::collection::vec(proptest::prelude::any::<u8>(), 0..256),
        ) {
            for msg in messages(&bytes).flatten() {
                proptest::prop_assert!(msg.payload.len() <= bytes.len());
                let _ = parse_error(&msg);
                for attr in attrs(msg.payload).flatten() {
                    for inner in attrs(attr.1).flatten() {
                        let _ = c_string(inner.1);
                    }
                }
            }
        }
    }
}

//! A tiny encoder for crafted netlink link messages (host byte order, 4-byte alignment).

pub struct Attr<'a>(pub u16, pub &'a [u8]);

fn pad4(buf: &mut Vec<u8>) {
    while !buf.len().is_multiple_of(4) {
        buf.push(0);
    }
}

/// Encodes one message: nlmsghdr + `body`.
pub fn message(kind: u16, flags: u16, seq: u32, body: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    out.extend_from_slice(&((16 + body.len()) as u32).to_ne_bytes());
    out.extend_from_slice(&kind.to_ne_bytes());
    out.extend_from_slice(&flags.to_ne_bytes());
    out.extend_from_slice(&seq.to_ne_bytes());
    out.extend_from_slice(&0u32.to_ne_bytes());
    out.extend_from_slice(body);
    pad4(&mut out);
    out
}

/// ifinfomsg + attributes.
pub fn link_body(family: u8, index: i32, flags: u32, attrs: &[Attr<'_>]) -> Vec<u8> {
    let mut out = vec![family, 0];
    out.extend_from_slice(&1u16.to_ne_bytes()); // ARPHRD_ETHER
    out.extend_from_slice(&index.to_ne_bytes());
    out.extend_from_slice(&flags.to_ne_bytes());
    out.extend_from_slice(&0xFFFF_FFFFu32.to_ne_bytes());
    for Attr(kind, payload) in attrs {
        out.extend_from_slice(&((4 + payload.len()) as u16).to_ne_bytes());
        out.extend_from_slice(&kind.to_ne_bytes());
        out.extend_from_slice(payload);
        pad4(&mut out);
    }
    out
}

pub const UP_RUNNING: u32 = 0x1 | 0x40 | 0x1000 | 0x1_0000;
pub const UP_NO_CARRIER: u32 = 0x1 | 0x1000;

/// A typical RTM_NEWLINK (or RTM_DELLINK) for `name` with operstate and carrier.
pub fn link(kind: u16, seq: u32, index: i32, name: &str, flags: u32) -> Vec<u8> {
    let mut name_z = name.as_bytes().to_vec();
    name_z.push(0);
    let up = flags & 0x40 != 0;
    let operstate = [if up { 6 } else { 2 }];
    let carrier = [u8::from(up)];
    let mtu = 1500u32.to_ne_bytes();
    let attrs = [
        Attr(3, &name_z),
        Attr(4, &mtu),
        Attr(16, &operstate),
        Attr(33, &carrier),
    ];
    let multi = if seq != 0 { 0x2 } else { 0 };
    message(kind, multi, seq, &link_body(0, index, flags, &attrs))
}

pub fn done(seq: u32) -> Vec<u8> {
    message(3, 0x2, seq, &0i32.to_ne_bytes())
}

pub fn error(seq: u32, errno: i32) -> Vec<u8> {
    let mut body = (-errno).to_ne_bytes().to_vec();
    body.extend_from_slice(&[0u8; 16]);
    message(2, 0, seq, &body)
}

/// The sequence number of a dump request produced by `LinkTable::take_dump_request`.
pub fn request_seq(request: &[u8]) -> u32 {
    assert_eq!(
        u16::from_ne_bytes([request[4], request[5]]),
        18,
        "RTM_GETLINK"
    );
    assert_eq!(
        u16::from_ne_bytes([request[6], request[7]]),
        0x301,
        "REQUEST|DUMP"
    );
    u32::from_ne_bytes([request[8], request[9], request[10], request[11]])
}

//! Stripping link-layer headers down to the IPv4 packet.

use crate::LinkType;

/// EtherType of IPv4.
pub const ETHERTYPE_IPV4: u16 = 0x0800;
/// EtherType of ARP.
pub const ETHERTYPE_ARP: u16 = 0x0806;
/// EtherType of an 802.1Q VLAN tag.
pub const ETHERTYPE_VLAN: u16 = 0x8100;
/// EtherType of an 802.1ad service tag.
pub const ETHERTYPE_QINQ: u16 = 0x88A8;

const ETH_HEADER_LEN: usize = 14;
const SLL_HEADER_LEN: usize = 16;
/// Most VLAN tags we skip before giving up.
const MAX_VLAN_TAGS: usize = 2;

/// Why a frame does not yield an IPv4 packet.
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
pub enum LinkError {
    /// The frame is shorter than its link-layer header.
    #[error("frame too short for its link-layer header")]
    Truncated,
    /// The frame carries another protocol (its EtherType is given).
    #[error("EtherType {0:#06x} is not IPv4")]
    NotIpv4(u16),
    /// More VLAN tags than supported.
    #[error("too many VLAN tags")]
    TooManyTags,
    /// A raw-IP frame whose version nibble is not 4.
    #[error("raw IP frame with version {0}")]
    NotIpv4Raw(u8),
    /// The capture's link type is not supported.
    #[error("unsupported link type {0}")]
    UnsupportedLinkType(u32),
}

/// An Ethernet frame with its tags removed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct EthernetFrame<'a> {
    /// Destination MAC.
    pub dst: [u8; 6],
    /// Source MAC.
    pub src: [u8; 6],
    /// VLAN ID of the outermost tag, if any.
    pub vlan: Option<u16>,
    /// EtherType after the tags.
    pub ethertype: u16,
    /// The bytes after the header and tags (may include Ethernet padding).
    pub payload: &'a [u8],
}

/// Parses an Ethernet header, skipping up to two 802.1Q/802.1ad tags.
pub fn parse_ethernet(frame: &[u8]) -> Result<EthernetFrame<'_>, LinkError> {
    let header = frame.get(..ETH_HEADER_LEN).ok_or(LinkError::Truncated)?;
    let mut dst = [0u8; 6];
    let mut src = [0u8; 6];
    dst.copy_from_slice(&header[0..6]);
    src.copy_from_slice(&header[6..12]);
    let mut ethertype = u16::from_be_bytes([header[12], header[13]]);
    let mut offset = ETH_HEADER_LEN;
    let mut vlan = None;
    let mut tags = 0;
    while ethertype == ETHERTYPE_VLAN || ethertype == ETHERTYPE_QINQ {
        if tags == MAX_VLAN_TAGS {
            return Err(LinkError::TooManyTags);
        }
        let tag = frame.get(offset..offset + 4).ok_or(LinkError::Truncated)?;
        if vlan.is_none() {
            vlan = Some(u16::from_be_bytes([tag[0], tag[1]]) & 0x0FFF);
        }
        ethertype = u16::from_be_bytes([tag[2], tag[3]]);
        offset += 4;
        tags += 1;
    }
    Ok(EthernetFrame {
        dst,
        src,
        vlan,
        ethertype,
        payload: &frame[offset..],
    })
}

/// Returns the IPv4 packet inside `frame` for the given link type (Ethernet, Linux
/// cooked, raw IP, raw IPv4). Ethernet padding is kept: trim with the IP total length.
pub fn ipv4_payload(linktype: LinkType, frame: &[u8]) -> Result<&[u8], LinkError> {
    match linktype {
        LinkType::ETHERNET => {
            let eth = parse_ethernet(frame)?;
            if eth.ethertype != ETHERTYPE_IPV4 {
                return Err(LinkError::NotIpv4(eth.ethertype));
            }
            Ok(eth.payload)
        }
        LinkType::LINUX_SLL => {
            let h = frame.get(..SLL_HEADER_LEN).ok_or(LinkError::Truncated)?;
            let proto = u16::from_be_bytes([h[14], h[15]]);
            if proto != ETHERTYPE_IPV4 {
                return Err(LinkError::NotIpv4(proto));
            }
            Ok(&frame[SLL_HEADER_LEN..])
        }
        LinkType::RAW | LinkType::IPV4 => {
            let first = *frame.first().ok_or(LinkError::Truncated)?;
            if first >> 4 != 4 {
                return Err(LinkError::NotIpv4Raw(first >> 4));
            }
            Ok(frame)
        }
        LinkType(other) => Err(LinkError::UnsupportedLinkType(other)),
    }
}

/// Cuts an IPv4 packet to its total-length field (dropping Ethernet padding). Returns the
/// input unchanged if the field is missing or larger than the buffer.
pub fn trim_ipv4_padding(packet: &[u8]) -> &[u8] {
    match packet.get(2..4) {
        Some(l) => {
            let total = usize::from(u16::from_be_bytes([l[0], l[1]]));
            packet.get(..total).unwrap_or(packet)
        }
        None => packet,
    }
}

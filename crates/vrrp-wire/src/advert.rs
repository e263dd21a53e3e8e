//! Whole-packet API: encode an advert exactly as keepalived sends it, and decode +
//! validate a received IPv4 packet in keepalived's order (RFC 3768 §7.1).

use core::net::Ipv4Addr;

use crate::addr::AddrSlice;
use crate::ah::{AH_HEADER_LEN, AH_ICV_LEN, AH_PAYLOAD_LEN, AhPacket, Authenticator};
use crate::ah_seq::{AhSequence, ReplayError};
use crate::checksum::internet_checksum;
use crate::error::ParseError;
use crate::ipv4::{FLAG_MORE_FRAGMENTS, FRAGMENT_OFFSET_MASK, IPV4_MIN_HEADER_LEN, Ipv4Packet};
use crate::types::{AUTH_KEY_LEN, Auth, AuthType, Vrid};
use crate::vrrp::{
    AdvertRepr, VRRP_HEADER_LEN, VRRP_TYPE_ADVERTISEMENT, VRRP_VERSION, VrrpPacket,
    vrrp_message_len,
};
use crate::{IPPROTO_AH, IPPROTO_VRRP};

/// The IPv4 VRRP multicast group, 224.0.0.18.
pub const VRRP_MULTICAST_GROUP: Ipv4Addr = Ipv4Addr::new(224, 0, 0, 18);
/// The TOS byte keepalived sends (precedence "internetwork control", DSCP CS6).
pub const KEEPALIVED_TOS: u8 = 0xC0;
/// The TTL VRRP sends and (for multicast) requires.
pub const VRRP_TTL: u8 = 255;
/// Minimum Ethernet payload: shorter IP packets arrive padded to this length.
const ETH_MIN_PAYLOAD: usize = 46;

/// IP-level parameters of one advert to send.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct TxParams {
    /// Source address (the interface's primary address or `mcast_src_ip`/`unicast_src_ip`).
    pub src: Ipv4Addr,
    /// Destination: the multicast group or a unicast peer.
    pub dst: Ipv4Addr,
    /// IP identification; never 0 (see [`IpIdCounter`]).
    pub ip_id: u16,
    /// TTL (255; keepalived's `unicast_ttl` may change it for unicast).
    pub ttl: u8,
    /// TOS byte (keepalived: 0xC0).
    pub tos: u8,
    /// Unicast mode: the AH ICV then zeroes the TTL.
    pub unicast: bool,
}

impl TxParams {
    /// Multicast to 224.0.0.18 with TTL 255 and TOS 0xC0.
    pub const fn multicast(src: Ipv4Addr, ip_id: u16) -> Self {
        Self {
            src,
            dst: VRRP_MULTICAST_GROUP,
            ip_id,
            ttl: VRRP_TTL,
            tos: KEEPALIVED_TOS,
            unicast: false,
        }
    }

    /// Unicast to `dst` with TTL 255 and TOS 0xC0.
    pub const fn unicast(src: Ipv4Addr, dst: Ipv4Addr, ip_id: u16) -> Self {
        Self {
            src,
            dst,
            ip_id,
            ttl: VRRP_TTL,
            tos: KEEPALIVED_TOS,
            unicast: true,
        }
    }
}

/// Per-instance IP identification counter, as keepalived keeps it: starts at 0, is
/// incremented before each advert (so the first carries 1) and skips 0 on wrap.
///
/// An ID of 0 would be rewritten by the kernel on an `IP_HDRINCL` socket after the AH ICV
/// was computed, breaking authentication.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct IpIdCounter(u16);

impl IpIdCounter {
    /// A counter whose next ID is 1.
    pub const fn new() -> Self {
        Self(0)
    }

    /// The last ID handed out (0 before the first).
    pub const fn current(&self) -> u16 {
        self.0
    }

    /// Advances and returns the ID for the next advert (never 0).
    pub fn next_id(&mut self) -> u16 {
        self.0 = self.0.wrapping_add(1);
        if self.0 == 0 {
            self.0 = 1;
        }
        self.0
    }
}

/// Why an advert could not be encoded.
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
pub enum EmitError {
    /// The output buffer is smaller than the packet.
    #[error("buffer too small: {needed} bytes needed, {available} available")]
    BufferTooSmall {
        /// Bytes the packet needs.
        needed: usize,
        /// Bytes the buffer holds.
        available: usize,
    },
    /// IP ID 0 must not be sent (the kernel would replace it).
    #[error("IP ID 0 must not be sent")]
    ZeroIpId,
    /// AH authentication needs a sequence number.
    #[error("AH authentication needs a sequence number")]
    MissingAhSequence,
    /// A sequence number was given but the authentication is not AH.
    #[error("an AH sequence number was given without AH authentication")]
    UnexpectedAhSequence,
}

/// Length of the whole IPv4 packet for `advert` with `auth`: 20 + (24) + 16 + 4·N.
pub fn advert_packet_len(advert: &AdvertRepr, auth: &Auth) -> usize {
    let ah = if matches!(auth, Auth::Ah(_)) {
        AH_HEADER_LEN
    } else {
        0
    };
    IPV4_MIN_HEADER_LEN + ah + advert.vrrp_len()
}

/// Writes the whole IPv4 packet of an advert into `buf` and returns its length.
///
/// The packet is what keepalived puts on the wire: IHL 5, TOS and TTL from `tx`
/// (0xC0/255), DF clear, protocol 112 (51 with AH), IP header checksum filled in. With AH
/// the header carries SPI = `tx.src`, `ah_seq` and the HMAC-MD5-96 ICV, and the VRRP
/// Auth Data is zero; with PASS it carries the 8-byte password.
pub fn encode_advert(
    tx: &TxParams,
    advert: &AdvertRepr,
    auth: &Authenticator,
    ah_seq: Option<u32>,
    buf: &mut [u8],
) -> Result<usize, EmitError> {
    if tx.ip_id == 0 {
        return Err(EmitError::ZeroIpId);
    }
    let seq = match (auth.ah_key(), ah_seq) {
        (Some(_), Some(s)) => Some(s),
        (Some(_), None) => return Err(EmitError::MissingAhSequence),
        (None, Some(_)) => return Err(EmitError::UnexpectedAhSequence),
        (None, None) => None,
    };
    let len = advert_packet_len(advert, auth.auth());
    let available = buf.len();
    let out = buf.get_mut(..len).ok_or(EmitError::BufferTooSmall {
        needed: len,
        available,
    })?;
    // `len` ≤ 20 + 24 + 16 + 4·255 = 1080, so it fits the 16-bit total length.
    let total = len as u16;
    let vrrp_start = IPV4_MIN_HEADER_LEN + if seq.is_some() { AH_HEADER_LEN } else { 0 };

    {
        let mut ip = Ipv4Packet::new_unchecked(&mut out[..IPV4_MIN_HEADER_LEN]);
        ip.set_version_and_header_len(IPV4_MIN_HEADER_LEN);
        ip.set_tos(tx.tos);
        ip.set_total_len(total);
        ip.set_ident(tx.ip_id);
        ip.set_flags_frag(0);
        ip.set_ttl(tx.ttl);
        ip.set_protocol(auth.auth().ip_protocol());
        ip.set_checksum(0);
        ip.set_src_addr(tx.src);
        ip.set_dst_addr(tx.dst);
    }
    {
        let mut v = VrrpPacket::new_unchecked(&mut out[vrrp_start..]);
        v.set_version_type(VRRP_VERSION, VRRP_TYPE_ADVERTISEMENT);
        v.set_vrid(advert.vrid.get());
        v.set_priority(advert.priority);
        v.set_addr_count(advert.addresses.count_byte());
        v.set_auth_type(auth.auth().auth_type().to_wire());
        v.set_adver_int(advert.adver_int);
        for (slot, a) in v
            .addresses_mut()
            .chunks_exact_mut(4)
            .zip(advert.addresses.iter())
        {
            slot.copy_from_slice(&a.octets());
        }
        let data = match auth.auth() {
            Auth::Pass(pw) => *pw,
            Auth::None | Auth::Ah(_) => [0u8; AUTH_KEY_LEN],
        };
        v.set_auth_data(&data);
        v.fill_checksum();
    }
    if let (Some(key), Some(seq)) = (auth.ah_key(), seq) {
        let (ip_hdr, rest) = out.split_at_mut(IPV4_MIN_HEADER_LEN);
        let (ah_hdr, vrrp) = rest.split_at_mut(AH_HEADER_LEN);
        let mut ah = AhPacket::new_unchecked(&mut *ah_hdr);
        ah.set_next_header(IPPROTO_VRRP);
        ah.set_payload_len(AH_PAYLOAD_LEN);
        ah.set_reserved(0);
        ah.set_spi(u32::from(tx.src));
        ah.set_sequence(seq);
        ah.set_icv(&[0u8; AH_ICV_LEN]);
        let icv = key.icv(ip_hdr, ah_hdr, vrrp, tx.unicast);
        AhPacket::new_unchecked(&mut *ah_hdr).set_icv(&icv);
    }
    let mut ip = Ipv4Packet::new_unchecked(&mut out[..IPV4_MIN_HEADER_LEN]);
    ip.fill_checksum();
    Ok(len)
}

/// What to do when the address list differs from the configured VIPs (RFC 3768 §7.1).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub enum AddressListPolicy {
    /// Accept and report it in [`RxAdvert::address_list`] (keepalived ≥ 2.3.3, RFC 9568).
    #[default]
    AcceptAndFlag,
    /// Drop with [`RxError::AddressListMismatch`] (keepalived ≤ 2.3.2).
    Drop,
    /// Drop unless the sender is the address owner (priority 255), as RFC 3768 says.
    DropUnlessOwner,
}

/// Result of comparing the advert's address list with the configured VIPs.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum AddressListMatch {
    /// No VIP list was given in the policy.
    NotChecked,
    /// Same count, and every configured VIP is present.
    Matches,
    /// Count or content differs (accepted by policy, counted as `AddressListErrors`).
    Differs,
}

/// How a received advert is validated: the local instance's configuration.
#[derive(Clone, Copy, Debug)]
pub struct RxPolicy<'a> {
    /// The configured authentication.
    pub auth: &'a Authenticator,
    /// Unicast instance: TTL not checked, destination must not be multicast, AH ICV with
    /// TTL zeroed.
    pub unicast: bool,
    /// The VRID this instance runs; `None` accepts any (non-zero) VRID.
    pub expected_vrid: Option<Vrid>,
    /// The configured advert interval in seconds; `None` skips the check.
    pub adver_int: Option<u8>,
    /// The configured VIPs; `None` skips the address-list check.
    pub vips: Option<&'a [Ipv4Addr]>,
    /// What an address-list mismatch does.
    pub address_list_policy: AddressListPolicy,
    /// Verify the IPv4 header checksum (the kernel already did for raw sockets).
    pub verify_ip_checksum: bool,
}

impl<'a> RxPolicy<'a> {
    /// A multicast policy with `auth` and no VRID/interval/VIP expectations.
    pub const fn new(auth: &'a Authenticator) -> Self {
        Self {
            auth,
            unicast: false,
            expected_vrid: None,
            adver_int: None,
            vips: None,
            address_list_policy: AddressListPolicy::AcceptAndFlag,
            verify_ip_checksum: true,
        }
    }
}

/// The RFC 2787 (VRRP MIB) statistics counter a receive error feeds.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Rfc2787Counter {
    /// `vrrpRouterChecksumErrors`.
    ChecksumErrors,
    /// `vrrpRouterVersionErrors`.
    VersionErrors,
    /// `vrrpRouterVrIdErrors`.
    VrIdErrors,
    /// `vrrpStatsAuthTypeMismatch`.
    AuthTypeMismatch,
    /// `vrrpStatsAuthFailures`.
    AuthFailures,
    /// `vrrpStatsInvalidAuthType`.
    InvalidAuthType,
    /// `vrrpStatsIpTtlErrors`.
    IpTtlErrors,
    /// `vrrpStatsAddressListErrors`.
    AddressListErrors,
    /// `vrrpStatsInvalidTypePktsRcvd`.
    InvalidTypePktsRcvd,
    /// `vrrpStatsPacketLengthErrors`.
    PacketLengthErrors,
    /// `vrrpStatsAdvertisementIntervalErrors`.
    AdvertisementIntervalErrors,
}

/// Why a received packet is not an acceptable advert, one variant per validation rule.
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
pub enum RxError {
    /// The IP version is not 4.
    #[error("not IPv4 (version {0})")]
    NotIpv4(u8),
    /// The IPv4 header is malformed (IHL or total length inconsistent).
    #[error("malformed IPv4 header: {0}")]
    IpHeader(ParseError),
    /// The IPv4 header checksum does not verify.
    #[error("IPv4 header checksum does not verify")]
    IpChecksum,
    /// The packet is an IPv4 fragment.
    #[error("IPv4 fragment")]
    Fragment,
    /// The IP protocol is neither 112 (VRRP) nor 51 (AH).
    #[error("IP protocol {0} is neither VRRP nor AH")]
    NotVrrp(u8),
    /// Fewer bytes than IP header + (AH) + the 8-byte VRRP header.
    #[error("truncated: {needed} bytes needed, {available} received")]
    Truncated {
        /// Bytes needed.
        needed: usize,
        /// Bytes received.
        available: usize,
    },
    /// VRID 0 on the wire.
    #[error("VRID 0 is not valid")]
    InvalidVrid,
    /// A VRID this instance does not run.
    #[error("unknown VRID {0}")]
    UnknownVrid(u8),
    /// IP protocol 51 without AH configured, or 112 with AH configured.
    #[error("IP protocol {protocol} does not match the configured auth {configured:?}")]
    ProtocolMismatch {
        /// The configured auth type.
        configured: AuthType,
        /// The IP protocol received.
        protocol: u8,
    },
    /// The received length does not match the address count (padding considered).
    #[error("packet length {received} does not match the expected {expected}")]
    PacketLength {
        /// Length implied by IHL, AH and the address count.
        expected: usize,
        /// Bytes received.
        received: usize,
    },
    /// TTL is not 255 on a multicast instance.
    #[error("IP TTL {0} is not 255")]
    IpTtl(u8),
    /// VRRP version is not 2.
    #[error("VRRP version {0} is not 2")]
    Version(u8),
    /// Auth type is not 0, 1 or 2.
    #[error("invalid auth type {0}")]
    InvalidAuthType(u8),
    /// Auth type differs from the configured one.
    #[error("auth type {received:?} does not match the configured {configured:?}")]
    AuthTypeMismatch {
        /// The configured auth type.
        configured: AuthType,
        /// The received auth type.
        received: AuthType,
    },
    /// PASS: the 8-byte password differs.
    #[error("simple password does not match")]
    PasswordMismatch,
    /// AH next header is not 112: silently ignored.
    #[error("AH next header {0} is not VRRP")]
    AhNextHeader(u8),
    /// AH header shape differs from keepalived's (payload length 4, reserved 0).
    #[error("malformed AH header: {0}")]
    AhMalformed(ParseError),
    /// AH ICV does not verify (wrong key, or a covered field was changed).
    #[error("AH ICV (HMAC-MD5-96) does not verify")]
    AhIcvMismatch,
    /// AH SPI is not the source address.
    #[error("AH SPI {spi:#010x} is not the source address {src}")]
    AhSpiMismatch {
        /// The SPI received.
        spi: u32,
        /// The IP source address.
        src: Ipv4Addr,
    },
    /// AH sequence number not above the instance watermark (see [`RxAdvert::check_replay`]).
    #[error(transparent)]
    Replay(#[from] ReplayError),
    /// Adver Int differs from the configured one: keepalived drops silently.
    #[error("advert interval {received} s differs from the configured {configured} s")]
    AdvertIntervalMismatch {
        /// The configured interval.
        configured: u8,
        /// The received interval.
        received: u8,
    },
    /// VRRP type is not 1 (ADVERTISEMENT).
    #[error("VRRP type {0} is not ADVERTISEMENT")]
    InvalidType(u8),
    /// IP total length differs from the expected length.
    #[error("IP total length {total} does not match the expected {expected}")]
    IpTotalLength {
        /// The total-length field.
        total: usize,
        /// Length implied by IHL, AH and the address count.
        expected: usize,
    },
    /// VRRP checksum does not verify.
    #[error("VRRP checksum {found:#06x} does not verify (expected {expected:#06x})")]
    Checksum {
        /// The checksum received.
        found: u16,
        /// The checksum the message should carry.
        expected: u16,
    },
    /// Multicast destination on a unicast instance, or the reverse.
    #[error("destination {0} does not match the instance's unicast/multicast mode")]
    DestinationMismatch(Ipv4Addr),
    /// The address list differs from the configured VIPs and the policy drops it.
    #[error("address list does not match the configured virtual addresses")]
    AddressListMismatch,
}

impl RxError {
    /// The RFC 2787 counter this error feeds; `None` for packets that are not VRRP
    /// adverts for us at all (not IPv4, fragments, other protocols, bad IP checksum, AH
    /// not carrying VRRP).
    pub const fn counter(&self) -> Option<Rfc2787Counter> {
        use Rfc2787Counter as C;
        Some(match self {
            RxError::NotIpv4(_)
            | RxError::IpChecksum
            | RxError::Fragment
            | RxError::NotVrrp(_)
            | RxError::AhNextHeader(_) => return None,
            RxError::IpHeader(_)
            | RxError::Truncated { .. }
            | RxError::PacketLength { .. }
            | RxError::IpTotalLength { .. } => C::PacketLengthErrors,
            RxError::InvalidVrid | RxError::UnknownVrid(_) => C::VrIdErrors,
            RxError::ProtocolMismatch { .. } | RxError::AuthTypeMismatch { .. } => {
                C::AuthTypeMismatch
            }
            RxError::IpTtl(_) => C::IpTtlErrors,
            RxError::Version(_) => C::VersionErrors,
            RxError::InvalidAuthType(_) => C::InvalidAuthType,
            RxError::PasswordMismatch
            | RxError::AhMalformed(_)
            | RxError::AhIcvMismatch
            | RxError::AhSpiMismatch { .. }
            | RxError::Replay(_) => C::AuthFailures,
            RxError::AdvertIntervalMismatch { .. } => C::AdvertisementIntervalErrors,
            RxError::InvalidType(_) => C::InvalidTypePktsRcvd,
            RxError::Checksum { .. } => C::ChecksumErrors,
            RxError::DestinationMismatch(_) | RxError::AddressListMismatch => C::AddressListErrors,
        })
    }

    /// keepalived's DROP (ignored, not counted as an error) as opposed to KO (counted):
    /// true for an advert-interval mismatch, an unknown VRID, AH not carrying VRRP, and the
    /// non-VRRP cases where [`RxError::counter`] is `None`.
    pub const fn is_silent_drop(&self) -> bool {
        matches!(
            self,
            RxError::NotIpv4(_)
                | RxError::IpChecksum
                | RxError::Fragment
                | RxError::NotVrrp(_)
                | RxError::AhNextHeader(_)
                | RxError::UnknownVrid(_)
                | RxError::AdvertIntervalMismatch { .. }
        )
    }
}

/// AH fields of a verified advert.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct RxAh {
    /// The SPI (equal to the source address).
    pub spi: u32,
    /// The sequence number; still to be checked with [`RxAdvert::check_replay`].
    pub sequence: u32,
    /// The ICV, verified.
    pub icv: [u8; AH_ICV_LEN],
}

/// The validated facts of a received advert, borrowing the address list from the packet.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RxAdvert<'a> {
    /// IP source.
    pub src: Ipv4Addr,
    /// IP destination.
    pub dst: Ipv4Addr,
    /// IP TTL.
    pub ttl: u8,
    /// IP TOS byte.
    pub tos: u8,
    /// IP identification.
    pub ip_id: u16,
    /// IP header length (20 without options).
    pub ip_header_len: usize,
    /// IP flags/fragment word (only flag bits; fragments are rejected).
    pub ip_flags_frag: u16,
    /// IP total length (padding excluded).
    pub packet_len: usize,
    /// VRID.
    pub vrid: Vrid,
    /// Priority.
    pub priority: u8,
    /// Advert interval (s).
    pub adver_int: u8,
    /// Auth type (equal to the configured one).
    pub auth_type: AuthType,
    /// The 8 bytes of Auth Data (the password for PASS; ignored otherwise).
    pub auth_data: [u8; AUTH_KEY_LEN],
    /// VRRP checksum (verified).
    pub vrrp_checksum: u16,
    /// Advertised addresses, in wire order.
    pub addresses: AddrSlice<'a>,
    /// AH fields, for AH adverts.
    pub ah: Option<RxAh>,
    /// Address list vs configured VIPs.
    pub address_list: AddressListMatch,
}

impl RxAdvert<'_> {
    /// The AH sequence number, for AH adverts.
    pub fn ah_sequence(&self) -> Option<u32> {
        self.ah.map(|a| a.sequence)
    }

    /// The replay check (keepalived's last AH rule): for AH adverts, accepts iff the
    /// sequence number is above the instance watermark and then raises it. Non-AH adverts
    /// pass without touching `seq`.
    pub fn check_replay(&self, seq: &mut AhSequence) -> Result<(), RxError> {
        match self.ah {
            Some(ah) => seq.check_and_accept(ah.sequence).map_err(RxError::from),
            None => Ok(()),
        }
    }

    /// The advert content as an owned representation.
    pub fn advert(&self) -> AdvertRepr {
        AdvertRepr {
            vrid: self.vrid,
            priority: self.priority,
            adver_int: self.adver_int,
            addresses: self.addresses.to_list(),
        }
    }

    /// Transmit parameters that reproduce this packet's IP header with [`encode_advert`].
    pub fn tx_params(&self, unicast: bool) -> TxParams {
        TxParams {
            src: self.src,
            dst: self.dst,
            ip_id: self.ip_id,
            ttl: self.ttl,
            tos: self.tos,
            unicast,
        }
    }
}

/// Reads the VRID of a packet that looks like a VRRP advert (for demultiplexing to an
/// instance before full validation). `None` if the packet is too short, not IPv4, not
/// protocol 112/51, or carries VRID 0.
pub fn peek_vrid(packet: &[u8]) -> Option<Vrid> {
    let ver_ihl = *packet.first()?;
    if ver_ihl >> 4 != 4 {
        return None;
    }
    let ihl = usize::from(ver_ihl & 0x0F) * 4;
    let offset = match *packet.get(9)? {
        IPPROTO_VRRP => ihl,
        IPPROTO_AH => ihl + AH_HEADER_LEN,
        _ => return None,
    };
    if ihl < IPV4_MIN_HEADER_LEN {
        return None;
    }
    Vrid::new(*packet.get(offset + 1)?)
}

/// Whether `received` bytes are `expected` plus acceptable Ethernet padding: short packets
/// are padded to the 46-byte minimum Ethernet payload, or to 42 when a VLAN tag was
/// stripped, so the padded length must be ≤ 46 and ≡ 46 (mod 4).
fn length_ok_with_padding(expected: usize, received: usize) -> bool {
    received == expected
        || (received > expected
            && expected < ETH_MIN_PAYLOAD
            && received <= ETH_MIN_PAYLOAD
            && (ETH_MIN_PAYLOAD - received).is_multiple_of(4))
}

/// Constant-time equality of two 8-byte strings.
fn ct_eq8(a: &[u8; AUTH_KEY_LEN], b: &[u8; AUTH_KEY_LEN]) -> bool {
    let mut diff = 0u8;
    for (x, y) in a.iter().zip(b) {
        diff |= x ^ y;
    }
    core::hint::black_box(diff) == 0
}

/// Decodes and validates a received IPv4 packet (IP header first; trailing Ethernet
/// padding allowed) as a VRRPv2 advert for the instance described by `policy`.
///
/// Checks run in keepalived's order (vrrp.md §1.7): IPv4 sanity, VRID, protocol vs
/// AH configuration, length, TTL (multicast only), version, auth type, authentication
/// (PASS compared in constant time; AH next header, ICV, SPI), advert interval, type,
/// total length, VRRP checksum, destination mode, address list. The AH replay check needs
/// the instance state and is left to [`RxAdvert::check_replay`].
///
/// Never panics and never allocates, whatever the input.
pub fn decode_advert<'a>(packet: &'a [u8], policy: &RxPolicy<'_>) -> Result<RxAdvert<'a>, RxError> {
    // 0. IPv4 sanity and enough bytes for IP + (AH) + the fixed VRRP header.
    if packet.len() < IPV4_MIN_HEADER_LEN {
        return Err(RxError::Truncated {
            needed: IPV4_MIN_HEADER_LEN,
            available: packet.len(),
        });
    }
    let ip = Ipv4Packet::new_unchecked(packet);
    if ip.version() != 4 {
        return Err(RxError::NotIpv4(ip.version()));
    }
    let ihl = ip.header_len();
    if ihl < IPV4_MIN_HEADER_LEN {
        return Err(RxError::IpHeader(ParseError::BadHeaderLength(ihl)));
    }
    if packet.len() < ihl {
        return Err(RxError::Truncated {
            needed: ihl,
            available: packet.len(),
        });
    }
    if ip.flags_frag() & (FLAG_MORE_FRAGMENTS | FRAGMENT_OFFSET_MASK) != 0 {
        return Err(RxError::Fragment);
    }
    let protocol = ip.protocol();
    let ah_len = match protocol {
        IPPROTO_VRRP => 0,
        IPPROTO_AH => AH_HEADER_LEN,
        other => return Err(RxError::NotVrrp(other)),
    };
    if policy.verify_ip_checksum && internet_checksum(&packet[..ihl]) != 0 {
        return Err(RxError::IpChecksum);
    }
    let vrrp_start = ihl + ah_len;
    let fixed_end = vrrp_start + VRRP_HEADER_LEN;
    if packet.len() < fixed_end {
        return Err(RxError::Truncated {
            needed: fixed_end,
            available: packet.len(),
        });
    }
    let vrrp = VrrpPacket::new_unchecked(&packet[vrrp_start..]);

    // 1. VRID.
    let vrid = Vrid::new(vrrp.vrid()).ok_or(RxError::InvalidVrid)?;
    if let Some(want) = policy.expected_vrid
        && want != vrid
    {
        return Err(RxError::UnknownVrid(vrid.get()));
    }

    // 3. Protocol 51 iff AH is configured.
    let configured = policy.auth.auth().auth_type();
    if (protocol == IPPROTO_AH) != (configured == AuthType::IpAh) {
        return Err(RxError::ProtocolMismatch {
            configured,
            protocol,
        });
    }

    // 4. Length implied by the address count, allowing Ethernet padding.
    let vrrp_len = vrrp_message_len(usize::from(vrrp.addr_count()));
    let expected = vrrp_start + vrrp_len;
    if !length_ok_with_padding(expected, packet.len()) {
        return Err(RxError::PacketLength {
            expected,
            received: packet.len(),
        });
    }
    // From here on packet[..expected] holds the whole message.
    let message = &packet[vrrp_start..expected];
    let vrrp = VrrpPacket::new_unchecked(message);

    // 5. TTL (multicast only).
    if !policy.unicast && ip.ttl() != VRRP_TTL {
        return Err(RxError::IpTtl(ip.ttl()));
    }

    // 6. Version.
    if vrrp.version() != VRRP_VERSION {
        return Err(RxError::Version(vrrp.version()));
    }

    // 8./9. Auth type known, and equal to the configured one.
    let auth_type =
        AuthType::from_wire(vrrp.auth_type()).ok_or(RxError::InvalidAuthType(vrrp.auth_type()))?;
    if auth_type != configured {
        return Err(RxError::AuthTypeMismatch {
            configured,
            received: auth_type,
        });
    }

    // 10. Authentication.
    let auth_data = vrrp.auth_data();
    let mut rx_ah = None;
    match policy.auth.auth() {
        Auth::None => {}
        Auth::Pass(pw) => {
            if !ct_eq8(pw, &auth_data) {
                return Err(RxError::PasswordMismatch);
            }
        }
        Auth::Ah(_) => {
            let ah_bytes = &packet[ihl..vrrp_start];
            let ah = AhPacket::new_unchecked(ah_bytes);
            if ah.next_header() != IPPROTO_VRRP {
                return Err(RxError::AhNextHeader(ah.next_header()));
            }
            if ah.payload_len() != AH_PAYLOAD_LEN {
                return Err(RxError::AhMalformed(ParseError::AhPayloadLength(
                    ah.payload_len(),
                )));
            }
            if ah.reserved() != 0 {
                return Err(RxError::AhMalformed(ParseError::AhReserved(ah.reserved())));
            }
            let icv = ah.icv();
            // The policy's authenticator is AH here, so the key exists; a mismatch between
            // the two would be a construction bug, reported as an ICV failure.
            let ok = policy.auth.ah_key().is_some_and(|key| {
                key.verify(&packet[..ihl], ah_bytes, message, policy.unicast, &icv)
            });
            if !ok {
                return Err(RxError::AhIcvMismatch);
            }
            if ah.spi() != u32::from(ip.src_addr()) {
                return Err(RxError::AhSpiMismatch {
                    spi: ah.spi(),
                    src: ip.src_addr(),
                });
            }
            rx_ah = Some(RxAh {
                spi: ah.spi(),
                sequence: ah.sequence(),
                icv,
            });
        }
    }

    // 11. Advert interval: a silent drop in keepalived.
    if let Some(configured) = policy.adver_int
        && vrrp.adver_int() != configured
    {
        return Err(RxError::AdvertIntervalMismatch {
            configured,
            received: vrrp.adver_int(),
        });
    }

    // 12. Type.
    if vrrp.msg_type() != VRRP_TYPE_ADVERTISEMENT {
        return Err(RxError::InvalidType(vrrp.msg_type()));
    }

    // 13. IP total length.
    if ip.total_len() != expected {
        return Err(RxError::IpTotalLength {
            total: ip.total_len(),
            expected,
        });
    }

    // 14. VRRP checksum (no pseudo-header in v2).
    if internet_checksum(message) != 0 {
        return Err(RxError::Checksum {
            found: vrrp.checksum(),
            expected: vrrp.expected_checksum(),
        });
    }

    // 15. Destination mode.
    let dst = ip.dst_addr();
    if dst.is_multicast() == policy.unicast {
        return Err(RxError::DestinationMismatch(dst));
    }

    // 18. Address list.
    let addresses = AddrSlice::new(&message[VRRP_HEADER_LEN..vrrp_len - AUTH_KEY_LEN]);
    let address_list = match policy.vips {
        None => AddressListMatch::NotChecked,
        Some(vips) => {
            if vips.len() == addresses.len() && vips.iter().all(|v| addresses.contains(*v)) {
                AddressListMatch::Matches
            } else {
                let drop = match policy.address_list_policy {
                    AddressListPolicy::AcceptAndFlag => false,
                    AddressListPolicy::Drop => true,
                    AddressListPolicy::DropUnlessOwner => vrrp.priority() != 255,
                };
                if drop {
                    return Err(RxError::AddressListMismatch);
                }
                AddressListMatch::Differs
            }
        }
    };

    Ok(RxAdvert {
        src: ip.src_addr(),
        dst,
        ttl: ip.ttl(),
        tos: ip.tos(),
        ip_id: ip.ident(),
        ip_header_len: ihl,
        ip_flags_frag: ip.flags_frag(),
        packet_len: expected,
        vrid,
        priority: vrrp.priority(),
        adver_int: vrrp.adver_int(),
        auth_type,
        auth_data,
        vrrp_checksum: vrrp.checksum(),
        addresses,
        ah: rx_ah,
        address_list,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ip_id_counter_skips_zero() {
        let mut c = IpIdCounter::new();
        assert_eq!(c.current(), 0);
        assert_eq!(c.next_id(), 1);
        assert_eq!(c.next_id(), 2);
        let mut c = IpIdCounter(0xFFFE);
        assert_eq!(c.next_id(), 0xFFFF);
        assert_eq!(c.next_id(), 1);
    }

    #[test]
    fn padding_rule() {
        assert!(length_ok_with_padding(40, 40));
        assert!(length_ok_with_padding(40, 46));
        assert!(length_ok_with_padding(40, 42));
        assert!(!length_ok_with_padding(40, 44));
        assert!(!length_ok_with_padding(40, 50));
        assert!(!length_ok_with_padding(40, 39));
        assert!(length_ok_with_padding(44, 46));
        assert!(!length_ok_with_padding(48, 52));
        assert!(!length_ok_with_padding(64, 66));
    }

    #[test]
    fn ct_eq8_compares_all_bytes() {
        assert!(ct_eq8(b"secret12", b"secret12"));
        for i in 0..8 {
            let mut other = *b"secret12";
            other[i] ^= 0x80;
            assert!(!ct_eq8(b"secret12", &other));
        }
    }
}

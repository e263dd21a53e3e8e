//! VRRPv2 (RFC 3768) wire codec with simple-password and IPsec-AH (HMAC-MD5-96)
//! authentication, byte-compatible with keepalived.
//!
//! # Layers
//!
//! * **Views** ([`Ipv4Packet`], [`AhPacket`], [`VrrpPacket`]): borrowed, length-checked
//!   wrappers over any `AsRef<[u8]>` buffer, in the style of smoltcp. Construct with
//!   `new_checked` (or call `check_len`), after which no getter can panic; setters need
//!   `AsMut<[u8]>`.
//! * **Representations** ([`Ipv4Repr`], [`AhRepr`], [`VrrpRepr`], [`AdvertRepr`]): owned
//!   values with `parse`, `emit` and `buffer_len`. The address list is an
//!   [`AddressList`], an inline array of up to 255 addresses: nothing allocates.
//! * **Whole packets** ([`encode_advert`], [`decode_advert`]): what a daemon or a
//!   simulator uses. Encoding produces the IPv4 packet exactly as keepalived sends it
//!   (TOS 0xC0, TTL 255, DF clear, protocol 112 or 51, IP checksum filled in); decoding
//!   validates in keepalived's order and returns one [`RxError`] variant per rule, each
//!   mapped to its RFC 2787 counter ([`RxError::counter`]) and to keepalived's
//!   KO/DROP distinction ([`RxError::is_silent_drop`]).
//! * **AH state** ([`AhSequence`], [`IpIdCounter`]): keepalived's per-instance sequence
//!   counter (send value and replay watermark in one) and IP ID counter.
//!
//! # No-panic contract
//!
//! Every decoder ([`decode_advert`], [`peek_vrid`], the `new_checked`/`parse` functions)
//! accepts arbitrary bytes and returns a typed error instead of panicking; the parse path
//! performs no allocation. This is exercised by property tests and by the fuzz targets
//! whose bodies live in `fuzz_support`.
//!
//! # Dependencies
//!
//! * `md-5` and `hmac` (RustCrypto, `no_std`) for HMAC-MD5-96. `ring` was not an option:
//!   it does not implement MD5. A keyed [`AhKey`] holds the precomputed inner/outer HMAC
//!   states, so each packet only hashes its own bytes; `hmac`'s truncated-tag verification
//!   compares the ICV in constant time.
//! * `thiserror` (without default features, so the crate stays `no_std`) for the error
//!   types.
#![no_std]
#![forbid(unsafe_code)]

#[cfg(test)]
extern crate std;

mod addr;
mod advert;
mod ah;
mod ah_seq;
pub mod checksum;
mod error;
#[doc(hidden)]
pub mod fuzz_support;
mod ipv4;
mod types;
mod vrrp;

pub use addr::{AddrIter, AddrSlice, AddressList, CapacityError, MAX_ADDRESSES};
pub use advert::{
    AddressListMatch, AddressListPolicy, EmitError, IpIdCounter, KEEPALIVED_TOS, Rfc2787Counter,
    RxAdvert, RxAh, RxError, RxPolicy, TxParams, VRRP_MULTICAST_GROUP, VRRP_TTL, advert_packet_len,
    decode_advert, encode_advert, peek_vrid,
};
pub use ah::{AH_HEADER_LEN, AH_ICV_LEN, AH_PAYLOAD_LEN, AhKey, AhPacket, AhRepr, Authenticator};
pub use ah_seq::{AhSequence, ReplayError};
pub use error::ParseError;
pub use ipv4::{
    FLAG_DONT_FRAGMENT, FLAG_MORE_FRAGMENTS, FRAGMENT_OFFSET_MASK, IPV4_MIN_HEADER_LEN, Ipv4Packet,
    Ipv4Repr,
};
pub use types::{AUTH_KEY_LEN, Auth, AuthType, InvalidVrid, Vrid};
pub use vrrp::{
    AdvertRepr, VRRP_HEADER_LEN, VRRP_TYPE_ADVERTISEMENT, VRRP_VERSION, VrrpPacket, VrrpRepr,
    vrrp_message_len,
};

/// IPv4 protocol number of VRRP.
pub const IPPROTO_VRRP: u8 = 112;
/// IPv4 protocol number of the IPsec Authentication Header.
pub const IPPROTO_AH: u8 = 51;

//! Small value types shared by the codec, the configuration parser and the state machine.

use core::fmt;
use core::num::NonZeroU8;

/// A VRRP virtual router identifier, 1..=255 (0 is not a valid VRID).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Vrid(NonZeroU8);

impl Vrid {
    /// Validates a raw VRID; `None` for 0.
    pub const fn new(raw: u8) -> Option<Self> {
        match NonZeroU8::new(raw) {
            Some(v) => Some(Self(v)),
            None => None,
        }
    }

    /// The numeric VRID (1..=255).
    pub const fn get(self) -> u8 {
        self.0.get()
    }
}

impl fmt::Display for Vrid {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.0)
    }
}

impl From<Vrid> for u8 {
    fn from(v: Vrid) -> u8 {
        v.get()
    }
}

impl TryFrom<u8> for Vrid {
    type Error = InvalidVrid;
    fn try_from(raw: u8) -> Result<Self, InvalidVrid> {
        Self::new(raw).ok_or(InvalidVrid)
    }
}

/// The value 0 was given where a VRID (1..=255) is required.
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
#[error("VRID must be in 1..=255, got 0")]
pub struct InvalidVrid;

/// Length of the VRRPv2 authentication data field and of keepalived's AH key.
pub const AUTH_KEY_LEN: usize = 8;

/// Authentication configured for a VRRPv2 instance (keepalived `authentication { ... }`).
///
/// Both keyed variants hold exactly 8 bytes: keepalived truncates `auth_pass` to
/// 8 characters and zero-pads shorter ones (see [`Auth::key_from_password`]).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub enum Auth {
    /// No authentication (auth type 0).
    #[default]
    None,
    /// Simple text password (auth type 1, RFC 2338): the 8 bytes are sent in clear.
    Pass([u8; AUTH_KEY_LEN]),
    /// IPsec AH with HMAC-MD5-96 (auth type 2): the 8 bytes are the HMAC key.
    Ah([u8; AUTH_KEY_LEN]),
}

impl Auth {
    /// Turns an `auth_pass` string into keepalived's 8-byte key: the first 8 bytes,
    /// zero-padded when shorter.
    pub fn key_from_password(password: &[u8]) -> [u8; AUTH_KEY_LEN] {
        let mut key = [0u8; AUTH_KEY_LEN];
        let n = password.len().min(AUTH_KEY_LEN);
        key[..n].copy_from_slice(&password[..n]);
        key
    }

    /// The VRRP Auth Type byte this configuration sends and expects (0, 1 or 2).
    pub const fn auth_type(&self) -> AuthType {
        match self {
            Auth::None => AuthType::None,
            Auth::Pass(_) => AuthType::SimplePassword,
            Auth::Ah(_) => AuthType::IpAh,
        }
    }

    /// The IPv4 protocol number adverts with this authentication travel in (112 or 51).
    pub const fn ip_protocol(&self) -> u8 {
        match self {
            Auth::Ah(_) => crate::IPPROTO_AH,
            _ => crate::IPPROTO_VRRP,
        }
    }
}

/// The VRRPv2 Auth Type field values keepalived understands.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[repr(u8)]
pub enum AuthType {
    /// 0: no authentication.
    None = 0,
    /// 1: simple text password (RFC 2338).
    SimplePassword = 1,
    /// 2: IP Authentication Header (RFC 2338).
    IpAh = 2,
}

impl AuthType {
    /// Decodes the wire byte; `None` for values other than 0, 1, 2.
    pub const fn from_wire(raw: u8) -> Option<Self> {
        match raw {
            0 => Some(AuthType::None),
            1 => Some(AuthType::SimplePassword),
            2 => Some(AuthType::IpAh),
            _ => None,
        }
    }

    /// The wire byte.
    pub const fn to_wire(self) -> u8 {
        self as u8
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn vrid_rejects_zero() {
        assert_eq!(Vrid::new(0), None);
        assert_eq!(Vrid::new(1).map(Vrid::get), Some(1));
        assert_eq!(Vrid::new(255).map(Vrid::get), Some(255));
        assert_eq!(Vrid::try_from(0), Err(InvalidVrid));
        assert_eq!(u8::from(Vrid::new(51).unwrap()), 51);
    }

    #[test]
    fn password_key_is_truncated_and_padded() {
        assert_eq!(Auth::key_from_password(b"secret12long"), *b"secret12");
        assert_eq!(Auth::key_from_password(b"abc"), *b"abc\0\0\0\0\0");
        assert_eq!(Auth::key_from_password(b""), [0; 8]);
    }

    #[test]
    fn auth_type_and_protocol() {
        assert_eq!(Auth::None.auth_type().to_wire(), 0);
        assert_eq!(Auth::Pass([0; 8]).auth_type().to_wire(), 1);
        assert_eq!(Auth::Ah([0; 8]).auth_type().to_wire(), 2);
        assert_eq!(Auth::Ah([0; 8]).ip_protocol(), 51);
        assert_eq!(Auth::Pass([0; 8]).ip_protocol(), 112);
        for raw in 0..=255u8 {
            match AuthType::from_wire(raw) {
                Some(t) => assert_eq!(t.to_wire(), raw),
                None => assert!(raw > 2),
            }
        }
    }
}

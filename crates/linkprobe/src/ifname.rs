//! Validated Linux interface names.

use std::fmt;

/// Longest interface name the kernel accepts, in bytes (`IFNAMSIZ` − 1 for the NUL).
pub const MAX_IFNAME_LEN: usize = 15;

/// Why a string is not a valid Linux interface name.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum IfNameError {
    /// The name is empty.
    #[error("interface name is empty")]
    Empty,
    /// The name is longer than [`MAX_IFNAME_LEN`] bytes.
    #[error("interface name is {len} bytes long; the kernel allows at most {MAX_IFNAME_LEN}")]
    TooLong {
        /// Length of the rejected name in bytes.
        len: usize,
    },
    /// The name contains a NUL byte, which would silently cut it short in the kernel.
    #[error("interface name contains a NUL byte")]
    ContainsNul,
    /// The name contains `/`, `:` or whitespace, which the kernel never allows in a device name.
    #[error("interface name contains the forbidden character {0:?}")]
    ForbiddenChar(char),
    /// The name is `.` or `..`, reserved by the kernel (sysfs directories).
    #[error("interface name {0:?} is reserved")]
    Reserved(&'static str),
}

/// A Linux network interface name that the kernel could accept (checked like the kernel's
/// `dev_valid_name`), so it always fits the 16-byte `ifr_name` with its terminating NUL.
#[derive(Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct IfName {
    len: u8,
    bytes: [u8; MAX_IFNAME_LEN],
}

impl IfName {
    /// Validates `name` as an interface name.
    pub fn new(name: &str) -> Result<Self, IfNameError> {
        Self::from_bytes(name.as_bytes())
    }

    /// Validates raw bytes (as found in netlink attributes, without the NUL) as a name.
    pub fn from_bytes(name: &[u8]) -> Result<Self, IfNameError> {
        if name.is_empty() {
            return Err(IfNameError::Empty);
        }
        if name.len() > MAX_IFNAME_LEN {
            return Err(IfNameError::TooLong { len: name.len() });
        }
        if name.contains(&0) {
            return Err(IfNameError::ContainsNul);
        }
        if let Some(&bad) = name
            .iter()
            .find(|&&b| b == b'/' || b == b':' || b.is_ascii_whitespace())
        {
            return Err(IfNameError::ForbiddenChar(char::from(bad)));
        }
        if name == b"." {
            return Err(IfNameError::Reserved("."));
        }
        if name == b".." {
            return Err(IfNameError::Reserved(".."));
        }
        let mut bytes = [0u8; MAX_IFNAME_LEN];
        bytes[..name.len()].copy_from_slice(name);
        // The length check above bounds `name.len()` by 15, so it fits a u8.
        let len = name.len() as u8;
        Ok(Self { len, bytes })
    }

    /// The name's bytes (no terminating NUL).
    pub fn as_bytes(&self) -> &[u8] {
        &self.bytes[..usize::from(self.len)]
    }

    /// The name as text; non-UTF-8 bytes (legal in the kernel) are replaced.
    pub fn to_string_lossy(&self) -> String {
        String::from_utf8_lossy(self.as_bytes()).into_owned()
    }

    /// The name as the kernel's `char[IFNAMSIZ]`, NUL-padded.
    pub fn to_ifr_name(&self) -> [u8; MAX_IFNAME_LEN + 1] {
        let mut out = [0u8; MAX_IFNAME_LEN + 1];
        out[..MAX_IFNAME_LEN].copy_from_slice(&self.bytes);
        out
    }
}

impl std::str::FromStr for IfName {
    type Err = IfNameError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::new(s)
    }
}

impl fmt::Display for IfName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&String::from_utf8_lossy(self.as_bytes()))
    }
}

impl fmt::Debug for IfName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "IfName({:?})", String::from_utf8_lossy(self.as_bytes()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accepts_ordinary_names() {
        for name in ["eth0", "enp2s0", "veth-a.100", "a", "123456789012345"] {
            let parsed = IfName::new(name).unwrap();
            assert_eq!(parsed.as_bytes(), name.as_bytes());
            assert_eq!(parsed.to_string(), name);
        }
    }

    #[test]
    fn rejects_what_the_kernel_rejects() {
        assert_eq!(IfName::new(""), Err(IfNameError::Empty));
        assert_eq!(
            IfName::new("1234567890123456"),
            Err(IfNameError::TooLong { len: 16 })
        );
        assert_eq!(IfName::new("eth\0x"), Err(IfNameError::ContainsNul));
        assert_eq!(IfName::new("a/b"), Err(IfNameError::ForbiddenChar('/')));
        assert_eq!(IfName::new("eth0:1"), Err(IfNameError::ForbiddenChar(':')));
        assert_eq!(IfName::new("a b"), Err(IfNameError::ForbiddenChar(' ')));
        assert_eq!(IfName::new("."), Err(IfNameError::Reserved(".")));
        assert_eq!(IfName::new(".."), Err(IfNameError::Reserved("..")));
    }

    #[test]
    fn ifr_name_is_nul_terminated() {
        let name = IfName::new("123456789012345").unwrap();
        let raw = name.to_ifr_name();
        assert_eq!(raw[15], 0);
        assert_eq!(&raw[..15], b"123456789012345");
    }
}

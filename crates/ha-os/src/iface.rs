//! Interface names and quick lookups (index, MAC, flags) through `SIOCGIF*` ioctls.
//!
//! The lookups run on a socket of the caller's network namespace, so a daemon (or a test)
//! that opened its sockets inside a namespace gets that namespace's answers.

use std::os::fd::{AsFd, OwnedFd};

use crate::error::{Operation, OsError, Result};
use crate::sys;

/// Longest interface name Linux accepts (`IFNAMSIZ - 1`).
pub const MAX_INTERFACE_NAME_LEN: usize = 15;

/// Checks a name the way the kernel's `dev_valid_name` does, before any system call, so a
/// bad name from a config file yields [`OsError::InvalidInterfaceName`] instead of a
/// confusing errno.
pub fn validate_interface_name(op: Operation, name: &str) -> Result<()> {
    let reason = if name.is_empty() {
        Some("empty")
    } else if name.len() > MAX_INTERFACE_NAME_LEN {
        Some("longer than 15 bytes")
    } else if name == "." || name == ".." {
        Some("\".\" and \"..\" are reserved")
    } else if name
        .bytes()
        .any(|b| b == b'/' || b == b':' || b == 0 || b.is_ascii_whitespace() || b == 0x0b)
    {
        Some("contains '/', ':', NUL or white space")
    } else {
        None
    };
    match reason {
        Some(reason) => Err(OsError::InvalidInterfaceName {
            op,
            name: name.to_owned(),
            reason,
        }),
        None => Ok(()),
    }
}

/// Interface flag bits returned by [`InterfaceQuery::flags`] (`IFF_*` values).
pub mod flags {
    /// Administratively up.
    pub const UP: u32 = 0x1;
    /// Broadcast capable.
    pub const BROADCAST: u32 = 0x2;
    /// Loopback device.
    pub const LOOPBACK: u32 = 0x8;
    /// Operationally up (carrier present).
    pub const RUNNING: u32 = 0x40;
    /// No ARP on this interface: keepalived sends no gratuitous ARP here.
    pub const NOARP: u32 = 0x80;
    /// Multicast capable.
    pub const MULTICAST: u32 = 0x1000;
    /// Carrier present at the driver level; only in [`crate::LinkInfo::flags`] (the
    /// `SIOCGIFFLAGS` ioctl carries 16 bits).
    pub const LOWER_UP: u32 = 0x10000;
}

/// Cheap interface lookups through one datagram socket of the current network namespace.
#[derive(Debug)]
pub struct InterfaceQuery {
    fd: OwnedFd,
}

impl InterfaceQuery {
    /// Opens the query socket (an unbound `AF_INET` datagram socket).
    pub fn new() -> Result<Self> {
        let fd = sys::socket(libc::AF_INET, libc::SOCK_DGRAM, 0, false)
            .map_err(|e| OsError::io(Operation::LinkLookup, "", e))?;
        Ok(Self { fd })
    }

    /// The interface index of `name`.
    pub fn index(&self, name: &str) -> Result<u32> {
        validate_interface_name(Operation::LinkLookup, name)?;
        sys::ifindex(self.fd.as_fd(), name).map_err(|e| OsError::io(Operation::LinkLookup, name, e))
    }

    /// The Ethernet MAC address of `name`; an error for interfaces without one.
    pub fn mac(&self, name: &str) -> Result<[u8; 6]> {
        validate_interface_name(Operation::LinkLookup, name)?;
        let (family, mac) = sys::hwaddr(self.fd.as_fd(), name)
            .map_err(|e| OsError::io(Operation::LinkLookup, name, e))?;
        if family != libc::ARPHRD_ETHER {
            return Err(OsError::InvalidArgument {
                op: Operation::LinkLookup,
                interface: name.to_owned(),
                reason: "not an Ethernet interface",
            });
        }
        Ok(mac)
    }

    /// The interface flags (`IFF_*`, see [`flags`]).
    pub fn flags(&self, name: &str) -> Result<u32> {
        validate_interface_name(Operation::LinkLookup, name)?;
        sys::ifflags(self.fd.as_fd(), name).map_err(|e| OsError::io(Operation::LinkLookup, name, e))
    }
}

/// Whether `interface` forwards IPv6 (`net.ipv6.conf.<interface>.forwarding`): a router's
/// neighbour advertisements carry the Router flag. `false` when it cannot be read.
pub fn ipv6_forwarding(interface: &str) -> bool {
    if validate_interface_name(Operation::LinkLookup, interface).is_err() {
        return false;
    }
    std::fs::read_to_string(format!("/proc/sys/net/ipv6/conf/{interface}/forwarding"))
        .is_ok_and(|v| v.trim() == "1")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_validated_like_the_kernel() {
        for good in ["eth0", "vrrp.51", "a", "br-lan_0", "123456789012345"] {
            assert!(
                validate_interface_name(Operation::LinkLookup, good).is_ok(),
                "{good}"
            );
        }
        for bad in [
            "",
            "1234567890123456",
            ".",
            "..",
            "eth0:1",
            "a/b",
            "a b",
            "a\tb",
            "a\0",
        ] {
            let err = validate_interface_name(Operation::LinkLookup, bad).unwrap_err();
            assert!(
                matches!(err, OsError::InvalidInterfaceName { .. }),
                "{bad:?}"
            );
            assert_eq!(err.interface(), bad);
        }
    }
}

//! Typed errors of the crate.

use std::io;

/// Why bytes received from the kernel could not be decoded.
///
/// Every variant names what was being read, so a malformed message can be logged precisely.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ParseError {
    /// A header or fixed field needs more bytes than are left.
    #[error("{what}: need {need} bytes, have {have}")]
    Truncated {
        /// The structure being read.
        what: &'static str,
        /// Bytes it needs.
        need: usize,
        /// Bytes left.
        have: usize,
    },
    /// A length field is smaller than its own header or runs past the enclosing buffer.
    #[error("{what}: length {len} is invalid with {available} bytes available")]
    BadLength {
        /// The structure whose length is wrong.
        what: &'static str,
        /// The length it claims.
        len: usize,
        /// Bytes actually available.
        available: usize,
    },
    /// An attribute has a payload size other than its type requires.
    #[error("attribute {what}: payload of {len} bytes, expected {expected}")]
    AttrSize {
        /// The attribute.
        what: &'static str,
        /// Its payload length.
        len: usize,
        /// The length its type requires.
        expected: usize,
    },
    /// A mandatory attribute is absent.
    #[error("missing attribute {0}")]
    Missing(&'static str),
    /// The message's address family is neither IPv4 nor IPv6.
    #[error("unsupported address family {0}")]
    Family(u8),
    /// Addresses of one family appeared in an entry of the other.
    #[error("address family of the tuple does not match the message")]
    FamilyMismatch,
}

/// Why an entry cannot be turned into a ctnetlink request.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum EncodeError {
    /// A tuple address is not of the entry's family.
    #[error("tuple address family does not match the entry's family")]
    FamilyMismatch,
    /// ICMP identifiers were given for a protocol that is neither ICMP nor ICMPv6.
    #[error("ICMP key on L4 protocol {0}")]
    IcmpKeyOnProtocol(u8),
    /// The encoded message would exceed what one netlink message may carry.
    #[error("encoded message too large")]
    TooLarge,
}

/// Everything that can go wrong talking to ctnetlink.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// A socket call failed.
    #[error("{op}: {source}")]
    Io {
        /// The call (`socket`, `bind`, `sendmsg`, …).
        op: &'static str,
        /// The OS error.
        source: io::Error,
    },
    /// The kernel answered a request with an error (a negative errno in `NLMSG_ERROR`).
    #[error("kernel refused {op}: {}", io::Error::from_raw_os_error(*errno))]
    Kernel {
        /// What was asked (`create`, `update`, `delete`, `dump`, `flush`).
        op: &'static str,
        /// The positive errno value (e.g. `libc::EEXIST`).
        errno: i32,
    },
    /// A kernel message could not be decoded.
    #[error("malformed ctnetlink message: {0}")]
    Parse(#[from] ParseError),
    /// An entry could not be encoded.
    #[error("cannot encode entry: {0}")]
    Encode(#[from] EncodeError),
    /// A datagram was larger than the receive buffer and was cut.
    #[error("netlink datagram of {len} bytes truncated to {cap}")]
    Truncated {
        /// Real datagram length.
        len: usize,
        /// Buffer size.
        cap: usize,
    },
    /// The socket's receive queue overflowed while a dump or a batch was being read
    /// (`ENOBUFS`): some answers were lost and the operation must be repeated.
    #[error("netlink receive queue overrun during {0}")]
    Overrun(&'static str),
    /// The kernel flagged the dump as inconsistent (`NLM_F_DUMP_INTR`): the table changed
    /// while it was walked. Repeat the dump.
    #[error("dump interrupted by concurrent table changes")]
    DumpInterrupted,
}

impl Error {
    pub(crate) fn io(op: &'static str, source: io::Error) -> Error {
        Error::Io { op, source }
    }

    /// The kernel errno when this is a [`Error::Kernel`] answer.
    pub fn errno(&self) -> Option<i32> {
        match self {
            Error::Kernel { errno, .. } => Some(*errno),
            _ => None,
        }
    }
}

//! Typed errors: every failure names the operation and, where one is involved, the interface.

use std::fmt;
use std::io;

/// The OS operation that failed; part of every [`OsError`] so logs say what was attempted.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum Operation {
    /// Opening a multicast receive socket (raw IP, joined to the group).
    OpenMulticastReceiver,
    /// Opening a unicast receive socket (raw IP, bound to a local address).
    OpenUnicastReceiver,
    /// Receiving a packet on a raw receive socket.
    Receive,
    /// Setting a receive socket's kernel buffer size.
    SetReceiveBuffer,
    /// Opening the raw `IP_HDRINCL` send socket.
    OpenSender,
    /// Sending one packet.
    Send,
    /// Sending a batch of packets with `sendmmsg`.
    SendBatch,
    /// Opening the `AF_PACKET` socket used for gratuitous ARP.
    OpenGarp,
    /// Sending a gratuitous ARP frame.
    SendGarp,
    /// Opening or talking to the rtnetlink socket.
    Netlink,
    /// Looking an interface up (index, MAC, flags).
    LinkLookup,
    /// Adding an IPv4 address.
    AddAddress,
    /// Deleting an IPv4 address.
    DeleteAddress,
    /// Listing the IPv4 addresses of an interface.
    ListAddresses,
    /// Creating a macvlan (VMAC) interface.
    CreateMacvlan,
    /// Deleting an interface.
    DeleteLink,
    /// Setting an interface up or down.
    SetLinkState,
    /// Watching files for changes (inotify).
    WatchFiles,
    /// Adding a route.
    AddRoute,
    /// Deleting a route.
    DeleteRoute,
}

impl fmt::Display for Operation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let text = match self {
            Self::OpenMulticastReceiver => "open multicast receive socket",
            Self::OpenUnicastReceiver => "open unicast receive socket",
            Self::Receive => "receive",
            Self::SetReceiveBuffer => "set receive buffer",
            Self::OpenSender => "open raw send socket",
            Self::Send => "send",
            Self::SendBatch => "send batch",
            Self::OpenGarp => "open gratuitous ARP socket",
            Self::SendGarp => "send gratuitous ARP",
            Self::Netlink => "rtnetlink",
            Self::LinkLookup => "look up interface",
            Self::AddAddress => "add address",
            Self::DeleteAddress => "delete address",
            Self::ListAddresses => "list addresses",
            Self::CreateMacvlan => "create macvlan",
            Self::DeleteLink => "delete interface",
            Self::SetLinkState => "set interface state",
            Self::WatchFiles => "watch files",
            Self::AddRoute => "add route",
            Self::DeleteRoute => "delete route",
        };
        f.write_str(text)
    }
}

/// Every error this crate returns.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum OsError {
    /// The interface name can never be valid on Linux (empty, too long, bad characters).
    #[error("{op}: invalid interface name {name:?}: {reason}")]
    InvalidInterfaceName {
        /// What was attempted.
        op: Operation,
        /// The rejected name.
        name: String,
        /// Why it was rejected.
        reason: &'static str,
    },
    /// The interface does not exist (in this network namespace).
    #[error("{op}: interface {interface:?} does not exist")]
    NoSuchInterface {
        /// What was attempted.
        op: Operation,
        /// The missing interface (a name, or `#index`).
        interface: String,
    },
    /// A system call failed.
    #[error("{op} on {interface:?}: {source}")]
    Io {
        /// What was attempted.
        op: Operation,
        /// The interface involved (empty when none).
        interface: String,
        /// The OS error.
        #[source]
        source: io::Error,
    },
    /// The kernel answered an rtnetlink request with an error.
    #[error("{op} on {interface:?}: kernel said {source}{}", ext_ack_suffix(.ext_ack))]
    Netlink {
        /// What was attempted.
        op: Operation,
        /// The interface involved.
        interface: String,
        /// The errno the kernel returned.
        #[source]
        source: io::Error,
        /// The kernel's extended-ack message, when it sent one.
        ext_ack: Option<String>,
    },
    /// The kernel's rtnetlink reply could not be parsed (truncated, inconsistent lengths).
    #[error("{op} on {interface:?}: malformed netlink reply: {detail}")]
    MalformedReply {
        /// What was attempted.
        op: Operation,
        /// The interface involved.
        interface: String,
        /// What was wrong.
        detail: &'static str,
    },
    /// No rtnetlink reply arrived within the socket's receive timeout.
    #[error("{op} on {interface:?}: no netlink reply within the timeout")]
    NetlinkTimeout {
        /// What was attempted.
        op: Operation,
        /// The interface involved.
        interface: String,
    },
    /// An argument was rejected before any system call (bad packet, label, prefix...).
    #[error("{op} on {interface:?}: invalid argument: {reason}")]
    InvalidArgument {
        /// What was attempted.
        op: Operation,
        /// The interface involved.
        interface: String,
        /// What is wrong with it.
        reason: &'static str,
    },
}

fn ext_ack_suffix(ext_ack: &Option<String>) -> String {
    match ext_ack {
        Some(text) => format!(" ({text})"),
        None => String::new(),
    }
}

impl OsError {
    /// Wraps an [`io::Error`], turning `ENODEV` into [`OsError::NoSuchInterface`].
    pub(crate) fn io(op: Operation, interface: &str, source: io::Error) -> Self {
        if source.raw_os_error() == Some(libc::ENODEV) {
            return Self::NoSuchInterface {
                op,
                interface: interface.to_owned(),
            };
        }
        Self::Io {
            op,
            interface: interface.to_owned(),
            source,
        }
    }

    /// The operation that failed.
    pub fn operation(&self) -> Operation {
        match self {
            Self::InvalidInterfaceName { op, .. }
            | Self::NoSuchInterface { op, .. }
            | Self::Io { op, .. }
            | Self::Netlink { op, .. }
            | Self::MalformedReply { op, .. }
            | Self::NetlinkTimeout { op, .. }
            | Self::InvalidArgument { op, .. } => *op,
        }
    }

    /// The interface the error is about (`""` when none is involved).
    pub fn interface(&self) -> &str {
        match self {
            Self::InvalidInterfaceName { name, .. } => name,
            Self::NoSuchInterface { interface, .. }
            | Self::Io { interface, .. }
            | Self::Netlink { interface, .. }
            | Self::MalformedReply { interface, .. }
            | Self::NetlinkTimeout { interface, .. }
            | Self::InvalidArgument { interface, .. } => interface,
        }
    }

    /// The errno behind the error, if it came from the kernel.
    pub fn errno(&self) -> Option<i32> {
        match self {
            Self::Io { source, .. } | Self::Netlink { source, .. } => source.raw_os_error(),
            Self::NoSuchInterface { .. } => Some(libc::ENODEV),
            _ => None,
        }
    }
}

/// Result alias for this crate.
pub type Result<T, E = OsError> = std::result::Result<T, E>;

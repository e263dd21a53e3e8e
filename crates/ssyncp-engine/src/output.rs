//! What goes into the engine besides datagrams, and what comes out.

use alloc::sync::Arc;
use alloc::vec::Vec;
use core::net::IpAddr;

use crate::entry::{Entry, EntryKey};

/// The sync role, following the VRRP instance (or sync group) the Sync ID is bound to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Role {
    /// Send local state to the backups.
    Master,
    /// Receive and apply the master's state.
    Backup,
    /// Neither send nor apply (the socket stays open).
    Fault,
}

/// A change of local state the daemon observed (e.g. a conntrack event).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Change {
    /// A connection appeared or changed.
    Upsert(Entry),
    /// A connection went away.
    Delete(EntryKey),
}

/// Where a datagram goes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Destination {
    /// The sync multicast group (224.0.0.81) or the configured peers.
    Group,
    /// One peer, by the source address its messages came from (NACK,
    /// RESYNC_REQ, retransmissions).
    Unicast(IpAddr),
}

/// The bytes of one finished message, shared between the output queue and
/// the retransmit ring without copying (dereferences to `[u8]`).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Payload(Arc<Vec<u8>>);

impl Payload {
    pub(crate) fn new(bytes: Vec<u8>) -> Self {
        Self(Arc::new(bytes))
    }

    /// The message bytes.
    pub fn as_slice(&self) -> &[u8] {
        self.0.as_slice()
    }
}

impl core::ops::Deref for Payload {
    type Target = [u8];
    fn deref(&self) -> &[u8] {
        self.0.as_slice()
    }
}

impl AsRef<[u8]> for Payload {
    fn as_ref(&self) -> &[u8] {
        self.0.as_slice()
    }
}

/// A finished SSYNCP message to send (checksum and MAC already in place).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Transmit {
    /// Destination.
    pub destination: Destination,
    /// The message bytes (shared with the retransmit ring).
    pub bytes: Payload,
}

/// A change for the daemon to make to the kernel's table.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Apply {
    /// A connection the table did not hold: create it. (The local table may
    /// have it anyway, e.g. when the flow reached this node by itself; then
    /// update it.)
    Create(Entry),
    /// Change or refresh a connection the table already held (also sent for
    /// unchanged refreshes, which carry a new timeout).
    Upsert(Entry),
    /// Remove this connection (a DELETE, a bulk sweep or aging).
    Delete(EntryKey),
}

/// Why a resync was requested.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ResyncReason {
    /// Engine start, or the role became BACKUP.
    Startup,
    /// A sender appeared, or began a new epoch, mid-stream.
    NewSender,
    /// A gap could not be repaired by NACKs.
    GapGivenUp,
    /// No complete bulk arrived since the last request.
    Retry,
}

/// Something worth telling the operator or the VRRP side.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Event {
    /// The backup's view became complete (bulk done, no gap), or stopped being so.
    InSync(bool),
    /// A RESYNC_REQ was sent.
    ResyncRequested(ResyncReason),
    /// A sender started a new epoch.
    NewEpoch {
        /// The sender.
        sender: u32,
        /// Its new epoch.
        epoch: u32,
    },
    /// A bulk resync started (master side).
    BulkStarted,
    /// A bulk resync ended (master side).
    BulkFinished,
    /// A complete bulk was applied and entries it did not carry were removed.
    BulkApplied {
        /// Entries removed by the sweep.
        swept: u32,
    },
    /// Two senders sent data close together, or data arrived while MASTER.
    SplitBrainSuspected {
        /// The other sender.
        sender: u32,
    },
}

/// One output of the engine, in the order it must be acted on.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Output {
    /// Send a datagram.
    Transmit(Transmit),
    /// Change the kernel's table.
    Apply(Apply),
    /// Every received change has been handed out as [`Output::Apply`] above
    /// this point: once the daemon has written them, the VRRP side may
    /// install the VIPs (the commit barrier of spec §5.9).
    Commit,
    /// A notable event.
    Event(Event),
}

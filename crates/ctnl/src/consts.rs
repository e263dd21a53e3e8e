//! Numbers from the kernel's uapi headers (`netlink.h`, `nfnetlink.h`,
//! `nfnetlink_conntrack.h`, `nf_conntrack_common.h`, `nf_conntrack_tcp.h`).
//!
//! Only the public submodules ([`status`], [`tcp_state`], [`tcp_flags`], [`proto`]) are
//! part of the API: they give names to the values found in a [`crate::ConnEntry`].

/// Connection status bits (`IPS_*`, the `status` field of an entry).
pub mod status {
    /// Expected connection (created from an expectation of a helper).
    pub const EXPECTED: u32 = 0x1;
    /// Packets were seen in both directions.
    pub const SEEN_REPLY: u32 = 0x2;
    /// The connection is assured: it is never dropped early when the table is full.
    pub const ASSURED: u32 = 0x4;
    /// The entry is in the hash table (every entry a dump returns).
    pub const CONFIRMED: u32 = 0x8;
    /// Source NAT applies (the reply destination differs from the original source).
    pub const SRC_NAT: u32 = 0x10;
    /// Destination NAT applies (the reply source differs from the original destination).
    pub const DST_NAT: u32 = 0x20;
    /// TCP sequence numbers are adjusted (a helper changed payload sizes).
    pub const SEQ_ADJUST: u32 = 0x40;
    /// Source NAT set-up is complete.
    pub const SRC_NAT_DONE: u32 = 0x80;
    /// Destination NAT set-up is complete.
    pub const DST_NAT_DONE: u32 = 0x100;
    /// The entry is being destroyed.
    pub const DYING: u32 = 0x200;
    /// The timeout is fixed and not refreshed by packets.
    pub const FIXED_TIMEOUT: u32 = 0x400;
    /// A template entry (never in the table).
    pub const TEMPLATE: u32 = 0x800;
    /// Untracked (or, on some kernels, a NAT clash entry).
    pub const UNTRACKED: u32 = 0x1000;
    /// A helper was attached explicitly.
    pub const HELPER: u32 = 0x2000;
    /// Offloaded to the flow table.
    pub const OFFLOAD: u32 = 0x4000;
    /// Offloaded to hardware.
    pub const HW_OFFLOAD: u32 = 0x8000;
    /// Bits a request may set on a new entry through `CTA_STATUS`; everything else is either
    /// derived by the kernel (NAT, SEQ_ADJUST, CONFIRMED) or must not be copied.
    pub const SETTABLE: u32 = SEEN_REPLY | ASSURED;
}

/// Netfilter TCP states (`TCP_CONNTRACK_*`), the `state` of [`crate::TcpInfo`].
pub mod tcp_state {
    /// No state.
    pub const NONE: u8 = 0;
    /// SYN sent.
    pub const SYN_SENT: u8 = 1;
    /// SYN received.
    pub const SYN_RECV: u8 = 2;
    /// Established.
    pub const ESTABLISHED: u8 = 3;
    /// FIN wait.
    pub const FIN_WAIT: u8 = 4;
    /// Close wait.
    pub const CLOSE_WAIT: u8 = 5;
    /// Last ACK.
    pub const LAST_ACK: u8 = 6;
    /// Time wait.
    pub const TIME_WAIT: u8 = 7;
    /// Closed.
    pub const CLOSE: u8 = 8;
    /// Simultaneous open (SYN_SENT2; formerly LISTEN).
    pub const SYN_SENT2: u8 = 9;
    /// One past the highest valid state; the kernel rejects larger values.
    pub const MAX: u8 = 10;
}

/// TCP window-tracking flag bits (`IP_CT_TCP_FLAG_*`) in [`crate::TcpFlags`].
pub mod tcp_flags {
    /// The window scale option was seen.
    pub const WINDOW_SCALE: u8 = 0x01;
    /// SACK was permitted.
    pub const SACK_PERM: u8 = 0x02;
    /// This side closed first.
    pub const CLOSE_INIT: u8 = 0x04;
    /// Window checks are skipped (be liberal).
    pub const BE_LIBERAL: u8 = 0x08;
    /// Data not yet acknowledged.
    pub const DATA_UNACKNOWLEDGED: u8 = 0x10;
    /// The maximum ACK was recorded.
    pub const MAXACK_SET: u8 = 0x20;
}

/// IP protocol numbers an entry commonly carries.
pub mod proto {
    /// ICMP.
    pub const ICMP: u8 = 1;
    /// TCP.
    pub const TCP: u8 = 6;
    /// UDP.
    pub const UDP: u8 = 17;
    /// DCCP.
    pub const DCCP: u8 = 33;
    /// GRE.
    pub const GRE: u8 = 47;
    /// ICMPv6.
    pub const ICMPV6: u8 = 58;
    /// SCTP.
    pub const SCTP: u8 = 132;
    /// UDP-Lite.
    pub const UDPLITE: u8 = 136;
}

// ---- netlink framing (netlink.h) ----
pub(crate) const NLMSG_HDRLEN: usize = 16;
pub(crate) const NLMSG_NOOP: u16 = 1;
pub(crate) const NLMSG_ERROR: u16 = 2;
pub(crate) const NLMSG_DONE: u16 = 3;
pub(crate) const NLMSG_OVERRUN: u16 = 4;

pub(crate) const NLM_F_REQUEST: u16 = 0x1;
pub(crate) const NLM_F_ACK: u16 = 0x4;
pub(crate) const NLM_F_DUMP_INTR: u16 = 0x10;
pub(crate) const NLM_F_DUMP: u16 = 0x300;
pub(crate) const NLM_F_EXCL: u16 = 0x200;
pub(crate) const NLM_F_CREATE: u16 = 0x400;

pub(crate) const NLA_HDRLEN: usize = 4;
pub(crate) const NLA_F_NESTED: u16 = 0x8000;
pub(crate) const NLA_TYPE_MASK: u16 = 0x3fff;

// ---- nfnetlink ----
pub(crate) const NFGENMSG_LEN: usize = 4;
pub(crate) const NFNETLINK_V0: u8 = 0;
pub(crate) const NFNL_SUBSYS_CTNETLINK: u16 = 1;
pub(crate) const IPCTNL_MSG_CT_NEW: u16 = 0;
pub(crate) const IPCTNL_MSG_CT_GET: u16 = 1;
pub(crate) const IPCTNL_MSG_CT_DELETE: u16 = 2;

/// Multicast groups of conntrack events.
pub(crate) const NFNLGRP_CONNTRACK_NEW: u32 = 1;
pub(crate) const NFNLGRP_CONNTRACK_UPDATE: u32 = 2;
pub(crate) const NFNLGRP_CONNTRACK_DESTROY: u32 = 3;

pub(crate) const AF_UNSPEC: u8 = 0;
pub(crate) const AF_INET: u8 = 2;
pub(crate) const AF_INET6: u8 = 10;

// ---- ctattr_type ----
pub(crate) const CTA_TUPLE_ORIG: u16 = 1;
pub(crate) const CTA_TUPLE_REPLY: u16 = 2;
pub(crate) const CTA_STATUS: u16 = 3;
pub(crate) const CTA_PROTOINFO: u16 = 4;
pub(crate) const CTA_NAT_SRC: u16 = 6;
pub(crate) const CTA_TIMEOUT: u16 = 7;
pub(crate) const CTA_MARK: u16 = 8;
pub(crate) const CTA_ID: u16 = 12;
pub(crate) const CTA_NAT_DST: u16 = 13;
pub(crate) const CTA_SEQ_ADJ_ORIG: u16 = 15;
pub(crate) const CTA_SEQ_ADJ_REPLY: u16 = 16;
pub(crate) const CTA_ZONE: u16 = 18;

// ---- ctattr_tuple / ctattr_ip / ctattr_l4proto ----
pub(crate) const CTA_TUPLE_IP: u16 = 1;
pub(crate) const CTA_TUPLE_PROTO: u16 = 2;
pub(crate) const CTA_IP_V4_SRC: u16 = 1;
pub(crate) const CTA_IP_V4_DST: u16 = 2;
pub(crate) const CTA_IP_V6_SRC: u16 = 3;
pub(crate) const CTA_IP_V6_DST: u16 = 4;
pub(crate) const CTA_PROTO_NUM: u16 = 1;
pub(crate) const CTA_PROTO_SRC_PORT: u16 = 2;
pub(crate) const CTA_PROTO_DST_PORT: u16 = 3;
pub(crate) const CTA_PROTO_ICMP_ID: u16 = 4;
pub(crate) const CTA_PROTO_ICMP_TYPE: u16 = 5;
pub(crate) const CTA_PROTO_ICMP_CODE: u16 = 6;
pub(crate) const CTA_PROTO_ICMPV6_ID: u16 = 7;
pub(crate) const CTA_PROTO_ICMPV6_TYPE: u16 = 8;
pub(crate) const CTA_PROTO_ICMPV6_CODE: u16 = 9;

// ---- protoinfo ----
pub(crate) const CTA_PROTOINFO_TCP: u16 = 1;
pub(crate) const CTA_PROTOINFO_TCP_STATE: u16 = 1;
pub(crate) const CTA_PROTOINFO_TCP_WSCALE_ORIGINAL: u16 = 2;
pub(crate) const CTA_PROTOINFO_TCP_WSCALE_REPLY: u16 = 3;
pub(crate) const CTA_PROTOINFO_TCP_FLAGS_ORIGINAL: u16 = 4;
pub(crate) const CTA_PROTOINFO_TCP_FLAGS_REPLY: u16 = 5;

// ---- NAT ----
pub(crate) const CTA_NAT_V4_MINIP: u16 = 1;
pub(crate) const CTA_NAT_V4_MAXIP: u16 = 2;
pub(crate) const CTA_NAT_PROTO: u16 = 3;
pub(crate) const CTA_NAT_V6_MINIP: u16 = 4;
pub(crate) const CTA_NAT_V6_MAXIP: u16 = 5;
pub(crate) const CTA_PROTONAT_PORT_MIN: u16 = 1;
pub(crate) const CTA_PROTONAT_PORT_MAX: u16 = 2;

// ---- sequence adjustment ----
pub(crate) const CTA_SEQADJ_CORRECTION_POS: u16 = 1;
pub(crate) const CTA_SEQADJ_OFFSET_BEFORE: u16 = 2;
pub(crate) const CTA_SEQADJ_OFFSET_AFTER: u16 = 3;

/// The netlink message type of a ctnetlink command.
pub(crate) const fn ct_msg_type(cmd: u16) -> u16 {
    (NFNL_SUBSYS_CTNETLINK << 8) | cmd
}

//! Ver 1: the project's extension (spec §5).
//!
//! A 20-byte header (the sketch's first 8 bytes, with the version in the old
//! Reserved bits, then Sender ID, Epoch and Sequence), then either entries
//! (DATA, BULK) or a control body (NACK, RESYNC_REQ, ALIVE, STATUS), then an
//! optional 20-byte HMAC-SHA256-128 trailer. All integers are big-endian and
//! every message length and entry start is a multiple of 4.

mod auth;
mod control;
mod entry;
mod header;
mod message;

pub use auth::{ALG_HMAC_SHA256_128, AuthTrailer, MAC_LEN, TRAILER_LEN};
#[cfg(feature = "hmac")]
pub use auth::{AuthKey, KeyLookup};
pub use control::{
    Alive, ControlBody, MAX_NACK_RANGES, Nack, NackRanges, ResyncReq, SeqRange, Status,
};
pub use entry::{
    CT_FLAG_MARK, CT_FLAG_ZONE, CT_V4_LEN, CT_V6_LEN, CtFlow, CtTuple, CtTuples, EntryBody,
    EntryClass, EntryOptions, EntryRepr, EntryView, IPVS_V4_LEN, IPVS_V6_LEN, IpvsAddrs, IpvsConn,
    MAX_ENTRY_LEN, MAX_NAME_LEN, OPT_F_OPTIONAL, OPT_HELPER, OPT_LABELS, OPT_PE_DATA, OPT_PE_NAME,
    OPT_SEQ, OPT_TCP_WIN, Options, ParseEntryError, RawOption, TYPE_DELETE, TYPE_IPV6, TcpWindow,
};
pub use header::{Flags, HEADER_LEN, Header, MessageType, VERSION};
#[cfg(feature = "hmac")]
pub use message::emit_control_authenticated;
pub use message::{
    Entries, IPV4_HEADER_LEN, MAX_COUNT, MAX_MESSAGE_LEN, MessageView, MessageWriter, emit_control,
    entries_per_message, peek_header,
};

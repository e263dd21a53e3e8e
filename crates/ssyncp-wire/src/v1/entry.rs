//! Ver 1 entries: IPVS connections (kernel v1 layout) and conntrack flows,
//! updates and DELETEs, with their TLV options.

use core::net::{Ipv4Addr, Ipv6Addr};

use crate::bytes::{align4, array_at, put_bytes, put_u8, put_u16, put_u32, u8_at, u16_at, u32_at};
use crate::error::{DecodeError, EmitError, EntryError};
use crate::seq::{SEQ_LEN, SeqOptions};

/// Fixed part of an IPVS IPv4 entry (identical to the kernel's `ip_vs_sync_v4`).
pub const IPVS_V4_LEN: usize = 36;
/// Fixed part of an IPVS IPv6 entry (identical to the kernel's `ip_vs_sync_v6`).
pub const IPVS_V6_LEN: usize = 72;
/// Fixed part of a conntrack IPv4 entry.
pub const CT_V4_LEN: usize = 44;
/// Fixed part of a conntrack IPv6 entry.
pub const CT_V6_LEN: usize = 92;
/// Largest entry size the 12-bit size field can express.
pub const MAX_ENTRY_LEN: usize = 0x0fff;

/// Entry type bit: the addresses are IPv6.
pub const TYPE_IPV6: u8 = 0x01;
/// Entry type bit: remove the entry with this key.
pub const TYPE_DELETE: u8 = 0x02;

/// Option type: sequence adjustments (24 bytes).
pub const OPT_SEQ: u8 = 1;
/// Option type: IPVS persistence-engine data (1..=255 bytes).
pub const OPT_PE_DATA: u8 = 2;
/// Option type: IPVS persistence-engine name (1..=16 bytes).
pub const OPT_PE_NAME: u8 = 3;
/// Option type: conntrack TCP window-tracking data (4 bytes, optional).
pub const OPT_TCP_WIN: u8 = 0x44;
/// Option type: conntrack helper name (1..=16 bytes, optional).
pub const OPT_HELPER: u8 = 0x45;
/// Option type: conntrack labels bitmap (4n bytes, optional).
pub const OPT_LABELS: u8 = 0x46;
/// Option type bit: the option may be skipped by receivers that do not know it.
pub const OPT_F_OPTIONAL: u8 = 0x40;
/// Longest PE and helper names.
pub const MAX_NAME_LEN: usize = 16;

/// Conntrack entry flag: the mark field is valid.
pub const CT_FLAG_MARK: u8 = 0x01;
/// Conntrack entry flag: the zone field is valid.
pub const CT_FLAG_ZONE: u8 = 0x02;

/// The entry class (high nibble of the type byte).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum EntryClass {
    /// Class 0: an IPVS connection.
    Ipvs,
    /// Class 1: a netfilter conntrack flow.
    Conntrack,
    /// Class 15: experimental; carried opaquely.
    Experimental,
}

/// Classifies a type byte and returns its fixed length, or `None` if reserved.
fn classify(type_byte: u8) -> Option<(EntryClass, usize)> {
    if type_byte & 0x0c != 0 {
        return None;
    }
    let v6 = type_byte & TYPE_IPV6 != 0;
    match type_byte >> 4 {
        0 => Some((EntryClass::Ipvs, if v6 { IPVS_V6_LEN } else { IPVS_V4_LEN })),
        1 => Some((
            EntryClass::Conntrack,
            if v6 { CT_V6_LEN } else { CT_V4_LEN },
        )),
        15 => Some((EntryClass::Experimental, 4)),
        _ => None,
    }
}

/// A structurally validated, borrowed Ver 1 entry (without its padding).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct EntryView<'a> {
    bytes: &'a [u8],
    class: EntryClass,
    fixed_len: usize,
}

impl<'a> EntryView<'a> {
    /// Validates the entry at the start of `bytes` (type, version, size,
    /// padding, option framing) and returns it with its padded length.
    /// `index` only labels errors.
    pub fn parse(bytes: &'a [u8], index: u8) -> Result<(Self, usize), DecodeError> {
        if bytes.len() < 4 {
            return Err(DecodeError::EntryOverrun { index });
        }
        let type_byte = u8_at(bytes, 0);
        let (class, fixed_len) = classify(type_byte).ok_or(DecodeError::UnknownEntryType {
            index,
            value: type_byte,
        })?;
        let ver_size = u16_at(bytes, 2);
        let version = (ver_size >> 12) as u8;
        if version != 0 {
            return Err(DecodeError::EntryVersion { index, version });
        }
        let size = ver_size & 0x0fff;
        let size_len = usize::from(size);
        if size_len < fixed_len {
            return Err(DecodeError::EntryTooSmall {
                index,
                size,
                min: fixed_len,
            });
        }
        let padded = align4(size_len);
        let with_pad = bytes
            .get(..padded)
            .ok_or(DecodeError::EntryOverrun { index })?;
        let (entry, pad) = with_pad
            .split_at_checked(size_len)
            .ok_or(DecodeError::EntryOverrun { index })?;
        if pad.iter().any(|&b| b != 0) {
            return Err(DecodeError::NonZeroPadding { index });
        }
        if class != EntryClass::Experimental {
            check_options(entry.get(fixed_len..).unwrap_or_default(), index)?;
        }
        Ok((
            Self {
                bytes: entry,
                class,
                fixed_len,
            },
            padded,
        ))
    }

    /// The entry's bytes (fixed part and options, no padding).
    pub fn as_bytes(&self) -> &'a [u8] {
        self.bytes
    }

    /// The type byte.
    pub fn type_byte(&self) -> u8 {
        u8_at(self.bytes, 0)
    }

    /// The entry class.
    pub fn class(&self) -> EntryClass {
        self.class
    }

    /// Whether the addresses are IPv6.
    pub fn is_ipv6(&self) -> bool {
        self.type_byte() & TYPE_IPV6 != 0
    }

    /// Whether this is a DELETE (only the key fields count).
    pub fn is_delete(&self) -> bool {
        self.type_byte() & TYPE_DELETE != 0
    }

    /// L4 protocol number.
    pub fn protocol(&self) -> u8 {
        u8_at(self.bytes, 1)
    }

    /// Entry size (the 12-bit field), excluding padding.
    pub fn size(&self) -> usize {
        self.bytes.len()
    }

    /// The raw options after the fixed part (empty for experimental entries,
    /// whose body is opaque).
    pub fn options(&self) -> Options<'a> {
        let rest = match self.class {
            EntryClass::Experimental => &[],
            _ => self.bytes.get(self.fixed_len..).unwrap_or_default(),
        };
        Options { rest }
    }

    /// Decodes the entry into its typed form.
    pub fn repr(&self) -> Result<EntryRepr<'a>, EntryError> {
        EntryRepr::from_view(self)
    }
}

/// Validates the TLV framing of an entry's options.
fn check_options(options: &[u8], index: u8) -> Result<(), DecodeError> {
    let mut seen: u8 = 0;
    let mut rest = options;
    while let Some((&kind, after_kind)) = rest.split_first() {
        let (&len, after_len) = after_kind
            .split_first()
            .ok_or(DecodeError::OptionOverrun { index, kind })?;
        if len == 0 {
            return Err(DecodeError::OptionZeroLength { index, kind });
        }
        let (data, next) = after_len
            .split_at_checked(usize::from(len))
            .ok_or(DecodeError::OptionOverrun { index, kind })?;
        if let Some(bit) = known_option_bit(kind) {
            if seen & bit != 0 {
                return Err(DecodeError::DuplicateOption { index, kind });
            }
            seen |= bit;
            if !option_len_ok(kind, data.len()) {
                return Err(DecodeError::OptionLength { index, kind, len });
            }
        }
        rest = next;
    }
    Ok(())
}

/// A bit per known option type, for duplicate detection.
fn known_option_bit(kind: u8) -> Option<u8> {
    Some(match kind {
        OPT_SEQ => 0x01,
        OPT_PE_DATA => 0x02,
        OPT_PE_NAME => 0x04,
        OPT_TCP_WIN => 0x08,
        OPT_HELPER => 0x10,
        OPT_LABELS => 0x20,
        _ => return None,
    })
}

/// Whether `len` data bytes are allowed for the known option `kind`.
fn option_len_ok(kind: u8, len: usize) -> bool {
    match kind {
        OPT_SEQ => len == SEQ_LEN,
        OPT_PE_DATA => (1..=255).contains(&len),
        OPT_PE_NAME | OPT_HELPER => (1..=MAX_NAME_LEN).contains(&len),
        OPT_TCP_WIN => len == 4,
        OPT_LABELS => (4..=252).contains(&len) && len.is_multiple_of(4),
        _ => true,
    }
}

/// One raw option.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RawOption<'a> {
    /// Option type.
    pub kind: u8,
    /// Option data.
    pub data: &'a [u8],
}

/// Iterator over the raw options of an entry; stops at the first malformed
/// option (which a validated entry never has).
#[derive(Debug, Clone)]
pub struct Options<'a> {
    rest: &'a [u8],
}

impl<'a> Iterator for Options<'a> {
    type Item = RawOption<'a>;

    fn next(&mut self) -> Option<Self::Item> {
        let (&kind, after_kind) = self.rest.split_first()?;
        let parsed = after_kind.split_first().and_then(|(&len, after_len)| {
            after_len
                .split_at_checked(usize::from(len))
                .filter(|_| len != 0)
        });
        match parsed {
            Some((data, next)) => {
                self.rest = next;
                Some(RawOption { kind, data })
            }
            None => {
                self.rest = &[];
                None
            }
        }
    }
}

/// TCP window-tracking data of a conntrack flow (option 0x44).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct TcpWindow {
    /// Window scale, original direction.
    pub wscale_orig: u8,
    /// Window scale, reply direction.
    pub wscale_reply: u8,
    /// `IP_CT_TCP_FLAG_*`, original direction.
    pub flags_orig: u8,
    /// `IP_CT_TCP_FLAG_*`, reply direction.
    pub flags_reply: u8,
}

/// The known options of an entry. Unknown optional options are skipped on
/// decode and never written.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct EntryOptions<'a> {
    /// Sequence adjustments (type 1).
    pub seq: Option<SeqOptions>,
    /// IPVS persistence-engine data, 1..=255 bytes (type 2).
    pub pe_data: Option<&'a [u8]>,
    /// IPVS persistence-engine name, 1..=16 bytes (type 3).
    pub pe_name: Option<&'a [u8]>,
    /// Conntrack TCP window tracking (type 0x44).
    pub tcp_window: Option<TcpWindow>,
    /// Conntrack helper name, 1..=16 bytes (type 0x45).
    pub helper: Option<&'a [u8]>,
    /// Conntrack labels bitmap, 4..=252 bytes in steps of 4 (type 0x46).
    pub labels: Option<&'a [u8]>,
}

impl<'a> EntryOptions<'a> {
    /// Encoded length of all present options.
    pub fn buffer_len(&self) -> usize {
        let tlv = |len: Option<usize>| len.map_or(0, |len| len + 2);
        tlv(self.seq.map(|_| SEQ_LEN))
            + tlv(self.pe_data.map(<[u8]>::len))
            + tlv(self.pe_name.map(<[u8]>::len))
            + tlv(self.tcp_window.map(|_| 4))
            + tlv(self.helper.map(<[u8]>::len))
            + tlv(self.labels.map(<[u8]>::len))
    }

    fn check(&self) -> Result<(), EmitError> {
        let slices = [
            (OPT_PE_DATA, self.pe_data),
            (OPT_PE_NAME, self.pe_name),
            (OPT_HELPER, self.helper),
            (OPT_LABELS, self.labels),
        ];
        for (kind, data) in slices {
            if let Some(data) = data
                && !option_len_ok(kind, data.len())
            {
                return Err(EmitError::OptionLength {
                    kind,
                    len: data.len(),
                });
            }
        }
        Ok(())
    }

    /// Writes the options (already checked) in canonical order; returns the length.
    fn write(&self, buf: &mut [u8]) -> usize {
        let mut at = 0;
        let mut tlv = |kind: u8, data: &[u8]| {
            put_u8(buf, at, kind);
            // Lengths were checked to be at most 255.
            put_u8(buf, at + 1, data.len() as u8);
            put_bytes(buf, at + 2, data);
            at += data.len() + 2;
        };
        if let Some(seq) = self.seq {
            let mut block = [0u8; SEQ_LEN];
            seq.emit(&mut block);
            tlv(OPT_SEQ, &block);
        }
        if let Some(data) = self.pe_data {
            tlv(OPT_PE_DATA, data);
        }
        if let Some(name) = self.pe_name {
            tlv(OPT_PE_NAME, name);
        }
        if let Some(win) = self.tcp_window {
            tlv(
                OPT_TCP_WIN,
                &[
                    win.wscale_orig,
                    win.wscale_reply,
                    win.flags_orig,
                    win.flags_reply,
                ],
            );
        }
        if let Some(name) = self.helper {
            tlv(OPT_HELPER, name);
        }
        if let Some(labels) = self.labels {
            tlv(OPT_LABELS, labels);
        }
        at
    }

    fn from_raw(options: Options<'a>) -> Result<Self, EntryError> {
        let mut out = Self::default();
        for RawOption { kind, data } in options {
            match kind {
                OPT_SEQ => out.seq = SeqOptions::parse(data),
                OPT_PE_DATA => out.pe_data = Some(data),
                OPT_PE_NAME => out.pe_name = Some(data),
                OPT_TCP_WIN => {
                    let [wscale_orig, wscale_reply, flags_orig, flags_reply] = array_at(data, 0);
                    out.tcp_window = Some(TcpWindow {
                        wscale_orig,
                        wscale_reply,
                        flags_orig,
                        flags_reply,
                    });
                }
                OPT_HELPER => out.helper = Some(data),
                OPT_LABELS => out.labels = Some(data),
                unknown if unknown & OPT_F_OPTIONAL != 0 => {}
                unknown => return Err(EntryError::UnknownMandatoryOption(unknown)),
            }
        }
        Ok(out)
    }
}

/// The three addresses of an IPVS connection.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum IpvsAddrs {
    /// IPv4 client, virtual and real-server addresses.
    V4 {
        /// Client address.
        caddr: Ipv4Addr,
        /// Virtual-service address.
        vaddr: Ipv4Addr,
        /// Real-server address.
        daddr: Ipv4Addr,
    },
    /// IPv6 client, virtual and real-server addresses.
    V6 {
        /// Client address.
        caddr: Ipv6Addr,
        /// Virtual-service address.
        vaddr: Ipv6Addr,
        /// Real-server address.
        daddr: Ipv6Addr,
    },
}

/// An IPVS connection (class 0), laid out exactly like the kernel's v1 entry.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct IpvsConn {
    /// `IP_VS_CONN_F_*` (HASHED cleared by senders).
    pub flags: u32,
    /// IPVS protocol state number.
    pub state: u16,
    /// Client port.
    pub cport: u16,
    /// Virtual-service port.
    pub vport: u16,
    /// Real-server port.
    pub dport: u16,
    /// Firewall mark of the virtual service.
    pub fwmark: u32,
    /// Timeout in seconds.
    pub timeout: u32,
    /// Addresses.
    pub addrs: IpvsAddrs,
}

/// One direction of a conntrack flow.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct CtTuple<A> {
    /// Source address.
    pub src: A,
    /// Destination address.
    pub dst: A,
    /// Source port (ICMP: id).
    pub sport: u16,
    /// Destination port (ICMP: type << 8 | code).
    pub dport: u16,
}

/// Both tuples of a conntrack flow, which together describe any NAT.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum CtTuples {
    /// IPv4 flow.
    V4 {
        /// Original direction.
        orig: CtTuple<Ipv4Addr>,
        /// Reply direction.
        reply: CtTuple<Ipv4Addr>,
    },
    /// IPv6 flow.
    V6 {
        /// Original direction.
        orig: CtTuple<Ipv6Addr>,
        /// Reply direction.
        reply: CtTuple<Ipv6Addr>,
    },
}

/// A conntrack flow (class 1).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct CtFlow {
    /// `IPS_*` status bits.
    pub status: u32,
    /// L4 state (`TCP_CONNTRACK_*`, SCTP state, or 0).
    pub l4_state: u8,
    /// Conntrack zone, when valid.
    pub zone: Option<u16>,
    /// Remaining timeout on the sender, in seconds.
    pub timeout: u32,
    /// Conntrack mark, when valid.
    pub mark: Option<u32>,
    /// Original and reply tuples.
    pub tuples: CtTuples,
}

/// The class-specific part of an entry.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum EntryBody {
    /// An IPVS connection.
    Ipvs(IpvsConn),
    /// A conntrack flow.
    Conntrack(CtFlow),
}

/// An owned (option data borrowed) Ver 1 entry.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct EntryRepr<'a> {
    /// L4 protocol (6, 17, 132, 1, 58).
    pub protocol: u8,
    /// Whether this is a DELETE.
    pub delete: bool,
    /// Class-specific fields.
    pub body: EntryBody,
    /// Options.
    pub options: EntryOptions<'a>,
}

impl<'a> EntryRepr<'a> {
    /// Parses one entry from the start of `bytes`, returning it and its padded length.
    pub fn parse(bytes: &'a [u8]) -> Result<(Self, usize), ParseEntryError> {
        let (view, padded) = EntryView::parse(bytes, 0)?;
        Ok((view.repr()?, padded))
    }

    fn from_view(view: &EntryView<'a>) -> Result<Self, EntryError> {
        let b = view.as_bytes();
        let body = match view.class() {
            EntryClass::Experimental => return Err(EntryError::ExperimentalClass),
            EntryClass::Ipvs => {
                let addrs = if view.is_ipv6() {
                    IpvsAddrs::V6 {
                        caddr: Ipv6Addr::from(array_at::<16>(b, 24)),
                        vaddr: Ipv6Addr::from(array_at::<16>(b, 40)),
                        daddr: Ipv6Addr::from(array_at::<16>(b, 56)),
                    }
                } else {
                    IpvsAddrs::V4 {
                        caddr: Ipv4Addr::from(array_at::<4>(b, 24)),
                        vaddr: Ipv4Addr::from(array_at::<4>(b, 28)),
                        daddr: Ipv4Addr::from(array_at::<4>(b, 32)),
                    }
                };
                EntryBody::Ipvs(IpvsConn {
                    flags: u32_at(b, 4),
                    state: u16_at(b, 8),
                    cport: u16_at(b, 10),
                    vport: u16_at(b, 12),
                    dport: u16_at(b, 14),
                    fwmark: u32_at(b, 16),
                    timeout: u32_at(b, 20),
                    addrs,
                })
            }
            EntryClass::Conntrack => {
                let ct_flags = u8_at(b, 9);
                if ct_flags & !(CT_FLAG_MARK | CT_FLAG_ZONE) != 0 {
                    return Err(EntryError::ReservedCtFlags(ct_flags));
                }
                let tuples = if view.is_ipv6() {
                    CtTuples::V6 {
                        orig: tuple6(b, 20),
                        reply: tuple6(b, 56),
                    }
                } else {
                    CtTuples::V4 {
                        orig: tuple4(b, 20),
                        reply: tuple4(b, 32),
                    }
                };
                EntryBody::Conntrack(CtFlow {
                    status: u32_at(b, 4),
                    l4_state: u8_at(b, 8),
                    zone: (ct_flags & CT_FLAG_ZONE != 0).then(|| u16_at(b, 10)),
                    timeout: u32_at(b, 12),
                    mark: (ct_flags & CT_FLAG_MARK != 0).then(|| u32_at(b, 16)),
                    tuples,
                })
            }
        };
        Ok(Self {
            protocol: view.protocol(),
            delete: view.is_delete(),
            body,
            options: EntryOptions::from_raw(view.options())?,
        })
    }

    /// Whether the addresses are IPv6.
    pub fn is_ipv6(&self) -> bool {
        matches!(
            self.body,
            EntryBody::Ipvs(IpvsConn {
                addrs: IpvsAddrs::V6 { .. },
                ..
            }) | EntryBody::Conntrack(CtFlow {
                tuples: CtTuples::V6 { .. },
                ..
            })
        )
    }

    /// The type byte this entry is written with.
    pub fn type_byte(&self) -> u8 {
        let class = match self.body {
            EntryBody::Ipvs(_) => 0x00,
            EntryBody::Conntrack(_) => 0x10,
        };
        class
            | if self.is_ipv6() { TYPE_IPV6 } else { 0 }
            | if self.delete { TYPE_DELETE } else { 0 }
    }

    fn fixed_len(&self) -> usize {
        match (self.body, self.is_ipv6()) {
            (EntryBody::Ipvs(_), false) => IPVS_V4_LEN,
            (EntryBody::Ipvs(_), true) => IPVS_V6_LEN,
            (EntryBody::Conntrack(_), false) => CT_V4_LEN,
            (EntryBody::Conntrack(_), true) => CT_V6_LEN,
        }
    }

    /// Entry size (the size field): fixed part plus options, without padding.
    pub fn buffer_len(&self) -> usize {
        self.fixed_len() + self.options.buffer_len()
    }

    /// Size the entry occupies in a message: [`buffer_len`](Self::buffer_len)
    /// rounded up to a multiple of 4.
    pub fn padded_len(&self) -> usize {
        align4(self.buffer_len())
    }

    /// Writes the entry and its zero padding to the start of `buf`; returns
    /// the padded length.
    pub fn emit(&self, buf: &mut [u8]) -> Result<usize, EmitError> {
        self.options.check()?;
        let size = self.buffer_len();
        let padded = align4(size);
        let available = buf.len();
        let out = buf.get_mut(..padded).ok_or(EmitError::BufferTooSmall {
            needed: padded,
            available,
        })?;
        out.fill(0);
        put_u8(out, 0, self.type_byte());
        put_u8(out, 1, self.protocol);
        // Options are bounded (checked above), so size < 0x0fff; version 0.
        put_u16(out, 2, size as u16);
        match self.body {
            EntryBody::Ipvs(conn) => {
                put_u32(out, 4, conn.flags);
                put_u16(out, 8, conn.state);
                put_u16(out, 10, conn.cport);
                put_u16(out, 12, conn.vport);
                put_u16(out, 14, conn.dport);
                put_u32(out, 16, conn.fwmark);
                put_u32(out, 20, conn.timeout);
                match conn.addrs {
                    IpvsAddrs::V4 {
                        caddr,
                        vaddr,
                        daddr,
                    } => {
                        put_bytes(out, 24, &caddr.octets());
                        put_bytes(out, 28, &vaddr.octets());
                        put_bytes(out, 32, &daddr.octets());
                    }
                    IpvsAddrs::V6 {
                        caddr,
                        vaddr,
                        daddr,
                    } => {
                        put_bytes(out, 24, &caddr.octets());
                        put_bytes(out, 40, &vaddr.octets());
                        put_bytes(out, 56, &daddr.octets());
                    }
                }
            }
            EntryBody::Conntrack(flow) => {
                put_u32(out, 4, flow.status);
                put_u8(out, 8, flow.l4_state);
                let mut ct_flags = 0;
                if let Some(zone) = flow.zone {
                    ct_flags |= CT_FLAG_ZONE;
                    put_u16(out, 10, zone);
                }
                put_u32(out, 12, flow.timeout);
                if let Some(mark) = flow.mark {
                    ct_flags |= CT_FLAG_MARK;
                    put_u32(out, 16, mark);
                }
                put_u8(out, 9, ct_flags);
                match flow.tuples {
                    CtTuples::V4 { orig, reply } => {
                        write_tuple(
                            out,
                            20,
                            &orig.src.octets(),
                            &orig.dst.octets(),
                            orig.sport,
                            orig.dport,
                        );
                        write_tuple(
                            out,
                            32,
                            &reply.src.octets(),
                            &reply.dst.octets(),
                            reply.sport,
                            reply.dport,
                        );
                    }
                    CtTuples::V6 { orig, reply } => {
                        write_tuple(
                            out,
                            20,
                            &orig.src.octets(),
                            &orig.dst.octets(),
                            orig.sport,
                            orig.dport,
                        );
                        write_tuple(
                            out,
                            56,
                            &reply.src.octets(),
                            &reply.dst.octets(),
                            reply.sport,
                            reply.dport,
                        );
                    }
                }
            }
        }
        let fixed = self.fixed_len();
        self.options.write(out.get_mut(fixed..).unwrap_or_default());
        Ok(padded)
    }
}

/// Reads an IPv4 tuple (src, dst, sport, dport) starting at `at`.
fn tuple4(b: &[u8], at: usize) -> CtTuple<Ipv4Addr> {
    CtTuple {
        src: Ipv4Addr::from(array_at::<4>(b, at)),
        dst: Ipv4Addr::from(array_at::<4>(b, at + 4)),
        sport: u16_at(b, at + 8),
        dport: u16_at(b, at + 10),
    }
}

/// Reads an IPv6 tuple (src, dst, sport, dport) starting at `at`.
fn tuple6(b: &[u8], at: usize) -> CtTuple<Ipv6Addr> {
    CtTuple {
        src: Ipv6Addr::from(array_at::<16>(b, at)),
        dst: Ipv6Addr::from(array_at::<16>(b, at + 16)),
        sport: u16_at(b, at + 32),
        dport: u16_at(b, at + 34),
    }
}

/// Writes src, dst (each `src.len()` bytes) and the two ports from `at`.
fn write_tuple(out: &mut [u8], at: usize, src: &[u8], dst: &[u8], sport: u16, dport: u16) {
    put_bytes(out, at, src);
    put_bytes(out, at + src.len(), dst);
    put_u16(out, at + 2 * src.len(), sport);
    put_u16(out, at + 2 * src.len() + 2, dport);
}

/// Error from [`EntryRepr::parse`]: either the framing or the typed decode failed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum ParseEntryError {
    /// The entry's framing is invalid.
    #[error(transparent)]
    Decode(#[from] DecodeError),
    /// The framing is valid but the entry has no typed form.
    #[error(transparent)]
    Entry(#[from] EntryError),
}

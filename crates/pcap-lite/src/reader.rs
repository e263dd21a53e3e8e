//! Reading classic pcap files held in memory.

use crate::{Endian, GLOBAL_HEADER_LEN, LinkType, RECORD_HEADER_LEN, Timestamp, TsResolution};

const MAGIC_MICRO: u32 = 0xA1B2_C3D4;
const MAGIC_NANO: u32 = 0xA1B2_3C4D;

/// Why a capture cannot be read.
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
pub enum PcapError {
    /// The file is shorter than the 24-byte global header.
    #[error("file too short for the pcap header ({0} bytes)")]
    TruncatedHeader(usize),
    /// The magic number is not a classic pcap one (pcapng is not supported).
    #[error("not a classic pcap file (magic {0:#010x})")]
    BadMagic(u32),
    /// A record header is cut off at the end of the file.
    #[error("record header at offset {offset} is truncated")]
    TruncatedRecordHeader {
        /// Offset of the record header.
        offset: usize,
    },
    /// A record's data is cut off at the end of the file.
    #[error("record at offset {offset} claims {captured} bytes, {available} remain")]
    TruncatedRecord {
        /// Offset of the record header.
        offset: usize,
        /// The captured length field.
        captured: usize,
        /// Bytes left in the file.
        available: usize,
    },
    /// The sub-second timestamp field is out of range for the file's resolution.
    #[error("record at offset {offset} has sub-second field {value} out of range")]
    BadTimestamp {
        /// Offset of the record header.
        offset: usize,
        /// The raw sub-second value.
        value: u32,
    },
}

/// The global header of a capture.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct PcapHeader {
    /// Byte order of the file.
    pub endian: Endian,
    /// Timestamp resolution.
    pub resolution: TsResolution,
    /// Format major version (2).
    pub version_major: u16,
    /// Format minor version (4).
    pub version_minor: u16,
    /// Snapshot length.
    pub snaplen: u32,
    /// Link-layer type of every record.
    pub linktype: LinkType,
}

/// One captured frame.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Record<'a> {
    /// Capture time.
    pub ts: Timestamp,
    /// Length of the frame on the wire (may exceed `data.len()` when truncated by snaplen).
    pub orig_len: u32,
    /// The captured bytes.
    pub data: &'a [u8],
}

/// Iterates over the records of a capture held in memory.
///
/// After the first error the iterator is fused and yields `None`.
#[derive(Clone, Debug)]
pub struct PcapReader<'a> {
    header: PcapHeader,
    data: &'a [u8],
    offset: usize,
    failed: bool,
}

impl<'a> PcapReader<'a> {
    /// Parses the global header of `data`.
    pub fn new(data: &'a [u8]) -> Result<Self, PcapError> {
        let head: &[u8; GLOBAL_HEADER_LEN] = data
            .get(..GLOBAL_HEADER_LEN)
            .and_then(|h| h.try_into().ok())
            .ok_or(PcapError::TruncatedHeader(data.len()))?;
        let le = u32::from_le_bytes([head[0], head[1], head[2], head[3]]);
        let be = u32::from_be_bytes([head[0], head[1], head[2], head[3]]);
        let (endian, resolution) = match (le, be) {
            (MAGIC_MICRO, _) => (Endian::Little, TsResolution::Micro),
            (MAGIC_NANO, _) => (Endian::Little, TsResolution::Nano),
            (_, MAGIC_MICRO) => (Endian::Big, TsResolution::Micro),
            (_, MAGIC_NANO) => (Endian::Big, TsResolution::Nano),
            _ => return Err(PcapError::BadMagic(be)),
        };
        let u16_at = |o: usize| {
            let b = [head[o], head[o + 1]];
            match endian {
                Endian::Little => u16::from_le_bytes(b),
                Endian::Big => u16::from_be_bytes(b),
            }
        };
        let u32_at = |o: usize| read_u32(endian, [head[o], head[o + 1], head[o + 2], head[o + 3]]);
        let header = PcapHeader {
            endian,
            resolution,
            version_major: u16_at(4),
            version_minor: u16_at(6),
            snaplen: u32_at(16),
            linktype: LinkType(u32_at(20)),
        };
        Ok(Self {
            header,
            data,
            offset: GLOBAL_HEADER_LEN,
            failed: false,
        })
    }

    /// The global header.
    pub fn header(&self) -> &PcapHeader {
        &self.header
    }

    /// The link type of every record.
    pub fn linktype(&self) -> LinkType {
        self.header.linktype
    }

    fn read_record(&mut self) -> Result<Option<Record<'a>>, PcapError> {
        let offset = self.offset;
        let rest = self.data.get(offset..).unwrap_or_default();
        if rest.is_empty() {
            return Ok(None);
        }
        let rh: &[u8; RECORD_HEADER_LEN] = rest
            .get(..RECORD_HEADER_LEN)
            .and_then(|h| h.try_into().ok())
            .ok_or(PcapError::TruncatedRecordHeader { offset })?;
        let e = self.header.endian;
        let secs = read_u32(e, [rh[0], rh[1], rh[2], rh[3]]);
        let frac = read_u32(e, [rh[4], rh[5], rh[6], rh[7]]);
        let incl = read_u32(e, [rh[8], rh[9], rh[10], rh[11]]);
        let orig_len = read_u32(e, [rh[12], rh[13], rh[14], rh[15]]);
        let nanos = match self.header.resolution {
            TsResolution::Micro if frac < 1_000_000 => frac * 1_000,
            TsResolution::Nano if frac < 1_000_000_000 => frac,
            _ => {
                return Err(PcapError::BadTimestamp {
                    offset,
                    value: frac,
                });
            }
        };
        let body = &rest[RECORD_HEADER_LEN..];
        let captured = usize::try_from(incl).unwrap_or(usize::MAX);
        let data = body.get(..captured).ok_or(PcapError::TruncatedRecord {
            offset,
            captured,
            available: body.len(),
        })?;
        self.offset = offset + RECORD_HEADER_LEN + captured;
        Ok(Some(Record {
            ts: Timestamp::new(secs, nanos),
            orig_len,
            data,
        }))
    }
}

fn read_u32(endian: Endian, b: [u8; 4]) -> u32 {
    match endian {
        Endian::Little => u32::from_le_bytes(b),
        Endian::Big => u32::from_be_bytes(b),
    }
}

impl<'a> Iterator for PcapReader<'a> {
    type Item = Result<Record<'a>, PcapError>;

    fn next(&mut self) -> Option<Self::Item> {
        if self.failed {
            return None;
        }
        match self.read_record() {
            Ok(r) => r.map(Ok),
            Err(e) => {
                self.failed = true;
                Some(Err(e))
            }
        }
    }
}

impl core::iter::FusedIterator for PcapReader<'_> {}

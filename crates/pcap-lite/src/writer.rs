//! Writing classic pcap files.

use std::io::{self, Write};

use crate::{LinkType, Timestamp, TsResolution};

/// Writes a little-endian classic pcap stream.
#[derive(Debug)]
pub struct PcapWriter<W: Write> {
    out: W,
    resolution: TsResolution,
    snaplen: u32,
}

impl<W: Write> PcapWriter<W> {
    /// Writes the global header (version 2.4, snaplen 262144) and returns the writer.
    pub fn new(mut out: W, linktype: LinkType, resolution: TsResolution) -> io::Result<Self> {
        let snaplen: u32 = 262_144;
        let magic: u32 = match resolution {
            TsResolution::Micro => 0xA1B2_C3D4,
            TsResolution::Nano => 0xA1B2_3C4D,
        };
        let mut h = [0u8; crate::GLOBAL_HEADER_LEN];
        h[0..4].copy_from_slice(&magic.to_le_bytes());
        h[4..6].copy_from_slice(&2u16.to_le_bytes());
        h[6..8].copy_from_slice(&4u16.to_le_bytes());
        // 8..16: thiszone and sigfigs, both 0.
        h[16..20].copy_from_slice(&snaplen.to_le_bytes());
        h[20..24].copy_from_slice(&linktype.0.to_le_bytes());
        out.write_all(&h)?;
        Ok(Self {
            out,
            resolution,
            snaplen,
        })
    }

    /// Writes one record; frames longer than the snaplen are cut, keeping the original
    /// length in the record header. Fails for frames of 4 GiB or more.
    pub fn write_record(&mut self, ts: Timestamp, frame: &[u8]) -> io::Result<()> {
        let orig_len = u32::try_from(frame.len())
            .map_err(|_| io::Error::new(io::ErrorKind::InvalidInput, "frame too long"))?;
        let captured = &frame[..frame.len().min(self.snaplen as usize)];
        let frac = match self.resolution {
            TsResolution::Micro => ts.nanos / 1_000,
            TsResolution::Nano => ts.nanos,
        };
        let mut h = [0u8; crate::RECORD_HEADER_LEN];
        h[0..4].copy_from_slice(&ts.secs.to_le_bytes());
        h[4..8].copy_from_slice(&frac.to_le_bytes());
        // Fits: captured.len() <= snaplen (a u32).
        h[8..12].copy_from_slice(&(captured.len() as u32).to_le_bytes());
        h[12..16].copy_from_slice(&orig_len.to_le_bytes());
        self.out.write_all(&h)?;
        self.out.write_all(captured)
    }

    /// Flushes the underlying writer.
    pub fn flush(&mut self) -> io::Result<()> {
        self.out.flush()
    }

    /// Returns the underlying writer.
    pub fn into_inner(self) -> W {
        self.out
    }
}

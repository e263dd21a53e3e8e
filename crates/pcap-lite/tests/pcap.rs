//! Reader/writer round trips, malformed files and link-layer stripping.

use pcap_lite::link::{self, LinkError};
use pcap_lite::{Endian, LinkType, PcapError, PcapReader, PcapWriter, Timestamp, TsResolution};
use proptest::prelude::*;

fn sample(resolution: TsResolution) -> Vec<u8> {
    let mut w = PcapWriter::new(Vec::new(), LinkType::ETHERNET, resolution).unwrap();
    w.write_record(Timestamp::new(10, 123_456_789), b"first")
        .unwrap();
    w.write_record(Timestamp::new(11, 0), b"").unwrap();
    w.write_record(Timestamp::new(12, 999_999_999), &[0xAB; 70])
        .unwrap();
    w.flush().unwrap();
    w.into_inner()
}

#[test]
fn writer_output_reads_back_in_both_resolutions() {
    for (res, first_nanos) in [
        (TsResolution::Nano, 123_456_789),
        (TsResolution::Micro, 123_456_000),
    ] {
        let bytes = sample(res);
        let r = PcapReader::new(&bytes).unwrap();
        assert_eq!(r.header().endian, Endian::Little);
        assert_eq!(r.header().resolution, res);
        assert_eq!((r.header().version_major, r.header().version_minor), (2, 4));
        assert_eq!(r.linktype(), LinkType::ETHERNET);
        let recs: Vec<_> = r.collect::<Result<_, _>>().unwrap();
        assert_eq!(recs.len(), 3);
        assert_eq!(recs[0].data, b"first");
        assert_eq!(recs[0].ts, Timestamp::new(10, first_nanos));
        assert_eq!(recs[0].orig_len, 5);
        assert!(recs[1].data.is_empty());
        assert_eq!(recs[2].data.len(), 70);
        assert_eq!(recs[2].ts.secs, 12);
    }
}

/// Rewrites a little-endian file to big-endian, field by field.
fn to_big_endian(le: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    let swap4 = |b: &[u8]| [b[3], b[2], b[1], b[0]];
    out.extend_from_slice(&swap4(&le[0..4]));
    out.extend_from_slice(&[le[5], le[4], le[7], le[6]]);
    for o in (8..24).step_by(4) {
        out.extend_from_slice(&swap4(&le[o..o + 4]));
    }
    let mut off = 24;
    while off < le.len() {
        let incl = u32::from_le_bytes(le[off + 8..off + 12].try_into().unwrap()) as usize;
        for o in (off..off + 16).step_by(4) {
            out.extend_from_slice(&swap4(&le[o..o + 4]));
        }
        out.extend_from_slice(&le[off + 16..off + 16 + incl]);
        off += 16 + incl;
    }
    out
}

#[test]
fn big_endian_files_read_the_same() {
    let le = sample(TsResolution::Nano);
    let be = to_big_endian(&le);
    let a: Vec<_> = PcapReader::new(&le).unwrap().map(Result::unwrap).collect();
    let r = PcapReader::new(&be).unwrap();
    assert_eq!(r.header().endian, Endian::Big);
    let b: Vec<_> = r.map(Result::unwrap).collect();
    assert_eq!(a, b);
}

#[test]
fn malformed_files_give_typed_errors() {
    assert_eq!(
        PcapReader::new(&[0xd4, 0xc3]).unwrap_err(),
        PcapError::TruncatedHeader(2)
    );
    assert!(matches!(
        PcapReader::new(&[0u8; 24]).unwrap_err(),
        PcapError::BadMagic(0)
    ));
    let good = sample(TsResolution::Micro);
    // Cut inside the first record header.
    let mut r = PcapReader::new(&good[..30]).unwrap();
    assert_eq!(
        r.next(),
        Some(Err(PcapError::TruncatedRecordHeader { offset: 24 }))
    );
    assert_eq!(r.next(), None, "fused after an error");
    // Cut inside the first record's data.
    let mut r = PcapReader::new(&good[..24 + 16 + 3]).unwrap();
    assert_eq!(
        r.next(),
        Some(Err(PcapError::TruncatedRecord {
            offset: 24,
            captured: 5,
            available: 3
        }))
    );
    // Microsecond field out of range.
    let mut bad = good.clone();
    bad[28..32].copy_from_slice(&1_000_000u32.to_le_bytes());
    assert!(matches!(
        PcapReader::new(&bad).unwrap().next(),
        Some(Err(PcapError::BadTimestamp { offset: 24, .. }))
    ));
}

#[test]
fn ethernet_vlan_and_cooked_stripping() {
    let mut frame = vec![1, 0, 0x5e, 0, 0, 0x12, 2, 0x10, 0, 0, 0, 0x0b, 0x08, 0x00];
    frame.extend_from_slice(&[0x45, 0, 0, 20]);
    frame.extend_from_slice(&[0u8; 16]);
    frame.extend_from_slice(&[0u8; 6]); // padding
    let eth = link::parse_ethernet(&frame).unwrap();
    assert_eq!(eth.vlan, None);
    assert_eq!(eth.src, [2, 0x10, 0, 0, 0, 0x0b]);
    let ip = link::ipv4_payload(LinkType::ETHERNET, &frame).unwrap();
    assert_eq!(ip.len(), 26);
    assert_eq!(link::trim_ipv4_padding(ip).len(), 20);

    let mut tagged = frame[..12].to_vec();
    tagged.extend_from_slice(&[0x81, 0x00, 0x20, 0x0a, 0x08, 0x00]);
    tagged.extend_from_slice(&frame[14..]);
    let eth = link::parse_ethernet(&tagged).unwrap();
    assert_eq!(eth.vlan, Some(10));
    assert_eq!(eth.ethertype, link::ETHERTYPE_IPV4);
    assert_eq!(link::ipv4_payload(LinkType::ETHERNET, &tagged).unwrap(), ip);

    let mut triple = frame[..12].to_vec();
    for _ in 0..3 {
        triple.extend_from_slice(&[0x81, 0x00, 0x00, 0x01]);
    }
    triple.extend_from_slice(&[0x08, 0x00]);
    assert_eq!(link::parse_ethernet(&triple), Err(LinkError::TooManyTags));

    let mut arp = frame.clone();
    arp[12..14].copy_from_slice(&[0x08, 0x06]);
    assert_eq!(
        link::ipv4_payload(LinkType::ETHERNET, &arp),
        Err(LinkError::NotIpv4(0x0806))
    );

    let mut sll = vec![0u8; 14];
    sll.extend_from_slice(&[0x08, 0x00]);
    sll.extend_from_slice(&frame[14..]);
    assert_eq!(link::ipv4_payload(LinkType::LINUX_SLL, &sll).unwrap(), ip);
    assert_eq!(link::ipv4_payload(LinkType::RAW, ip).unwrap(), ip);
    assert_eq!(
        link::ipv4_payload(LinkType::RAW, &[0x60]),
        Err(LinkError::NotIpv4Raw(6))
    );
    assert_eq!(
        link::ipv4_payload(LinkType(999), ip),
        Err(LinkError::UnsupportedLinkType(999))
    );
    assert_eq!(
        link::parse_ethernet(&frame[..13]),
        Err(LinkError::Truncated)
    );
    assert_eq!(link::trim_ipv4_padding(&[0x45]), &[0x45]);
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn reader_never_panics(bytes in proptest::collection::vec(any::<u8>(), 0..200)) {
        if let Ok(r) = PcapReader::new(&bytes) {
            for rec in r.flatten() {
                let _ = link::ipv4_payload(LinkType::ETHERNET, rec.data);
                let _ = link::ipv4_payload(LinkType::LINUX_SLL, rec.data);
            }
        }
        let _ = link::parse_ethernet(&bytes);
        let _ = link::trim_ipv4_padding(&bytes);
    }

    #[test]
    fn reader_never_panics_after_valid_header(tail in proptest::collection::vec(any::<u8>(), 0..200), nano in any::<bool>()) {
        let res = if nano { TsResolution::Nano } else { TsResolution::Micro };
        let mut bytes = PcapWriter::new(Vec::new(), LinkType::ETHERNET, res).unwrap().into_inner();
        bytes.extend_from_slice(&tail);
        let r = PcapReader::new(&bytes).unwrap();
        let mut consumed = 0usize;
        for rec in r {
            match rec {
                Ok(rec) => consumed += 16 + rec.data.len(),
                Err(_) => break,
            }
        }
        prop_assert!(consumed <= tail.len());
    }

    #[test]
    fn written_records_read_back(frames in proptest::collection::vec((any::<u32>(), 0u32..1_000_000_000, proptest::collection::vec(any::<u8>(), 0..100)), 0..8)) {
        let mut w = PcapWriter::new(Vec::new(), LinkType::ETHERNET, TsResolution::Nano).unwrap();
        for (s, n, f) in &frames {
            w.write_record(Timestamp::new(*s, *n), f).unwrap();
        }
        let bytes = w.into_inner();
        let back: Vec<_> = PcapReader::new(&bytes).unwrap().collect::<Result<_, _>>().unwrap();
        prop_assert_eq!(back.len(), frames.len());
        for (r, (s, n, f)) in back.iter().zip(&frames) {
            prop_assert_eq!(r.ts, Timestamp::new(*s, *n));
            prop_assert_eq!(r.data, &f[..]);
        }
    }
}

//! Every VRRP/AH frame of the keepalived captures in tests/vectors/keepalived: decode,
//! validate, re-emit byte for byte, and recompute the AH ICV with the key from the config
//! file beside the capture. Plus the written vectors of vrrp.md §1.6/§2.6 and
//! keepalived-conf-examples.md Example 1.

use std::collections::BTreeMap;
use std::net::Ipv4Addr;
use std::path::{Path, PathBuf};

use pcap_lite::{PcapReader, link};
use vrrp_wire::{
    AddressList, AdvertRepr, AhKey, AhPacket, Auth, Authenticator, IPPROTO_AH, IPPROTO_VRRP,
    Ipv4Packet, Ipv4Repr, RxError, RxPolicy, TxParams, Vrid, VrrpPacket, VrrpRepr, decode_advert,
    encode_advert,
};

fn vectors_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../tests/vectors/keepalived")
}

/// Reads `auth_type` and `auth_pass` from a keepalived config (first occurrence).
fn conf_auth(path: &Path) -> Auth {
    let text = std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let mut kind = None;
    let mut pass = None;
    for line in text.lines() {
        let mut words = line.split_whitespace();
        match (words.next(), words.next()) {
            (Some("auth_type"), Some(v)) => kind = kind.or(Some(v.to_owned())),
            (Some("auth_pass"), Some(v)) => pass = pass.or(Some(v.to_owned())),
            _ => {}
        }
    }
    let key = Auth::key_from_password(pass.unwrap_or_default().as_bytes());
    match kind.as_deref() {
        None => Auth::None,
        Some("PASS") => Auth::Pass(key),
        Some("AH") => Auth::Ah(key),
        Some(other) => panic!("{}: unknown auth_type {other}", path.display()),
    }
}

/// The config a router used for a capture: `rK-<suffix>.conf` when it exists (e.g.
/// `r2-wrongpass.conf` for `4-wrongpass.pcap`), else `rK.conf`.
fn router_conf(dir: &Path, capture_stem: &str, router: u8) -> PathBuf {
    let suffix = capture_stem.split_once('-').map_or("", |(_, s)| s);
    let special = dir.join(format!("r{router}-{suffix}.conf"));
    if special.exists() {
        special
    } else {
        dir.join(format!("r{router}.conf"))
    }
}

/// Lab addressing: r1 = x.x.x.11, r2 = x.x.x.12.
fn router_of(src: Ipv4Addr) -> u8 {
    match src.octets()[3] {
        11 => 1,
        12 => 2,
        other => panic!("unexpected sender .{other}"),
    }
}

fn pcaps(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    for entry in std::fs::read_dir(dir).unwrap() {
        let p = entry.unwrap().path();
        if p.is_dir() {
            out.extend(pcaps(&p));
        } else if p.extension().is_some_and(|e| e == "pcap") {
            out.push(p);
        }
    }
    out.sort();
    out
}

#[derive(Default, Debug)]
struct Counts {
    files: usize,
    frames: usize,
    vrrp: usize,
    ah: usize,
    reemitted: usize,
    icv_recomputed: usize,
    pass_checked: usize,
    wrong_key_rejected: usize,
    padded: usize,
}

#[test]
fn every_captured_advert_round_trips_and_authenticates() {
    let mut counts = Counts::default();
    let mut ah_per_file = BTreeMap::new();
    for path in pcaps(&vectors_dir()) {
        counts.files += 1;
        let dir = path.parent().unwrap();
        let stem = path.file_stem().unwrap().to_str().unwrap();
        let name = path
            .strip_prefix(vectors_dir())
            .unwrap()
            .display()
            .to_string();
        let auths = [
            conf_auth(&router_conf(dir, stem, 1)),
            conf_auth(&router_conf(dir, stem, 2)),
        ];
        let bytes = std::fs::read(&path).unwrap();
        let reader = PcapReader::new(&bytes).unwrap();
        let linktype = reader.linktype();
        for (index, record) in reader.enumerate() {
            let record = record.unwrap();
            counts.frames += 1;
            let Ok(ip) = link::ipv4_payload(linktype, record.data) else {
                continue;
            };
            let proto = ip[9];
            if proto != IPPROTO_VRRP && proto != IPPROTO_AH {
                continue;
            }
            let at = format!("{name} frame {}", index + 1);
            let exact = link::trim_ipv4_padding(ip);
            if exact.len() < ip.len() {
                counts.padded += 1;
            }
            let src = Ipv4Addr::new(ip[12], ip[13], ip[14], ip[15]);
            let me = usize::from(router_of(src) - 1);
            let auth = Authenticator::new(auths[me]);
            let policy = RxPolicy::new(&auth);
            let rx = decode_advert(ip, &policy).unwrap_or_else(|e| panic!("{at}: {e}"));
            assert_eq!(rx.src, src);
            assert_eq!(rx.ttl, 255, "{at}");
            assert_eq!(rx.tos, 0xc0, "{at}");
            assert_eq!(rx.packet_len, exact.len(), "{at}");

            // Re-emit the whole IPv4 packet, IP checksum included.
            let mut out = [0u8; 1500];
            let n = encode_advert(
                &rx.tx_params(false),
                &rx.advert(),
                &auth,
                rx.ah_sequence(),
                &mut out,
            )
            .unwrap_or_else(|e| panic!("{at}: {e}"));
            assert_eq!(&out[..n], exact, "{at}: re-emitted bytes differ");
            counts.reemitted += 1;

            // The low-level reprs reproduce their parts too.
            let ipv = Ipv4Packet::new_checked(exact).unwrap();
            let ip_repr = Ipv4Repr::parse(&ipv).unwrap();
            let mut hdr = [0u8; 20];
            ip_repr.emit(&mut hdr).unwrap();
            assert_eq!(&hdr, &exact[..20], "{at}");
            let vrrp_bytes = if proto == IPPROTO_AH {
                &ipv.payload()[24..]
            } else {
                ipv.payload()
            };
            let vrrp_repr = VrrpRepr::parse(&VrrpPacket::new_checked(vrrp_bytes).unwrap()).unwrap();
            let mut vbuf = vec![0u8; vrrp_repr.buffer_len()];
            vrrp_repr.emit(&mut vbuf).unwrap();
            assert_eq!(vbuf, vrrp_bytes, "{at}");

            let other = Authenticator::new(auths[1 - me]);
            match auths[me] {
                Auth::Ah(key) => {
                    counts.ah += 1;
                    *ah_per_file.entry(name.clone()).or_insert(0usize) += 1;
                    let ah = AhPacket::new_checked(&exact[20..]).unwrap();
                    assert_eq!(ah.spi_addr(), src, "{at}: SPI is the source");
                    let icv =
                        AhKey::new(&key).icv(&exact[..20], &exact[20..44], &exact[44..], false);
                    assert_eq!(icv, ah.icv(), "{at}: recomputed ICV");
                    counts.icv_recomputed += 1;
                    if auths[1 - me] != auths[me] {
                        assert_eq!(
                            decode_advert(ip, &RxPolicy::new(&other)).unwrap_err(),
                            RxError::AhIcvMismatch,
                            "{at}: must fail with the other router's key"
                        );
                        counts.wrong_key_rejected += 1;
                    }
                }
                Auth::Pass(key) => {
                    assert_eq!(rx.auth_data, key, "{at}");
                    counts.pass_checked += 1;
                    if auths[1 - me] != auths[me] {
                        assert_eq!(
                            decode_advert(ip, &RxPolicy::new(&other)).unwrap_err(),
                            RxError::PasswordMismatch,
                            "{at}"
                        );
                        counts.wrong_key_rejected += 1;
                    }
                }
                Auth::None => assert_eq!(rx.auth_data, [0; 8], "{at}"),
            }
            counts.vrrp += 1;
        }
    }
    println!("{counts:?}");
    assert!(counts.files >= 15, "{counts:?}");
    assert!(
        counts.frames > counts.vrrp && counts.vrrp > 100,
        "{counts:?}"
    );
    assert_eq!(counts.reemitted, counts.vrrp, "every advert re-emitted");
    assert_eq!(counts.icv_recomputed, counts.ah, "every AH frame checked");
    assert!(counts.pass_checked > 0, "{counts:?}");
    // Per-file AH frame counts as reported by the independent checker (icv-check.txt).
    let expected: BTreeMap<String, usize> = [
        ("c-ah/1-steady.pcap", 5),
        ("c-ah/2-failover.pcap", 15),
        ("c-ah/3-preempt.pcap", 15),
        ("c-ah/4-wrongpass.pcap", 10),
        ("c-ah/5-longpass.pcap", 3),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_owned(), v))
    .collect();
    assert_eq!(ah_per_file, expected);
    // 10 wrong-password AH frames plus the shortpass PASS frames from r1.
    assert!(counts.wrong_key_rejected >= 10, "{counts:?}");
}

#[test]
fn longpass_config_key_is_truncated_to_eight_bytes() {
    let auth = conf_auth(&vectors_dir().join("c-ah/r1-longpass.conf"));
    assert_eq!(auth, Auth::Ah(*b"secret12"));
    let short = conf_auth(&vectors_dir().join("b-pass/r1-shortpass.conf"));
    assert_eq!(short, Auth::Pass(*b"abc\0\0\0\0\0"));
}

fn hex(s: &str) -> Vec<u8> {
    let digits: Vec<u8> = s
        .bytes()
        .filter(|c| c.is_ascii_hexdigit())
        .map(|c| (c as char).to_digit(16).unwrap() as u8)
        .collect();
    digits.chunks(2).map(|p| (p[0] << 4) | p[1]).collect()
}

fn one_vip_advert(vrid: u8, priority: u8, vip: Ipv4Addr) -> AdvertRepr {
    AdvertRepr {
        vrid: Vrid::new(vrid).unwrap(),
        priority,
        adver_int: 1,
        addresses: AddressList::from_slice(&[vip]).unwrap(),
    }
}

#[test]
fn vrrp_md_1_6_pass_vector() {
    let want = hex("45 c0 00 28 00 01 00 00 ff 70 51 e7 c0 a8 c8 02 e0 00 00 12
         21 33 64 01 01 01 8e ae c0 a8 c8 10 31 31 31 31 00 00 00 00");
    let auth = Authenticator::new(Auth::Pass(Auth::key_from_password(b"1111")));
    let tx = TxParams::multicast(Ipv4Addr::new(192, 168, 200, 2), 1);
    let advert = one_vip_advert(51, 100, Ipv4Addr::new(192, 168, 200, 16));
    let mut out = [0u8; 64];
    let n = encode_advert(&tx, &advert, &auth, None, &mut out).unwrap();
    assert_eq!(&out[..n], &want[..]);
    let rx = decode_advert(&want, &RxPolicy::new(&auth)).unwrap();
    assert_eq!(rx.advert(), advert);
    assert_eq!(rx.vrrp_checksum, 0x8eae);
}

#[test]
fn vrrp_md_2_6_ah_vectors() {
    let want = hex("45 c0 00 40 00 01 00 00 ff 33 52 0c c0 a8 c8 02 e0 00 00 12
         70 04 00 00 c0 a8 c8 02 00 00 00 01 84 84 9c 1d 35 39 45 33 93 0f a9 89
         21 33 64 01 02 01 f0 10 c0 a8 c8 10 00 00 00 00 00 00 00 00");
    let key = Auth::key_from_password(b"secret");
    assert_eq!(key, [0x73, 0x65, 0x63, 0x72, 0x65, 0x74, 0, 0]);
    let auth = Authenticator::new(Auth::Ah(key));
    let src = Ipv4Addr::new(192, 168, 200, 2);
    let mut advert = one_vip_advert(51, 100, Ipv4Addr::new(192, 168, 200, 16));
    let mut out = [0u8; 128];
    let n = encode_advert(
        &TxParams::multicast(src, 1),
        &advert,
        &auth,
        Some(1),
        &mut out,
    )
    .unwrap();
    assert_eq!(&out[..n], &want[..]);

    // The HMAC input written out in §2.6.
    let input = hex("45 00 00 40 00 01 00 00 ff 33 00 00 c0 a8 c8 02 e0 00 00 12
         70 04 00 00 c0 a8 c8 02 00 00 00 01 00 00 00 00 00 00 00 00 00 00 00 00
         21 33 64 01 02 01 f0 10 c0 a8 c8 10 00 00 00 00 00 00 00 00");
    let k = AhKey::new(&key);
    // Feeding the already-zeroed input gives the same ICV: only TOS/frag/checksum differ.
    assert_eq!(
        k.icv(&input[..20], &input[20..44], &input[44..], false),
        k.icv(&want[..20], &want[20..44], &want[44..], false)
    );

    // Second advert: ID 2, seq 2.
    let n = encode_advert(
        &TxParams::multicast(src, 2),
        &advert,
        &auth,
        Some(2),
        &mut out,
    )
    .unwrap();
    assert_eq!(
        &out[32..44],
        &hex("ad c2 74 57 35 e3 9e d7 13 59 f6 e5")[..]
    );
    assert!(decode_advert(&out[..n], &RxPolicy::new(&auth)).is_ok());

    // Priority-0 advert at shutdown: ID 5, seq 5, VRRP checksum 0x5411.
    advert.priority = 0;
    let n = encode_advert(
        &TxParams::multicast(src, 5),
        &advert,
        &auth,
        Some(5),
        &mut out,
    )
    .unwrap();
    assert_eq!(
        &out[32..44],
        &hex("a2 54 60 fa 76 2a 91 22 b5 3c 93 1b")[..]
    );
    assert_eq!(&out[50..52], &[0x54, 0x11]);
    let rx = decode_advert(&out[..n], &RxPolicy::new(&auth)).unwrap();
    assert_eq!(rx.ah_sequence(), Some(5));
    assert_eq!(rx.priority, 0);

    let rx = decode_advert(&want, &RxPolicy::new(&auth)).unwrap();
    assert_eq!(rx.ah_sequence(), Some(1));
    assert_eq!(rx.ah.unwrap().spi, u32::from(src));
}

#[test]
fn conf_example_1_wire_bytes() {
    let want = hex("21 33 96 01 01 01 22 4c c0 a8 0a 64 73 33 63 72 33 74 50 57");
    let auth = Authenticator::new(Auth::Pass(Auth::key_from_password(b"s3cr3tPW")));
    let advert = one_vip_advert(51, 150, Ipv4Addr::new(192, 168, 10, 100));
    let mut out = [0u8; 64];
    let n = encode_advert(
        &TxParams::multicast(Ipv4Addr::new(192, 168, 10, 1), 1),
        &advert,
        &auth,
        None,
        &mut out,
    )
    .unwrap();
    assert_eq!(n, 40);
    assert_eq!(&out[20..40], &want[..]);
    let repr = VrrpRepr::parse(&VrrpPacket::new_checked(&want[..]).unwrap()).unwrap();
    assert_eq!(repr.advert, advert);
}

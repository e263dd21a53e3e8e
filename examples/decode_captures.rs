//! Walks the keepalived captures in tests/vectors/keepalived and prints one line per
//! VRRP advert: file, capture time, source, VRID, priority, auth, AH sequence and whether
//! the AH ICV verifies with the sender's configured key. Ends with a summary.
//!
//! Run with `cargo run -p examples --example decode_captures [DIR]`.

use std::net::Ipv4Addr;
use std::path::{Path, PathBuf};

use pcap_lite::{PcapReader, link};
use vrrp_wire::{Auth, Authenticator, IPPROTO_AH, IPPROTO_VRRP, RxPolicy, decode_advert};

/// `auth_type`/`auth_pass` of a keepalived config (first occurrence; enough for the lab
/// configs, not a config parser).
fn conf_auth(path: &Path) -> Option<Auth> {
    let text = std::fs::read_to_string(path).ok()?;
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
    Some(match kind.as_deref() {
        Some("PASS") => Auth::Pass(key),
        Some("AH") => Auth::Ah(key),
        _ => Auth::None,
    })
}

/// Router number in the lab addressing: r1 = .11, r2 = .12.
fn router_of(src: Ipv4Addr) -> u8 {
    src.octets()[3].wrapping_sub(10)
}

/// The config of router `rN` for a capture `K-suffix.pcap`: `rN-suffix.conf` if present,
/// else `rN.conf`.
fn router_auth(capture: &Path, router: u8) -> Auth {
    let dir = capture.parent().unwrap_or(Path::new("."));
    let stem = capture.file_stem().and_then(|s| s.to_str()).unwrap_or("");
    let suffix = stem.split_once('-').map_or("", |(_, s)| s);
    let special = dir.join(format!("r{router}-{suffix}.conf"));
    conf_auth(&special)
        .or_else(|| conf_auth(&dir.join(format!("r{router}.conf"))))
        .unwrap_or(Auth::None)
}

fn pcaps(dir: &Path, out: &mut Vec<PathBuf>) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for entry in entries.flatten() {
        let p = entry.path();
        if p.is_dir() {
            pcaps(&p, out);
        } else if p.extension().is_some_and(|e| e == "pcap") {
            out.push(p);
        }
    }
}

fn auth_name(auth: &Auth) -> &'static str {
    match auth {
        Auth::None => "none",
        Auth::Pass(_) => "PASS",
        Auth::Ah(_) => "AH",
    }
}

fn main() {
    let root = std::env::args()
        .nth(1)
        .map(PathBuf::from)
        .unwrap_or_else(examples::vectors_dir);
    let mut files = Vec::new();
    pcaps(&root, &mut files);
    files.sort();
    let (mut adverts, mut ah_ok, mut ah_bad, mut rejected) = (0usize, 0usize, 0usize, 0usize);
    for path in &files {
        let name = path
            .strip_prefix(&root)
            .unwrap_or(path)
            .display()
            .to_string();
        let bytes = match std::fs::read(path) {
            Ok(b) => b,
            Err(e) => {
                eprintln!("{name}: {e}");
                continue;
            }
        };
        let reader = match PcapReader::new(&bytes) {
            Ok(r) => r,
            Err(e) => {
                eprintln!("{name}: {e}");
                continue;
            }
        };
        let linktype = reader.linktype();
        for record in reader {
            let record = match record {
                Ok(r) => r,
                Err(e) => {
                    eprintln!("{name}: {e}");
                    break;
                }
            };
            let Ok(ip) = link::ipv4_payload(linktype, record.data) else {
                continue;
            };
            if ip.len() < 20 || (ip[9] != IPPROTO_VRRP && ip[9] != IPPROTO_AH) {
                continue;
            }
            adverts += 1;
            let src = Ipv4Addr::new(ip[12], ip[13], ip[14], ip[15]);
            let router = router_of(src);
            let own = router_auth(path, router);
            let peer = 3 - router; // the other lab router
            let peer_auth = router_auth(path, peer);
            let time = format!("{}.{:06}", record.ts.secs, record.ts.nanos / 1000);
            let prepared = Authenticator::new(own);
            match decode_advert(ip, &RxPolicy::new(&prepared)) {
                Ok(rx) => {
                    let mut line = format!(
                        "{name} {time} {src} vrid {} prio {} auth {}",
                        rx.vrid,
                        rx.priority,
                        auth_name(&own)
                    );
                    if let Some(seq) = rx.ah_sequence() {
                        ah_ok += 1;
                        line.push_str(&format!(" seq {seq} icv ok"));
                        if peer_auth != own {
                            // What the other router, configured with another key, sees.
                            let theirs = Authenticator::new(peer_auth);
                            if let Err(vrrp_wire::RxError::AhIcvMismatch) =
                                decode_advert(ip, &RxPolicy::new(&theirs))
                            {
                                ah_bad += 1;
                                line.push_str(&format!(" (r{peer}'s key: icv BAD)"));
                            }
                        }
                    }
                    println!("{line}");
                }
                Err(e) => {
                    rejected += 1;
                    println!("{name} {time} {src} rejected: {e}");
                }
            }
        }
    }
    println!(
        "summary: {} files, {adverts} adverts, AH icv ok {ah_ok} (sender's key), \
         icv BAD {ah_bad} (peer's different key), rejected {rejected}",
        files.len()
    );
}

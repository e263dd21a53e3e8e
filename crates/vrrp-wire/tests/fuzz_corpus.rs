//! Replays the checked-in cargo-fuzz seed corpus (fuzz/corpus/{vrrp_decode,ah_verify})
//! through the fuzz bodies, so the fuzz invariants run on stable in every `cargo test`.

use std::path::{Path, PathBuf};

use vrrp_wire::{Auth, Authenticator, RxPolicy, decode_advert, fuzz_support};

fn corpus(target: &str) -> Vec<(PathBuf, Vec<u8>)> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../fuzz/corpus")
        .join(target);
    let mut files: Vec<_> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .map(|e| e.unwrap().path())
        .filter(|p| p.is_file())
        .collect();
    files.sort();
    files
        .into_iter()
        .map(|p| {
            let bytes = std::fs::read(&p).unwrap();
            (p, bytes)
        })
        .collect()
}

#[test]
fn vrrp_decode_corpus() {
    let seeds = corpus("vrrp_decode");
    assert!(
        seeds.len() >= 20 && seeds.len() < 200,
        "{} seeds",
        seeds.len()
    );
    let auths = [
        Authenticator::new(Auth::None),
        Authenticator::new(Auth::Pass(fuzz_support::FUZZ_KEY)),
        Authenticator::new(Auth::Ah(fuzz_support::FUZZ_KEY)),
    ];
    let mut decoded = 0;
    for (path, bytes) in &seeds {
        fuzz_support::vrrp_decode(bytes);
        if auths
            .iter()
            .any(|a| decode_advert(bytes, &RxPolicy::new(a)).is_ok())
        {
            decoded += 1;
        } else {
            assert!(
                // Edge cases, and captures keyed with another password.
                path.file_name()
                    .unwrap()
                    .to_str()
                    .unwrap()
                    .starts_with("edge_")
                    || path.to_str().unwrap().contains("wrongpass")
                    || path.to_str().unwrap().contains("shortpass"),
                "capture seed {} does not decode",
                path.display()
            );
        }
    }
    // The success branches (re-emit invariants) must be exercised, not only rejections.
    assert!(decoded >= 40, "only {decoded} seeds decode");
}

#[test]
fn ah_verify_corpus() {
    let seeds = corpus("ah_verify");
    assert!(
        seeds.len() >= 10 && seeds.len() < 200,
        "{} seeds",
        seeds.len()
    );
    let auth = Authenticator::new(Auth::Ah(fuzz_support::FUZZ_KEY));
    let mut verified = 0;
    for (_, bytes) in &seeds {
        fuzz_support::ah_verify(bytes);
        if let Some((&flags, pkt)) = bytes.split_first() {
            let mut policy = RxPolicy::new(&auth);
            policy.unicast = flags & 1 == 1;
            if decode_advert(pkt, &policy).is_ok() {
                verified += 1;
            }
        }
    }
    assert!(verified >= 12, "only {verified} seeds verify");
}

//! vrrp-wire throughput: decode + validate adverts (no auth, PASS, AH with HMAC-MD5-96
//! and the replay check) and AH signing, one advert per iteration.

use std::hint::black_box;
use std::net::Ipv4Addr;

use divan::Bencher;
use divan::counter::ItemsCount;
use vrrp_wire::{
    AddressList, AdvertRepr, AhSequence, Auth, Authenticator, RxPolicy, TxParams, Vrid,
    decode_advert, encode_advert,
};

fn main() {
    divan::main();
}

fn advert() -> AdvertRepr {
    AdvertRepr {
        vrid: Vrid::new(51).expect("51 is a valid VRID"),
        priority: 150,
        adver_int: 1,
        addresses: AddressList::from_slice(&[Ipv4Addr::new(10, 99, 0, 200)])
            .expect("one address fits"),
    }
}

fn packet(auth: &Authenticator, seq: Option<u32>) -> Vec<u8> {
    let mut buf = vec![0u8; 128];
    let tx = TxParams::multicast(Ipv4Addr::new(10, 99, 0, 11), 7);
    let n = encode_advert(&tx, &advert(), auth, seq, &mut buf).expect("advert encodes");
    buf.truncate(n);
    buf
}

fn policy(auth: &Authenticator) -> RxPolicy<'_> {
    let mut p = RxPolicy::new(auth);
    p.expected_vrid = Vrid::new(51);
    p.adver_int = Some(1);
    p
}

fn bench_decode(bencher: Bencher, auth: Auth, seq: Option<u32>) {
    let auth = Authenticator::new(auth);
    let pkt = packet(&auth, seq);
    let vips = [Ipv4Addr::new(10, 99, 0, 200)];
    let mut pol = policy(&auth);
    pol.vips = Some(&vips);
    bencher.counter(ItemsCount::new(1usize)).bench_local(|| {
        let rx = decode_advert(black_box(&pkt), &pol).expect("valid advert");
        let mut replay = AhSequence::new();
        rx.check_replay(&mut replay).expect("fresh watermark");
        black_box(rx.priority)
    });
}

#[divan::bench]
fn decode_noauth(bencher: Bencher) {
    bench_decode(bencher, Auth::None, None);
}

#[divan::bench]
fn decode_pass(bencher: Bencher) {
    bench_decode(bencher, Auth::Pass(*b"secret12"), None);
}

#[divan::bench]
fn decode_ah_verify(bencher: Bencher) {
    bench_decode(bencher, Auth::Ah(*b"secret12"), Some(1000));
}

#[divan::bench]
fn encode_ah_sign(bencher: Bencher) {
    let auth = Authenticator::new(Auth::Ah(*b"secret12"));
    let adv = advert();
    let mut buf = [0u8; 128];
    let mut seq = AhSequence::new();
    bencher.counter(ItemsCount::new(1usize)).bench_local(|| {
        let tx = TxParams::multicast(Ipv4Addr::new(10, 99, 0, 11), 7);
        let n = encode_advert(&tx, &adv, &auth, Some(seq.next_for_send()), &mut buf)
            .expect("advert encodes");
        black_box(buf[n - 1])
    });
}

#[divan::bench]
fn encode_noauth(bencher: Bencher) {
    let auth = Authenticator::new(Auth::None);
    let adv = advert();
    let mut buf = [0u8; 128];
    bencher.counter(ItemsCount::new(1usize)).bench_local(|| {
        let tx = TxParams::multicast(Ipv4Addr::new(10, 99, 0, 11), 7);
        let n = encode_advert(&tx, &adv, &auth, None, &mut buf).expect("advert encodes");
        black_box(buf[n - 1])
    });
}

/// Baseline: the HMAC-MD5-96 computation alone over a 64-byte AH advert (three MD5
/// block compressions), to show how much of `decode_ah_verify` is the codec itself.
#[divan::bench]
fn ah_icv_only(bencher: Bencher) {
    let auth = Authenticator::new(Auth::Ah(*b"secret12"));
    let pkt = packet(&auth, Some(1000));
    let key = auth.ah_key().expect("AH authenticator has a key");
    bencher.counter(ItemsCount::new(1usize)).bench_local(|| {
        let p = black_box(&pkt);
        black_box(key.icv(&p[..20], &p[20..44], &p[44..], false))
    });
}

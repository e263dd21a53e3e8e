//! The parsers never panic and never read out of bounds, whatever the bytes.

use ctnl::wire::{Attrs, Messages};
use ctnl::{decode_entry, message_kind};
use proptest::prelude::*;

/// Walks every nested attribute to depth 3, reading each payload with every typed reader.
fn walk(bytes: &[u8], depth: u8) {
    for attr in Attrs::new(bytes) {
        let Ok(attr) = attr else { break };
        assert!(attr.payload.len() <= bytes.len());
        let _ = (
            attr.u8("x"),
            attr.be16("x"),
            attr.be32("x"),
            attr.ipv4("x"),
            attr.ipv6("x"),
        );
        if depth > 0 {
            walk(attr.payload, depth - 1);
        }
    }
}

/// A plausible ctnetlink message: a netlink header with a conntrack type and a length
/// that fits, then random attribute bytes, so the entry decoder gets past the framing.
fn framed(body: Vec<u8>, kind: u16, family: u8) -> Vec<u8> {
    let len = (16 + 4 + body.len()) as u32;
    let mut out = Vec::new();
    out.extend_from_slice(&len.to_ne_bytes());
    out.extend_from_slice(&kind.to_ne_bytes());
    out.extend_from_slice(&0u16.to_ne_bytes());
    out.extend_from_slice(&0u32.to_ne_bytes());
    out.extend_from_slice(&0u32.to_ne_bytes());
    out.extend_from_slice(&[family, 0, 0, 0]);
    out.extend_from_slice(&body);
    out
}

/// Random attribute trees with valid-looking lengths (so parsing goes deep).
fn attr_tree() -> impl Strategy<Value = Vec<u8>> {
    let leaf = (0u16..20, proptest::collection::vec(any::<u8>(), 0..20)).prop_map(|(k, p)| {
        let mut out = Vec::new();
        out.extend_from_slice(&((4 + p.len()) as u16).to_ne_bytes());
        out.extend_from_slice(&k.to_ne_bytes());
        out.extend_from_slice(&p);
        out.resize(out.len().div_ceil(4) * 4, 0);
        out
    });
    leaf.prop_recursive(3, 64, 6, |inner| {
        (0u16..20, proptest::collection::vec(inner, 0..6)).prop_map(|(k, kids)| {
            let body: Vec<u8> = kids.concat();
            let mut out = Vec::new();
            out.extend_from_slice(&((4 + body.len()) as u16).to_ne_bytes());
            out.extend_from_slice(&(k | 0x8000).to_ne_bytes());
            out.extend_from_slice(&body);
            out
        })
    })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn random_bytes_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..600)) {
        walk(&bytes, 3);
        for msg in Messages::new(&bytes) {
            let Ok(msg) = msg else { break };
            let _ = message_kind(&msg);
            let _ = decode_entry(msg.payload);
        }
        let _ = decode_entry(&bytes);
    }

    #[test]
    fn random_attribute_trees_never_panic(
        attrs in proptest::collection::vec(attr_tree(), 0..8),
        family in prop_oneof![Just(2u8), Just(10u8), any::<u8>()],
        cut in any::<prop::sample::Index>(),
    ) {
        let body: Vec<u8> = attrs.concat();
        let datagram = framed(body, 0x0100, family);
        // Whole, and truncated at a random point.
        let cut = cut.index(datagram.len() + 1);
        for bytes in [&datagram[..], &datagram[..cut]] {
            for msg in Messages::new(bytes) {
                let Ok(msg) = msg else { break };
                prop_assert!(message_kind(&msg).is_some());
                let _ = decode_entry(msg.payload);
                walk(msg.payload.get(4..).unwrap_or_default(), 3);
            }
        }
    }
}

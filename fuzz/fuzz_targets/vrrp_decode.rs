//! Fuzz target: IPv4 + VRRPv2 decoding under every auth kind (body in vrrp-wire).
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    vrrp_wire::fuzz_support::vrrp_decode(data);
});

//! Fuzz target: AH (HMAC-MD5-96) verification (body in vrrp-wire).
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    vrrp_wire::fuzz_support::ah_verify(data);
});

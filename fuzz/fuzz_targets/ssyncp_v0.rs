//! Fuzz target: SSYNCP Ver 0 decoding and re-encoding (body in ssyncp-wire).
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    ssyncp_wire::fuzz_support::ssyncp_v0(data);
});

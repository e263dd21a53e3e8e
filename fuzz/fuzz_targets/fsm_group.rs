//! Random event sequences through routers and sync groups (real FSM + real codec): any
//! input decodes to a scenario; after the network is quiet there must be exactly one
//! MASTER per VRID per LAN, holding the highest priority. The same body runs over fixed
//! seeds in `vrrp-sim`'s tests (`fuzz_body_runs_over_fixed_seeds`).
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    vrrp_sim::chaos::fuzz_one(data);
});

//! Helpers shared by the chaos, bad-input and FRR tests: a tiny seeded RNG (so a failing
//! chaos run can be replayed from its printed seed) and small environment switches.
#![allow(dead_code)]

use std::time::Duration;

/// SplitMix64: tiny, fast and good enough to pick chaos actions; deterministic per seed.
pub struct Rng(u64);

impl Rng {
    /// A generator starting from `seed`.
    pub fn new(seed: u64) -> Rng {
        Rng(seed)
    }

    /// The next 64 random bits.
    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    /// A value in `lo..hi` (`lo` when the range is empty).
    pub fn range(&mut self, lo: u64, hi: u64) -> u64 {
        if hi <= lo {
            return lo;
        }
        lo + self.next_u64() % (hi - lo)
    }

    /// True with probability `percent` %.
    pub fn chance(&mut self, percent: u64) -> bool {
        self.range(0, 100) < percent
    }

    /// A duration between `lo_ms` and `hi_ms` milliseconds.
    pub fn millis(&mut self, lo_ms: u64, hi_ms: u64) -> Duration {
        Duration::from_millis(self.range(lo_ms, hi_ms))
    }

    /// One element of a non-empty slice.
    pub fn pick<T: Copy>(&mut self, items: &[T]) -> T {
        // Callers pass non-empty slices; index is reduced modulo the length.
        items[self.range(0, items.len() as u64) as usize]
    }
}

/// The chaos seed: `CHAOS_SEED` if set (decimal or 0x-hex), else derived from the clock
/// and `salt` (so parallel scenarios differ).
pub fn seed(salt: u64) -> u64 {
    if let Ok(text) = std::env::var("CHAOS_SEED") {
        let t = text.trim();
        let parsed = match t.strip_prefix("0x") {
            Some(hex) => u64::from_str_radix(hex, 16),
            None => t.parse(),
        };
        return parsed.unwrap_or_else(|_| panic!("CHAOS_SEED={text:?} is not a number"));
    }
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_nanos() as u64)
        .unwrap_or(0);
    let mut mix = Rng::new(nanos ^ salt.rotate_left(32) ^ u64::from(std::process::id()));
    mix.next_u64()
}

/// Chaos budget per scenario: `CHAOS_SECONDS` if set, else `default_secs`.
pub fn budget(default_secs: u64) -> Duration {
    let secs = std::env::var("CHAOS_SECONDS")
        .ok()
        .and_then(|s| s.trim().parse().ok())
        .unwrap_or(default_secs);
    Duration::from_secs(secs)
}

/// Cuts router `k` off all VRRP/AH traffic on every LAN (both directions), or restores it.
///
/// `nslab::Lab::drop_vrrp(.., 100, ..)` emits `numgen random mod 100 < 100`, which nftables
/// rejects ("Value 100 exceeds valid range 0-99"), so a full partition uses its own table.
pub fn partition(lab: &nslab::Lab, k: u8, cut: bool) {
    let node = nslab::Node::Router(k);
    let _ = lab.exec(node, "nft", &["delete", "table", "inet", "chaos_partition"]);
    if !cut {
        return;
    }
    let script = "table inet chaos_partition {\n\
        chain input { type filter hook input priority -310; ip protocol { 112, 51 } drop; }\n\
        chain output { type filter hook output priority -310; ip protocol { 112, 51 } drop; }\n}\n";
    let path = std::env::temp_dir().join(format!("{}-partition.nft", lab.ns(node)));
    std::fs::write(&path, script).expect("write nft script");
    let path_text = path.display().to_string();
    lab.exec(node, "nft", &["-f", &path_text])
        .expect("install the partition rules");
    let _ = std::fs::remove_file(&path);
}

/// True when the `CI` environment variable is set.
pub fn under_ci() -> bool {
    std::env::var_os("CI").is_some()
}

#[cfg(test)]
mod tests {
    use super::Rng;

    #[test]
    fn rng_is_deterministic_and_spread() {
        let (mut a, mut b) = (Rng::new(42), Rng::new(42));
        let xs: Vec<u64> = (0..100).map(|_| a.range(0, 10)).collect();
        let ys: Vec<u64> = (0..100).map(|_| b.range(0, 10)).collect();
        assert_eq!(xs, ys);
        for v in 0..10 {
            assert!(xs.contains(&v), "value {v} never drawn");
        }
    }
}

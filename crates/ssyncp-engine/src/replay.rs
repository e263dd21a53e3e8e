//! Anti-replay window (RFC 4303 style) over 64-bit extended sequence numbers.

use alloc::vec;
use alloc::vec::Vec;

/// Extends a 32-bit serial number to 64 bits around `reference`
/// (RFC 1982 arithmetic: the nearest value within ±2^31).
pub(crate) fn extend(reference: u64, seq: u32) -> u64 {
    let delta = i64::from(seq.wrapping_sub(reference as u32) as i32);
    reference.saturating_add_signed(delta)
}

/// Outcome of a window check.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum ReplayCheck {
    /// New: the extended sequence number.
    Fresh(u64),
    /// Seen before, or below the window.
    Replay,
}

/// Which of the last `size` sequence numbers have been seen.
#[derive(Debug, Clone)]
pub(crate) struct ReplayWindow {
    /// Highest extended sequence number seen (meaningful once `started`).
    highest: u64,
    started: bool,
    /// Bit `s % size` is set when `s` (within the window) was seen.
    bits: Vec<u64>,
    size: u64,
}

impl ReplayWindow {
    pub(crate) fn new(size: u32) -> Self {
        let words = (size as usize).div_ceil(64).max(1);
        Self {
            highest: 0,
            started: false,
            bits: vec![0; words],
            size: words as u64 * 64,
        }
    }

    fn slot(&mut self, ext: u64) -> (&mut u64, u64) {
        let index = ext % self.size;
        let word = (index / 64) as usize;
        let mask = 1u64 << (index % 64);
        // `word < bits.len()` because index < size = 64 * bits.len().
        let len = self.bits.len();
        (&mut self.bits[word % len], mask)
    }

    /// Checks `seq` and marks it seen when fresh.
    pub(crate) fn check_and_mark(&mut self, seq: u32) -> ReplayCheck {
        if !self.started {
            // First message: anchor the extension at this value, far from 0
            // so that older numbers still extend below it.
            self.started = true;
            self.highest = u64::from(seq) + (1 << 32);
            let (word, mask) = self.slot(self.highest);
            *word |= mask;
            return ReplayCheck::Fresh(self.highest);
        }
        let ext = extend(self.highest, seq);
        if ext > self.highest {
            return self.mark_new_high(ext);
        }
        if self.highest - ext >= self.size {
            return ReplayCheck::Replay;
        }
        let (word, mask) = self.slot(ext);
        if *word & mask != 0 {
            return ReplayCheck::Replay;
        }
        *word |= mask;
        ReplayCheck::Fresh(ext)
    }

    fn mark_new_high(&mut self, ext: u64) -> ReplayCheck {
        let advance = ext - self.highest;
        if advance >= self.size {
            self.bits.iter_mut().for_each(|w| *w = 0);
        } else {
            for s in self.highest + 1..ext {
                let (word, mask) = self.slot(s);
                *word &= !mask;
            }
        }
        self.highest = ext;
        let (word, mask) = self.slot(ext);
        *word |= mask;
        ReplayCheck::Fresh(ext)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn duplicates_and_old_are_rejected() {
        let mut w = ReplayWindow::new(64);
        let ReplayCheck::Fresh(first) = w.check_and_mark(10) else {
            panic!("first is fresh")
        };
        assert_eq!(w.check_and_mark(10), ReplayCheck::Replay);
        assert_eq!(w.check_and_mark(12), ReplayCheck::Fresh(first + 2));
        assert_eq!(w.check_and_mark(11), ReplayCheck::Fresh(first + 1));
        assert_eq!(w.check_and_mark(11), ReplayCheck::Replay);
        assert_eq!(w.check_and_mark(200), ReplayCheck::Fresh(first + 190));
        assert_eq!(w.check_and_mark(12), ReplayCheck::Replay, "below window");
        assert_eq!(w.check_and_mark(199), ReplayCheck::Fresh(first + 189));
    }

    #[test]
    fn wraps_around_u32() {
        let mut w = ReplayWindow::new(128);
        let ReplayCheck::Fresh(a) = w.check_and_mark(u32::MAX - 1) else {
            panic!()
        };
        assert_eq!(w.check_and_mark(1), ReplayCheck::Fresh(a + 3));
        assert_eq!(w.check_and_mark(u32::MAX), ReplayCheck::Fresh(a + 1));
        assert_eq!(w.check_and_mark(u32::MAX), ReplayCheck::Replay);
    }
}

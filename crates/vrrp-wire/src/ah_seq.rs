//! The AH sequence-number state of one VRRP instance, following keepalived's rules.
//!
//! keepalived keeps a single 32-bit counter per instance that is both the next value
//! to send and the receive replay watermark, plus a `cycle` flag set once the counter
//! can no longer grow. This module reproduces that state machine exactly so that our
//! adverts are accepted by keepalived peers and vice versa.

use thiserror::Error;

/// Highest value the send path still increments from; at or above
/// [`SEQ_CYCLE_THRESHOLD`] + 1 the counter stops and `cycle` is set.
const SEQ_CYCLE_THRESHOLD: u32 = 0xFFFF_FFFD;

/// An AH sequence number that was not strictly greater than the instance watermark.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Error)]
#[error("AH sequence number {received} already processed (watermark {watermark})")]
pub struct ReplayError {
    /// The sequence number carried by the rejected packet.
    pub received: u32,
    /// The instance watermark at the time of the check.
    pub watermark: u32,
}

/// One counter per VRRP instance: the next send value and the receive replay watermark.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct AhSequence {
    counter: u32,
    cycle: bool,
}

impl AhSequence {
    /// A fresh instance: counter 0, not cycled (the first advert will carry 1).
    pub const fn new() -> Self {
        Self {
            counter: 0,
            cycle: false,
        }
    }

    /// Rebuilds the state carried over from an old instance on reload.
    pub const fn from_parts(counter: u32, cycled: bool) -> Self {
        Self {
            counter,
            cycle: cycled,
        }
    }

    /// The current counter (last sent or highest accepted sequence number).
    pub const fn counter(&self) -> u32 {
        self.counter
    }

    /// Whether the counter reached its ceiling and stopped incrementing.
    pub const fn cycled(&self) -> bool {
        self.cycle
    }

    /// Advances the counter for one logical advert and returns the value to send.
    ///
    /// Past `0xFFFF_FFFD` the counter no longer moves and the cycle flag is set, as in
    /// keepalived; receivers then drop the repeated value as a replay.
    pub fn next_for_send(&mut self) -> u32 {
        if self.counter > SEQ_CYCLE_THRESHOLD {
            self.cycle = true;
        } else {
            self.counter += 1;
        }
        self.counter
    }

    /// Replay check for an authenticated advert: accepts iff `received` is strictly
    /// greater than the watermark, and then adopts it (clearing the cycle flag).
    pub fn check_and_accept(&mut self, received: u32) -> Result<(), ReplayError> {
        if received > self.counter {
            self.counter = received;
            self.cycle = false;
            Ok(())
        } else {
            Err(ReplayError {
                received,
                watermark: self.counter,
            })
        }
    }

    /// A master heard (and accepted) a lower-priority advert: jump past its sequence
    /// number so every receiver accepts our next advert.
    pub fn master_heard_lower_priority(&mut self, received: u32) {
        self.counter = self.counter.max(received.saturating_add(1));
        self.cycle = false;
    }

    /// The instance becomes master: a cycled counter restarts from 0.
    pub fn on_become_master(&mut self) {
        if self.cycle {
            self.counter = 0;
            self.cycle = false;
        }
    }

    /// The instance stops being master (yields to a better advert): clears the cycle flag;
    /// the counter keeps its value.
    pub fn on_leave_master(&mut self) {
        self.cycle = false;
    }

    /// Raises the counter to at least `floor` (never lowers it); used to jump ahead on
    /// forced promotions, e.g. in sync groups.
    pub fn advance_at_least_to(&mut self, floor: u32) {
        self.counter = self.counter.max(floor);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fresh_instance_sends_one_first() {
        let mut seq = AhSequence::new();
        assert_eq!(seq, AhSequence::default());
        assert_eq!(seq.next_for_send(), 1);
        assert_eq!(seq.next_for_send(), 2);
        assert_eq!(seq.counter(), 2);
        assert!(!seq.cycled());
    }

    #[test]
    fn send_stops_at_ceiling_and_sets_cycle() {
        let mut seq = AhSequence::from_parts(0xFFFF_FFFC, false);
        assert_eq!(seq.next_for_send(), 0xFFFF_FFFD);
        assert!(!seq.cycled());
        assert_eq!(seq.next_for_send(), 0xFFFF_FFFE);
        assert!(!seq.cycled());
        assert_eq!(seq.next_for_send(), 0xFFFF_FFFE);
        assert!(seq.cycled());
        assert_eq!(seq.next_for_send(), 0xFFFF_FFFE);
        let mut max = AhSequence::from_parts(u32::MAX, false);
        assert_eq!(max.next_for_send(), u32::MAX);
        assert!(max.cycled());
    }

    #[test]
    fn replay_window_is_strictly_greater() {
        let mut seq = AhSequence::from_parts(10, true);
        assert_eq!(
            seq.check_and_accept(10),
            Err(ReplayError {
                received: 10,
                watermark: 10
            })
        );
        assert_eq!(
            seq.check_and_accept(3),
            Err(ReplayError {
                received: 3,
                watermark: 10
            })
        );
        assert!(
            seq.cycled(),
            "a rejected packet leaves the cycle flag alone"
        );
        assert_eq!(seq.check_and_accept(11), Ok(()));
        assert_eq!(seq.counter(), 11);
        assert!(!seq.cycled());
        assert_eq!(seq.check_and_accept(40), Ok(()));
        assert_eq!(seq.counter(), 40);
    }

    #[test]
    fn backup_takes_over_with_last_seen_plus_one() {
        // c-ah/2-failover: r1 sent 16, 17, 18; r2 then sent 19.
        let mut backup = AhSequence::new();
        for s in [16, 17, 18] {
            backup.check_and_accept(s).unwrap();
        }
        backup.on_become_master();
        assert_eq!(backup.next_for_send(), 19);
    }

    #[test]
    fn master_hearing_lower_priority_jumps_ahead() {
        let mut master = AhSequence::from_parts(5, true);
        master.master_heard_lower_priority(9);
        assert_eq!(master.counter(), 10);
        assert!(!master.cycled());
        assert_eq!(master.next_for_send(), 11);
        // Never lowers, saturates at the top.
        master.master_heard_lower_priority(2);
        assert_eq!(master.counter(), 11);
        master.master_heard_lower_priority(u32::MAX);
        assert_eq!(master.counter(), u32::MAX);
    }

    #[test]
    fn becoming_master_resets_only_a_cycled_counter() {
        let mut cycled = AhSequence::from_parts(0xFFFF_FFFE, true);
        cycled.on_become_master();
        assert_eq!(cycled, AhSequence::new());
        let mut normal = AhSequence::from_parts(42, false);
        normal.on_become_master();
        assert_eq!(normal.counter(), 42);
    }

    #[test]
    fn leaving_master_clears_cycle_keeps_counter() {
        let mut seq = AhSequence::from_parts(0xFFFF_FFFE, true);
        seq.on_leave_master();
        assert_eq!(seq, AhSequence::from_parts(0xFFFF_FFFE, false));
    }

    #[test]
    fn advance_never_lowers() {
        let mut seq = AhSequence::from_parts(7, false);
        seq.advance_at_least_to(3);
        assert_eq!(seq.counter(), 7);
        seq.advance_at_least_to(100);
        assert_eq!(seq.counter(), 100);
        assert!(seq.check_and_accept(100).is_err());
    }
}

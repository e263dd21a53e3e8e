//! The daemon's clock: `std::time::Instant` mapped to the FSM's microseconds since start.

use std::time::Instant as StdInstant;

use vrrp_fsm::Instant;

/// Converts between the monotonic OS clock and [`vrrp_fsm::Instant`] (µs since the
/// daemon started).
#[derive(Debug, Clone, Copy)]
pub struct Clock {
    origin: StdInstant,
}

impl Default for Clock {
    fn default() -> Self {
        Self::new()
    }
}

impl Clock {
    /// A clock whose zero is now.
    pub fn new() -> Self {
        Clock {
            origin: StdInstant::now(),
        }
    }

    /// The current time on the FSM's scale.
    pub fn now(&self) -> Instant {
        self.from_std(StdInstant::now())
    }

    /// Converts an OS instant (earlier than the origin maps to zero).
    pub fn from_std(&self, t: StdInstant) -> Instant {
        let micros = t.saturating_duration_since(self.origin).as_micros();
        Instant::from_micros(u64::try_from(micros).unwrap_or(u64::MAX))
    }

    /// Converts an FSM instant back to the OS clock.
    pub fn to_std(&self, t: Instant) -> StdInstant {
        self.origin + std::time::Duration::from_micros(t.as_micros())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip_is_exact_to_the_microsecond() {
        let clock = Clock::new();
        let t = Instant::from_micros(3_609_375);
        assert_eq!(clock.from_std(clock.to_std(t)), t);
        assert!(clock.now() >= Instant::ZERO);
    }
}

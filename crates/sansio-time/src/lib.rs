//! Time values in microseconds, supplied by the caller.
//!
//! The sans-IO engines of this workspace (`vrrp-fsm`, `ssyncp-engine`) never read a clock:
//! every input carries `now`. Their own types, instead of `std::time::Instant`, let a
//! simulator start at zero and let the engines stay `no_std`; sharing one pair of types
//! lets a daemon drive both engines from one clock conversion.

#![no_std]
#![forbid(unsafe_code)]

use core::ops::{Add, AddAssign, Sub};

/// A point in time, in microseconds since an arbitrary origin chosen by the caller.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
pub struct Instant(u64);

/// A span of time in microseconds.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
pub struct Duration(u64);

impl Instant {
    /// The origin (time zero), handy for simulations.
    pub const ZERO: Instant = Instant(0);

    /// An instant `micros` microseconds after the origin.
    pub const fn from_micros(micros: u64) -> Self {
        Instant(micros)
    }

    /// Microseconds since the origin.
    pub const fn as_micros(self) -> u64 {
        self.0
    }

    /// Time elapsed from `earlier` to `self`, zero if `earlier` is later.
    pub const fn saturating_since(self, earlier: Instant) -> Duration {
        Duration(self.0.saturating_sub(earlier.0))
    }

    /// `self - d`, clamped at the origin.
    pub const fn saturating_sub(self, d: Duration) -> Instant {
        Instant(self.0.saturating_sub(d.0))
    }
}

impl Duration {
    /// No time at all.
    pub const ZERO: Duration = Duration(0);

    /// A duration of `micros` microseconds.
    pub const fn from_micros(micros: u64) -> Self {
        Duration(micros)
    }

    /// A duration of `millis` milliseconds.
    pub const fn from_millis(millis: u64) -> Self {
        Duration(millis.saturating_mul(1_000))
    }

    /// A duration of `secs` whole seconds.
    pub const fn from_secs(secs: u64) -> Self {
        Duration(secs.saturating_mul(1_000_000))
    }

    /// The duration in microseconds.
    pub const fn as_micros(self) -> u64 {
        self.0
    }

    /// Whether this is the zero duration.
    pub const fn is_zero(self) -> bool {
        self.0 == 0
    }

    /// `self * n`, saturating.
    pub const fn saturating_mul(self, n: u64) -> Duration {
        Duration(self.0.saturating_mul(n))
    }
}

impl Add<Duration> for Instant {
    type Output = Instant;
    fn add(self, d: Duration) -> Instant {
        Instant(self.0.saturating_add(d.0))
    }
}

impl AddAssign<Duration> for Instant {
    fn add_assign(&mut self, d: Duration) {
        *self = *self + d;
    }
}

impl Sub<Instant> for Instant {
    type Output = Duration;
    /// Saturating difference (zero if `rhs` is later).
    fn sub(self, rhs: Instant) -> Duration {
        self.saturating_since(rhs)
    }
}

impl Add for Duration {
    type Output = Duration;
    fn add(self, d: Duration) -> Duration {
        Duration(self.0.saturating_add(d.0))
    }
}

impl From<core::time::Duration> for Duration {
    /// Converts, saturating at `u64::MAX` microseconds.
    fn from(d: core::time::Duration) -> Self {
        Duration(u64::try_from(d.as_micros()).unwrap_or(u64::MAX))
    }
}

impl From<Duration> for core::time::Duration {
    fn from(d: Duration) -> Self {
        core::time::Duration::from_micros(d.0)
    }
}

impl core::fmt::Display for Instant {
    /// Seconds with microsecond precision, e.g. `3.609375`.
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        write!(f, "{}.{:06}", self.0 / 1_000_000, self.0 % 1_000_000)
    }
}

impl core::fmt::Display for Duration {
    /// Seconds with microsecond precision followed by `s`, e.g. `0.609375s`.
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        write!(f, "{}.{:06}s", self.0 / 1_000_000, self.0 % 1_000_000)
    }
}

#[cfg(test)]
mod tests {
    extern crate std;
    use super::{Duration, Instant};
    use std::string::ToString;

    #[test]
    fn arithmetic_saturates_instead_of_wrapping() {
        let t = Instant::from_micros(1_000);
        assert_eq!(
            t.saturating_since(Instant::from_micros(4_000)),
            Duration::from_micros(0)
        );
        assert_eq!(
            t.saturating_sub(Duration::from_secs(1)),
            Instant::from_micros(0)
        );
        assert_eq!(
            Duration::from_secs(u64::MAX / 2)
                .saturating_mul(4)
                .as_micros(),
            u64::MAX
        );
        assert_eq!(Duration::from_millis(609).as_micros(), 609_000);
    }

    #[test]
    fn displays_seconds_with_microseconds() {
        assert_eq!(Instant::from_micros(3_609_375).to_string(), "3.609375");
        assert_eq!(Duration::from_micros(609_375).to_string(), "0.609375s");
    }

    #[test]
    fn converts_to_and_from_core_duration() {
        let d: Duration = core::time::Duration::from_micros(1_500).into();
        assert_eq!(d.as_micros(), 1_500);
        assert_eq!(
            core::time::Duration::from(d),
            core::time::Duration::from_micros(1_500)
        );
    }
}

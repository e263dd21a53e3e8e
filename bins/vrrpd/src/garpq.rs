//! `garp_interval` / `vrrp_garp_interval`: gratuitous ARPs (and, for IPv6 addresses,
//! unsolicited neighbour advertisements) on an interface leave one at a time, spaced by
//! the interval (some switches rate-limit them). Interfaces without an
//! interval keep sending bursts back to back and never come here.
//!
//! Pure bookkeeping with the time passed in; the daemon sends what [`GarpPacer::due`]
//! returns and wakes up at [`GarpPacer::next_deadline`].

use std::collections::VecDeque;
use std::net::IpAddr;
use std::time::{Duration, Instant};

/// Most frames one interface may have waiting; older ones are dropped beyond it.
pub const LANE_LIMIT: usize = 4096;

/// Frames waiting on one interface.
#[derive(Debug)]
struct Lane {
    dev: String,
    interval: Duration,
    /// When the next frame may leave.
    next_at: Instant,
    queue: VecDeque<IpAddr>,
}

/// The paced interfaces.
#[derive(Debug, Default)]
pub struct GarpPacer {
    lanes: Vec<Lane>,
}

impl GarpPacer {
    /// Queues `repeat` rounds over `vips` on `dev` (VIP1, VIP2, …, VIP1, VIP2, …, as a
    /// burst would send them). Returns how many queued frames were dropped to stay within
    /// [`LANE_LIMIT`].
    pub fn push(
        &mut self,
        dev: &str,
        interval: Duration,
        vips: &[IpAddr],
        repeat: usize,
        now: Instant,
    ) -> usize {
        let at = match self.lanes.iter().position(|l| l.dev == dev) {
            Some(i) => i,
            None => {
                self.lanes.push(Lane {
                    dev: dev.to_owned(),
                    interval,
                    next_at: now,
                    queue: VecDeque::new(),
                });
                self.lanes.len() - 1
            }
        };
        let Some(lane) = self.lanes.get_mut(at) else {
            return 0;
        };
        lane.interval = interval;
        let mut dropped = 0;
        for _ in 0..repeat {
            for &vip in vips {
                if lane.queue.len() == LANE_LIMIT {
                    lane.queue.pop_front();
                    dropped += 1;
                }
                lane.queue.push_back(vip);
            }
        }
        dropped
    }

    /// Forgets queued frames for `vips` on `dev` (the addresses were removed: announcing
    /// them any more would pull traffic to a node that no longer holds them).
    pub fn forget(&mut self, dev: &str, vips: &[IpAddr]) {
        for lane in self.lanes.iter_mut().filter(|l| l.dev == dev) {
            lane.queue.retain(|v| !vips.contains(v));
        }
    }

    /// Frames whose time has come: at most one per interface per call, each interface's
    /// next frame then waits one interval.
    pub fn due(&mut self, now: Instant) -> Vec<(String, IpAddr)> {
        let mut out = Vec::new();
        for lane in &mut self.lanes {
            if lane.next_at > now {
                continue;
            }
            if let Some(vip) = lane.queue.pop_front() {
                out.push((lane.dev.clone(), vip));
                lane.next_at = now + lane.interval;
            }
        }
        // Idle lanes whose spacing has passed carry no state worth keeping.
        self.lanes
            .retain(|l| !l.queue.is_empty() || l.next_at > now);
        out
    }

    /// When the next queued frame may leave.
    pub fn next_deadline(&self) -> Option<Instant> {
        self.lanes
            .iter()
            .filter(|l| !l.queue.is_empty())
            .map(|l| l.next_at)
            .min()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::net::Ipv4Addr;

    const A: IpAddr = IpAddr::V4(Ipv4Addr::new(10, 0, 0, 1));
    const B: IpAddr = IpAddr::V4(Ipv4Addr::new(10, 0, 0, 2));

    #[test]
    fn frames_leave_one_interval_apart_per_interface() {
        let t0 = Instant::now();
        let gap = Duration::from_millis(200);
        let mut p = GarpPacer::default();
        p.push("eth0", gap, &[A, B], 2, t0);
        p.push("eth1", gap, &[A], 1, t0);
        let first = p.due(t0);
        assert_eq!(first, [("eth0".into(), A), ("eth1".into(), A)]);
        assert!(p.due(t0 + Duration::from_millis(199)).is_empty());
        assert_eq!(p.next_deadline(), Some(t0 + gap));
        let mut order = Vec::new();
        let mut now = t0;
        while let Some(at) = p.next_deadline() {
            assert!(at >= now + gap || now == t0, "spacing kept");
            now = at;
            order.extend(p.due(now).into_iter().map(|(_, v)| v));
        }
        assert_eq!(order, [B, A, B], "rounds interleave like a burst");
        // A new burst right after the last frame still waits one interval.
        p.push("eth0", gap, &[A], 1, now);
        assert!(p.due(now).is_empty());
        assert_eq!(p.due(now + gap), [("eth0".into(), A)]);
    }

    #[test]
    fn removed_addresses_are_not_announced_and_queues_are_bounded() {
        let t0 = Instant::now();
        let mut p = GarpPacer::default();
        p.push("eth0", Duration::from_secs(1), &[A, B], 3, t0);
        p.forget("eth0", &[A]);
        let mut sent = Vec::new();
        let mut now = t0;
        while let Some(at) = p.next_deadline() {
            now = at.max(now);
            sent.extend(p.due(now).into_iter().map(|(_, v)| v));
        }
        assert_eq!(sent, [B, B, B]);
        let dropped = p.push("eth0", Duration::from_secs(1), &[A], LANE_LIMIT + 10, now);
        assert_eq!(dropped, 10);
    }
}

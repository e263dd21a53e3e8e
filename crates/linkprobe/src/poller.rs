//! The polling driver for the ioctl backends, without a clock of its own.
//!
//! The caller passes `now` everywhere and sleeps until [`Poller::next_deadline`], so a mio loop
//! (or a test with a virtual clock) drives it.

use std::time::{Duration, Instant};

use crate::error::ProbeError;
use crate::ifname::IfName;
use crate::probe::{IfIoctl, MethodChoice, choose_method, probe_with};
use crate::status::{Evidence, LinkState, LinkStatus, PollMethod};

/// Shortest accepted interval; shorter requests are raised to it.
pub const MIN_INTERVAL: Duration = Duration::from_millis(1);
/// keepalived's `POLLING_DELAY`.
pub const DEFAULT_INTERVAL: Duration = Duration::from_secs(1);

/// Something the poller observed.
#[derive(Debug)]
pub enum PollEvent {
    /// The link state of an interface is known for the first time or changed. Feed this to the
    /// state machine (`handle_link(now, status.is_up())`).
    Changed {
        /// The interface.
        ifname: IfName,
        /// The previous state (`None` on the first observation).
        previous: Option<LinkState>,
        /// The new state and its evidence.
        status: LinkStatus,
    },
    /// The interface reappeared after vanishing and its method was chosen again (the new device
    /// may have a different driver); [`Poller::choice`] has the refusals.
    Reselected {
        /// The interface.
        ifname: IfName,
        /// The method now used.
        method: PollMethod,
    },
    /// A probe failed for a reason other than the interface being gone; the state is unchanged.
    Failed {
        /// The interface.
        ifname: IfName,
        /// The method that failed.
        method: PollMethod,
        /// What went wrong.
        error: ProbeError,
    },
}

impl PollEvent {
    /// The interface and its new state if this event changes a link's state: what to feed to
    /// the state machine's `handle_link(now, state.is_up())`.
    pub fn as_link(&self) -> Option<(&IfName, LinkState)> {
        match self {
            PollEvent::Changed { ifname, status, .. } => Some((ifname, status.state)),
            PollEvent::Reselected { .. } | PollEvent::Failed { .. } => None,
        }
    }
}

#[derive(Debug)]
struct Watched {
    choice: MethodChoice,
    preferred: Option<PollMethod>,
    due: Instant,
    last: Option<LinkStatus>,
    absent: bool,
}

/// Polls a set of interfaces, each with the method chosen for it at [`Poller::watch`].
#[derive(Debug)]
pub struct Poller<I> {
    io: I,
    interval: Duration,
    watched: Vec<Watched>,
}

impl<I: IfIoctl> Poller<I> {
    /// A poller probing every `interval` (at least [`MIN_INTERVAL`]).
    pub fn new(io: I, interval: Duration) -> Self {
        Self {
            io,
            interval: interval.max(MIN_INTERVAL),
            watched: Vec::new(),
        }
    }

    /// The polling interval in force.
    pub fn interval(&self) -> Duration {
        self.interval
    }

    /// The ioctl seam (e.g. to probe once outside the schedule).
    pub fn io(&self) -> &I {
        &self.io
    }

    /// Starts watching `ifname`, choosing its method now (`preferred` first, then the fallback
    /// order). The first probe is due at `now`. Watching an interface again replaces its entry.
    pub fn watch(
        &mut self,
        ifname: &IfName,
        preferred: Option<PollMethod>,
        now: Instant,
    ) -> Result<&MethodChoice, ProbeError> {
        let choice = choose_method(&self.io, ifname, preferred)?;
        self.watched.retain(|w| &w.choice.ifname != ifname);
        self.watched.push(Watched {
            choice,
            preferred,
            due: now,
            last: None,
            absent: false,
        });
        let index = self.watched.len() - 1; // Just pushed: the vector is not empty.
        Ok(&self.watched[index].choice)
    }

    /// Stops watching `ifname`; returns whether it was watched.
    pub fn unwatch(&mut self, ifname: &IfName) -> bool {
        let before = self.watched.len();
        self.watched.retain(|w| &w.choice.ifname != ifname);
        before != self.watched.len()
    }

    /// The method choice for a watched interface.
    pub fn choice(&self, ifname: &IfName) -> Option<&MethodChoice> {
        self.watched
            .iter()
            .find(|w| &w.choice.ifname == ifname)
            .map(|w| &w.choice)
    }

    /// The last status observed for a watched interface.
    pub fn last_status(&self, ifname: &IfName) -> Option<&LinkStatus> {
        self.watched
            .iter()
            .find(|w| &w.choice.ifname == ifname)
            .and_then(|w| w.last.as_ref())
    }

    /// When [`Poller::poll_due`] next has work (`None` if nothing is watched).
    pub fn next_deadline(&self) -> Option<Instant> {
        self.watched.iter().map(|w| w.due).min()
    }

    /// Probes every interface whose deadline is at or before `now` and appends what changed to
    /// `events`. Unchanged results produce nothing. Safe to call early or late: a late call
    /// probes once and schedules the next probe one interval after `now`.
    pub fn poll_due(&mut self, now: Instant, events: &mut Vec<PollEvent>) {
        for entry in &mut self.watched {
            if entry.due > now {
                continue;
            }
            let next = entry.due + self.interval;
            entry.due = if next > now {
                next
            } else {
                now + self.interval
            };
            if entry.absent {
                match choose_method(&self.io, &entry.choice.ifname, entry.preferred) {
                    Ok(choice) => {
                        entry.choice = choice;
                        entry.absent = false;
                        events.push(PollEvent::Reselected {
                            ifname: entry.choice.ifname.clone(),
                            method: entry.choice.method,
                        });
                    }
                    Err(ProbeError::NoSuchInterface(_)) => continue,
                    Err(error) => {
                        events.push(PollEvent::Failed {
                            ifname: entry.choice.ifname.clone(),
                            method: entry.choice.method,
                            error,
                        });
                        continue;
                    }
                }
            }
            let status = match probe_with(&self.io, &entry.choice.ifname, entry.choice.method) {
                Ok(status) => status,
                Err(ProbeError::NoSuchInterface(_)) => {
                    entry.absent = true;
                    LinkStatus {
                        state: LinkState::Down,
                        method: entry.choice.method.into(),
                        evidence: Evidence::Absent,
                    }
                }
                Err(error) => {
                    events.push(PollEvent::Failed {
                        ifname: entry.choice.ifname.clone(),
                        method: entry.choice.method,
                        error,
                    });
                    continue;
                }
            };
            let previous = entry.last.as_ref().map(|s| s.state);
            let changed = previous != Some(status.state);
            entry.last = Some(status.clone());
            if changed {
                events.push(PollEvent::Changed {
                    ifname: entry.choice.ifname.clone(),
                    previous,
                    status,
                });
            }
        }
    }
}

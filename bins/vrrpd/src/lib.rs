//! `vrrpd`: a VRRPv2 daemon that reads the VRRP subset of keepalived.conf.
//!
//! The binary is a thin composition of the workspace crates; it holds no protocol logic.
//! Election, timers and validation live in `vrrp-fsm` and `vrrp-wire`; this crate only
//! moves facts between them and the operating system:
//!
//! * [`cli`]: the command line (`-f`, `-t`, `-l`, `--pid-file`, `--control-socket`,
//!   `--metrics`, `--version`; the `status` and `events` client subcommands).
//! * [`plan`]: turns a [`kaconf::Config`] into per-instance FSM configurations plus the
//!   I/O details (interface, peers, VIP attributes, trackers).
//! * [`daemon`]: the single mio loop: raw VRRP sockets (`ha-os`), link events
//!   (`linkprobe`), signals, child processes; it feeds the state machines and applies
//!   their outputs (adverts, VIPs, GARPs, VMAC).
//! * [`children`]: the non-blocking runners for `vrrp_script` checks and notify scripts.
//! * [`trackfile`]: `track_file` values, re-read when inotify reports a change.
//! * [`clock`]: converts `std::time::Instant` to the FSM's microsecond clock.
//! * [`pidfile`]: `--pid-file` handling.
//! * [`users`]: `script_user` / per-script users resolved from `/etc/passwd` and
//!   `/etc/group`.
//! * [`fifo`]: the keepalived-compatible notify FIFO.
//! * [`garpq`]: `garp_interval` pacing of gratuitous ARPs per interface.
//! * [`status`]: the status model (JSON for `vrrpd status`/`events`, table, Prometheus).
//! * [`control`]: the Unix status socket and the opt-in HTTP metrics endpoint.
//! * [`sdnotify`]: systemd readiness (`READY=1`, `RELOADING=1`, `STOPPING=1`).
//!
//! # Dependencies
//!
//! `serde` + `serde_json` for the status JSON (its schema is documented in the crate's
//! README), `thiserror` for typed errors, `mio` for the event loop (timers come from the
//! state machines' `poll_timeout`), `signal-hook` + `signal-hook-mio` to receive
//! SIGTERM/SIGINT/SIGHUP/SIGCHLD/SIGUSR1/SIGUSR2 as a mio source, `tracing` +
//! `tracing-subscriber` (fmt only) for logs on stderr, and `libc` only for signal numbers
//! and `O_NONBLOCK`. No async runtime, no HTTP framework (the metrics endpoint is a small
//! HTTP/1.0 responder on the mio loop), no systemd crate (readiness is one datagram) and
//! no argument-parsing crate: the command line has a dozen options.
#![forbid(unsafe_code)]

pub mod children;
pub mod cli;
pub mod clock;
pub mod control;
pub mod daemon;
pub mod fifo;
pub mod garpq;
pub mod pidfile;
pub mod plan;
pub mod sdnotify;
pub mod statesync;
pub mod status;
pub mod trackfile;
pub mod users;

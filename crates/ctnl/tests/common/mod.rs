//! Shared helpers of the kernel tests: a throw-away namespace and command runners.

#![allow(dead_code)]

use ctnl::{ConnEntry, Event, EventStream};
use std::path::PathBuf;
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

/// A network namespace `ct-…` that is deleted (with every process in it) when dropped.
pub struct Netns {
    pub name: String,
}

impl Netns {
    pub fn new(name: &str) -> Netns {
        assert!(name.starts_with("ct-"), "test namespaces are named ct-*");
        let ns = Netns {
            name: name.to_string(),
        };
        ns.remove();
        run("ip", &["netns", "add", name]);
        run("ip", &["-n", name, "link", "set", "lo", "up"]);
        ns
    }

    pub fn path(&self) -> PathBuf {
        netns_path(&self.name)
    }

    /// Runs a command inside the namespace and returns its output (panics on failure).
    pub fn exec(&self, program: &str, args: &[&str]) -> Output {
        let mut full = vec!["netns", "exec", &self.name, program];
        full.extend_from_slice(args);
        run("ip", &full)
    }

    fn remove(&self) {
        remove_netns(&self.name);
    }
}

impl Drop for Netns {
    fn drop(&mut self) {
        self.remove();
    }
}

pub fn netns_path(name: &str) -> PathBuf {
    PathBuf::from("/run/netns").join(name)
}

pub fn remove_netns(name: &str) {
    if let Ok(out) = Command::new("ip").args(["netns", "pids", name]).output() {
        for pid in String::from_utf8_lossy(&out.stdout).split_whitespace() {
            let _ = Command::new("kill").args(["-KILL", pid]).status();
        }
    }
    let _ = Command::new("ip")
        .args(["netns", "del", name])
        .stderr(Stdio::null())
        .status();
}

/// Runs a command; panics with its stderr when it fails.
pub fn run(program: &str, args: &[&str]) -> Output {
    let out = Command::new(program)
        .args(args)
        .output()
        .unwrap_or_else(|e| panic!("cannot run {program} {args:?}: {e}"));
    assert!(
        out.status.success(),
        "{program} {args:?} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    out
}

/// True when we may create namespaces (root); otherwise explains the skip, or fails under CI.
pub fn root_or_skip(test: &str) -> bool {
    nslab::root_or_skip(test)
}

/// Collects events from `stream` until `done` holds for the collected list or `timeout`.
pub fn collect_events(
    stream: &mut EventStream,
    timeout: Duration,
    mut done: impl FnMut(&[Event]) -> bool,
) -> Vec<Event> {
    let mut poll = mio::Poll::new().expect("poll");
    poll.registry()
        .register(stream, mio::Token(0), mio::Interest::READABLE)
        .expect("register");
    let mut events = mio::Events::with_capacity(8);
    let mut seen = Vec::new();
    let deadline = Instant::now() + timeout;
    loop {
        while let Some(ev) = stream.try_next().expect("event stream") {
            seen.push(ev);
        }
        if done(&seen) {
            break;
        }
        let now = Instant::now();
        if now >= deadline {
            break;
        }
        poll.poll(&mut events, Some(deadline - now)).expect("poll");
    }
    poll.registry().deregister(stream).expect("deregister");
    seen
}

/// The entry of `table` with the same identity (zone, protocol, original tuple) as `like`.
pub fn find<'a>(table: &'a [ConnEntry], like: &ConnEntry) -> Option<&'a ConnEntry> {
    table.iter().find(|e| e.key() == like.key())
}

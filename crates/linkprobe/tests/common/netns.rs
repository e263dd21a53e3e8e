//! Network namespaces for tests: root check, creation with a veth pair, removal on drop.

use std::path::PathBuf;
use std::process::Command;
use std::time::{Duration, Instant};

/// Effective uid from /proc (avoids unsafe libc calls in tests).
pub fn effective_uid() -> Option<u32> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("Uid:"))?;
    line.split_whitespace().nth(2)?.parse().ok()
}

/// `true` if the test may run; prints why not otherwise. Fails under CI without root.
pub fn root_or_skip(test: &str) -> bool {
    if effective_uid() == Some(0) {
        return true;
    }
    if std::env::var_os("CI").is_some() {
        panic!("{test}: CI is set but we are not root; namespace tests must run as root in CI");
    }
    eprintln!("SKIP {test}: needs root to create network namespaces");
    false
}

/// Runs `ip` with `args`, panicking with its stderr on failure.
pub fn ip(args: &[&str]) {
    let output = Command::new("ip")
        .args(args)
        .output()
        .expect("run ip (iproute2)");
    assert!(
        output.status.success(),
        "ip {} failed: {}",
        args.join(" "),
        String::from_utf8_lossy(&output.stderr)
    );
}

/// A namespace named `lp-<tag>-<pid>` holding a veth pair `lpa0` (probed) and `lpb0` (peer),
/// both up. Deleted on drop, even when the test panics.
pub struct VethNetns {
    pub name: String,
}

pub const PROBED: &str = "lpa0";
pub const PEER: &str = "lpb0";

impl VethNetns {
    pub fn new(tag: &str) -> Self {
        let name = format!("lp-{tag}-{}", std::process::id());
        // A leftover from a killed run would make `add` fail.
        let _ = Command::new("ip").args(["netns", "del", &name]).output();
        ip(&["netns", "add", &name]);
        let guard = VethNetns { name };
        guard.ip(&[
            "link", "add", "name", PROBED, "type", "veth", "peer", "name", PEER,
        ]);
        guard.ip(&["link", "set", "dev", PROBED, "up"]);
        guard.ip(&["link", "set", "dev", PEER, "up"]);
        guard
    }

    pub fn path(&self) -> PathBuf {
        PathBuf::from(format!("/run/netns/{}", self.name))
    }

    /// Runs `ip -n <ns> args`.
    pub fn ip(&self, args: &[&str]) {
        let mut all = vec!["-n", self.name.as_str()];
        all.extend_from_slice(args);
        ip(&all);
    }

    pub fn set_peer(&self, up: bool) {
        self.ip(&["link", "set", "dev", PEER, if up { "up" } else { "down" }]);
    }
}

impl Drop for VethNetns {
    fn drop(&mut self) {
        let _ = Command::new("ip")
            .args(["netns", "del", &self.name])
            .output();
    }
}

/// Polls `check` every 2 ms until it returns `Some`, for at most `limit` (a safety timeout,
/// not a timing assertion: the kernel applies carrier changes asynchronously via linkwatch).
pub fn wait_for<T>(limit: Duration, mut check: impl FnMut() -> Option<T>) -> Option<T> {
    let start = Instant::now();
    loop {
        if let Some(value) = check() {
            return Some(value);
        }
        if start.elapsed() > limit {
            return None;
        }
        std::thread::sleep(Duration::from_millis(2));
    }
}

//! Shared helpers for the namespace tests: create/remove network namespaces (names start
//! with `os-`), run `ip`, run code inside a namespace, raw captures, checksums.

#![allow(dead_code)] // each test binary uses a different subset

use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};
use std::process::Command;
use std::time::Duration;

/// Network namespaces created for one test; removed on drop (also when the test fails).
pub struct Lab {
    names: Vec<String>,
}

fn is_root() -> bool {
    // SAFETY: geteuid(2) has no preconditions and cannot fail.
    unsafe { libc::geteuid() == 0 }
}

impl Lab {
    /// Creates `count` namespaces `os-<tag>-<pid>-<i>`. Returns `None` (after saying why)
    /// when not root, unless `CI` is set, where not being root is a failure.
    pub fn new(tag: &str, count: usize) -> Option<Lab> {
        if !is_root() {
            if std::env::var_os("CI").is_some() {
                panic!("namespace tests must run as root in CI");
            }
            eprintln!("skipping {tag}: needs root to create network namespaces");
            return None;
        }
        let mut lab = Lab { names: Vec::new() };
        for i in 0..count {
            let name = format!("os-{tag}-{}-{i}", std::process::id());
            let _ = Command::new("ip").args(["netns", "del", &name]).output();
            run(&["netns", "add", &name]);
            lab.names.push(name.clone());
            run(&["-n", &name, "link", "set", "lo", "up"]);
        }
        Some(lab)
    }

    /// The name of namespace `i`.
    pub fn ns(&self, i: usize) -> &str {
        &self.names[i]
    }

    /// Runs `ip -n <ns i> args...`, asserting success; returns stdout.
    pub fn ip(&self, i: usize, args: &[&str]) -> String {
        let mut full = vec!["-n", self.ns(i)];
        full.extend_from_slice(args);
        run(&full)
    }

    /// Joins namespace `a` and `b` with a veth pair `a_if` <-> `b_if`, both up, with the
    /// given IPv4 addresses (CIDR) when not empty.
    pub fn veth(&self, a: usize, a_if: &str, a_addr: &str, b: usize, b_if: &str, b_addr: &str) {
        self.ip(
            a,
            &[
                "link",
                "add",
                a_if,
                "type",
                "veth",
                "peer",
                "name",
                b_if,
                "netns",
                self.ns(b),
            ],
        );
        for (i, ifname, addr) in [(a, a_if, a_addr), (b, b_if, b_addr)] {
            if !addr.is_empty() {
                self.ip(i, &["addr", "add", addr, "dev", ifname]);
            }
            self.ip(i, &["link", "set", ifname, "up"]);
        }
    }

    /// Runs `f` on a thread that has entered namespace `i`; sockets it creates belong to
    /// that namespace and may be used from any thread afterwards.
    pub fn within<T: Send>(&self, i: usize, f: impl FnOnce() -> T + Send) -> T {
        let path = format!("/run/netns/{}", self.ns(i));
        std::thread::scope(|scope| {
            scope
                .spawn(move || {
                    let file = std::fs::File::open(&path).expect("open netns file");
                    // SAFETY: setns(2) with a valid namespace fd; it only changes this
                    // (scoped, short-lived) thread's network namespace.
                    let rc = unsafe { libc::setns(file.as_raw_fd(), libc::CLONE_NEWNET) };
                    assert_eq!(rc, 0, "setns: {}", std::io::Error::last_os_error());
                    f()
                })
                .join()
                .expect("namespace thread panicked")
        })
    }
}

impl Drop for Lab {
    fn drop(&mut self) {
        for name in &self.names {
            let _ = Command::new("ip").args(["netns", "del", name]).output();
        }
    }
}

/// Runs `ip args...`, panicking with its stderr on failure.
pub fn run(args: &[&str]) -> String {
    let out = Command::new("ip")
        .args(args)
        .output()
        .expect("run ip (iproute2 installed?)");
    assert!(
        out.status.success(),
        "ip {}: {}",
        args.join(" "),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// The MAC of an interface as `ip -o link show` prints it (`link/ether xx:..`).
pub fn mac_from_ip(lab: &Lab, ns: usize, ifname: &str) -> [u8; 6] {
    let out = lab.ip(ns, &["-o", "link", "show", "dev", ifname]);
    let text = out
        .split_whitespace()
        .skip_while(|t| *t != "link/ether")
        .nth(1)
        .expect("link/ether in ip output");
    let mut mac = [0u8; 6];
    for (dst, part) in mac.iter_mut().zip(text.split(':')) {
        *dst = u8::from_str_radix(part, 16).expect("hex MAC");
    }
    mac
}

/// The Internet checksum of an IPv4 header with its checksum field zeroed.
pub fn ipv4_checksum(header: &[u8]) -> u16 {
    let mut sum = 0u32;
    for (i, pair) in header.chunks(2).enumerate() {
        if i == 5 {
            continue;
        }
        let word = u16::from_be_bytes([pair[0], *pair.get(1).unwrap_or(&0)]);
        sum += u32::from(word);
    }
    while sum > 0xffff {
        sum = (sum & 0xffff) + (sum >> 16);
    }
    !(sum as u16)
}

/// Writes the IPv4 header checksum into `packet`.
pub fn fix_checksum(packet: &mut [u8]) {
    let ihl = usize::from(packet[0] & 0x0f) * 4;
    let sum = ipv4_checksum(&packet[..ihl]);
    packet[10..12].copy_from_slice(&sum.to_be_bytes());
}

/// An `AF_PACKET` capture socket for one EtherType on one interface (receive timeout set).
pub struct Capture {
    fd: OwnedFd,
}

impl Capture {
    /// Opens the capture; call inside the namespace.
    pub fn open(ifname: &str, ethertype: u16, timeout: Duration) -> Capture {
        let name = std::ffi::CString::new(ifname).unwrap();
        // SAFETY: if_nametoindex reads a valid NUL-terminated string.
        let index = unsafe { libc::if_nametoindex(name.as_ptr()) };
        assert_ne!(index, 0, "no interface {ifname}");
        // SAFETY: socket(2) with constant arguments.
        let raw = unsafe {
            libc::socket(
                libc::AF_PACKET,
                libc::SOCK_RAW,
                i32::from(ethertype.to_be()),
            )
        };
        assert!(
            raw >= 0,
            "AF_PACKET socket: {}",
            std::io::Error::last_os_error()
        );
        // SAFETY: `raw` is a fresh descriptor that nothing else owns.
        let fd = unsafe { OwnedFd::from_raw_fd(raw) };
        // SAFETY: all-zero is a valid sockaddr_ll.
        let mut sa: libc::sockaddr_ll = unsafe { std::mem::zeroed() };
        sa.sll_family = libc::AF_PACKET as u16;
        sa.sll_protocol = ethertype.to_be();
        sa.sll_ifindex = index as i32;
        // SAFETY: `sa` is a valid sockaddr_ll of the stated size.
        let rc = unsafe {
            libc::bind(
                fd.as_raw_fd(),
                (&sa as *const libc::sockaddr_ll).cast(),
                std::mem::size_of::<libc::sockaddr_ll>() as u32,
            )
        };
        assert_eq!(rc, 0, "bind AF_PACKET: {}", std::io::Error::last_os_error());
        let tv = libc::timeval {
            tv_sec: timeout.as_secs() as libc::time_t,
            tv_usec: libc::suseconds_t::from(timeout.subsec_micros()),
        };
        // SAFETY: `tv` is a valid timeval of the stated size.
        let rc = unsafe {
            libc::setsockopt(
                fd.as_raw_fd(),
                libc::SOL_SOCKET,
                libc::SO_RCVTIMEO,
                (&tv as *const libc::timeval).cast(),
                std::mem::size_of::<libc::timeval>() as u32,
            )
        };
        assert_eq!(rc, 0);
        Capture { fd }
    }

    /// The next frame, or `None` after the timeout.
    pub fn next_frame(&self) -> Option<Vec<u8>> {
        let mut buf = vec![0u8; 2048];
        // SAFETY: `buf` is a live writable buffer of the stated length.
        let n = unsafe { libc::recv(self.fd.as_raw_fd(), buf.as_mut_ptr().cast(), buf.len(), 0) };
        if n < 0 {
            return None;
        }
        buf.truncate(n as usize);
        Some(buf)
    }
}

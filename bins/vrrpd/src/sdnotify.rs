//! systemd readiness notification (`Type=notify`): datagrams to `$NOTIFY_SOCKET`, written
//! with a std `UnixDatagram` (abstract socket names start with `@`). Without the variable
//! every call is a no-op.

use std::os::unix::net::UnixDatagram;

/// The service manager's notification socket, if we were started by one.
#[derive(Debug)]
pub struct SdNotify {
    target: Option<String>,
}

impl SdNotify {
    /// Reads `$NOTIFY_SOCKET`.
    pub fn from_env() -> Self {
        SdNotify {
            target: std::env::var("NOTIFY_SOCKET")
                .ok()
                .filter(|s| !s.is_empty()),
        }
    }

    /// Sends one state string (`READY=1`, `RELOADING=1`, `STOPPING=1`, `STATUS=...`).
    pub fn send(&self, state: &str) {
        let Some(target) = &self.target else {
            return;
        };
        if let Err(e) = send_to(target, state) {
            tracing::warn!(socket = %target, error = %e, "sd_notify failed");
        }
    }

    /// `READY=1` plus a status line.
    pub fn ready(&self, status: &str) {
        self.send(&format!("READY=1\nSTATUS={status}"));
    }

    /// `RELOADING=1` with the monotonic timestamp systemd ≥ 253 asks for.
    pub fn reloading(&self) {
        self.send(&format!("RELOADING=1\nMONOTONIC_USEC={}", monotonic_usec()));
    }

    /// `STOPPING=1`.
    pub fn stopping(&self) {
        self.send("STOPPING=1");
    }
}

/// CLOCK_MONOTONIC in µs, approximated from `/proc/uptime` (10 ms resolution; reading the
/// clock directly would need `unsafe` libc calls, and systemd only uses the value to
/// order the reload against its own timestamp).
fn monotonic_usec() -> u64 {
    std::fs::read_to_string("/proc/uptime")
        .ok()
        .and_then(|t| {
            t.split_whitespace()
                .next()
                .and_then(|s| s.parse::<f64>().ok())
        })
        .map_or(0, |secs| (secs * 1_000_000.0) as u64)
}

fn send_to(target: &str, state: &str) -> std::io::Result<()> {
    let sock = UnixDatagram::unbound()?;
    if let Some(name) = target.strip_prefix('@') {
        use std::os::linux::net::SocketAddrExt;
        let addr = std::os::unix::net::SocketAddr::from_abstract_name(name.as_bytes())?;
        sock.send_to_addr(state.as_bytes(), &addr)?;
    } else {
        sock.send_to(state.as_bytes(), target)?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sends_to_a_path_socket() {
        let dir = std::env::temp_dir().join(format!("vrrpd-sd-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("notify");
        let receiver = UnixDatagram::bind(&path).unwrap();
        let sd = SdNotify {
            target: Some(path.display().to_string()),
        };
        sd.ready("2 instances");
        sd.stopping();
        let mut buf = [0u8; 256];
        let n = receiver.recv(&mut buf).unwrap();
        assert_eq!(&buf[..n], b"READY=1\nSTATUS=2 instances");
        let n = receiver.recv(&mut buf).unwrap();
        assert_eq!(&buf[..n], b"STOPPING=1");
        SdNotify { target: None }.ready("ignored");
        let _ = std::fs::remove_dir_all(&dir);
    }
}

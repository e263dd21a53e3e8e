//! The ssyncpd side of the coupling with vrrpd: a Unix stream socket carrying short text
//! lines (documented in `docs/ssyncp.md`).
//!
//! ```text
//! ssyncpd → vrrpd   SUBSCRIBE INSTANCE <name> | SUBSCRIBE GROUP <name>
//! vrrpd → ssyncpd   STATE MASTER|BACKUP|FAULT|INIT    (at once, then on every change)
//! vrrpd → ssyncpd   COMMIT <token>                    (the FSM's SyncCommit effect)
//! ssyncpd → vrrpd   COMMITTED <token> OK|FAILED       (every received entry is in the kernel)
//! ssyncpd → vrrpd   SYNCED YES|NO                     (after subscribing, then on change)
//! vrrpd → ssyncpd   ERROR <text>                      (e.g. unknown instance)
//! ```
//!
//! `SYNCED NO` means "a BACKUP whose table is incomplete" (after a start, until the bulk
//! has arrived with no gap left): vrrpd then holds preemption for the followed instance or
//! group, so a restarted router with a higher priority does not take over with an empty
//! table; it still takes over if the master goes silent.
//!
//! While vrrpd holds a `COMMIT` unanswered, the promoted instance does not install its VIPs
//! (up to its commit-barrier timeout). When the connection drops, ssyncpd falls back to
//! BACKUP and reconnects every second.

use std::io::{self, Read, Write};
use std::path::{Path, PathBuf};

use mio::net::UnixStream;
use mio::{Interest, Registry, Token};

/// Longest line accepted from vrrpd.
pub const MAX_LINE: usize = 512;

/// What to subscribe to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Subscription {
    /// One VRRP instance.
    Instance(String),
    /// One sync group.
    Group(String),
}

impl Subscription {
    /// The request line (without newline).
    pub fn line(&self) -> String {
        match self {
            Subscription::Instance(n) => format!("SUBSCRIBE INSTANCE {n}"),
            Subscription::Group(n) => format!("SUBSCRIBE GROUP {n}"),
        }
    }
}

/// A VRRP state as vrrpd reports it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum VrrpState {
    /// MASTER.
    Master,
    /// BACKUP.
    Backup,
    /// FAULT.
    Fault,
    /// Not running (INIT/STOP).
    Init,
}

/// One message from vrrpd.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FromVrrpd {
    /// The followed instance or group is now in this state.
    State(VrrpState),
    /// Promotion: answer once every received entry is written to the kernel.
    Commit(u64),
    /// vrrpd refused the subscription or a line.
    Error(String),
}

/// Why a line from vrrpd was not understood.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unexpected line from vrrpd: {0:?}")]
pub struct LineError(pub String);

/// Parses one line (without its newline).
pub fn parse_line(line: &str) -> Result<FromVrrpd, LineError> {
    let bad = || LineError(line.chars().take(80).collect());
    let mut words = line.split_ascii_whitespace();
    let msg = match (words.next(), words.next()) {
        (Some("STATE"), Some(s)) => FromVrrpd::State(match s {
            "MASTER" => VrrpState::Master,
            "BACKUP" => VrrpState::Backup,
            "FAULT" => VrrpState::Fault,
            "INIT" | "STOP" => VrrpState::Init,
            _ => return Err(bad()),
        }),
        (Some("COMMIT"), Some(t)) => FromVrrpd::Commit(t.parse().map_err(|_| bad())?),
        (Some("ERROR"), _) => {
            return Ok(FromVrrpd::Error(
                line.get(5..).unwrap_or("").trim().to_owned(),
            ));
        }
        _ => return Err(bad()),
    };
    if words.next().is_some() {
        return Err(bad());
    }
    Ok(msg)
}

/// The connection to vrrpd (absent while disconnected).
#[derive(Debug)]
pub struct VrrpdLink {
    path: PathBuf,
    subscription: Subscription,
    stream: Option<UnixStream>,
    inbox: Vec<u8>,
}

impl VrrpdLink {
    /// A link to the socket at `path`, not connected yet.
    pub fn new(path: &Path, subscription: Subscription) -> Self {
        VrrpdLink {
            path: path.to_path_buf(),
            subscription,
            stream: None,
            inbox: Vec::new(),
        }
    }

    /// Whether connected.
    pub fn is_connected(&self) -> bool {
        self.stream.is_some()
    }

    /// Connects, subscribes and registers with `registry`.
    pub fn connect(&mut self, registry: &Registry, token: Token) -> io::Result<()> {
        let std_stream = std::os::unix::net::UnixStream::connect(&self.path)?;
        std_stream.set_nonblocking(true)?;
        let mut stream = UnixStream::from_std(std_stream);
        let mut request = self.subscription.line().into_bytes();
        request.push(b'\n');
        write_all_nonblocking(&mut stream, &request)?;
        registry.register(&mut stream, token, Interest::READABLE)?;
        self.inbox.clear();
        self.stream = Some(stream);
        Ok(())
    }

    /// Closes the connection.
    pub fn disconnect(&mut self, registry: &Registry) {
        if let Some(mut s) = self.stream.take() {
            let _ = registry.deregister(&mut s);
        }
        self.inbox.clear();
    }

    /// Reads what vrrpd sent. `Err` means the connection is gone (closed, failed, or sent
    /// an overlong line); the caller disconnects.
    pub fn read(&mut self, out: &mut Vec<Result<FromVrrpd, LineError>>) -> io::Result<()> {
        let Some(stream) = self.stream.as_mut() else {
            return Err(io::ErrorKind::NotConnected.into());
        };
        let mut buf = [0u8; 4096];
        loop {
            match stream.read(&mut buf) {
                Ok(0) => return Err(io::ErrorKind::UnexpectedEof.into()),
                Ok(n) => self
                    .inbox
                    .extend_from_slice(buf.get(..n).unwrap_or_default()),
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => break,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => return Err(e),
            }
            if self.inbox.len() > 64 * MAX_LINE {
                break;
            }
        }
        while let Some(pos) = self.inbox.iter().position(|&b| b == b'\n') {
            let line: Vec<u8> = self.inbox.drain(..=pos).collect();
            let text = String::from_utf8_lossy(line.get(..pos).unwrap_or_default());
            out.push(parse_line(text.trim_end_matches('\r')));
        }
        if self.inbox.len() > MAX_LINE {
            return Err(io::Error::new(io::ErrorKind::InvalidData, "overlong line"));
        }
        Ok(())
    }

    /// Reports whether this node's table is complete (`SYNCED YES|NO`).
    pub fn synced(&mut self, in_sync: bool) -> io::Result<()> {
        let Some(stream) = self.stream.as_mut() else {
            return Err(io::ErrorKind::NotConnected.into());
        };
        let line: &[u8] = if in_sync {
            b"SYNCED YES\n"
        } else {
            b"SYNCED NO\n"
        };
        write_all_nonblocking(stream, line)
    }

    /// Answers a commit request.
    pub fn committed(&mut self, token: u64, ok: bool) -> io::Result<()> {
        let Some(stream) = self.stream.as_mut() else {
            return Err(io::ErrorKind::NotConnected.into());
        };
        let line = format!("COMMITTED {token} {}\n", if ok { "OK" } else { "FAILED" });
        write_all_nonblocking(stream, line.as_bytes())
    }
}

/// Writes a short message on a non-blocking stream, waiting briefly if the peer's buffer
/// is full (lines are tiny; a full buffer means vrrpd is stuck, reported after 1 s).
fn write_all_nonblocking(stream: &mut UnixStream, mut bytes: &[u8]) -> io::Result<()> {
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(1);
    while !bytes.is_empty() {
        match stream.write(bytes) {
            Ok(0) => return Err(io::ErrorKind::WriteZero.into()),
            Ok(n) => bytes = bytes.get(n..).unwrap_or_default(),
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => {
                if std::time::Instant::now() > deadline {
                    return Err(e);
                }
                std::thread::sleep(std::time::Duration::from_millis(1));
            }
            Err(e) => return Err(e),
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lines() {
        assert_eq!(
            parse_line("STATE MASTER"),
            Ok(FromVrrpd::State(VrrpState::Master))
        );
        assert_eq!(
            parse_line("STATE STOP"),
            Ok(FromVrrpd::State(VrrpState::Init))
        );
        assert_eq!(parse_line("COMMIT 42"), Ok(FromVrrpd::Commit(42)));
        assert_eq!(
            parse_line("ERROR no such group G9"),
            Ok(FromVrrpd::Error("no such group G9".into()))
        );
        for bad in ["", "STATE", "STATE UP", "COMMIT x", "COMMIT 1 2", "HELLO"] {
            assert!(parse_line(bad).is_err(), "{bad:?}");
        }
        assert_eq!(
            Subscription::Group("G1".into()).line(),
            "SUBSCRIBE GROUP G1"
        );
    }

    #[test]
    fn reads_split_lines_over_a_socket_pair() {
        let (a, mut b) = std::os::unix::net::UnixStream::pair().unwrap();
        a.set_nonblocking(true).unwrap();
        let mut link = VrrpdLink::new(
            Path::new("/nonexistent"),
            Subscription::Instance("VI".into()),
        );
        link.stream = Some(UnixStream::from_std(a));
        b.write_all(b"STATE BACKUP\nCOMM").unwrap();
        let mut out = Vec::new();
        link.read(&mut out).unwrap();
        assert_eq!(out, vec![Ok(FromVrrpd::State(VrrpState::Backup))]);
        b.write_all(b"IT 7\n").unwrap();
        out.clear();
        link.read(&mut out).unwrap();
        assert_eq!(out, vec![Ok(FromVrrpd::Commit(7))]);
        link.committed(7, true).unwrap();
        let mut reply = [0u8; 64];
        let n = b.read(&mut reply).unwrap();
        assert_eq!(&reply[..n], b"COMMITTED 7 OK\n");
        link.synced(false).unwrap();
        let n = b.read(&mut reply).unwrap();
        assert_eq!(&reply[..n], b"SYNCED NO\n");
        b.write_all(&[b'x'; MAX_LINE + 10]).unwrap();
        assert!(link.read(&mut out).is_err());
        drop(b);
    }
}

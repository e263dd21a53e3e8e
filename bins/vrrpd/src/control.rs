//! The status and control socket (Unix, mode 0660) and the opt-in Prometheus endpoint
//! (TCP, HTTP/1.0), both served from the daemon's mio loop without blocking.
//!
//! Control protocol: the client sends one line, `status` or `events`. `status` is
//! answered with one JSON document ([`crate::status::Status`]) and the connection
//! closes; `events` keeps the connection and writes one JSON object
//! ([`crate::status::StateEvent`]) per line for every state change. Every client has a
//! bounded output buffer: an events client that falls [`MAX_CLIENT_BUFFER`] bytes behind
//! is dropped, never waited for.

use std::collections::HashMap;
use std::io::{self, ErrorKind, Read, Write};
use std::os::unix::fs::{FileTypeExt, PermissionsExt};
use std::path::{Path, PathBuf};

use mio::event::Source;
use mio::net::{TcpListener, UnixListener};
use mio::{Interest, Registry, Token};

/// Largest request line / HTTP request head accepted.
pub const MAX_REQUEST: usize = 4096;
/// Largest pending output per client; a client further behind is dropped.
pub const MAX_CLIENT_BUFFER: usize = 256 * 1024;
/// Most simultaneous clients per server.
pub const MAX_CLIENTS: usize = 64;

/// Why a server could not start.
#[derive(Debug, thiserror::Error)]
pub enum ServeError {
    /// Another vrrpd answers on this control socket.
    #[error("control socket {0} is in use by a running vrrpd; refusing to start a second daemon")]
    InUse(PathBuf),
    /// The path exists and is not a socket.
    #[error("{0} exists and is not a socket")]
    NotASocket(PathBuf),
    /// Binding or preparing failed.
    #[error("{what} {path}: {source}")]
    Io {
        /// What was attempted.
        what: &'static str,
        /// Path or address.
        path: String,
        /// The OS error.
        source: io::Error,
    },
}

/// What a client is doing.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Mode {
    /// Reading its request.
    Request,
    /// Waiting for the daemon's answer.
    WantsAnswer,
    /// Answer queued; close once written.
    Closing,
    /// Subscribed to events.
    Events,
}

/// One accepted connection with bounded buffers.
#[derive(Debug)]
struct Conn<S> {
    stream: S,
    input: Vec<u8>,
    output: Vec<u8>,
    mode: Mode,
}

/// The outcome of servicing a connection.
enum Next {
    Keep,
    Close,
}

impl<S: Read + Write> Conn<S> {
    fn new(stream: S) -> Self {
        Conn {
            stream,
            input: Vec::new(),
            output: Vec::new(),
            mode: Mode::Request,
        }
    }

    /// Reads what is available; returns false on EOF or error.
    fn read_some(&mut self) -> bool {
        let mut buf = [0u8; 1024];
        loop {
            match self.stream.read(&mut buf) {
                Ok(0) => return false,
                Ok(n) => {
                    if self.mode != Mode::Request {
                        continue; // Anything after the request is ignored.
                    }
                    self.input
                        .extend_from_slice(buf.get(..n).unwrap_or_default());
                    if self.input.len() > MAX_REQUEST {
                        return false;
                    }
                }
                Err(e) if e.kind() == ErrorKind::WouldBlock => return true,
                Err(e) if e.kind() == ErrorKind::Interrupted => {}
                Err(_) => return false,
            }
        }
    }

    /// Writes what the peer takes; `Close` when done with a closing answer or on error.
    fn write_some(&mut self) -> Next {
        while !self.output.is_empty() {
            match self.stream.write(&self.output) {
                Ok(0) => return Next::Close,
                Ok(n) => {
                    self.output.drain(..n.min(self.output.len()));
                }
                Err(e) if e.kind() == ErrorKind::WouldBlock => return Next::Keep,
                Err(e) if e.kind() == ErrorKind::Interrupted => {}
                Err(_) => return Next::Close,
            }
        }
        if self.mode == Mode::Closing {
            Next::Close
        } else {
            Next::Keep
        }
    }

    /// Queues bytes; false if that would exceed the client's buffer.
    fn queue(&mut self, bytes: &[u8]) -> bool {
        if self.output.len() + bytes.len() > MAX_CLIENT_BUFFER {
            return false;
        }
        self.output.extend_from_slice(bytes);
        true
    }
}

/// Tokens `base .. base + MAX_CLIENTS*...` identify a server's clients.
#[derive(Debug)]
struct Clients<S> {
    base: usize,
    next: usize,
    conns: HashMap<usize, Conn<S>>,
}

impl<S: Read + Write + Source> Clients<S> {
    fn new(base: usize) -> Self {
        Clients {
            base,
            next: 0,
            conns: HashMap::new(),
        }
    }

    fn owns(&self, token: Token) -> bool {
        token.0 >= self.base && token.0 < self.base + (1 << 20)
    }

    fn add(&mut self, registry: &Registry, mut stream: S) {
        if self.conns.len() >= MAX_CLIENTS {
            return; // Dropped: closes the connection.
        }
        let id = self.next;
        self.next = (self.next + 1) % (1 << 20);
        let token = Token(self.base + id);
        if registry
            .register(&mut stream, token, Interest::READABLE | Interest::WRITABLE)
            .is_ok()
        {
            self.conns.insert(id, Conn::new(stream));
        }
    }

    fn close(&mut self, registry: &Registry, id: usize) {
        if let Some(mut c) = self.conns.remove(&id) {
            let _ = registry.deregister(&mut c.stream);
        }
    }

    /// Services a readiness event; returns the ids whose request is complete.
    fn event(
        &mut self,
        registry: &Registry,
        token: Token,
        complete: impl Fn(&[u8]) -> bool,
    ) -> bool {
        let id = token.0 - self.base;
        let Some(c) = self.conns.get_mut(&id) else {
            return false;
        };
        let open = c.read_some();
        let mut wants = false;
        if c.mode == Mode::Request && complete(&c.input) {
            c.mode = Mode::WantsAnswer;
            wants = true;
        }
        let flushed = c.write_some();
        let events_client = c.mode == Mode::Events;
        if matches!(flushed, Next::Close)
            || (!open && !wants && (c.output.is_empty() || events_client))
        {
            self.close(registry, id);
            return false;
        }
        wants
    }

    /// Hands every waiting client to `answer`, which queues its answer and says whether
    /// the client stays subscribed to events.
    fn answer(&mut self, registry: &Registry, mut answer: impl FnMut(&[u8]) -> (Vec<u8>, bool)) {
        let mut closed = Vec::new();
        for (id, c) in &mut self.conns {
            if c.mode != Mode::WantsAnswer {
                continue;
            }
            let (bytes, subscribe) = answer(&c.input);
            c.mode = if subscribe {
                Mode::Events
            } else {
                Mode::Closing
            };
            if !c.queue(&bytes) || matches!(c.write_some(), Next::Close) {
                closed.push(*id);
            }
        }
        for id in closed {
            self.close(registry, id);
        }
    }

    /// Queues `line` to every events subscriber; slow ones are dropped.
    fn broadcast(&mut self, registry: &Registry, line: &[u8]) -> usize {
        let mut closed = Vec::new();
        for (id, c) in &mut self.conns {
            if c.mode != Mode::Events {
                continue;
            }
            if !c.queue(line) || matches!(c.write_some(), Next::Close) {
                closed.push(*id);
            }
        }
        let dropped = closed.len();
        for id in closed {
            self.close(registry, id);
        }
        dropped
    }
}

/// What a control client asked for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Request {
    /// A status snapshot.
    Status,
    /// The event stream.
    Events,
    /// Anything else.
    Unknown,
}

fn parse_request(input: &[u8]) -> Request {
    let line = input.split(|b| *b == b'\n').next().unwrap_or_default();
    match String::from_utf8_lossy(line).trim() {
        "status" => Request::Status,
        "events" => Request::Events,
        _ => Request::Unknown,
    }
}

/// The Unix status/control socket.
#[derive(Debug)]
pub struct ControlServer {
    path: PathBuf,
    listener: UnixListener,
    token: Token,
    clients: Clients<mio::net::UnixStream>,
}

impl ControlServer {
    /// Binds `path` (creating its directory), refusing when a live daemon answers there
    /// and replacing a stale socket file. The socket gets mode 0660.
    pub fn bind(
        path: &Path,
        registry: &Registry,
        token: Token,
        client_base: usize,
    ) -> Result<Self, ServeError> {
        let io_err = |what, source| ServeError::Io {
            what,
            path: path.display().to_string(),
            source,
        };
        if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
            std::fs::create_dir_all(dir).map_err(|e| io_err("create directory for", e))?;
        }
        match std::fs::symlink_metadata(path) {
            Ok(meta) if meta.file_type().is_socket() => {
                if std::os::unix::net::UnixStream::connect(path).is_ok() {
                    return Err(ServeError::InUse(path.to_path_buf()));
                }
                tracing::info!(socket = %path.display(), "removing stale control socket");
                std::fs::remove_file(path).map_err(|e| io_err("remove stale", e))?;
            }
            Ok(_) => return Err(ServeError::NotASocket(path.to_path_buf())),
            Err(e) if e.kind() == ErrorKind::NotFound => {}
            Err(e) => return Err(io_err("inspect", e)),
        }
        let mut listener = UnixListener::bind(path).map_err(|e| io_err("bind", e))?;
        std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o660))
            .map_err(|e| io_err("chmod", e))?;
        registry
            .register(&mut listener, token, Interest::READABLE)
            .map_err(|e| io_err("register", e))?;
        Ok(ControlServer {
            path: path.to_path_buf(),
            listener,
            token,
            clients: Clients::new(client_base),
        })
    }

    /// Whether `token` belongs to this server (listener or client).
    pub fn owns(&self, token: Token) -> bool {
        token == self.token || self.clients.owns(token)
    }

    /// Services an event; true when some client waits for [`ControlServer::answer`].
    pub fn event(&mut self, registry: &Registry, token: Token) -> bool {
        if token == self.token {
            loop {
                match self.listener.accept() {
                    Ok((stream, _)) => self.clients.add(registry, stream),
                    Err(e) if e.kind() == ErrorKind::Interrupted => {}
                    Err(_) => break,
                }
            }
            // A request may already be readable: edge-triggered registration reports it.
            return false;
        }
        self.clients
            .event(registry, token, |input| input.contains(&b'\n'))
    }

    /// Answers waiting clients: `status` gets `status_json`, `events` subscribes.
    pub fn answer(&mut self, registry: &Registry, status_json: &dyn Fn() -> String) {
        self.clients
            .answer(registry, |input| match parse_request(input) {
                Request::Status => {
                    let mut s = status_json();
                    s.push('\n');
                    (s.into_bytes(), false)
                }
                Request::Events => (Vec::new(), true),
                Request::Unknown => (
                    b"error: unknown request (status | events)\n".to_vec(),
                    false,
                ),
            });
    }

    /// Sends one event line to every subscriber; returns how many slow ones were dropped.
    pub fn broadcast(&mut self, registry: &Registry, json_line: &str) -> usize {
        let mut line = json_line.as_bytes().to_vec();
        line.push(b'\n');
        self.clients.broadcast(registry, &line)
    }
}

impl Drop for ControlServer {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.path);
    }
}

/// The Prometheus endpoint: a minimal HTTP/1.0 responder.
#[derive(Debug)]
pub struct MetricsServer {
    listener: TcpListener,
    token: Token,
    clients: Clients<mio::net::TcpStream>,
}

impl MetricsServer {
    /// Listens on `addr`.
    pub fn bind(
        addr: std::net::SocketAddr,
        registry: &Registry,
        token: Token,
        client_base: usize,
    ) -> Result<Self, ServeError> {
        let io_err = |what, source| ServeError::Io {
            what,
            path: addr.to_string(),
            source,
        };
        let mut listener = TcpListener::bind(addr).map_err(|e| io_err("listen on", e))?;
        registry
            .register(&mut listener, token, Interest::READABLE)
            .map_err(|e| io_err("register", e))?;
        Ok(MetricsServer {
            listener,
            token,
            clients: Clients::new(client_base),
        })
    }

    /// The bound address (useful with port 0).
    pub fn local_addr(&self) -> io::Result<std::net::SocketAddr> {
        self.listener.local_addr()
    }

    /// Whether `token` belongs to this server.
    pub fn owns(&self, token: Token) -> bool {
        token == self.token || self.clients.owns(token)
    }

    /// Services an event; true when a request waits for [`MetricsServer::answer`].
    pub fn event(&mut self, registry: &Registry, token: Token) -> bool {
        if token == self.token {
            loop {
                match self.listener.accept() {
                    Ok((stream, _)) => self.clients.add(registry, stream),
                    Err(e) if e.kind() == ErrorKind::Interrupted => {}
                    Err(_) => break,
                }
            }
            return false;
        }
        self.clients.event(registry, token, |input| {
            input.windows(4).any(|w| w == b"\r\n\r\n") || input.windows(2).any(|w| w == b"\n\n")
        })
    }

    /// Answers waiting requests: `GET /metrics` gets `metrics()`, anything else 404.
    pub fn answer(&mut self, registry: &Registry, metrics: &dyn Fn() -> String) {
        self.clients.answer(registry, |input| {
            let line = input.split(|b| *b == b'\n').next().unwrap_or_default();
            let line = String::from_utf8_lossy(line);
            let mut words = line.split_whitespace();
            let (method, target) = (words.next(), words.next());
            let (status, ctype, body) = match (method, target) {
                (Some("GET"), Some("/metrics")) => {
                    ("200 OK", "text/plain; version=0.0.4; charset=utf-8", metrics())
                }
                (Some("GET"), Some("/")) => (
                    "200 OK",
                    "text/plain; charset=utf-8",
                    "vrrpd: metrics at /metrics\n".to_owned(),
                ),
                (Some("GET"), _) => ("404 Not Found", "text/plain", "not found\n".to_owned()),
                _ => ("405 Method Not Allowed", "text/plain", "GET only\n".to_owned()),
            };
            let head = format!(
                "HTTP/1.0 {status}\r\nContent-Type: {ctype}\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
                body.len()
            );
            ((head + &body).into_bytes(), false)
        });
    }
}

/// `vrrpd status`: asks the daemon at `path` for its status JSON.
pub fn fetch_status(path: &Path) -> io::Result<String> {
    let mut s = std::os::unix::net::UnixStream::connect(path)?;
    s.set_read_timeout(Some(std::time::Duration::from_secs(5)))?;
    s.write_all(b"status\n")?;
    let mut text = String::new();
    s.read_to_string(&mut text)?;
    Ok(text)
}

/// `vrrpd events`: copies the daemon's event stream to `out` until it closes, or until
/// `out`'s reader goes away (`vrrpd events | head -1`), which is a normal end too.
pub fn stream_events(path: &Path, out: &mut dyn Write) -> io::Result<()> {
    let mut s = std::os::unix::net::UnixStream::connect(path)?;
    s.write_all(b"events\n")?;
    let mut buf = [0u8; 4096];
    loop {
        let n = s.read(&mut buf)?;
        if n == 0 {
            return Ok(());
        }
        let copied = out
            .write_all(buf.get(..n).unwrap_or_default())
            .and_then(|()| out.flush());
        match copied {
            Err(e) if e.kind() == io::ErrorKind::BrokenPipe => return Ok(()),
            other => other?,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Stdout whose reader has gone away.
    struct ClosedPipe;

    impl Write for ClosedPipe {
        fn write(&mut self, _: &[u8]) -> io::Result<usize> {
            Err(io::ErrorKind::BrokenPipe.into())
        }
        fn flush(&mut self) -> io::Result<()> {
            Err(io::ErrorKind::BrokenPipe.into())
        }
    }

    #[test]
    fn events_end_quietly_when_the_reader_goes_away() {
        let dir = std::env::temp_dir().join(format!("vrrpd-fx-events-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("c.sock");
        let _ = std::fs::remove_file(&path);
        let listener = std::os::unix::net::UnixListener::bind(&path).unwrap();
        let server = std::thread::spawn(move || {
            let (mut conn, _) = listener.accept().unwrap();
            let mut request = [0u8; 7];
            conn.read_exact(&mut request).unwrap();
            // Keeps sending until the client hangs up.
            while conn.write_all(b"{\"seq\":1}\n").is_ok() {}
        });
        assert!(stream_events(&path, &mut ClosedPipe).is_ok());
        server.join().unwrap();
        // Other output errors still surface.
        struct Full;
        impl Write for Full {
            fn write(&mut self, _: &[u8]) -> io::Result<usize> {
                Err(io::ErrorKind::StorageFull.into())
            }
            fn flush(&mut self) -> io::Result<()> {
                Ok(())
            }
        }
        let listener = {
            let _ = std::fs::remove_file(&path);
            std::os::unix::net::UnixListener::bind(&path).unwrap()
        };
        let server = std::thread::spawn(move || {
            let (mut conn, _) = listener.accept().unwrap();
            let _ = conn.write_all(b"{}\n");
            let mut rest = Vec::new();
            let _ = conn.read_to_end(&mut rest);
        });
        let err = stream_events(&path, &mut Full).unwrap_err();
        assert_eq!(err.kind(), io::ErrorKind::StorageFull);
        server.join().unwrap();
        let _ = std::fs::remove_dir_all(&dir);
    }

    #[test]
    fn requests_parse() {
        assert_eq!(parse_request(b"status\n"), Request::Status);
        assert_eq!(parse_request(b" events \r\n"), Request::Events);
        assert_eq!(parse_request(b"reboot\n"), Request::Unknown);
    }

    /// Runs the loop until `done` holds (or 200 rounds).
    fn pump(
        poll: &mut mio::Poll,
        server: &mut ControlServer,
        mut done: impl FnMut(&mut ControlServer) -> bool,
    ) {
        let mut events = mio::Events::with_capacity(16);
        for _ in 0..200 {
            poll.poll(&mut events, Some(std::time::Duration::from_millis(20)))
                .unwrap();
            let mut wants = false;
            for e in events.iter() {
                wants |= server.event(poll.registry(), e.token());
            }
            if wants {
                server.answer(poll.registry(), &|| "{\"schema\":1}".to_owned());
            }
            if done(server) {
                return;
            }
        }
        panic!("condition not reached");
    }

    #[test]
    fn status_answers_and_a_slow_events_client_is_dropped() {
        let dir = std::env::temp_dir().join(format!("vrrpd-ctl2-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        let path = dir.join("c.sock");
        let mut poll = mio::Poll::new().unwrap();
        let mut server = ControlServer::bind(&path, poll.registry(), Token(1), 100).unwrap();
        // status: one answer, then the server closes the connection.
        let mut status = std::os::unix::net::UnixStream::connect(&path).unwrap();
        status.write_all(b"status\n").unwrap();
        pump(&mut poll, &mut server, |s| {
            s.clients.conns.is_empty() && s.clients.next == 1
        });
        let mut text = String::new();
        status.read_to_string(&mut text).unwrap();
        assert_eq!(text, "{\"schema\":1}\n");
        // events: a subscriber that never reads is dropped once it is too far behind.
        let mut slow = std::os::unix::net::UnixStream::connect(&path).unwrap();
        slow.write_all(b"events\n").unwrap();
        pump(&mut poll, &mut server, |s| {
            s.clients.conns.values().any(|c| c.mode == Mode::Events)
        });
        let line = "x".repeat(1000);
        let mut dropped = 0;
        for _ in 0..5000 {
            dropped += server.broadcast(poll.registry(), &line);
            if dropped > 0 {
                break;
            }
        }
        assert_eq!(dropped, 1, "the slow client is dropped, not waited for");
        assert!(server.clients.conns.is_empty());
        drop(server);
        let _ = std::fs::remove_dir_all(&dir);
    }

    #[test]
    fn control_socket_refuses_live_and_replaces_stale() {
        let dir = std::env::temp_dir().join(format!("vrrpd-ctl-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        let path = dir.join("sub/vrrpd.sock");
        let poll = mio::Poll::new().unwrap();
        let first = ControlServer::bind(&path, poll.registry(), Token(1), 100).unwrap();
        let mode = std::fs::metadata(&path).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o660);
        assert!(matches!(
            ControlServer::bind(&path, poll.registry(), Token(2), 200),
            Err(ServeError::InUse(_))
        ));
        // A stale socket: bound by a listener that is gone, file left behind.
        let stale = dir.join("stale.sock");
        drop(std::os::unix::net::UnixListener::bind(&stale).unwrap());
        assert!(stale.exists());
        let again = ControlServer::bind(&stale, poll.registry(), Token(3), 300);
        assert!(again.is_ok(), "{again:?}");
        std::fs::write(dir.join("plain"), "x").unwrap();
        assert!(matches!(
            ControlServer::bind(&dir.join("plain"), poll.registry(), Token(4), 400),
            Err(ServeError::NotASocket(_))
        ));
        drop(first);
        assert!(!path.exists());
        let _ = std::fs::remove_dir_all(&dir);
    }
}

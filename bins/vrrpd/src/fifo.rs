//! The notify FIFO (`vrrp_notify_fifo` / `notify_fifo`): one line per state change, in
//! order, exactly as keepalived writes them (`INSTANCE "VI_1" MASTER 150`,
//! `GROUP "SG" FAULT 0`).
//!
//! The FIFO is created (mode 0600, with `mkfifo`) when missing and opened read-write and
//! non-blocking, like keepalived, so a missing reader never blocks or fails the daemon.
//! Lines the pipe cannot take at once wait in a bounded buffer; when that is full the
//! oldest whole lines are dropped and counted. A regular file at the path is appended to.

use std::collections::VecDeque;
use std::fs::{File, OpenOptions};
use std::io::{ErrorKind, Write};
use std::os::unix::fs::{FileTypeExt, OpenOptionsExt};
use std::path::{Path, PathBuf};

/// Bytes kept while the reader is slow; older lines are dropped beyond.
pub const FIFO_BUFFER: usize = 64 * 1024;

/// Formats one FIFO line (without the newline).
pub fn line(kind: &str, name: &str, state: &str, priority: u8) -> String {
    format!("{kind} \"{name}\" {state} {priority}")
}

/// An open notify FIFO with its pending output.
#[derive(Debug)]
pub struct NotifyFifo {
    path: PathBuf,
    file: Option<File>,
    pending: VecDeque<String>,
    pending_bytes: usize,
    /// Offset already written of the first pending line.
    partial: usize,
    /// Lines dropped because the buffer was full.
    pub dropped: u64,
}

impl NotifyFifo {
    /// Creates the FIFO if needed and opens it.
    pub fn open(path: &Path) -> std::io::Result<Self> {
        if !path.exists() {
            let status = std::process::Command::new("mkfifo")
                .arg("-m")
                .arg("0600")
                .arg(path)
                .status()?;
            if !status.success() {
                return Err(std::io::Error::other(format!(
                    "mkfifo {} failed ({status})",
                    path.display()
                )));
            }
        }
        let is_fifo = std::fs::metadata(path)?.file_type().is_fifo();
        let file = if is_fifo {
            OpenOptions::new()
                .read(true)
                .write(true)
                .custom_flags(libc::O_NONBLOCK)
                .open(path)?
        } else {
            OpenOptions::new().append(true).open(path)?
        };
        Ok(NotifyFifo {
            path: path.to_path_buf(),
            file: Some(file),
            pending: VecDeque::new(),
            pending_bytes: 0,
            partial: 0,
            dropped: 0,
        })
    }

    /// The path.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Queues one line and writes as much as the pipe takes.
    pub fn push(&mut self, text: &str) {
        let mut l = String::with_capacity(text.len() + 1);
        l.push_str(text);
        l.push('\n');
        while self.pending_bytes + l.len() > FIFO_BUFFER && self.pending.len() > 1 {
            // Keep the first line: part of it may already be written.
            if let Some(old) = self.pending.remove(1) {
                self.pending_bytes -= old.len();
                self.dropped += 1;
            }
        }
        self.pending_bytes += l.len();
        self.pending.push_back(l);
        self.flush();
    }

    /// Whether lines are waiting for the reader.
    pub fn has_pending(&self) -> bool {
        !self.pending.is_empty()
    }

    /// Writes pending lines until the pipe is full.
    pub fn flush(&mut self) {
        let Some(file) = self.file.as_mut() else {
            return;
        };
        while let Some(front) = self.pending.front() {
            let bytes = front.as_bytes().get(self.partial..).unwrap_or_default();
            match file.write(bytes) {
                Ok(n) if n == bytes.len() => {
                    self.pending_bytes -= front.len();
                    self.pending.pop_front();
                    self.partial = 0;
                }
                Ok(n) => self.partial += n,
                Err(e) if e.kind() == ErrorKind::WouldBlock => return,
                Err(e) if e.kind() == ErrorKind::Interrupted => {}
                Err(e) => {
                    tracing::warn!(fifo = %self.path.display(), error = %e, "notify fifo write failed; closing it");
                    self.file = None;
                    return;
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Read;

    #[test]
    fn writes_keepalived_lines_in_order_and_bounds_the_buffer() {
        assert_eq!(
            line("INSTANCE", "VI_1", "MASTER", 150),
            "INSTANCE \"VI_1\" MASTER 150"
        );
        let dir = std::env::temp_dir().join(format!("vrrpd-fifo-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("notify.fifo");
        let mut fifo = NotifyFifo::open(&path).unwrap();
        assert!(std::fs::metadata(&path).unwrap().file_type().is_fifo());
        let mut reader = OpenOptions::new()
            .read(true)
            .custom_flags(libc::O_NONBLOCK)
            .open(&path)
            .unwrap();
        fifo.push(&line("INSTANCE", "VI_1", "BACKUP", 100));
        fifo.push(&line("GROUP", "SG", "FAULT", 0));
        let mut text = String::new();
        let _ = reader.read_to_string(&mut text);
        assert_eq!(text, "INSTANCE \"VI_1\" BACKUP 100\nGROUP \"SG\" FAULT 0\n");
        // Nobody reads now: the pipe fills, then the buffer stays bounded.
        for i in 0..20_000u32 {
            fifo.push(&format!("INSTANCE \"VI_{i}\" MASTER 150"));
        }
        assert!(fifo.pending_bytes <= FIFO_BUFFER + 64);
        assert!(fifo.dropped > 0);
        let _ = std::fs::remove_dir_all(&dir);
    }
}

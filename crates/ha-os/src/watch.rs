//! Change notification for a set of files (keepalived's `track_file`), with inotify.
//!
//! The watch is on each file's directory, not on the file: editors and `mv` replace the
//! file (a new inode), and a file that does not exist yet can still be watched. Every
//! event naming a watched file reports that file as changed; the caller re-reads it. A
//! queue overflow reports every file.

use std::collections::HashMap;
use std::ffi::{CString, OsStr, OsString};
use std::fs::File;
use std::io::{self, Read};
use std::os::fd::AsFd;
use std::os::unix::ffi::OsStrExt;
use std::path::{Path, PathBuf};

use crate::error::{Operation, OsError, Result};
use crate::sys;

/// Events after which a watched file holds its new content: a write finished, a file
/// moved in or out, a deletion. Not the creation or truncation that starts a write (`echo
/// 10 > f` would be read while still empty).
const MASK: u32 = libc::IN_CLOSE_WRITE | libc::IN_MOVED_TO | libc::IN_MOVED_FROM | libc::IN_DELETE;

/// Size of the fixed part of `struct inotify_event` (wd, mask, cookie, len).
const EVENT_HEADER: usize = 16;

/// Watches files through their directories.
#[derive(Debug)]
pub struct FileWatch {
    inotify: File,
    /// Watch descriptor → directory, and the names watched in it.
    dirs: HashMap<i32, (PathBuf, Vec<OsString>)>,
}

impl FileWatch {
    /// Opens an empty watch.
    pub fn new() -> Result<Self> {
        let fd = sys::inotify_init().map_err(|e| OsError::io(Operation::WatchFiles, "", e))?;
        Ok(FileWatch {
            inotify: File::from(fd),
            dirs: HashMap::new(),
        })
    }

    /// Adds `path` (its directory must exist; the file need not).
    pub fn add(&mut self, path: &Path) -> Result<()> {
        let shown = path.to_string_lossy();
        let fail = |e| OsError::io(Operation::WatchFiles, &shown, e);
        let name = path
            .file_name()
            .ok_or_else(|| fail(io::Error::from(io::ErrorKind::InvalidInput)))?;
        let dir = match path.parent() {
            Some(d) if !d.as_os_str().is_empty() => d,
            _ => Path::new("."),
        };
        let c_dir = CString::new(dir.as_os_str().as_bytes())
            .map_err(|_| fail(io::Error::from(io::ErrorKind::InvalidInput)))?;
        let wd = sys::inotify_add_watch(self.inotify.as_fd(), &c_dir, MASK).map_err(fail)?;
        let (_, names) = self
            .dirs
            .entry(wd)
            .or_insert_with(|| (dir.to_path_buf(), Vec::new()));
        if !names.iter().any(|n| n == name) {
            names.push(name.to_os_string());
        }
        Ok(())
    }

    /// Drains the pending events; returns the watched files they name (each once), or
    /// every watched file after a queue overflow.
    pub fn changes(&mut self) -> Result<Vec<PathBuf>> {
        let mut changed: Vec<PathBuf> = Vec::new();
        let mut buf = [0u8; 4096];
        loop {
            let len = match self.inotify.read(&mut buf) {
                Ok(0) => break,
                Ok(len) => len,
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => break,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(e) => return Err(OsError::io(Operation::WatchFiles, "", e)),
            };
            let mut overflow = false;
            for (wd, mask, name) in parse_events(buf.get(..len).unwrap_or_default()) {
                if mask & libc::IN_Q_OVERFLOW != 0 {
                    overflow = true;
                    continue;
                }
                if let Some((dir, names)) = self.dirs.get(&wd)
                    && names.iter().any(|n| n.as_os_str() == name)
                {
                    push_once(&mut changed, dir.join(name));
                }
            }
            if overflow {
                for (dir, names) in self.dirs.values() {
                    for name in names {
                        push_once(&mut changed, dir.join(name));
                    }
                }
            }
        }
        Ok(changed)
    }
}

fn push_once(list: &mut Vec<PathBuf>, path: PathBuf) {
    if !list.contains(&path) {
        list.push(path);
    }
}

/// Splits a buffer of `struct inotify_event` records into (wd, mask, name); a truncated
/// record ends the walk.
fn parse_events(mut bytes: &[u8]) -> impl Iterator<Item = (i32, u32, &OsStr)> {
    std::iter::from_fn(move || {
        let header = bytes.get(..EVENT_HEADER)?;
        let word = |at: usize| -> Option<[u8; 4]> { header.get(at..at + 4)?.try_into().ok() };
        let wd = i32::from_ne_bytes(word(0)?);
        let mask = u32::from_ne_bytes(word(4)?);
        let name_len = usize::try_from(u32::from_ne_bytes(word(12)?)).ok()?;
        let raw = bytes.get(EVENT_HEADER..EVENT_HEADER.checked_add(name_len)?)?;
        bytes = bytes.get(EVENT_HEADER + name_len..).unwrap_or_default();
        // The name is NUL-padded.
        let end = raw.iter().position(|&b| b == 0).unwrap_or(raw.len());
        Some((
            wd,
            mask,
            OsStr::from_bytes(raw.get(..end).unwrap_or_default()),
        ))
    })
}

crate::fd_source!(FileWatch, inotify);

#[cfg(test)]
mod tests {
    use super::*;

    fn record(wd: i32, mask: u32, name: &[u8], padded: usize) -> Vec<u8> {
        let mut v = Vec::new();
        v.extend_from_slice(&wd.to_ne_bytes());
        v.extend_from_slice(&mask.to_ne_bytes());
        v.extend_from_slice(&0u32.to_ne_bytes());
        v.extend_from_slice(&(padded as u32).to_ne_bytes());
        let mut n = name.to_vec();
        n.resize(padded, 0);
        v.extend_from_slice(&n);
        v
    }

    #[test]
    fn records_split_with_their_names_and_truncation_stops_the_walk() {
        let mut buf = record(1, libc::IN_CLOSE_WRITE, b"maintenance", 16);
        buf.extend(record(2, libc::IN_Q_OVERFLOW, b"", 0));
        buf.extend(record(3, libc::IN_DELETE, b"x", 16));
        let got: Vec<_> = parse_events(&buf).collect();
        assert_eq!(got.len(), 3);
        assert_eq!(got[0], (1, libc::IN_CLOSE_WRITE, OsStr::new("maintenance")));
        assert_eq!(got[1].1, libc::IN_Q_OVERFLOW);
        assert_eq!(got[2].2, OsStr::new("x"));
        // A name length past the end, or a short header: nothing more, no panic.
        let mut bad = record(4, libc::IN_MODIFY, b"y", 16);
        bad.truncate(20);
        assert_eq!(parse_events(&bad).count(), 0);
        assert_eq!(parse_events(&buf[..10]).count(), 0);
        let mut huge = record(5, 0, b"", 0);
        huge[12..16].copy_from_slice(&u32::MAX.to_ne_bytes());
        assert_eq!(parse_events(&huge).count(), 0);
    }

    #[test]
    fn writes_renames_and_deletes_of_a_watched_file_are_reported() {
        let dir = std::env::temp_dir().join(format!("ha-os-watch-{}", std::process::id()));
        std::fs::create_dir_all(&dir).expect("temp dir");
        let file = dir.join("state");
        let other = dir.join("unrelated");
        let mut watch = FileWatch::new().expect("inotify");
        watch.add(&file).expect("watch");
        assert!(watch.changes().expect("read").is_empty());

        std::fs::write(&other, b"1").expect("write");
        assert!(
            watch.changes().expect("read").is_empty(),
            "other names are ignored"
        );
        std::fs::write(&file, b"1\n").expect("write");
        assert_eq!(watch.changes().expect("read"), vec![file.clone()]);
        let tmp = dir.join("state.tmp");
        std::fs::write(&tmp, b"2").expect("write");
        watch.changes().expect("read");
        std::fs::rename(&tmp, &file).expect("rename");
        assert_eq!(watch.changes().expect("read"), vec![file.clone()]);
        std::fs::remove_file(&file).expect("remove");
        assert_eq!(watch.changes().expect("read"), vec![file.clone()]);
        let _ = std::fs::remove_dir_all(&dir);
    }
}

//! keepalived's `track_file`: files holding a number that moves the priority of the
//! instances tracking them (value × weight) or, with weight 0, puts them in FAULT while it
//! is not 0. Files are watched with inotify (through their directories, so a file may be
//! created, replaced or removed at any time) and re-read on every change; the state
//! machine does the arithmetic ([`TrackStatus::Value`]).
//!
//! A file that is missing, unreadable or does not start with a number counts as 0, as in
//! keepalived; a number out of range leaves the previous value. `init_file` creates the
//! file at start-up (`overwrite`: replaces it, but never on a reload, so an operator's
//! value survives one), refusing anything but a regular file.

use std::collections::HashMap;
use std::fs;
use std::io::{self, Read, Write};
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};

use ha_os::watch::FileWatch;
use mio::{Interest, Registry, Token};
use tracing::{info, warn};
use vrrp_fsm::{TrackId, TrackStatus};

use crate::plan::FilePlan;

/// Most bytes read from a tracked file: a number, and room for whitespace around it.
const READ_LIMIT: u64 = 64;

/// The tracked files of the running configuration, their values and the watch.
#[derive(Debug, Default)]
pub struct TrackFiles {
    plans: Vec<FilePlan>,
    values: HashMap<TrackId, i32>,
    watch: Option<FileWatch>,
}

impl TrackFiles {
    /// Reads every file and starts watching them (registered with `registry` under
    /// `token`). Problems are logged; a file that cannot be watched is still read at
    /// every reload.
    pub fn start(plans: Vec<FilePlan>, registry: &Registry, token: Token) -> TrackFiles {
        let mut watch = if plans.is_empty() {
            None
        } else {
            FileWatch::new()
                .map_err(|e| warn!("track_file: cannot watch files: {e}"))
                .ok()
        };
        let mut values = HashMap::new();
        for plan in &plans {
            if let Some(w) = watch.as_mut()
                && let Err(e) = w.add(&plan.path)
            {
                warn!(
                    "track_file {}: {e}; changes are seen at reload only",
                    plan.name
                );
            }
            let value = read_value(&plan.path).unwrap_or(0);
            info!(
                "track_file {}: {} holds {value}",
                plan.name,
                plan.path.display()
            );
            values.insert(plan.id, value);
        }
        if let Some(w) = watch.as_mut()
            && let Err(e) = registry.register(w, token, Interest::READABLE)
        {
            warn!("track_file: cannot poll the file watch: {e}");
        }
        TrackFiles {
            plans,
            values,
            watch,
        }
    }

    /// Stops watching (before a reload replaces this set).
    pub fn stop(&mut self, registry: &Registry) {
        if let Some(w) = self.watch.as_mut() {
            let _ = registry.deregister(w);
        }
        self.watch = None;
    }

    /// Every tracked file's id and current status.
    pub fn statuses(&self) -> impl Iterator<Item = (TrackId, TrackStatus)> + '_ {
        self.values
            .iter()
            .map(|(&id, &v)| (id, TrackStatus::Value(v)))
    }

    /// Reads the files the watch reports as changed; returns those whose value changed.
    pub fn on_readable(&mut self) -> Vec<(TrackId, TrackStatus)> {
        let Some(watch) = self.watch.as_mut() else {
            return Vec::new();
        };
        let changed = match watch.changes() {
            Ok(changed) => changed,
            Err(e) => {
                warn!("track_file: {e}");
                return Vec::new();
            }
        };
        let mut out = Vec::new();
        for path in changed {
            for plan in self.plans.iter().filter(|p| p.path == path) {
                let Some(value) = read_value(&plan.path) else {
                    warn!(
                        "track_file {}: value out of range; keeping the last one",
                        plan.name
                    );
                    continue;
                };
                if self.values.insert(plan.id, value) != Some(value) {
                    info!("track_file {}: value {value}", plan.name);
                    out.push((plan.id, TrackStatus::Value(value)));
                }
            }
        }
        out
    }
}

/// Applies the `init_file` of every `track_file` block: writes its value to a missing
/// file, or to an existing one with `overwrite` (except on a reload).
pub fn init_files(config: &kaconf::Config, reload: bool) {
    for file in &config.track_files {
        let Some(init) = file.init_file else {
            continue;
        };
        let path = absolute(Path::new(&file.path));
        if let Err(e) = init_file(&path, init.value, init.overwrite && !reload) {
            warn!(
                "track_file {}: cannot initialise {}: {e}",
                file.name,
                path.display()
            );
        }
    }
}

/// The configured path made absolute (against the working directory), so that it equals
/// the paths the watch reports.
pub fn absolute(path: &Path) -> PathBuf {
    std::path::absolute(path).unwrap_or_else(|_| path.to_path_buf())
}

/// Writes `value` to `path` if it does not exist (or always, with `overwrite`). Only a
/// regular file is written, never through a symbolic link (vrrpd runs as root).
fn init_file(path: &Path, value: i64, overwrite: bool) -> io::Result<()> {
    match fs::symlink_metadata(path) {
        Ok(meta) if !meta.file_type().is_file() => {
            return Err(io::Error::other("not a regular file"));
        }
        Ok(_) if !overwrite => return Ok(()),
        Ok(_) => {}
        Err(e) if e.kind() == io::ErrorKind::NotFound => {}
        Err(e) => return Err(e),
    }
    let mut file = fs::OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .mode(0o644)
        .custom_flags(libc::O_NOFOLLOW)
        .open(path)?;
    file.write_all(format!("{value}\n").as_bytes())
}

/// The number a tracked file holds: 0 when missing, unreadable or not a number; `None`
/// when the number is out of range.
pub fn read_value(path: &Path) -> Option<i32> {
    let mut text = Vec::new();
    match fs::File::open(path).and_then(|f| f.take(READ_LIMIT).read_to_end(&mut text)) {
        Ok(_) => parse_value(&text),
        Err(_) => Some(0),
    }
}

/// Like `strtol(text, _, 0)`: leading whitespace, an optional sign, then a decimal, `0x`
/// hexadecimal or `0` octal number; anything after it is ignored; no digits is 0. `None`
/// when the number does not fit in an `i32`.
pub fn parse_value(text: &[u8]) -> Option<i32> {
    let start = text
        .iter()
        .position(|b| !b.is_ascii_whitespace())
        .unwrap_or(text.len());
    let rest = text.get(start..).unwrap_or_default();
    let (negative, rest) = match rest.first() {
        Some(b'-') => (true, rest.get(1..).unwrap_or_default()),
        Some(b'+') => (false, rest.get(1..).unwrap_or_default()),
        _ => (false, rest),
    };
    let hex_digits = match rest {
        [b'0', b'x' | b'X', d, ..] if d.is_ascii_hexdigit() => rest.get(2..),
        _ => None,
    };
    let (radix, digits) = match (hex_digits, rest) {
        (Some(digits), _) => (16, digits),
        (None, [b'0', ..]) => (8, rest),
        (None, _) => (10, rest),
    };
    let mut value: i64 = 0;
    for &b in digits {
        let Some(d) = char::from(b).to_digit(radix) else {
            break;
        };
        value = value * i64::from(radix) + i64::from(d);
        if value > i64::from(u32::MAX) {
            return None;
        }
    }
    i32::try_from(if negative { -value } else { value }).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn values_parse_like_strtol() {
        let cases: [(&[u8], Option<i32>); 14] = [
            (b"1\n", Some(1)),
            (b"  -20 trailing", Some(-20)),
            (b"+7", Some(7)),
            (b"", Some(0)),
            (b"abc", Some(0)),
            (b"-", Some(0)),
            (b"\t\n 42\n", Some(42)),
            (b"0x1f", Some(31)),
            (b"-0X10", Some(-16)),
            (b"010", Some(8)),
            (b"0x", Some(0)),
            (b"12abc34", Some(12)),
            (b"99999999999999999999", None),
            (b"-2147483648", Some(i32::MIN)),
        ];
        for (text, want) in cases {
            assert_eq!(
                parse_value(text),
                want,
                "{:?}",
                String::from_utf8_lossy(text)
            );
        }
        assert_eq!(parse_value(b"2147483648"), None);
    }

    #[test]
    fn missing_files_read_as_zero_and_init_file_respects_overwrite_and_links() {
        let dir = std::env::temp_dir().join(format!("vrrpd-trackfile-{}", std::process::id()));
        fs::create_dir_all(&dir).expect("dir");
        let path = dir.join("maintenance");
        let _ = fs::remove_file(&path);
        assert_eq!(read_value(&path), Some(0));
        init_file(&path, 5, false).expect("create");
        assert_eq!(read_value(&path), Some(5));
        init_file(&path, 9, false).expect("keep");
        assert_eq!(read_value(&path), Some(5), "kept without overwrite");
        init_file(&path, 9, true).expect("overwrite");
        assert_eq!(read_value(&path), Some(9));
        // Never through a symbolic link, nor onto a directory.
        let target = dir.join("target");
        fs::write(&target, "1\n").expect("target");
        let link = dir.join("link");
        let _ = fs::remove_file(&link);
        std::os::unix::fs::symlink(&target, &link).expect("symlink");
        assert!(init_file(&link, 7, true).is_err());
        assert!(init_file(&dir, 7, true).is_err());
        assert_eq!(read_value(&target), Some(1));
        let _ = fs::remove_dir_all(&dir);
    }
}

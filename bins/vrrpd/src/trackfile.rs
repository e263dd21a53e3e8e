//! keepalived's `track_file`: files holding a number that moves the priority of the
//! instances tracking them (value × weight) or, with weight 0, puts them in FAULT while it
//! is not 0. Files are watched with inotify (through their directories, so a file may be
//! created, replaced or removed at any time) and re-read on every change; the state
//! machine does the arithmetic ([`TrackStatus::Value`]).
//!
//! A file that is missing, unreadable or does not start with a number counts as 0, as in
//! keepalived. `init_file` creates the file at start-up (or overwrites it).

use std::collections::HashMap;
use std::fs;
use std::io::Read;
use std::path::Path;

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
    /// Applies `init_file`, reads every file and starts watching them (registered with
    /// `registry` under `token`). Problems are logged; a file that cannot be watched is
    /// still read at every reload.
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
            if let Some(init) = &plan.init_file {
                init_file(&plan.path, init.value, init.overwrite);
            }
            if let Some(w) = watch.as_mut()
                && let Err(e) = w.add(&plan.path)
            {
                warn!(
                    "track_file {}: {e}; changes are seen at reload only",
                    plan.name
                );
            }
            let value = read_value(&plan.path);
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
                let value = read_value(&plan.path);
                if self.values.insert(plan.id, value) != Some(value) {
                    info!("track_file {}: value {value}", plan.name);
                    out.push((plan.id, TrackStatus::Value(value)));
                }
            }
        }
        out
    }
}

/// Writes `value` to `path` if it does not exist (or always, with `overwrite`).
fn init_file(path: &Path, value: i64, overwrite: bool) {
    if !overwrite && path.exists() {
        return;
    }
    if let Err(e) = fs::write(path, format!("{value}\n")) {
        warn!("track_file: cannot initialise {}: {e}", path.display());
    }
}

/// The number a tracked file holds (0 when missing, unreadable or not a number).
pub fn read_value(path: &Path) -> i32 {
    let mut text = Vec::new();
    match fs::File::open(path).and_then(|f| f.take(READ_LIMIT).read_to_end(&mut text)) {
        Ok(_) => parse_value(&text),
        Err(_) => 0,
    }
}

/// Leading whitespace, an optional sign and decimal digits, like `strtol`; anything
/// after the digits is ignored; out-of-range values saturate.
pub fn parse_value(text: &[u8]) -> i32 {
    let start = text
        .iter()
        .position(|b| !b.is_ascii_whitespace())
        .unwrap_or(text.len());
    let rest = text.get(start..).unwrap_or_default();
    let (negative, digits) = match rest.first() {
        Some(b'-') => (true, rest.get(1..).unwrap_or_default()),
        Some(b'+') => (false, rest.get(1..).unwrap_or_default()),
        _ => (false, rest),
    };
    let mut value: i64 = 0;
    for &d in digits.iter().take_while(|b| b.is_ascii_digit()) {
        value = (value * 10 + i64::from(d - b'0')).min(i64::from(u32::MAX));
    }
    let signed = if negative { -value } else { value };
    // Clamp proven in range: the bounds are i32's.
    signed.clamp(i64::from(i32::MIN), i64::from(i32::MAX)) as i32
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn values_parse_like_strtol_and_saturate() {
        let cases: [(&[u8], i32); 10] = [
            (b"1\n", 1),
            (b"  -20 trailing", -20),
            (b"+7", 7),
            (b"", 0),
            (b"abc", 0),
            (b"-", 0),
            (b"\t\n 42\n", 42),
            (b"99999999999999999999", i32::MAX),
            (b"-99999999999999999999", i32::MIN),
            (b"12abc34", 12),
        ];
        for (text, want) in cases {
            assert_eq!(
                parse_value(text),
                want,
                "{:?}",
                String::from_utf8_lossy(text)
            );
        }
    }

    #[test]
    fn missing_files_read_as_zero_and_init_file_respects_overwrite() {
        let dir = std::env::temp_dir().join(format!("vrrpd-trackfile-{}", std::process::id()));
        fs::create_dir_all(&dir).expect("dir");
        let path = dir.join("maintenance");
        let _ = fs::remove_file(&path);
        assert_eq!(read_value(&path), 0);
        init_file(&path, 5, false);
        assert_eq!(read_value(&path), 5);
        init_file(&path, 9, false);
        assert_eq!(read_value(&path), 5, "kept without overwrite");
        init_file(&path, 9, true);
        assert_eq!(read_value(&path), 9);
        let _ = fs::remove_dir_all(&dir);
    }
}

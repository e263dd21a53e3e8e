//! `--pid-file`: refuse to start while another live process holds the file.

use std::fs;
use std::io;
use std::path::{Path, PathBuf};

/// Why the pid file could not be taken.
#[derive(Debug)]
pub enum PidFileError {
    /// Another live process wrote its pid there.
    Held {
        /// The file.
        path: PathBuf,
        /// The live process.
        pid: u32,
    },
    /// Reading or writing the file failed.
    Io {
        /// The file.
        path: PathBuf,
        /// The OS error.
        source: io::Error,
    },
}

impl std::fmt::Display for PidFileError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            PidFileError::Held { path, pid } => write!(
                f,
                "pid file {} is held by running process {pid}",
                path.display()
            ),
            PidFileError::Io { path, source } => {
                write!(f, "pid file {}: {source}", path.display())
            }
        }
    }
}

impl std::error::Error for PidFileError {}

/// A pid file we wrote; removed when dropped.
#[derive(Debug)]
pub struct PidFile {
    path: PathBuf,
}

/// Whether `pid` names a live (non-zombie) process.
fn alive(pid: u32) -> bool {
    match fs::read_to_string(format!("/proc/{pid}/stat")) {
        // The state letter follows the parenthesised command name.
        Ok(stat) => stat
            .rsplit_once(')')
            .and_then(|(_, rest)| rest.split_whitespace().next())
            .is_some_and(|state| state != "Z" && state != "X"),
        Err(_) => false,
    }
}

impl PidFile {
    /// Writes our pid to `path`, unless the file names another live process.
    pub fn acquire(path: &Path) -> Result<PidFile, PidFileError> {
        let io_err = |source| PidFileError::Io {
            path: path.to_path_buf(),
            source,
        };
        let me = std::process::id();
        match fs::read_to_string(path) {
            Ok(text) => {
                if let Ok(pid) = text.trim().parse::<u32>()
                    && pid != me
                    && alive(pid)
                {
                    return Err(PidFileError::Held {
                        path: path.to_path_buf(),
                        pid,
                    });
                }
            }
            Err(e) if e.kind() == io::ErrorKind::NotFound => {}
            Err(e) => return Err(io_err(e)),
        }
        fs::write(path, format!("{me}\n")).map_err(io_err)?;
        Ok(PidFile {
            path: path.to_path_buf(),
        })
    }
}

impl Drop for PidFile {
    fn drop(&mut self) {
        let _ = fs::remove_file(&self.path);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn temp(name: &str) -> PathBuf {
        std::env::temp_dir().join(format!("vrrpd-pidtest-{}-{name}", std::process::id()))
    }

    #[test]
    fn stale_file_is_taken_over_and_removed_on_drop() {
        let path = temp("stale");
        fs::write(&path, "999999999\n").unwrap();
        let pf = PidFile::acquire(&path).unwrap();
        assert_eq!(
            fs::read_to_string(&path).unwrap().trim(),
            std::process::id().to_string()
        );
        drop(pf);
        assert!(!path.exists());
    }

    #[test]
    fn live_holder_is_refused() {
        let path = temp("live");
        let mut child = std::process::Command::new("sleep")
            .arg("5")
            .spawn()
            .unwrap();
        fs::write(&path, format!("{}\n", child.id())).unwrap();
        let result = PidFile::acquire(&path);
        let _ = child.kill();
        let _ = child.wait();
        let _ = fs::remove_file(&path);
        assert!(matches!(result, Err(PidFileError::Held { .. })));
    }
}

//! Access to configuration files, abstracted so the parser core does no I/O itself.

use std::collections::BTreeMap;
use std::path::{Component, Path, PathBuf};

/// Largest configuration file the filesystem loader accepts (bytes).
pub const MAX_FILE_BYTES: u64 = 4 * 1024 * 1024;

/// Why a file or directory could not be read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum LoadError {
    /// The file or directory does not exist (plain `include` ignores this silently).
    #[error("no such file or directory")]
    NotFound,
    /// Any other failure (permissions, not UTF-8, too large, ...).
    #[error("{0}")]
    Other(String),
}

/// Source of configuration text: the parser asks it for files and directory listings.
///
/// Implementations decide what a path means; the parser only joins and normalises paths
/// lexically (`.` and `..` are resolved without touching the filesystem).
pub trait Loader {
    /// Returns the whole text of the file at `path`.
    fn read_file(&self, path: &Path) -> Result<String, LoadError>;
    /// Returns the names (not paths) of the entries of directory `dir`, in any order.
    fn list_dir(&self, dir: &Path) -> Result<Vec<String>, LoadError>;
}

/// Loader reading the real filesystem (files larger than [`MAX_FILE_BYTES`] are refused).
#[derive(Debug, Clone, Copy, Default)]
pub struct FsLoader;

impl Loader for FsLoader {
    fn read_file(&self, path: &Path) -> Result<String, LoadError> {
        use std::io::Read;
        let file = std::fs::File::open(path).map_err(io_error)?;
        let meta = file.metadata().map_err(io_error)?;
        if !meta.is_file() {
            return Err(LoadError::Other("not a regular file".into()));
        }
        // Sized from the metadata (bounded), so the text is not held in a doubled buffer.
        let expected = meta.len().min(MAX_FILE_BYTES).saturating_add(1);
        let mut bytes = Vec::with_capacity(usize::try_from(expected).unwrap_or(0));
        // Read at most one byte more than allowed, so an oversized (or growing) file is detected.
        file.take(MAX_FILE_BYTES + 1)
            .read_to_end(&mut bytes)
            .map_err(io_error)?;
        if bytes.len() as u64 > MAX_FILE_BYTES {
            return Err(LoadError::Other(format!(
                "file larger than {MAX_FILE_BYTES} bytes"
            )));
        }
        String::from_utf8(bytes).map_err(|_| LoadError::Other("file is not valid UTF-8".into()))
    }

    fn list_dir(&self, dir: &Path) -> Result<Vec<String>, LoadError> {
        let entries = std::fs::read_dir(dir).map_err(io_error)?;
        let mut names = Vec::new();
        for entry in entries {
            let entry = entry.map_err(io_error)?;
            if let Some(name) = entry.file_name().to_str() {
                names.push(name.to_owned());
            }
        }
        Ok(names)
    }
}

fn io_error(err: std::io::Error) -> LoadError {
    if err.kind() == std::io::ErrorKind::NotFound {
        LoadError::NotFound
    } else {
        LoadError::Other(err.to_string())
    }
}

/// In-memory loader: a map from (normalised) path to file text. Useful for tests and for
/// embedding configurations that do not live on disk. Directories are implied by file paths.
#[derive(Debug, Clone, Default)]
pub struct MemLoader {
    files: BTreeMap<PathBuf, String>,
}

impl MemLoader {
    /// An empty loader.
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds (or replaces) a file; returns `self` for chaining.
    pub fn with_file(mut self, path: impl AsRef<Path>, text: impl Into<String>) -> Self {
        self.insert(path, text);
        self
    }

    /// Adds (or replaces) a file.
    pub fn insert(&mut self, path: impl AsRef<Path>, text: impl Into<String>) {
        self.files.insert(normalize(path.as_ref()), text.into());
    }
}

impl Loader for MemLoader {
    fn read_file(&self, path: &Path) -> Result<String, LoadError> {
        self.files
            .get(&normalize(path))
            .cloned()
            .ok_or(LoadError::NotFound)
    }

    fn list_dir(&self, dir: &Path) -> Result<Vec<String>, LoadError> {
        let dir = normalize(dir);
        // Relative keys live in the current directory ".".
        let prefix = if dir == Path::new(".") {
            PathBuf::new()
        } else {
            dir
        };
        let mut names: Vec<String> = Vec::new();
        for path in self.files.keys() {
            if let Ok(rest) = path.strip_prefix(&prefix)
                && let Some(Component::Normal(first)) = rest.components().next()
                && let Some(name) = first.to_str()
            {
                names.push(name.to_owned());
            }
        }
        names.sort();
        names.dedup();
        if names.is_empty() {
            Err(LoadError::NotFound)
        } else {
            Ok(names)
        }
    }
}

/// Lexically normalises a path: drops `.` components and resolves `..` against the
/// preceding component (never above the root).
pub(crate) fn normalize(path: &Path) -> PathBuf {
    let mut out = PathBuf::new();
    for component in path.components() {
        match component {
            Component::CurDir => {}
            Component::ParentDir => {
                let popped =
                    matches!(out.components().next_back(), Some(Component::Normal(_))) && out.pop();
                if !popped && !out.has_root() {
                    out.push("..");
                }
            }
            other => out.push(other.as_os_str()),
        }
    }
    if out.as_os_str().is_empty() {
        out.push(".");
    }
    out
}

//! Helpers shared by the runnable examples in this folder.

/// Directory holding the keepalived captures shipped with the repository.
pub fn vectors_dir() -> std::path::PathBuf {
    std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../tests/vectors/keepalived")
}

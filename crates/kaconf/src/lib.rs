//! `kaconf`: the VRRP subset of keepalived.conf, parsed into a typed, validated model.
//!
//! The parser follows keepalived's lexical rules (`#`/`!` comments outside double quotes,
//! braces split out of lines, quoted tokens, no line continuation, `include` with globs) and
//! applies keepalived's defaults and fix-ups after parsing (default priority 255 for
//! `state MASTER`, AH + non-owner MASTER ⇒ BACKUP, auth_pass truncated to 8 bytes, whole-second
//! advert intervals, VIP checks, sync-group membership, …). Every problem becomes a
//! [`Diagnostic`] with file, line and column, worded like keepalived's own message.
//!
//! The core is pure: [`parse_str`] takes the text and a [`Loader`] for includes, so it can
//! run on in-memory files ([`MemLoader`]); [`load`] reads from disk through [`FsLoader`].
//! Untrusted input never panics; file sizes, include depth and file counts are bounded.
//!
//! # Severities
//!
//! [`Severity::Error`] is used for everything keepalived itself reports while still running
//! (its `-t` exit status 5), checked against keepalived 2.2.7/2.4.3: e.g. "Truncating
//! auth_pass to 8 characters", unknown keywords, sync-group weight removal, a missing VIP.
//! [`Severity::Warning`] is for what keepalived accepts silently but deserves a note here
//! (duplicate VIPs, keywords keepalived knows but this crate does not implement, sync groups
//! mixing owners and non-owners). [`Severity::Fatal`] means the daemon must not start
//! (`vrrp_version 3`: only VRRPv2 is implemented). [`config_test_status`] maps them to
//! keepalived's `-t` exit statuses.
//!
//! # Deliberate differences from keepalived
//!
//! * An unknown keyword followed by a block gets keepalived's two diagnostics ("Unknown
//!   keyword", "Unexpected '{' - ignoring") but the whole block is skipped, instead of its
//!   lines being applied to the enclosing block.
//! * Every diagnostic carries a file, line and column, also those keepalived prints without
//!   a location (post-parse checks point at the relevant keyword or value).
//! * `interface` is required for every instance; the interface's existence is not checked
//!   (that needs the OS, which this pure crate does not touch).
//! * Not supported: `includer/m/w/b/a`, `$NAME=` definitions, `@id` conditional lines,
//!   `~SEQ`/`~LST` generators, VRRPv3/IPv6 instances.
//!
//! Dependencies: `thiserror` (error types), optional `serde` (feature `serde`, derives for
//! the model). Globbing for `include` is implemented here (`*`, `?`, `[…]`, `{a,b}`).
//!
//! ```
//! use kaconf::{parse_str, MemLoader};
//! let text = "vrrp_instance VI_1 {\n interface eth0\n virtual_router_id 51\n state MASTER\n\
//!             virtual_ipaddress { 192.0.2.1/24 }\n}\n";
//! let (config, diagnostics) = parse_str("k.conf", text, &MemLoader::new()).unwrap();
//! assert!(diagnostics.is_empty());
//! assert_eq!(config.instances[0].priority, 255);
//! ```
#![forbid(unsafe_code)]

mod diag;
mod glob;
mod lexer;
mod loader;
mod model;
mod parser;
mod script;
mod validate;
mod values;

use std::path::Path;

pub use diag::{Diagnostic, FatalError, Severity, config_test_status};
pub use lexer::{MAX_FILES, MAX_INCLUDE_DEPTH, MAX_TOTAL_BYTES};
pub use loader::{FsLoader, LoadError, Loader, MAX_FILE_BYTES, MemLoader};
pub use model::*;
pub use validate::MAX_ADVERTISED_VIPS;

/// Parses configuration `text` named `name` (used in diagnostics and as the base for
/// relative `include` paths), reading included files through `loader`.
///
/// Returns the resolved model and every non-fatal diagnostic, or [`FatalError::Invalid`] if
/// anything fatal was found (e.g. `vrrp_version 3`).
pub fn parse_str(
    name: &str,
    text: &str,
    loader: &dyn Loader,
) -> Result<(Config, Vec<Diagnostic>), FatalError> {
    let mut reporter = diag::Reporter::default();
    let lines = lexer::lex_config(name, text, loader, &mut reporter);
    let raw = parser::Parser::new(lines, &mut reporter).run();
    let config = validate::resolve(raw, &mut reporter);
    let diagnostics = reporter.finish();
    if let Some(first) = diagnostics
        .iter()
        .find(|d| d.severity == Severity::Fatal)
        .cloned()
    {
        return Err(FatalError::Invalid {
            first: Box::new(first),
            diagnostics,
        });
    }
    Ok((config, diagnostics))
}

/// Reads and parses the configuration file at `path` (and its includes) from disk.
pub fn load(path: impl AsRef<Path>) -> Result<(Config, Vec<Diagnostic>), FatalError> {
    let path = path.as_ref();
    let text = FsLoader
        .read_file(path)
        .map_err(|err| FatalError::Unreadable {
            path: path.display().to_string(),
            reason: err.to_string(),
        })?;
    parse_str(&path.display().to_string(), &text, &FsLoader)
}

//! Diagnostics: what went wrong, where, and how bad it is.

use std::fmt;

/// How serious a diagnostic is, mirroring keepalived's `-t` exit statuses.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
pub enum Severity {
    /// Informational problem; the configuration is used as written (or a harmless default).
    Warning,
    /// The offending item was ignored or fixed up; the daemon can still run
    /// (keepalived `-t` would exit with status 5).
    Error,
    /// The configuration cannot be used at all (keepalived `-t` would exit with status 4).
    Fatal,
}

impl Severity {
    /// Lower-case name used in the textual rendering (`warning`, `error`, `fatal`).
    pub fn as_str(self) -> &'static str {
        match self {
            Severity::Warning => "warning",
            Severity::Error => "error",
            Severity::Fatal => "fatal",
        }
    }
}

impl fmt::Display for Severity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One problem found in the configuration, with its precise location.
#[derive(Debug, Clone, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
pub struct Diagnostic {
    /// How serious the problem is.
    pub severity: Severity,
    /// File name as given to the parser (or as resolved for included files).
    pub file: String,
    /// 1-based line number in `file`.
    pub line: u32,
    /// 1-based column (in characters) of the token the message is about.
    pub col: u32,
    /// Human-readable message, worded like keepalived's where keepalived has one.
    pub message: String,
}

impl fmt::Display for Diagnostic {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{}:{}:{}: {}: {}",
            self.file, self.line, self.col, self.severity, self.message
        )
    }
}

/// Exit status keepalived's `-t` (config test) would give for these diagnostics:
/// 0 = clean (warnings only), 5 = errors but would run, 4 = cannot run.
pub fn config_test_status(diagnostics: &[Diagnostic]) -> u8 {
    match diagnostics.iter().map(|d| d.severity).max() {
        Some(Severity::Fatal) => 4,
        Some(Severity::Error) => 5,
        _ => 0,
    }
}

/// The configuration could not be turned into a usable model.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum FatalError {
    /// The top-level configuration file could not be read.
    #[error("cannot read configuration file {path}: {reason}")]
    Unreadable {
        /// Path that was asked for.
        path: String,
        /// Why it could not be read.
        reason: String,
    },
    /// Parsing found at least one fatal problem.
    #[error("configuration cannot be used: {first}")]
    Invalid {
        /// The first fatal diagnostic.
        first: Box<Diagnostic>,
        /// Every diagnostic produced, in order (fatal and otherwise).
        diagnostics: Vec<Diagnostic>,
    },
}

impl FatalError {
    /// All diagnostics collected before giving up (empty for an unreadable file).
    pub fn diagnostics(&self) -> &[Diagnostic] {
        match self {
            FatalError::Unreadable { .. } => &[],
            FatalError::Invalid { diagnostics, .. } => diagnostics,
        }
    }
}

/// Longest run of non-blank characters a message keeps (quoted input is cut to this).
pub(crate) const MAX_QUOTED_CHARS: usize = 64;
/// Longest message kept, in characters, after cutting long words.
pub(crate) const MAX_MESSAGE_CHARS: usize = 512;

/// Cuts every word longer than [`MAX_QUOTED_CHARS`] characters (a quoted token from the
/// configuration can be 100 kB long; a closing quote or punctuation is kept) and the whole
/// message at [`MAX_MESSAGE_CHARS`], marking each cut with `…`, so a diagnostic stays one
/// readable line.
pub(crate) fn bound_message(message: &str) -> String {
    let mut out = String::with_capacity(message.len().min(MAX_MESSAGE_CHARS + 8));
    let mut rest = message;
    while !rest.is_empty() {
        let blank_end = rest
            .find(|c: char| !c.is_whitespace())
            .unwrap_or(rest.len());
        out.push_str(&rest[..blank_end]);
        rest = &rest[blank_end..];
        let word_end = rest.find(char::is_whitespace).unwrap_or(rest.len());
        let word = &rest[..word_end];
        rest = &rest[word_end..];
        if word.chars().nth(MAX_QUOTED_CHARS).is_none() {
            out.push_str(word);
        } else {
            out.extend(word.chars().take(MAX_QUOTED_CHARS));
            out.push('…');
            let tail: String = word
                .chars()
                .rev()
                .take_while(|c| matches!(c, '\'' | '"' | '`' | ',' | '.' | ':' | ')' | ']'))
                .take(4)
                .collect();
            out.extend(tail.chars().rev());
        }
    }
    if let Some((cut, _)) = out.char_indices().nth(MAX_MESSAGE_CHARS) {
        out.truncate(cut);
        out.push('…');
    }
    out
}

/// A source position: file index into the parser's file table, line and column (1-based).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub(crate) struct Pos {
    /// Index into the file table (at most `MAX_FILES` entries; `u32` keeps every lexed
    /// token 8 bytes smaller).
    pub file: u32,
    pub line: u32,
    pub col: u32,
}

/// Collects diagnostics while parsing; file indexes are resolved to names at the end.
#[derive(Debug, Default)]
pub(crate) struct Reporter {
    pub files: Vec<String>,
    pub items: Vec<(Severity, Pos, String)>,
}

impl Reporter {
    pub fn report(&mut self, severity: Severity, pos: Pos, message: impl Into<String>) {
        self.items
            .push((severity, pos, bound_message(&message.into())));
    }
    pub fn error(&mut self, pos: Pos, message: impl Into<String>) {
        self.report(Severity::Error, pos, message);
    }
    pub fn warning(&mut self, pos: Pos, message: impl Into<String>) {
        self.report(Severity::Warning, pos, message);
    }
    pub fn fatal(&mut self, pos: Pos, message: impl Into<String>) {
        self.report(Severity::Fatal, pos, message);
    }
    pub fn add_file(&mut self, name: String) -> u32 {
        self.files.push(name);
        // At most `MAX_FILES` (256) files are read.
        u32::try_from(self.files.len() - 1).unwrap_or(u32::MAX)
    }
    pub fn finish(self) -> Vec<Diagnostic> {
        let files = self.files;
        self.items
            .into_iter()
            .map(|(severity, pos, message)| Diagnostic {
                severity,
                file: usize::try_from(pos.file)
                    .ok()
                    .and_then(|i| files.get(i))
                    .cloned()
                    .unwrap_or_default(),
                line: pos.line,
                col: pos.col,
                message,
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn long_words_are_cut_and_short_messages_kept() {
        assert_eq!(
            bound_message("invalid number 'abc'"),
            "invalid number 'abc'"
        );
        let word = "x".repeat(100_000);
        let cut = bound_message(&format!(
            "(VI_1) invalid interface name '{word}' - ignoring"
        ));
        let want = format!(
            "(VI_1) invalid interface name '{}…' - ignoring",
            "x".repeat(63)
        );
        assert_eq!(cut, want);
        // Multi-byte characters are counted as characters and never split.
        let wide = bound_message(&"é".repeat(200));
        assert_eq!(wide, format!("{}…", "é".repeat(64)));
    }

    #[test]
    fn many_short_words_are_capped_too() {
        let line = "ab ".repeat(50_000);
        let cut = bound_message(&line);
        assert_eq!(cut.chars().count(), MAX_MESSAGE_CHARS + 1);
        assert!(cut.ends_with('…'));
    }
}

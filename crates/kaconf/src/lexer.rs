//! Lexer: physical lines → logical lines of tokens, following keepalived's `lib/parser.c`
//! rules (comments, quotes, braces split out, no line continuation) and expanding `include`.

use std::path::{Path, PathBuf};

use crate::diag::{Pos, Reporter};
use crate::glob;
use crate::loader::{LoadError, Loader, normalize};

/// Deepest include nesting accepted (the top-level file is depth 0).
pub const MAX_INCLUDE_DEPTH: usize = 16;
/// Most files (top-level included) read for one configuration.
pub const MAX_FILES: usize = 256;
/// Most bytes of configuration text read for one configuration, over all files.
pub const MAX_TOTAL_BYTES: usize = 16 * 1024 * 1024;

/// One word of a logical line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Token {
    /// Text with surrounding double quotes removed.
    pub text: String,
    /// Where the token starts (its opening quote, if quoted).
    pub pos: Pos,
    /// True if any part of the token was inside double quotes.
    pub quoted: bool,
}

impl Token {
    /// True for an unquoted `{` or `}` token of the given kind.
    pub fn is_brace(&self, brace: char) -> bool {
        !self.quoted && self.text.len() == 1 && self.text.starts_with(brace)
    }
}

/// A non-empty list of tokens that keepalived would treat as one line
/// (braces are always lines of their own).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Line {
    pub tokens: Vec<Token>,
}

impl Line {
    pub fn keyword(&self) -> &Token {
        // Invariant: lines are only built from non-empty token lists (see `flush_line`).
        &self.tokens[0]
    }
    pub fn is_brace(&self, brace: char) -> bool {
        self.tokens.len() == 1 && self.tokens[0].is_brace(brace)
    }
}

/// Limits and state shared by the whole include tree.
struct IncludeState {
    /// Normalised paths of the files currently being read (outermost first).
    stack: Vec<PathBuf>,
    files_read: usize,
    bytes_read: usize,
}

/// Lexes `text` (named `name`) and everything it includes through `loader`.
pub(crate) fn lex_config(
    name: &str,
    text: &str,
    loader: &dyn Loader,
    reporter: &mut Reporter,
) -> Vec<Line> {
    let mut out = Vec::new();
    let mut state = IncludeState {
        stack: vec![normalize(Path::new(name))],
        files_read: 1,
        bytes_read: text.len(),
    };
    let file = reporter.add_file(name.to_owned());
    lex_text(
        Path::new(name),
        file,
        text,
        loader,
        reporter,
        &mut state,
        &mut out,
    );
    out
}

fn lex_text(
    path: &Path,
    file: u32,
    text: &str,
    loader: &dyn Loader,
    reporter: &mut Reporter,
    state: &mut IncludeState,
    out: &mut Vec<Line>,
) {
    for (index, raw) in text.lines().enumerate() {
        let line_no = u32::try_from(index + 1).unwrap_or(u32::MAX);
        let trimmed = raw.trim_start();
        let is_include = trimmed
            .strip_prefix("include")
            .is_some_and(|rest| rest.starts_with([' ', '\t']));
        let lines = lex_line(raw, file, line_no, !is_include, reporter);
        if is_include && let Some(first) = lines.first() {
            include(path, first, loader, reporter, state, out);
            continue;
        }
        out.extend(lines);
    }
}

fn include(
    including: &Path,
    line: &Line,
    loader: &dyn Loader,
    reporter: &mut Reporter,
    state: &mut IncludeState,
    out: &mut Vec<Line>,
) {
    let keyword_pos = line.keyword().pos;
    let Some(target) = line.tokens.get(1) else {
        reporter.error(keyword_pos, "include: missing file name");
        return;
    };
    let base = including.parent().unwrap_or(Path::new(""));
    let mut paths = Vec::new();
    for pattern in glob::expand_braces(&target.text) {
        let joined = base.join(&pattern);
        if glob::has_wildcards(&pattern) {
            paths.extend(expand_glob(&joined, loader));
        } else {
            paths.push(normalize(&joined));
        }
    }
    for path in paths {
        if state.stack.contains(&path) {
            reporter.error(
                target.pos,
                format!(
                    "include cycle: '{}' is already being read - ignoring",
                    path.display()
                ),
            );
            continue;
        }
        if state.stack.len() > MAX_INCLUDE_DEPTH {
            reporter.error(
                target.pos,
                format!(
                    "includes nested more than {MAX_INCLUDE_DEPTH} deep - not reading '{}'",
                    path.display()
                ),
            );
            continue;
        }
        if state.files_read >= MAX_FILES {
            reporter.error(
                target.pos,
                format!(
                    "more than {MAX_FILES} configuration files - not reading '{}'",
                    path.display()
                ),
            );
            continue;
        }
        let text = match loader.read_file(&path) {
            Ok(text) => text,
            // keepalived's plain `include` ignores missing files silently.
            Err(LoadError::NotFound) => continue,
            Err(LoadError::Other(reason)) => {
                reporter.error(
                    target.pos,
                    format!("cannot read included file '{}': {reason}", path.display()),
                );
                continue;
            }
        };
        if state.bytes_read.saturating_add(text.len()) > MAX_TOTAL_BYTES {
            reporter.error(
                target.pos,
                format!(
                    "configuration larger than {MAX_TOTAL_BYTES} bytes - not reading '{}'",
                    path.display()
                ),
            );
            continue;
        }
        state.files_read += 1;
        state.bytes_read += text.len();
        let file = reporter.add_file(path.display().to_string());
        state.stack.push(path.clone());
        lex_text(&path, file, &text, loader, reporter, state, out);
        state.stack.pop();
    }
}

/// Expands a path whose components may contain wildcards; results are sorted per level.
fn expand_glob(pattern: &Path, loader: &dyn Loader) -> Vec<PathBuf> {
    let pattern = normalize(pattern);
    let mut candidates = vec![PathBuf::new()];
    for component in pattern.components() {
        let part = component.as_os_str().to_string_lossy();
        let mut next = Vec::new();
        for base in &candidates {
            if glob::has_wildcards(&part) {
                let dir = if base.as_os_str().is_empty() {
                    Path::new(".")
                } else {
                    base.as_path()
                };
                let Ok(mut names) = loader.list_dir(dir) else {
                    continue;
                };
                names.sort();
                for name in names {
                    if glob::matches(&part, &name) {
                        next.push(base.join(name));
                    }
                }
            } else {
                next.push(base.join(part.as_ref()));
            }
            if next.len() > MAX_FILES {
                break;
            }
        }
        candidates = next;
    }
    candidates
}

/// Lexes one physical line into logical lines (braces split out when `split_braces`).
fn lex_line(
    raw: &str,
    file: u32,
    line: u32,
    split_braces: bool,
    reporter: &mut Reporter,
) -> Vec<Line> {
    let mut lines = Vec::new();
    let mut tokens: Vec<Token> = Vec::new();
    let mut current: Option<Token> = None;
    let mut in_quote = false;
    let mut quote_pos = Pos::default();
    let chars: Vec<char> = raw.chars().collect();
    let pos_at = |index: usize| Pos {
        file,
        line,
        col: u32::try_from(index + 1).unwrap_or(u32::MAX),
    };
    let mut i = 0;
    while let Some(&c) = chars.get(i) {
        if in_quote {
            let token = current.get_or_insert_with(|| new_token(pos_at(i)));
            match c {
                '"' => in_quote = false,
                '\\' if i + 1 < chars.len() => {
                    token.text.push('\\');
                    token.text.push(chars[i + 1]);
                    i += 1;
                }
                _ => token.text.push(c),
            }
            i += 1;
            continue;
        }
        match c {
            c if c.is_whitespace() => flush_token(&mut current, &mut tokens),
            '\\' if matches!(chars.get(i + 1), Some('#' | '!')) => {
                let token = current.get_or_insert_with(|| new_token(pos_at(i)));
                token.text.push(chars[i + 1]);
                i += 1;
            }
            '#' | '!' => break,
            '{' | '}' if split_braces => {
                flush_token(&mut current, &mut tokens);
                flush_line(&mut tokens, &mut lines);
                tokens.push(Token {
                    text: c.to_string(),
                    pos: pos_at(i),
                    quoted: false,
                });
                flush_line(&mut tokens, &mut lines);
            }
            '"' => {
                in_quote = true;
                quote_pos = pos_at(i);
                let token = current.get_or_insert_with(|| new_token(pos_at(i)));
                token.quoted = true;
            }
            _ => current
                .get_or_insert_with(|| new_token(pos_at(i)))
                .text
                .push(c),
        }
        i += 1;
    }
    if in_quote {
        // Like keepalived, the unterminated quoted word is dropped (never half-used).
        reporter.error(quote_pos, format!("Unmatched quote: '{}'", raw.trim()));
        current = None;
    }
    flush_token(&mut current, &mut tokens);
    // No line continuation: a trailing lone `\` sticks to the previous word, as keepalived
    // reports it ("Unknown keyword 'priority\'").
    if tokens.len() >= 2
        && let Some(last) = tokens.last()
        && !last.quoted
        && last.text == "\\"
    {
        tokens.pop();
        if let Some(previous) = tokens.last_mut() {
            previous.text.push('\\');
        }
    }
    flush_line(&mut tokens, &mut lines);
    lines
}

fn new_token(pos: Pos) -> Token {
    Token {
        text: String::new(),
        pos,
        quoted: false,
    }
}

fn flush_token(current: &mut Option<Token>, tokens: &mut Vec<Token>) {
    if let Some(token) = current.take() {
        tokens.push(token);
    }
}

fn flush_line(tokens: &mut Vec<Token>, lines: &mut Vec<Line>) {
    if !tokens.is_empty() {
        // Exact capacity: a configuration's lines are all alive until parsed, and most
        // hold one or two tokens (a grown vector holds room for four).
        let mut line = Vec::with_capacity(tokens.len());
        line.append(tokens);
        lines.push(Line { tokens: line });
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::loader::MemLoader;

    fn texts(text: &str) -> Vec<Vec<String>> {
        let mut reporter = Reporter::default();
        lex_config("t.conf", text, &MemLoader::new(), &mut reporter)
            .into_iter()
            .map(|l| l.tokens.into_iter().map(|t| t.text).collect())
            .collect()
    }

    #[test]
    fn braces_comments_quotes() {
        assert_eq!(
            texts("a { b c } # x\n\"q r\" ! y\nk \\#v\nd\"e f\"g"),
            vec![
                vec!["a"],
                vec!["{"],
                vec!["b", "c"],
                vec!["}"],
                vec!["q r"],
                vec!["k", "#v"],
                vec!["de fg"]
            ]
        );
    }

    #[test]
    fn columns_are_characters() {
        let mut reporter = Reporter::default();
        let lines = lex_config("t", "  é x \"y", &MemLoader::new(), &mut reporter);
        assert_eq!(lines[0].tokens[1].pos.col, 5);
        assert_eq!(lines[0].tokens.len(), 2, "unterminated quoted word dropped");
        assert_eq!(reporter.items.len(), 1);
        assert_eq!(reporter.items[0].1.col, 7);
    }
}

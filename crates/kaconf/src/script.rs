//! Shell-style splitting of script command strings into argv (no shell is ever run).

/// Why a command string could not be split.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum SplitError {
    Empty,
    UnterminatedQuote(char),
}

/// Splits `text` like a POSIX shell would split words: `'…'` is literal, `"…"` allows
/// backslash escapes of `"`, `\`, `$` and `` ` ``, a backslash outside quotes escapes the
/// next character, and quotes may abut other text (`a'b c'd` is one word).
pub(crate) fn split_command(text: &str) -> Result<Vec<String>, SplitError> {
    let mut words = Vec::new();
    let mut word = String::new();
    let mut in_word = false;
    let mut chars = text.chars();
    while let Some(c) = chars.next() {
        match c {
            c if c.is_whitespace() => {
                if in_word {
                    words.push(std::mem::take(&mut word));
                    in_word = false;
                }
            }
            '\'' => {
                in_word = true;
                loop {
                    match chars.next() {
                        Some('\'') => break,
                        Some(inner) => word.push(inner),
                        None => return Err(SplitError::UnterminatedQuote('\'')),
                    }
                }
            }
            '"' => {
                in_word = true;
                loop {
                    match chars.next() {
                        Some('"') => break,
                        Some('\\') => match chars.next() {
                            Some(escaped @ ('"' | '\\' | '$' | '`')) => word.push(escaped),
                            Some(other) => {
                                word.push('\\');
                                word.push(other);
                            }
                            None => return Err(SplitError::UnterminatedQuote('"')),
                        },
                        Some(inner) => word.push(inner),
                        None => return Err(SplitError::UnterminatedQuote('"')),
                    }
                }
            }
            '\\' => {
                in_word = true;
                if let Some(escaped) = chars.next() {
                    word.push(escaped);
                }
            }
            other => {
                in_word = true;
                word.push(other);
            }
        }
    }
    if in_word {
        words.push(word);
    }
    if words.is_empty() {
        Err(SplitError::Empty)
    } else {
        Ok(words)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn split(text: &str) -> Vec<String> {
        split_command(text).unwrap()
    }

    #[test]
    fn quoting() {
        assert_eq!(split("/bin/x 'WAN link' up"), ["/bin/x", "WAN link", "up"]);
        assert_eq!(split(r#"a "b \"c\"" d\ e"#), ["a", "b \"c\"", "d e"]);
        assert_eq!(split("a'b c'd  "), ["ab cd"]);
        assert_eq!(split("''"), [""]);
        assert_eq!(split_command("  "), Err(SplitError::Empty));
        assert_eq!(
            split_command("a 'b"),
            Err(SplitError::UnterminatedQuote('\''))
        );
        assert_eq!(
            split_command("a \"b"),
            Err(SplitError::UnterminatedQuote('"'))
        );
    }
}

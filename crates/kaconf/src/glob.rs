//! Minimal glob matching for `include`: `*`, `?` and bracket classes `[abc]`, `[a-z]`,
//! `[!x]`/`[^x]`, plus brace alternatives `{a,b}` expanded before matching.
//! As with glob(3), wildcards never match a leading `.` of a name, and matches are sorted.

/// Most patterns a brace expansion may produce (guards against exponential blow-up).
const MAX_BRACE_EXPANSIONS: usize = 64;

/// True if `text` contains any glob metacharacter (`*`, `?`, `[`).
pub(crate) fn has_wildcards(text: &str) -> bool {
    text.contains(['*', '?', '['])
}

/// Expands `{a,b}` alternatives (nested allowed). An unbalanced brace is taken literally.
pub(crate) fn expand_braces(pattern: &str) -> Vec<String> {
    let mut out = Vec::new();
    expand_into(pattern, &mut out);
    out
}

fn expand_into(pattern: &str, out: &mut Vec<String>) {
    if out.len() >= MAX_BRACE_EXPANSIONS {
        return;
    }
    let Some((open, close, commas)) = find_brace_group(pattern) else {
        out.push(pattern.to_owned());
        return;
    };
    let prefix = &pattern[..open];
    let suffix = &pattern[close + 1..];
    let mut start = open + 1;
    for end in commas.into_iter().chain(std::iter::once(close)) {
        let alternative = &pattern[start..end];
        expand_into(&format!("{prefix}{alternative}{suffix}"), out);
        start = end + 1;
    }
}

/// Finds the first top-level `{...}` group containing at least one top-level comma.
fn find_brace_group(pattern: &str) -> Option<(usize, usize, Vec<usize>)> {
    let bytes = pattern.as_bytes();
    let mut search_from = 0;
    while let Some(rel) = pattern.get(search_from..)?.find('{') {
        let open = search_from + rel;
        let mut depth = 0usize;
        let mut commas = Vec::new();
        for (index, &byte) in bytes.iter().enumerate().skip(open) {
            match byte {
                b'{' => depth += 1,
                b'}' => {
                    depth -= 1;
                    if depth == 0 {
                        if !commas.is_empty() {
                            return Some((open, index, commas));
                        }
                        break;
                    }
                }
                b',' if depth == 1 => commas.push(index),
                _ => {}
            }
        }
        search_from = open + 1;
    }
    None
}

/// Matches one path component `name` against one pattern component.
pub(crate) fn matches(pattern: &str, name: &str) -> bool {
    let pattern: Vec<char> = pattern.chars().collect();
    let name: Vec<char> = name.chars().collect();
    if name.first() == Some(&'.') && pattern.first() != Some(&'.') {
        return false;
    }
    match_from(&pattern, &name)
}

/// Iterative wildcard matching with single-star backtracking (linear in practice).
fn match_from(pattern: &[char], name: &[char]) -> bool {
    let (mut p, mut n) = (0usize, 0usize);
    let mut star: Option<(usize, usize)> = None;
    while n < name.len() {
        let step = match pattern.get(p) {
            Some('*') => {
                star = Some((p, n));
                p += 1;
                continue;
            }
            Some('?') => Some(p + 1),
            Some('[') => match match_class(pattern, p, name[n]) {
                Some((true, next)) => Some(next),
                Some((false, _)) => None,
                // Unterminated class: '[' is literal.
                None => (name[n] == '[').then_some(p + 1),
            },
            Some(&c) => (c == name[n]).then_some(p + 1),
            None => None,
        };
        match step {
            Some(next) => {
                p = next;
                n += 1;
            }
            None => match star {
                Some((star_p, star_n)) => {
                    p = star_p + 1;
                    n = star_n + 1;
                    star = Some((star_p, star_n + 1));
                }
                None => return false,
            },
        }
    }
    pattern[p.min(pattern.len())..].iter().all(|&c| c == '*')
}

/// Matches `c` against the class starting at `pattern[start] == '['`.
/// Returns (matched, index after `]`), or None if the class is unterminated.
fn match_class(pattern: &[char], start: usize, c: char) -> Option<(bool, usize)> {
    let mut i = start + 1;
    let negate = matches!(pattern.get(i), Some('!' | '^'));
    if negate {
        i += 1;
    }
    let mut matched = false;
    let mut first = true;
    loop {
        let &lo = pattern.get(i)?;
        if lo == ']' && !first {
            return Some((matched != negate, i + 1));
        }
        first = false;
        if pattern.get(i + 1) == Some(&'-')
            && let Some(&hi) = pattern.get(i + 2)
            && hi != ']'
        {
            if lo <= c && c <= hi {
                matched = true;
            }
            i += 3;
        } else {
            if lo == c {
                matched = true;
            }
            i += 1;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wildcards() {
        assert!(matches("*.conf", "a.conf"));
        assert!(!matches("*.conf", "a.conf.bak"));
        assert!(!matches("*.conf", ".hidden.conf"));
        assert!(matches(".*.conf", ".hidden.conf"));
        assert!(matches("vi_?.conf", "vi_1.conf"));
        assert!(!matches("vi_?.conf", "vi_12.conf"));
        assert!(matches("vi_[0-9].conf", "vi_7.conf"));
        assert!(!matches("vi_[!0-9].conf", "vi_7.conf"));
        assert!(matches("vi_[^0-9].conf", "vi_x.conf"));
        assert!(matches("a*b*c", "axxbyyc"));
        assert!(!matches("a*b*c", "axxbyy"));
        assert!(matches("[]]x", "]x"));
        assert!(matches("[x", "[x"));
        assert!(matches("*", "anything"));
    }

    #[test]
    fn braces() {
        assert_eq!(expand_braces("a{b,c}d"), vec!["abd", "acd"]);
        assert_eq!(expand_braces("{x,y{1,2}}"), vec!["x", "y1", "y2"]);
        assert_eq!(expand_braces("no{brace"), vec!["no{brace"]);
        assert_eq!(expand_braces("single{x}"), vec!["single{x}"]);
        assert!(expand_braces(&"{a,b}".repeat(20)).len() <= MAX_BRACE_EXPANSIONS);
    }
}

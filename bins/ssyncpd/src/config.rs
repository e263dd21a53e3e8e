//! The configuration file: one `ssyncp { … }` block in keepalived.conf's style.
//!
//! ```text
//! # comments start with '#' or '!'
//! ssyncp {
//!     interface eth2                    # sync link (required)
//!     sync_id 10                        # 0..=255 (required)
//!     follow_group G1                   # or: follow_instance VI_1, or: role master|backup
//!     vrrpd_socket /run/vrrpd/sync.sock # where vrrpd listens (with follow_*)
//!     auth_key_id 1                     # optional HMAC-SHA256-128 trailer …
//!     auth_secret "a long shared secret"# … with this secret
//!     mtu 1500
//!     refresh_period 60                 # seconds; every entry is re-sent this often
//! }
//! ```
//!
//! Statements end at a newline or `;`. Values with spaces are written in double quotes
//! (`\"` and `\\` escape). Every error names `FILE:LINE:COL`.

use std::fmt;
use std::path::{Path, PathBuf};

/// Default Unix socket vrrpd listens on for the coupling.
pub const DEFAULT_VRRPD_SOCKET: &str = "/run/vrrpd/sync.sock";
/// Largest configuration file read (it holds one small block).
const MAX_FILE_LEN: u64 = 1 << 20;

/// What the sync role follows.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RoleSource {
    /// A VRRP instance of the running vrrpd (by name).
    Instance(String),
    /// A VRRP sync group of the running vrrpd (by name).
    Group(String),
    /// A fixed role, without vrrpd (tests, or a node that only ever receives).
    Fixed(FixedRole),
}

/// A role given in the configuration or on the command line.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FixedRole {
    /// Always send.
    Master,
    /// Always receive and apply.
    Backup,
}

/// The validated configuration.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Config {
    /// Sync interface (the raw socket is bound to it; its IPv4 address is the Sender ID).
    pub interface: String,
    /// Sync ID (the sync group on the wire).
    pub sync_id: u8,
    /// What the role follows.
    pub role: RoleSource,
    /// vrrpd's coupling socket.
    pub vrrpd_socket: PathBuf,
    /// Authentication: key id and secret.
    pub auth: Option<(u8, Vec<u8>)>,
    /// Link MTU messages are packed to.
    pub mtu: usize,
    /// Every entry is re-advertised at least this often (seconds).
    pub refresh_period_secs: u32,
    /// Bulk pacing: messages sent per millisecond during a bulk resync.
    pub bulk_rate: usize,
}

/// Default bulk pacing (messages per millisecond): a 100,000-entry bulk (about 3,200
/// messages at MTU 1500) leaves in about 13 ms; the receiver's thread and its 24 MiB queue
/// absorb the burst.
pub const DEFAULT_BULK_RATE: usize = 256;

/// A configuration problem, located in the file.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{file}:{line}:{col}: {message}")]
pub struct ConfigError {
    /// The file.
    pub file: String,
    /// 1-based line.
    pub line: u32,
    /// 1-based column.
    pub col: u32,
    /// What is wrong.
    pub message: String,
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum Tok {
    Word(String),
    Open,
    Close,
    End,
}

#[derive(Debug, Clone)]
struct Token {
    tok: Tok,
    line: u32,
    col: u32,
}

impl fmt::Display for Tok {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Tok::Word(w) => write!(f, "{w:?}"),
            Tok::Open => f.write_str("'{'"),
            Tok::Close => f.write_str("'}'"),
            Tok::End => f.write_str("end of statement"),
        }
    }
}

struct Lexer<'a> {
    file: &'a str,
}

impl Lexer<'_> {
    fn err(&self, line: u32, col: u32, message: impl Into<String>) -> ConfigError {
        ConfigError {
            file: self.file.to_owned(),
            line,
            col,
            message: message.into(),
        }
    }

    fn tokens(&self, text: &str) -> Result<Vec<Token>, ConfigError> {
        let mut out = Vec::new();
        let mut chars = text.chars().peekable();
        let (mut line, mut col) = (1u32, 1u32);
        while let Some(&c) = chars.peek() {
            let (tl, tc) = (line, col);
            match c {
                '\n' | ';' => {
                    chars.next();
                    out.push(Token {
                        tok: Tok::End,
                        line: tl,
                        col: tc,
                    });
                    if c == '\n' {
                        line += 1;
                        col = 1;
                    } else {
                        col += 1;
                    }
                }
                '#' | '!' => {
                    while chars.peek().is_some_and(|&c| c != '\n') {
                        chars.next();
                    }
                }
                '{' | '}' => {
                    chars.next();
                    col += 1;
                    let tok = if c == '{' { Tok::Open } else { Tok::Close };
                    out.push(Token {
                        tok,
                        line: tl,
                        col: tc,
                    });
                }
                '"' => {
                    chars.next();
                    col += 1;
                    let mut word = String::new();
                    loop {
                        match chars.next() {
                            None | Some('\n') => {
                                return Err(self.err(tl, tc, "unterminated quoted string"));
                            }
                            Some('"') => {
                                col += 1;
                                break;
                            }
                            Some('\\') => {
                                col += 1;
                                match chars.next() {
                                    Some(e @ ('"' | '\\')) => {
                                        col += 1;
                                        word.push(e);
                                    }
                                    _ => {
                                        return Err(self.err(
                                            line,
                                            col,
                                            "only \\\" and \\\\ may be escaped",
                                        ));
                                    }
                                }
                            }
                            Some(other) => {
                                col += 1;
                                word.push(other);
                            }
                        }
                    }
                    out.push(Token {
                        tok: Tok::Word(word),
                        line: tl,
                        col: tc,
                    });
                }
                c if c.is_whitespace() => {
                    chars.next();
                    col += 1;
                }
                _ => {
                    let mut word = String::new();
                    while let Some(&c) = chars.peek() {
                        if c.is_whitespace() || matches!(c, ';' | '{' | '}' | '#' | '!' | '"') {
                            break;
                        }
                        word.push(c);
                        chars.next();
                        col += 1;
                    }
                    out.push(Token {
                        tok: Tok::Word(word),
                        line: tl,
                        col: tc,
                    });
                }
            }
        }
        out.push(Token {
            tok: Tok::End,
            line,
            col,
        });
        Ok(out)
    }
}

/// Reads and parses a configuration file.
pub fn load(path: &Path) -> Result<Config, ConfigError> {
    let name = path.display().to_string();
    let io_err = |e: std::io::Error| ConfigError {
        file: name.clone(),
        line: 0,
        col: 0,
        message: format!("cannot read: {e}"),
    };
    let meta = std::fs::metadata(path).map_err(io_err)?;
    if meta.len() > MAX_FILE_LEN {
        return Err(ConfigError {
            file: name.clone(),
            line: 0,
            col: 0,
            message: format!("file larger than {MAX_FILE_LEN} bytes"),
        });
    }
    let text = std::fs::read_to_string(path).map_err(io_err)?;
    parse(&name, &text)
}

/// Parses configuration text; `file` is used in error positions only.
pub fn parse(file: &str, text: &str) -> Result<Config, ConfigError> {
    let lexer = Lexer { file };
    let tokens = lexer.tokens(text)?;
    let mut p = Parser {
        lexer: &lexer,
        tokens,
        pos: 0,
    };
    p.config()
}

struct Parser<'a> {
    lexer: &'a Lexer<'a>,
    tokens: Vec<Token>,
    pos: usize,
}

#[derive(Default)]
struct Raw {
    interface: Option<String>,
    sync_id: Option<u8>,
    role: Option<(RoleSource, u32, u32)>,
    vrrpd_socket: Option<PathBuf>,
    key_id: Option<(u8, u32, u32)>,
    secret: Option<(Vec<u8>, u32, u32)>,
    mtu: Option<usize>,
    refresh: Option<u32>,
    bulk_rate: Option<usize>,
}

impl Parser<'_> {
    fn peek(&self) -> Option<&Token> {
        self.tokens.get(self.pos)
    }

    fn next(&mut self) -> Option<Token> {
        let t = self.tokens.get(self.pos).cloned();
        self.pos += 1;
        t
    }

    fn last_pos(&self) -> (u32, u32) {
        self.tokens.last().map_or((1, 1), |t| (t.line, t.col))
    }

    fn err_at(&self, t: &Token, message: impl Into<String>) -> ConfigError {
        self.lexer.err(t.line, t.col, message)
    }

    fn skip_ends(&mut self) {
        while self.peek().is_some_and(|t| t.tok == Tok::End) {
            self.pos += 1;
        }
    }

    fn config(&mut self) -> Result<Config, ConfigError> {
        let mut found: Option<(Raw, u32, u32)> = None;
        loop {
            self.skip_ends();
            let Some(t) = self.next() else {
                break;
            };
            match &t.tok {
                Tok::Word(w) if w == "ssyncp" => {
                    if found.is_some() {
                        return Err(self.err_at(&t, "only one ssyncp block is allowed"));
                    }
                    let open = self.next();
                    if open.as_ref().map(|o| &o.tok) != Some(&Tok::Open) {
                        let o = open.unwrap_or(t.clone());
                        return Err(self.err_at(&o, "expected '{' after ssyncp"));
                    }
                    found = Some((self.block()?, t.line, t.col));
                }
                other => {
                    return Err(self.err_at(&t, format!("expected \"ssyncp\", found {other}")));
                }
            }
        }
        let Some((raw, line, col)) = found else {
            let (line, col) = self.last_pos();
            return Err(self.lexer.err(line, col, "no ssyncp block"));
        };
        let missing = |what: &str| {
            self.lexer
                .err(line, col, format!("ssyncp: {what} is required"))
        };
        let interface = raw.interface.ok_or_else(|| missing("interface"))?;
        let sync_id = raw.sync_id.ok_or_else(|| missing("sync_id"))?;
        let role = raw
            .role
            .map(|(r, _, _)| r)
            .ok_or_else(|| missing("one of follow_instance, follow_group or role"))?;
        let auth = match (raw.key_id, raw.secret) {
            (Some((id, _, _)), Some((secret, _, _))) => Some((id, secret)),
            (None, None) => None,
            (Some((_, l, c)), None) => {
                return Err(self.lexer.err(l, c, "auth_key_id needs auth_secret"));
            }
            (None, Some((_, l, c))) => {
                return Err(self.lexer.err(l, c, "auth_secret needs auth_key_id"));
            }
        };
        Ok(Config {
            interface,
            sync_id,
            role,
            vrrpd_socket: raw
                .vrrpd_socket
                .unwrap_or_else(|| PathBuf::from(DEFAULT_VRRPD_SOCKET)),
            auth,
            mtu: raw.mtu.unwrap_or(1500),
            refresh_period_secs: raw.refresh.unwrap_or(60),
            bulk_rate: raw.bulk_rate.unwrap_or(DEFAULT_BULK_RATE),
        })
    }

    /// Parses statements up to the closing brace.
    fn block(&mut self) -> Result<Raw, ConfigError> {
        let mut raw = Raw::default();
        loop {
            self.skip_ends();
            let Some(t) = self.next() else {
                let (line, col) = self.last_pos();
                return Err(self.lexer.err(line, col, "missing '}' closing ssyncp"));
            };
            let key = match &t.tok {
                Tok::Close => return Ok(raw),
                Tok::Word(w) => w.clone(),
                other => return Err(self.err_at(&t, format!("expected a keyword, found {other}"))),
            };
            let value = self.value(&t, &key)?;
            self.statement(&mut raw, &t, &key, value)?;
            match self.peek() {
                Some(Token { tok: Tok::End, .. }) => {}
                Some(Token {
                    tok: Tok::Close, ..
                }) => {}
                Some(next) => {
                    let next = next.clone();
                    return Err(self.err_at(&next, format!("{key} takes one value")));
                }
                None => {}
            }
        }
    }

    fn value(&mut self, key_tok: &Token, key: &str) -> Result<Token, ConfigError> {
        match self.peek() {
            Some(Token {
                tok: Tok::Word(_), ..
            }) => Ok(self.next().unwrap_or_else(|| key_tok.clone())),
            _ => Err(self.err_at(key_tok, format!("{key} needs a value"))),
        }
    }

    fn statement(
        &mut self,
        raw: &mut Raw,
        key_tok: &Token,
        key: &str,
        value: Token,
    ) -> Result<(), ConfigError> {
        let Tok::Word(v) = &value.tok else {
            return Err(self.err_at(&value, "expected a value"));
        };
        let number = |max: u64| -> Result<u64, ConfigError> {
            v.parse::<u64>()
                .ok()
                .filter(|n| *n <= max)
                .ok_or_else(|| self.err_at(&value, format!("{key}: expected an integer 0..={max}")))
        };
        let set_role = |raw: &mut Raw, role: RoleSource| -> Result<(), ConfigError> {
            if raw.role.is_some() {
                return Err(self.err_at(
                    key_tok,
                    "only one of follow_instance, follow_group and role may be given",
                ));
            }
            raw.role = Some((role, key_tok.line, key_tok.col));
            Ok(())
        };
        match key {
            "interface" => {
                if v.is_empty() || v.len() > 15 || v.contains('/') {
                    return Err(self.err_at(&value, "interface: not a valid interface name"));
                }
                raw.interface = Some(v.clone());
            }
            "sync_id" => raw.sync_id = Some(number(255)? as u8),
            "follow_instance" => set_role(raw, RoleSource::Instance(v.clone()))?,
            "follow_group" => set_role(raw, RoleSource::Group(v.clone()))?,
            "role" => {
                let role = match v.to_ascii_lowercase().as_str() {
                    "master" => FixedRole::Master,
                    "backup" => FixedRole::Backup,
                    _ => return Err(self.err_at(&value, "role: expected master or backup")),
                };
                set_role(raw, RoleSource::Fixed(role))?;
            }
            "vrrpd_socket" => {
                if v.is_empty() || v.len() > 107 {
                    return Err(self.err_at(&value, "vrrpd_socket: path must be 1..=107 bytes"));
                }
                raw.vrrpd_socket = Some(PathBuf::from(v));
            }
            "auth_key_id" => raw.key_id = Some((number(255)? as u8, key_tok.line, key_tok.col)),
            "auth_secret" => {
                if v.len() < 8 || v.len() > 256 {
                    return Err(self.err_at(&value, "auth_secret: use 8..=256 bytes"));
                }
                raw.secret = Some((v.as_bytes().to_vec(), key_tok.line, key_tok.col));
            }
            "mtu" => {
                let mtu = number(65535)?;
                if mtu < 576 {
                    return Err(self.err_at(&value, "mtu: at least 576"));
                }
                raw.mtu = Some(mtu as usize);
            }
            "refresh_period" => raw.refresh = Some(number(86_400)? as u32),
            "bulk_rate" => {
                let rate = number(65_535)?;
                if rate == 0 {
                    return Err(self.err_at(&value, "bulk_rate: at least 1 message per ms"));
                }
                raw.bulk_rate = Some(rate as usize);
            }
            other => return Err(self.err_at(key_tok, format!("unknown keyword {other:?}"))),
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_a_full_block_with_both_separators() {
        let text = "! test\nssyncp {\n  interface eth2; sync_id 10\n  follow_group G1 # comment\n  vrrpd_socket /tmp/s.sock\n  auth_key_id 1\n  auth_secret \"a \\\"long\\\" secret\"\n  mtu 9000; refresh_period 30\n}\n";
        let c = parse("x.conf", text).unwrap();
        assert_eq!(c.interface, "eth2");
        assert_eq!(c.sync_id, 10);
        assert_eq!(c.role, RoleSource::Group("G1".into()));
        assert_eq!(c.vrrpd_socket, PathBuf::from("/tmp/s.sock"));
        assert_eq!(c.auth, Some((1, b"a \"long\" secret".to_vec())));
        assert_eq!((c.mtu, c.refresh_period_secs), (9000, 30));
    }

    #[test]
    fn one_line_form_and_defaults() {
        let c = parse("x", "ssyncp { interface eth1; sync_id 7; role backup }").unwrap();
        assert_eq!(c.role, RoleSource::Fixed(FixedRole::Backup));
        assert_eq!(c.vrrpd_socket, PathBuf::from(DEFAULT_VRRPD_SOCKET));
        assert_eq!((c.mtu, c.refresh_period_secs, c.auth), (1500, 60, None));
        assert_eq!(c.bulk_rate, DEFAULT_BULK_RATE);
    }

    fn error(text: &str) -> String {
        parse("f.conf", text).unwrap_err().to_string()
    }

    #[test]
    fn errors_carry_positions() {
        assert_eq!(
            error("ssyncp {\n interface eth1\n sync_id 300\n role master\n}"),
            "f.conf:3:10: sync_id: expected an integer 0..=255"
        );
        assert_eq!(
            error("ssyncp {\n  bogus 1\n}"),
            "f.conf:2:3: unknown keyword \"bogus\""
        );
        assert_eq!(
            error("ssyncp {\n interface eth1\n sync_id 1\n}"),
            "f.conf:1:1: ssyncp: one of follow_instance, follow_group or role is required"
        );
        assert_eq!(
            error("ssyncp { interface eth1; sync_id 1; role master; follow_group G }"),
            "f.conf:1:50: only one of follow_instance, follow_group and role may be given"
        );
        assert_eq!(
            error("ssyncp { interface eth1 eth2 }"),
            "f.conf:1:25: interface takes one value"
        );
        assert_eq!(
            error("ssyncp { interface \"eth1 }"),
            "f.conf:1:20: unterminated quoted string"
        );
        assert_eq!(
            error("ssyncp { interface eth1"),
            "f.conf:1:24: missing '}' closing ssyncp"
        );
        assert_eq!(
            error("vrrp_instance X {}"),
            "f.conf:1:1: expected \"ssyncp\", found \"vrrp_instance\""
        );
        assert_eq!(error(""), "f.conf:1:1: no ssyncp block");
        assert_eq!(
            error("ssyncp { interface e; sync_id 1; role master; bulk_rate 0 }"),
            "f.conf:1:57: bulk_rate: at least 1 message per ms"
        );
        assert_eq!(
            error("ssyncp { interface e; sync_id 1; role master; auth_key_id 2 }"),
            "f.conf:1:47: auth_key_id needs auth_secret"
        );
    }

    #[test]
    fn arbitrary_bytes_never_panic() {
        let samples = [
            "{",
            "}",
            "ssyncp",
            "ssyncp {",
            "ssyncp { mtu",
            "\"\\",
            ";;;",
            "ssyncp { role }",
        ];
        for s in samples {
            assert!(parse("f", s).is_err(), "{s:?}");
        }
    }
}

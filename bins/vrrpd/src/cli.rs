//! The command line: a hand-written parser for a handful of options.

use std::path::PathBuf;

/// Default configuration file, as keepalived's.
pub const DEFAULT_CONFIG: &str = "/etc/keepalived/keepalived.conf";

/// Default status and control socket.
pub const DEFAULT_CONTROL_SOCKET: &str = "/run/vrrpd/vrrpd.sock";

/// Usage text printed by `--help` and after a command-line error.
pub const USAGE: &str = "\
usage: vrrpd [-f FILE] [-t] [-l LEVEL] [--pid-file PATH] [--control-socket PATH]
             [--metrics ADDR:PORT] [--sync-socket PATH] [--sync-commit-timeout MS]
       vrrpd status [--json] [--control-socket PATH]
       vrrpd events [--control-socket PATH]
  -f, --use-file FILE     keepalived.conf to use (default /etc/keepalived/keepalived.conf)
  -t, --config-test       check the configuration, print diagnostics and exit
                          (0 clean or warnings only, 5 errors, 4 fatal)
  -l, --log-level LEVEL   error, warn, info (default), debug or trace
      --pid-file PATH     write our pid there; refuse to start if a live process holds it
      --control-socket PATH
                          status/events socket (default /run/vrrpd/vrrpd.sock;
                          `none` disables it)
      --metrics ADDR:PORT serve Prometheus text metrics there (opt-in; use loopback)
      --sync-socket PATH  accept ssyncpd (connection-state sync) there; promotions then
                          wait for its commit before installing VIPs (off by default)
      --sync-commit-timeout MS
                          longest such wait (default 1000)
      --json              (status) print JSON instead of a table
  -v, --version           print the version and exit
  -h, --help              print this help and exit";

/// Log verbosity.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LogLevel {
    /// Errors only.
    Error,
    /// Errors and warnings.
    Warn,
    /// State changes (the default).
    Info,
    /// Per-packet and per-effect detail.
    Debug,
    /// Everything.
    Trace,
}

impl LogLevel {
    /// The matching `tracing` level.
    pub fn to_tracing(self) -> tracing::Level {
        match self {
            LogLevel::Error => tracing::Level::ERROR,
            LogLevel::Warn => tracing::Level::WARN,
            LogLevel::Info => tracing::Level::INFO,
            LogLevel::Debug => tracing::Level::DEBUG,
            LogLevel::Trace => tracing::Level::TRACE,
        }
    }
}

/// Options for running or checking.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Options {
    /// Configuration file.
    pub config: PathBuf,
    /// Log verbosity.
    pub log_level: LogLevel,
    /// Pid file to hold while running.
    pub pid_file: Option<PathBuf>,
    /// Status and control socket (`None`: disabled).
    pub control_socket: Option<PathBuf>,
    /// Prometheus metrics listen address (opt-in).
    pub metrics: Option<std::net::SocketAddr>,
    /// ssyncpd coupling socket (`None`: no coupling, sync effects acknowledged at once).
    pub sync_socket: Option<PathBuf>,
    /// Longest wait for ssyncpd's commit on promotion, in milliseconds.
    pub sync_commit_timeout_ms: u64,
}

/// Options of the client subcommands (`status`, `events`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClientOptions {
    /// Socket of the running daemon.
    pub control_socket: PathBuf,
    /// `status --json`.
    pub json: bool,
}

/// What the command line asks for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Command {
    /// Run the daemon in the foreground.
    Run(Options),
    /// Check the configuration (`-t`).
    Check(Options),
    /// `vrrpd status`: print the running daemon's instances and groups.
    Status(ClientOptions),
    /// `vrrpd events`: stream state changes as JSON lines.
    Events(ClientOptions),
    /// Print the version.
    Version,
    /// Print the usage.
    Help,
}

/// A command-line mistake.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CliError(pub String);

impl std::fmt::Display for CliError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for CliError {}

fn parse_level(text: &str) -> Result<LogLevel, CliError> {
    Ok(match text.to_ascii_lowercase().as_str() {
        "error" => LogLevel::Error,
        "warn" | "warning" => LogLevel::Warn,
        "info" => LogLevel::Info,
        "debug" => LogLevel::Debug,
        "trace" => LogLevel::Trace,
        other => return Err(CliError(format!("unknown log level {other:?}"))),
    })
}

/// Parses the arguments after the program name.
pub fn parse<I: IntoIterator<Item = String>>(args: I) -> Result<Command, CliError> {
    let mut config = PathBuf::from(DEFAULT_CONFIG);
    let mut check = false;
    let mut log_level = LogLevel::Info;
    let mut pid_file = None;
    let mut control_socket = Some(PathBuf::from(DEFAULT_CONTROL_SOCKET));
    let mut metrics = None;
    let mut sync_socket = None;
    let mut sync_commit_timeout_ms = 1000;
    let mut json = false;
    let mut subcommand: Option<String> = None;
    let mut args = args.into_iter().peekable();
    if let Some(first) = args.peek()
        && (first == "status" || first == "events")
    {
        subcommand = args.next();
    }
    while let Some(arg) = args.next() {
        // Accept both `--opt VALUE` and `--opt=VALUE`.
        let (name, inline) = match arg.split_once('=') {
            Some((n, v)) if n.starts_with("--") => (n.to_owned(), Some(v.to_owned())),
            _ => (arg.clone(), None),
        };
        let mut value = |what: &str| -> Result<String, CliError> {
            match inline.clone().or_else(|| args.next()) {
                Some(v) => Ok(v),
                None => Err(CliError(format!("{name} needs {what}"))),
            }
        };
        match name.as_str() {
            "-f" | "--use-file" => config = PathBuf::from(value("a file")?),
            "-t" | "--config-test" => check = true,
            "-l" | "--log-level" => log_level = parse_level(&value("a level")?)?,
            "--pid-file" => pid_file = Some(PathBuf::from(value("a path")?)),
            "--control-socket" => {
                let v = value("a path")?;
                control_socket = (v != "none").then(|| PathBuf::from(v));
            }
            "--metrics" => {
                let v = value("an address:port")?;
                metrics =
                    Some(v.parse().map_err(|_| {
                        CliError(format!("--metrics needs ADDRESS:PORT, got {v:?}"))
                    })?);
            }
            "--sync-socket" => sync_socket = Some(PathBuf::from(value("a path")?)),
            "--sync-commit-timeout" => {
                let v = value("milliseconds")?;
                sync_commit_timeout_ms = v
                    .parse()
                    .ok()
                    .filter(|ms| (1..=60_000).contains(ms))
                    .ok_or_else(|| {
                        CliError(format!(
                            "--sync-commit-timeout needs 1..=60000 ms, got {v:?}"
                        ))
                    })?;
            }
            "--json" => json = true,
            "-v" | "--version" => return Ok(Command::Version),
            "-h" | "--help" => return Ok(Command::Help),
            other => return Err(CliError(format!("unknown argument {other:?}"))),
        }
    }
    if let Some(sub) = subcommand {
        let client = ClientOptions {
            control_socket: control_socket
                .ok_or_else(|| CliError(format!("{sub} needs a control socket")))?,
            json,
        };
        return Ok(if sub == "status" {
            Command::Status(client)
        } else {
            Command::Events(client)
        });
    }
    if json {
        return Err(CliError("--json only applies to `vrrpd status`".into()));
    }
    let options = Options {
        config,
        log_level,
        pid_file,
        control_socket,
        metrics,
        sync_socket,
        sync_commit_timeout_ms,
    };
    Ok(if check {
        Command::Check(options)
    } else {
        Command::Run(options)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn p(args: &[&str]) -> Result<Command, CliError> {
        parse(args.iter().map(|s| s.to_string()))
    }

    #[test]
    fn check_and_run_forms() {
        let Command::Check(o) = p(&["-t", "-f", "/x.conf"]).unwrap() else {
            panic!("expected check");
        };
        assert_eq!(o.config, PathBuf::from("/x.conf"));
        let Command::Run(o) = p(&["--use-file=/y", "-l", "debug", "--pid-file", "/p"]).unwrap()
        else {
            panic!("expected run");
        };
        assert_eq!(o.log_level, LogLevel::Debug);
        assert_eq!(o.pid_file, Some(PathBuf::from("/p")));
        assert_eq!(o.config, PathBuf::from("/y"));
    }

    #[test]
    fn errors_and_info_commands() {
        assert_eq!(p(&["--version"]).unwrap(), Command::Version);
        assert_eq!(p(&["-h"]).unwrap(), Command::Help);
        assert!(p(&["-f"]).is_err());
        assert!(p(&["-l", "loud"]).is_err());
        assert!(p(&["--bogus"]).is_err());
        let Command::Run(o) = p(&[]).unwrap() else {
            panic!("expected run");
        };
        assert_eq!(o.config, PathBuf::from(DEFAULT_CONFIG));
        assert_eq!(
            o.control_socket,
            Some(PathBuf::from(DEFAULT_CONTROL_SOCKET))
        );
        assert!(p(&["--metrics", "nope"]).is_err());
        assert!(p(&["--json"]).is_err());
    }

    #[test]
    fn subcommands_and_sockets() {
        let Command::Status(c) = p(&["status", "--json", "--control-socket", "/s"]).unwrap() else {
            panic!("expected status");
        };
        assert!(c.json);
        assert_eq!(c.control_socket, PathBuf::from("/s"));
        assert!(matches!(p(&["events"]).unwrap(), Command::Events(_)));
        assert!(p(&["status", "--control-socket", "none"]).is_err());
        let Command::Run(o) = p(&["--control-socket=none", "--metrics", "127.0.0.1:9650"]).unwrap()
        else {
            panic!("expected run");
        };
        assert_eq!(o.control_socket, None);
        assert_eq!(o.metrics, Some("127.0.0.1:9650".parse().unwrap()));
    }
}

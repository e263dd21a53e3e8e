//! The command line.

use std::path::PathBuf;

use crate::config::FixedRole;

/// Default configuration file.
pub const DEFAULT_CONFIG: &str = "/etc/ssyncpd/ssyncpd.conf";

/// Usage text.
pub const USAGE: &str = "\
usage: ssyncpd [-f FILE] [-t] [-l LEVEL] [--role master|backup]
  -f, --config FILE      configuration (default /etc/ssyncpd/ssyncpd.conf)
  -t, --config-test      check the configuration and exit (0 good, 1 bad)
  -l, --log-level LEVEL  error, warn, info (default), debug or trace
      --role ROLE        run standalone with a fixed role, ignoring follow_* (tests)
  -v, --version          print the version
  -h, --help             print this help";

/// Options for running.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Options {
    /// Configuration file.
    pub config: PathBuf,
    /// Log level name (as `tracing` understands it).
    pub log_level: tracing::Level,
    /// Fixed role overriding the configuration's.
    pub role: Option<FixedRole>,
}

/// What the command line asks for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Command {
    /// Run the daemon.
    Run(Options),
    /// Check the configuration.
    Check(Options),
    /// Print the version.
    Version,
    /// Print the usage.
    Help,
}

/// A command-line mistake.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct CliError(pub String);

/// Parses the arguments after the program name.
pub fn parse<I: IntoIterator<Item = String>>(args: I) -> Result<Command, CliError> {
    let mut options = Options {
        config: PathBuf::from(DEFAULT_CONFIG),
        log_level: tracing::Level::INFO,
        role: None,
    };
    let mut check = false;
    let mut args = args.into_iter();
    while let Some(arg) = args.next() {
        let (name, inline) = match arg.split_once('=') {
            Some((n, v)) if n.starts_with("--") => (n.to_owned(), Some(v.to_owned())),
            _ => (arg.clone(), None),
        };
        let mut value = |what: &str| {
            inline
                .clone()
                .or_else(|| args.next())
                .ok_or_else(|| CliError(format!("{name} needs {what}")))
        };
        match name.as_str() {
            "-f" | "--config" => options.config = PathBuf::from(value("a file")?),
            "-t" | "--config-test" => check = true,
            "-l" | "--log-level" => {
                options.log_level = match value("a level")?.to_ascii_lowercase().as_str() {
                    "error" => tracing::Level::ERROR,
                    "warn" | "warning" => tracing::Level::WARN,
                    "info" => tracing::Level::INFO,
                    "debug" => tracing::Level::DEBUG,
                    "trace" => tracing::Level::TRACE,
                    other => return Err(CliError(format!("unknown log level {other:?}"))),
                }
            }
            "--role" => {
                options.role = Some(match value("a role")?.to_ascii_lowercase().as_str() {
                    "master" => FixedRole::Master,
                    "backup" => FixedRole::Backup,
                    other => return Err(CliError(format!("unknown role {other:?}"))),
                })
            }
            "-v" | "--version" => return Ok(Command::Version),
            "-h" | "--help" => return Ok(Command::Help),
            other => return Err(CliError(format!("unknown argument {other:?}"))),
        }
    }
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
    fn forms() {
        let Command::Run(o) = p(&["-f", "/x", "--role=backup", "-l", "debug"]).unwrap() else {
            panic!("run expected");
        };
        assert_eq!(o.config, PathBuf::from("/x"));
        assert_eq!(o.role, Some(FixedRole::Backup));
        assert_eq!(o.log_level, tracing::Level::DEBUG);
        assert!(matches!(p(&["-t"]).unwrap(), Command::Check(_)));
        assert_eq!(p(&["-v"]).unwrap(), Command::Version);
        assert!(p(&["--role", "boss"]).is_err());
        assert!(p(&["-f"]).is_err());
        assert!(p(&["--what"]).is_err());
    }
}

//! `ssyncpd` entry point.
#![forbid(unsafe_code)]

use std::io::IsTerminal;
use std::process::ExitCode;

use ssyncpd::cli::{self, Command, USAGE};
use ssyncpd::config::{self, RoleSource};
use ssyncpd::daemon::Daemon;

fn main() -> ExitCode {
    let command = match cli::parse(std::env::args().skip(1)) {
        Ok(c) => c,
        Err(e) => {
            eprintln!("ssyncpd: {e}\n{USAGE}");
            return ExitCode::from(2);
        }
    };
    let options = match command {
        Command::Version => {
            println!("ssyncpd {}", env!("CARGO_PKG_VERSION"));
            return ExitCode::SUCCESS;
        }
        Command::Help => {
            println!("{USAGE}");
            return ExitCode::SUCCESS;
        }
        Command::Check(options) => {
            return match config::load(&options.config) {
                Ok(_) => ExitCode::SUCCESS,
                Err(e) => {
                    eprintln!("{e}");
                    ExitCode::from(1)
                }
            };
        }
        Command::Run(options) => options,
    };
    tracing_subscriber::fmt()
        .with_writer(std::io::stderr)
        .with_ansi(std::io::stderr().is_terminal())
        .with_max_level(options.log_level)
        .with_target(false)
        .init();
    let mut cfg = match config::load(&options.config) {
        Ok(c) => c,
        Err(e) => {
            tracing::error!("{e}");
            return ExitCode::from(1);
        }
    };
    if let Some(role) = options.role {
        cfg.role = RoleSource::Fixed(role);
    }
    match Daemon::start(&cfg).and_then(Daemon::run) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            tracing::error!("{e}");
            ExitCode::from(1)
        }
    }
}

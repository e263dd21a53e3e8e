//! `vrrpd` entry point: parse the command line, set up logging, run the daemon.
#![forbid(unsafe_code)]

use std::io::{IsTerminal, Write};
use std::process::ExitCode;

use vrrpd::cli::{self, Command, USAGE};
use vrrpd::{control, daemon, pidfile::PidFile, status};

fn main() -> ExitCode {
    let command = match cli::parse(std::env::args().skip(1)) {
        Ok(c) => c,
        Err(e) => {
            let _ = writeln!(std::io::stderr(), "vrrpd: {e}\n{USAGE}");
            return ExitCode::from(2);
        }
    };
    match command {
        Command::Version => {
            let _ = writeln!(std::io::stdout(), "vrrpd {}", env!("CARGO_PKG_VERSION"));
            ExitCode::SUCCESS
        }
        Command::Help => {
            let _ = writeln!(std::io::stdout(), "{USAGE}");
            ExitCode::SUCCESS
        }
        Command::Check(options) => ExitCode::from(daemon::check_config(&options.config)),
        Command::Status(client) => match control::fetch_status(&client.control_socket) {
            Ok(json) => {
                if client.json {
                    let _ = write!(std::io::stdout(), "{json}");
                    return ExitCode::SUCCESS;
                }
                match serde_json::from_str::<status::Status>(&json) {
                    Ok(s) => {
                        let _ = write!(std::io::stdout(), "{}", status::render_table(&s));
                        ExitCode::SUCCESS
                    }
                    Err(e) => {
                        let _ = writeln!(
                            std::io::stderr(),
                            "vrrpd: unexpected answer from the daemon: {e}"
                        );
                        ExitCode::from(1)
                    }
                }
            }
            Err(e) => {
                let _ = writeln!(
                    std::io::stderr(),
                    "vrrpd: cannot reach the daemon at {}: {e}",
                    client.control_socket.display()
                );
                ExitCode::from(1)
            }
        },
        Command::Events(client) => {
            match control::stream_events(&client.control_socket, &mut std::io::stdout()) {
                Ok(()) => ExitCode::SUCCESS,
                Err(e) => {
                    let _ = writeln!(
                        std::io::stderr(),
                        "vrrpd: events from {}: {e}",
                        client.control_socket.display()
                    );
                    ExitCode::from(1)
                }
            }
        }
        Command::Run(options) => {
            tracing_subscriber::fmt()
                .with_writer(std::io::stderr)
                .with_ansi(std::io::stderr().is_terminal())
                .with_max_level(options.log_level.to_tracing())
                .with_target(false)
                // The default reports a failed write with eprintln!, which panics once
                // stderr is closed; a log line that cannot be written is simply lost.
                .log_internal_errors(false)
                .init();
            let _pid = match options
                .pid_file
                .as_deref()
                .map(PidFile::acquire)
                .transpose()
            {
                Ok(p) => p,
                Err(e) => {
                    tracing::error!("{e}");
                    return ExitCode::from(1);
                }
            };
            match daemon::run(&options) {
                Ok(()) => ExitCode::SUCCESS,
                Err(e) => {
                    tracing::error!("{e}");
                    ExitCode::from(1)
                }
            }
        }
    }
}

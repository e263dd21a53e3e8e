//! Test helper: a long-lived TCP connection that shows whether a stateful firewall lets
//! it through a failover.
//!
//! ```text
//! ssyncp-echo server ADDR:PORT
//! ssyncp-echo client ADDR:PORT DURATION_MS STALL_MS
//! ```
//!
//! The client sends a numbered line every 100 ms and expects each back. It prints one
//! `READY` line once the first echo arrived, and a summary at the end:
//! `sent N echoed M max_gap_ms G`. It exits 0 when every line came back and no echo took
//! longer than STALL_MS, 1 otherwise (the connection broke or stalled).
#![forbid(unsafe_code)]

use std::io::{BufRead, BufReader, Write};
use std::net::{TcpListener, TcpStream};
use std::process::ExitCode;
use std::time::{Duration, Instant};

fn serve(addr: &str) -> Result<(), String> {
    let listener = TcpListener::bind(addr).map_err(|e| format!("bind {addr}: {e}"))?;
    for conn in listener.incoming() {
        let Ok(conn) = conn else { continue };
        std::thread::spawn(move || {
            let Ok(mut writer) = conn.try_clone() else {
                return;
            };
            let reader = BufReader::new(conn);
            for line in reader.lines() {
                let Ok(line) = line else { return };
                if writer.write_all(format!("{line}\n").as_bytes()).is_err() {
                    return;
                }
            }
        });
    }
    Ok(())
}

fn client(addr: &str, duration: Duration, stall: Duration) -> Result<bool, String> {
    let stream = TcpStream::connect_timeout(
        &addr.parse().map_err(|e| format!("{addr}: {e}"))?,
        Duration::from_secs(5),
    )
    .map_err(|e| format!("connect {addr}: {e}"))?;
    stream.set_nodelay(true).map_err(|e| e.to_string())?;
    stream
        .set_read_timeout(Some(Duration::from_millis(50)))
        .map_err(|e| e.to_string())?;
    let mut writer = stream.try_clone().map_err(|e| e.to_string())?;
    let mut reader = BufReader::new(stream);
    let started = Instant::now();
    let (mut sent, mut echoed) = (0u64, 0u64);
    let mut next_send = started;
    let mut last_echo = started;
    let mut max_gap = Duration::ZERO;
    let mut line = String::new();
    let mut ok = true;
    while started.elapsed() < duration {
        if Instant::now() >= next_send {
            if writer.write_all(format!("{sent}\n").as_bytes()).is_err() {
                ok = false;
                break;
            }
            sent += 1;
            next_send += Duration::from_millis(100);
        }
        match reader.read_line(&mut line) {
            Ok(0) => {
                ok = false;
                break;
            }
            Ok(_) if line.ends_with('\n') => {
                if line.trim() != echoed.to_string() {
                    ok = false;
                    break;
                }
                if echoed == 0 {
                    println!("READY");
                }
                echoed += 1;
                max_gap = max_gap.max(last_echo.elapsed());
                last_echo = Instant::now();
                line.clear();
            }
            Ok(_) => {}
            Err(e)
                if matches!(
                    e.kind(),
                    std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut
                ) => {}
            Err(_) => {
                ok = false;
                break;
            }
        }
        let waiting = echoed < sent;
        if waiting && last_echo.elapsed() > stall {
            max_gap = max_gap.max(last_echo.elapsed());
            ok = false;
            break;
        }
    }
    println!(
        "sent {sent} echoed {echoed} max_gap_ms {}",
        max_gap.as_millis()
    );
    Ok(ok && echoed + 1 >= sent)
}

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let ms = |i: usize| {
        args.get(i)
            .and_then(|s| s.parse().ok())
            .map(Duration::from_millis)
    };
    let result = match (args.first().map(String::as_str), args.get(1)) {
        (Some("server"), Some(addr)) => serve(addr).map(|()| true),
        (Some("client"), Some(addr)) => match (ms(2), ms(3)) {
            (Some(d), Some(s)) => client(addr, d, s),
            _ => Err("client needs DURATION_MS STALL_MS".into()),
        },
        _ => Err(
            "usage: ssyncp-echo server ADDR:PORT | client ADDR:PORT DURATION_MS STALL_MS".into(),
        ),
    };
    match result {
        Ok(true) => ExitCode::SUCCESS,
        Ok(false) => ExitCode::from(1),
        Err(e) => {
            eprintln!("ssyncp-echo: {e}");
            ExitCode::from(2)
        }
    }
}

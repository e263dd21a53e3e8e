//! Test and benchmark helper: fills, counts and fingerprints the conntrack table of the
//! network namespace it runs in (start it with `ip netns exec NS`).
//!
//! ```text
//! ssyncp-ctgen inject COUNT [--timeout S] [--nat] [--from I] [--rate R]
//!                                          create COUNT synthetic UDP entries
//!                                          (10.200.a.b:sport -> 10.201.0.1:53), in batches;
//!                                          --nat source-NATs every tenth one; --from starts
//!                                          at entry I; --rate paces to R entries/s
//! ssyncp-ctgen count                       entries in 10.200.0.0/16 -> 10.201.0.0/16
//! ssyncp-ctgen wait COUNT TIMEOUT_MS [--stamp]
//!                                          wait until count >= COUNT; prints elapsed ms
//!                                          (--stamp: then the wall clock in µs, polling
//!                                          every 0.5 ms instead of 2 ms)
//!   (inject --stamp likewise prints the wall clock in µs after the last batch)
//! ssyncp-ctgen digest                      one line per synced field set, sorted
//! ```
#![forbid(unsafe_code)]

use std::net::{IpAddr, Ipv4Addr};
use std::process::ExitCode;
use std::time::{Duration, Instant};

use ctnl::{ConnEntry, Conntrack, Family, L4Key, Op, Tuple, proto, status};

/// Entry `i` of the synthetic set; with `nat`, every tenth one is source-NATed to
/// 10.202.0.1 (port 20000 + i / 10), as a masquerading firewall would.
fn synthetic(i: u32, timeout: u32, nat: bool) -> ConnEntry {
    let host = i / 50_000;
    let sport = 1024 + (i % 50_000) as u16;
    let src = Ipv4Addr::new(10, 200, (host >> 8) as u8, (host & 0xff) as u8 + 1);
    let orig = Tuple {
        src: IpAddr::V4(src),
        dst: IpAddr::V4(Ipv4Addr::new(10, 201, 0, 1)),
        l4: L4Key::Ports {
            src: sport,
            dst: 53,
        },
    };
    let mut reply = orig.inverted(0, 0);
    if nat && i.is_multiple_of(10) {
        reply.dst = IpAddr::V4(Ipv4Addr::new(10, 202, 0, 1));
        reply.l4 = L4Key::Ports {
            src: 53,
            dst: 20_000 + ((i / 10) % 40_000) as u16,
        };
    }
    ConnEntry {
        family: Family::Ipv4,
        protocol: proto::UDP,
        orig,
        reply,
        status: status::SEEN_REPLY | status::ASSURED,
        timeout,
        mark: Some(i % 7),
        zone: None,
        tcp: None,
        seq_adj: None,
        id: None,
    }
}

fn is_synthetic(e: &ConnEntry) -> bool {
    matches!((e.orig.src, e.orig.dst), (IpAddr::V4(s), IpAddr::V4(d))
        if s.octets()[..2] == [10, 200] && d.octets()[..2] == [10, 201])
}

fn count(ct: &mut Conntrack) -> Result<usize, ctnl::Error> {
    let mut n = 0;
    ct.dump_each(|e| n += usize::from(is_synthetic(&e)))?;
    Ok(n)
}

/// Wall-clock time in µs (the same clock in every namespace, so two processes can compare).
fn wall_micros() -> u128 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_micros())
        .unwrap_or(0)
}

fn kernel_count() -> usize {
    std::fs::read_to_string("/proc/sys/net/netfilter/nf_conntrack_count")
        .ok()
        .and_then(|s| s.trim().parse().ok())
        .unwrap_or(0)
}

fn run(args: &[String]) -> Result<(), String> {
    let mut ct = Conntrack::open().map_err(|e| e.to_string())?;
    let num = |i: usize| -> Result<u64, String> {
        args.get(i)
            .and_then(|s| s.parse().ok())
            .ok_or_else(|| format!("argument {i} must be a number"))
    };
    match args.first().map(String::as_str) {
        Some("inject") => {
            let total = num(1)? as u32;
            let nat = args.iter().any(|a| a == "--nat");
            let timeout = match args.iter().position(|a| a == "--timeout") {
                Some(i) => num(i + 1)? as u32,
                None => 600,
            };
            let from = match args.iter().position(|a| a == "--from") {
                Some(i) => num(i + 1)? as u32,
                None => 0,
            };
            // Paced: a batch every 10 ms; unpaced: batches of 2,000 back to back.
            let rate = match args.iter().position(|a| a == "--rate") {
                Some(i) => Some(num(i + 1)?.max(1)),
                None => None,
            };
            let batch_len = rate.map_or(2_000, |r| (r / 100).max(1) as u32);
            let started = Instant::now();
            let mut failures = 0;
            let mut i = 0;
            let mut batches = 0u32;
            while i < total {
                if rate.is_some() {
                    let due = started + Duration::from_millis(10) * batches;
                    if let Some(wait) = due.checked_duration_since(Instant::now()) {
                        std::thread::sleep(wait);
                    }
                    batches += 1;
                }
                let end = (i + batch_len).min(total);
                let batch: Vec<ConnEntry> = (i..end)
                    .map(|k| synthetic(from.saturating_add(k), timeout, nat))
                    .collect();
                let report = ct
                    .apply(batch.iter().map(|e| (Op::Create, e)))
                    .map_err(|e| e.to_string())?;
                failures += report.failures.len();
                i = end;
            }
            println!(
                "injected {} entries in {} ms ({failures} refused)",
                total,
                started.elapsed().as_millis()
            );
            if args.iter().any(|a| a == "--stamp") {
                println!("{}", wall_micros());
            }
        }
        Some("count") => println!("{}", count(&mut ct).map_err(|e| e.to_string())?),
        Some("wait") => {
            let want = num(1)? as usize;
            let limit = Duration::from_millis(num(2)?);
            let stamp = args.iter().any(|a| a == "--stamp");
            let poll = Duration::from_micros(if stamp { 500 } else { 2_000 });
            let started = Instant::now();
            // The kernel's per-namespace counter is cheap to poll; it also counts entries
            // that are not ours, measured once here. A dump confirms the final figure.
            let others = kernel_count().saturating_sub(count(&mut ct).map_err(|e| e.to_string())?);
            loop {
                if kernel_count() >= others + want {
                    let elapsed = started.elapsed();
                    let at = wall_micros();
                    if count(&mut ct).map_err(|e| e.to_string())? >= want {
                        println!("{}", elapsed.as_millis());
                        if stamp {
                            println!("{at}");
                        }
                        return Ok(());
                    }
                }
                if started.elapsed() > limit {
                    return Err(format!(
                        "timeout: {} of {want} entries",
                        count(&mut ct).map_err(|e| e.to_string())?
                    ));
                }
                std::thread::sleep(poll);
            }
        }
        Some("digest") => {
            let mut lines = Vec::new();
            ct.dump_each(|e| {
                if !is_synthetic(&e) && !matches!(e.protocol, proto::TCP) {
                    return;
                }
                lines.push(format!(
                    "{} {:?} {:?} st={:#x} tcp={:?} mark={:?} zone={:?}",
                    e.protocol,
                    e.orig,
                    e.reply,
                    e.status
                        & (status::SEEN_REPLY
                            | status::ASSURED
                            | status::SRC_NAT
                            | status::DST_NAT),
                    e.tcp.map(|t| t.state),
                    e.mark,
                    e.zone
                ));
            })
            .map_err(|e| e.to_string())?;
            lines.sort();
            for l in lines {
                println!("{l}");
            }
        }
        _ => {
            return Err(
                "usage: ssyncp-ctgen inject N [--timeout S] [--nat] [--from I] [--rate R] | count | wait N MS | digest"
                    .into(),
            );
        }
    }
    Ok(())
}

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    match run(&args) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("ssyncp-ctgen: {e}");
            ExitCode::from(1)
        }
    }
}

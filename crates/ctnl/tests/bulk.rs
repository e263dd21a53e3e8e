//! Bulk apply: 100,000 synthetic UDP entries created, dumped back, refreshed and counted.
//! Prints the rates; asserts only counts, never times.

mod common;

use common::{Netns, root_or_skip};
use ctnl::{ConnEntry, Conntrack, Family, L4Key, Op, Tuple, proto, status};
use std::net::{IpAddr, Ipv4Addr};
use std::time::Instant;

const WANTED: u32 = 100_000;

fn synthetic(i: u32) -> ConnEntry {
    let [_, a, b, c] = i.to_be_bytes();
    let orig = Tuple {
        src: IpAddr::V4(Ipv4Addr::new(10, 100 + a, b, c)),
        dst: IpAddr::V4(Ipv4Addr::new(192, 0, 2, 53)),
        l4: L4Key::Ports {
            src: 1024 + (i % 60_000) as u16,
            dst: 53,
        },
    };
    ConnEntry {
        family: Family::Ipv4,
        protocol: proto::UDP,
        orig,
        reply: orig.inverted(0, 0),
        status: status::SEEN_REPLY | status::ASSURED,
        timeout: 600,
        mark: Some(i),
        zone: None,
        tcp: None,
        seq_adj: None,
        id: None,
    }
}

#[test]
fn bulk_apply_of_100k_udp_entries() {
    if !root_or_skip("bulk_apply_of_100k_udp_entries") {
        return;
    }
    let ns = Netns::new("ct-bulk");
    // nf_conntrack_max is global and read-only inside a namespace; the count is per
    // namespace. Stay below the limit if some host set it lower than our target.
    let max: u32 = String::from_utf8_lossy(
        &ns.exec("cat", &["/proc/sys/net/netfilter/nf_conntrack_max"])
            .stdout,
    )
    .trim()
    .parse()
    .expect("nf_conntrack_max");
    let count = if max == 0 || max > WANTED + 1000 {
        WANTED
    } else {
        eprintln!(
            "nf_conntrack_max is {max}: creating {} entries only",
            max - 1000
        );
        max - 1000
    };
    let entries: Vec<ConnEntry> = (0..count).map(synthetic).collect();
    let mut ct = Conntrack::open_in_netns(&ns.path()).expect("open");

    let start = Instant::now();
    let report = ct
        .apply(entries.iter().map(|e| (Op::Create, e)))
        .expect("bulk create");
    let create_time = start.elapsed();
    let create_datagrams = report.datagrams;
    assert!(
        report.failures.is_empty(),
        "failures: {:?}",
        &report.failures[..report.failures.len().min(5)]
    );
    assert_eq!(report.requests, count as usize);

    let start = Instant::now();
    let mut seen = 0u32;
    let mut marks_ok = true;
    let total = ct
        .dump_each(|e| {
            if e.protocol == proto::UDP && e.orig.dst == IpAddr::V4(Ipv4Addr::new(192, 0, 2, 53)) {
                seen += 1;
                let expected = e.mark.map(synthetic).map(|s| s.orig);
                marks_ok &= expected == Some(e.orig);
            }
        })
        .expect("dump");
    let dump_time = start.elapsed();
    assert_eq!(seen, count, "every created entry is dumped back");
    assert_eq!(total, count as usize, "nothing else in the table");
    assert!(marks_ok, "each entry carries the mark it was created with");

    // Refresh everything (what a backup does on a periodic re-advertisement).
    let refreshed: Vec<ConnEntry> = entries
        .iter()
        .map(|e| ConnEntry {
            timeout: 300,
            ..e.clone()
        })
        .collect();
    let start = Instant::now();
    let report = ct
        .apply(refreshed.iter().map(|e| (Op::Update, e)))
        .expect("bulk update");
    let update_time = start.elapsed();
    assert!(report.failures.is_empty());
    assert_eq!(report.fallbacks, 0, "all entries existed");
    let mut max_timeout = 0;
    ct.dump_each(|e| max_timeout = max_timeout.max(e.timeout))
        .expect("dump");
    assert!(
        max_timeout <= 300,
        "update applied (max timeout {max_timeout})"
    );

    let rate = |d: std::time::Duration| f64::from(count) / d.as_secs_f64();
    println!(
        "bulk: {count} UDP entries; create {:.3} s ({:.0} entries/s, {} datagrams); \
         dump {:.3} s ({:.0} entries/s); update {:.3} s ({:.0} entries/s)",
        create_time.as_secs_f64(),
        rate(create_time),
        create_datagrams,
        dump_time.as_secs_f64(),
        rate(dump_time),
        update_time.as_secs_f64(),
        rate(update_time),
    );
}

#[test]
fn a_fallback_never_undoes_a_later_request_for_the_same_entry() {
    if !root_or_skip("a_fallback_never_undoes_a_later_request_for_the_same_entry") {
        return;
    }
    let ns = Netns::new("ct-order");
    let mut ct = Conntrack::open_in_netns(&ns.path()).expect("open");
    let (k, other) = (synthetic(1), synthetic(2));
    // An update of an absent entry falls back to a create, unless a later request of the
    // batch deletes the entry: then the delete is what stays.
    let report = ct
        .apply([(Op::Update, &k), (Op::Update, &other), (Op::Delete, &k)])
        .expect("apply");
    assert_eq!(report.superseded, 1);
    assert_eq!(report.fallbacks, 1, "only `other` was created by fallback");
    let mut present = Vec::new();
    ct.dump_each(|e| present.push(e.orig)).expect("dump");
    assert_eq!(present, [other.orig]);
}

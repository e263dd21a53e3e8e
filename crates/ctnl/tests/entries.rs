//! Entries of every shape survive a trip through a kernel table: NAT (both directions, with
//! ports), UDP, ICMP, IPv6, zones, sequence adjustment; update fallbacks and flush.

mod common;

use common::{Netns, find, root_or_skip};
use ctnl::{
    ConnEntry, Conntrack, Family, L4Key, Op, SeqAdjDir, SeqAdjust, TcpFlags, TcpInfo, Tuple, proto,
    status, tcp_flags, tcp_state,
};
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

fn v4(a: u8, b: u8, c: u8, d: u8) -> IpAddr {
    IpAddr::V4(Ipv4Addr::new(a, b, c, d))
}

fn tcp_entry(orig: Tuple, reply: Tuple) -> ConnEntry {
    ConnEntry {
        family: Family::Ipv4,
        protocol: proto::TCP,
        orig,
        reply,
        status: status::SEEN_REPLY | status::ASSURED,
        timeout: 3000,
        mark: Some(5),
        zone: None,
        tcp: Some(TcpInfo {
            state: tcp_state::ESTABLISHED,
            wscale_orig: 7,
            wscale_reply: 7,
            flags_orig: TcpFlags::exact(tcp_flags::WINDOW_SCALE | tcp_flags::SACK_PERM),
            flags_reply: TcpFlags::exact(tcp_flags::WINDOW_SCALE | tcp_flags::SACK_PERM),
        }),
        seq_adj: None,
        id: None,
    }
}

/// SNAT 10.0.0.1:1000 → 192.0.2.9:2000 and DNAT 10.0.0.2:80 → 10.1.1.1:8080.
fn nat_entry() -> ConnEntry {
    let orig = Tuple {
        src: v4(10, 0, 0, 1),
        dst: v4(10, 0, 0, 2),
        l4: L4Key::Ports { src: 1000, dst: 80 },
    };
    let reply = Tuple {
        src: v4(10, 1, 1, 1),
        dst: v4(192, 0, 2, 9),
        l4: L4Key::Ports {
            src: 8080,
            dst: 2000,
        },
    };
    tcp_entry(orig, reply)
}

#[test]
fn nat_entries_are_recreated_from_their_tuples() {
    if !root_or_skip("nat_entries_are_recreated_from_their_tuples") {
        return;
    }
    let ns = Netns::new("ct-nat");
    let mut ct = Conntrack::open_in_netns(&ns.path()).expect("open");
    let e = nat_entry();
    assert!(e.src_nat().is_some() && e.dst_nat().is_some());
    ct.create(&e).expect("create NAT entry");
    let table = ct.dump().expect("dump");
    let got = find(&table, &e).expect("NAT entry present");
    assert_eq!(
        got.reply, e.reply,
        "kernel NAT set-up rebuilt the reply tuple"
    );
    let nat = status::SRC_NAT | status::DST_NAT;
    assert_eq!(got.status & nat, nat, "status {:#x}", got.status);

    let listing = ns.exec("conntrack", &["-L", "-p", "tcp"]);
    let text = String::from_utf8_lossy(&listing.stdout);
    assert!(
        text.lines().any(|l| l.contains(
            "src=10.0.0.1 dst=10.0.0.2 sport=1000 dport=80 src=10.1.1.1 dst=192.0.2.9 sport=8080 dport=2000"
        )),
        "conntrack -L: {text}"
    );

    // Updating a NAT entry sends no NAT attributes (the kernel would refuse them).
    let refreshed = ConnEntry {
        timeout: 100,
        ..e.clone()
    };
    ct.update(&refreshed).expect("update NAT entry");
    let got = find(&ct.dump().expect("dump"), &e)
        .cloned()
        .expect("present");
    assert!(got.timeout <= 100 && got.timeout > 90, "{}", got.timeout);
    assert_eq!(got.reply, e.reply);

    // An update of an absent NAT entry falls back to a create with NAT.
    let mut other = nat_entry();
    other.orig.l4 = L4Key::Ports { src: 1001, dst: 80 };
    other.reply.l4 = L4Key::Ports {
        src: 8080,
        dst: 2001,
    };
    let report = ct.apply([(Op::Update, &other)]).expect("apply");
    assert!(report.failures.is_empty(), "{report:?}");
    assert_eq!(report.fallbacks, 1);
    let got = find(&ct.dump().expect("dump"), &other)
        .cloned()
        .expect("created");
    assert_eq!(got.reply, other.reply);

    // Port-only DNAT (same address, other port).
    let mut pat = nat_entry();
    pat.orig.l4 = L4Key::Ports { src: 1002, dst: 80 };
    pat.reply = Tuple {
        src: pat.orig.dst,
        dst: pat.orig.src,
        l4: L4Key::Ports {
            src: 8081,
            dst: 1002,
        },
    };
    assert!(pat.src_nat().is_none());
    assert_eq!(pat.dst_nat().map(|t| t.port), Some(Some(8081)));
    ct.create(&pat).expect("create port NAT");
    let got = find(&ct.dump().expect("dump"), &pat)
        .cloned()
        .expect("created");
    assert_eq!(got.reply, pat.reply);
    assert_eq!(got.status & nat, status::DST_NAT);
}

#[test]
fn udp_icmp_ipv6_zone_and_seqadj_roundtrip() {
    if !root_or_skip("udp_icmp_ipv6_zone_and_seqadj_roundtrip") {
        return;
    }
    let ns = Netns::new("ct-shapes");
    let mut ct = Conntrack::open_in_netns(&ns.path()).expect("open");

    let udp_orig = Tuple {
        src: v4(10, 2, 0, 1),
        dst: v4(10, 2, 0, 2),
        l4: L4Key::Ports { src: 5353, dst: 53 },
    };
    let udp = ConnEntry {
        family: Family::Ipv4,
        protocol: proto::UDP,
        orig: udp_orig,
        reply: udp_orig.inverted(0, 0),
        status: status::SEEN_REPLY,
        timeout: 120,
        mark: None,
        zone: Some(7),
        tcp: None,
        seq_adj: None,
        id: None,
    };
    let icmp_orig = Tuple {
        src: v4(10, 2, 0, 1),
        dst: v4(10, 2, 0, 3),
        l4: L4Key::Icmp {
            id: 4242,
            kind: 8,
            code: 0,
        },
    };
    let icmp = ConnEntry {
        protocol: proto::ICMP,
        orig: icmp_orig,
        reply: icmp_orig.inverted(0, 0),
        zone: None,
        ..udp.clone()
    };
    let v6_orig = Tuple {
        src: IpAddr::V6(Ipv6Addr::new(0xfd00, 0, 0, 0, 0, 0, 0, 1)),
        dst: IpAddr::V6(Ipv6Addr::new(0xfd00, 0, 0, 0, 0, 0, 0, 2)),
        l4: L4Key::Ports {
            src: 40000,
            dst: 443,
        },
    };
    let mut v6 = tcp_entry(v6_orig, v6_orig.inverted(0, 0));
    v6.family = Family::Ipv6;
    v6.seq_adj = Some(SeqAdjust {
        orig: SeqAdjDir {
            correction_pos: 123_456,
            offset_before: 0,
            offset_after: -8,
        },
        reply: SeqAdjDir {
            correction_pos: 654_321,
            offset_before: 4,
            offset_after: 12,
        },
    });
    let icmp6_orig = Tuple {
        src: v6_orig.src,
        dst: v6_orig.dst,
        l4: L4Key::Icmp {
            id: 99,
            kind: 128,
            code: 0,
        },
    };
    let icmp6 = ConnEntry {
        family: Family::Ipv6,
        protocol: proto::ICMPV6,
        orig: icmp6_orig,
        reply: icmp6_orig.inverted(129, 0),
        ..udp.clone()
    };
    let all = [&udp, &icmp, &v6, &icmp6];
    let report = ct
        .apply(all.iter().map(|e| (Op::Create, *e)))
        .expect("apply");
    assert!(report.failures.is_empty(), "{report:?}");
    assert_eq!(report.datagrams, 1, "one datagram for a small batch");

    let table = ct.dump().expect("dump");
    assert_eq!(table.len(), all.len(), "{table:#?}");
    for want in all {
        let got = find(&table, want).unwrap_or_else(|| panic!("missing {want:?} in {table:#?}"));
        assert_eq!(got.family, want.family);
        assert_eq!(got.reply, want.reply, "{want:?}");
        assert_eq!(got.zone, want.zone);
        assert!(got.timeout <= want.timeout && got.timeout + 10 >= want.timeout);
        assert_eq!(
            got.status & status::SETTABLE,
            want.status & status::SETTABLE
        );
    }
    let got_v6 = find(&table, &v6).expect("v6");
    assert_eq!(got_v6.seq_adj, v6.seq_adj, "sequence adjustment kept");
    assert_eq!(got_v6.status & status::SEQ_ADJUST, status::SEQ_ADJUST);

    // A zone is part of the key: deleting without it misses, with it hits.
    let no_zone = ConnEntry {
        zone: None,
        ..udp.clone()
    };
    assert_eq!(
        ct.delete(&no_zone).expect_err("wrong zone").errno(),
        Some(libc::ENOENT)
    );
    ct.delete(&udp).expect("delete in zone 7");

    // Mixed batch: a failing create (exists) is reported by index, the rest applies.
    let report = ct
        .apply([(Op::Create, &icmp), (Op::Delete, &icmp), (Op::Update, &udp)])
        .expect("apply");
    assert_eq!(report.failures.len(), 1, "{report:?}");
    assert_eq!(report.failures[0].index, 0);
    assert_eq!(report.failures[0].errno, libc::EEXIST);
    let table = ct.dump().expect("dump");
    assert!(find(&table, &icmp).is_none());
    assert!(
        find(&table, &udp).is_some(),
        "update re-created the UDP entry"
    );

    ct.flush().expect("flush");
    assert!(ct.dump().expect("dump").is_empty());
}

#[test]
fn event_overrun_is_reported_and_the_stream_recovers() {
    if !root_or_skip("event_overrun_is_reported_and_the_stream_recovers") {
        return;
    }
    let ns = Netns::new("ct-overrun");
    let mut events =
        ctnl::EventStream::open_in_netns(&ns.path(), ctnl::Groups::ALL).expect("events");
    // A tiny buffer (the kernel enforces a small minimum) that 2000 events overflow.
    let granted = events.set_receive_buffer(4096).expect("shrink buffer");
    assert!(granted < 64 << 10, "granted {granted}");
    let mut ct = Conntrack::open_in_netns(&ns.path()).expect("open");
    let entries: Vec<ConnEntry> = (0..2000u16)
        .map(|i| {
            let orig = Tuple {
                src: v4(10, 3, (i >> 8) as u8, i as u8),
                dst: v4(10, 3, 255, 1),
                l4: L4Key::Ports { src: 999, dst: 53 },
            };
            ConnEntry {
                family: Family::Ipv4,
                protocol: proto::UDP,
                orig,
                reply: orig.inverted(0, 0),
                status: status::SEEN_REPLY,
                timeout: 60,
                mark: None,
                zone: None,
                tcp: None,
                seq_adj: None,
                id: None,
            }
        })
        .collect();
    let report = ct
        .apply(entries.iter().map(|e| (Op::Create, e)))
        .expect("apply");
    assert!(report.failures.is_empty());

    let mut news = 0;
    let mut overruns = 0;
    while let Some(ev) = events.try_next().expect("stream") {
        match ev {
            ctnl::Event::New(_) => news += 1,
            ctnl::Event::Overrun => overruns += 1,
            _ => {}
        }
    }
    assert!(overruns >= 1, "no overrun after 2000 events into 4 KiB");
    assert!(news < 2000, "some events must have been lost ({news})");

    // After the overrun the stream delivers new events again.
    events.set_receive_buffer(1 << 20).expect("grow buffer");
    ct.delete(&entries[0]).expect("delete");
    let seen = common::collect_events(&mut events, std::time::Duration::from_secs(2), |s| {
        s.iter()
            .any(|e| matches!(e, ctnl::Event::Destroy(x) if x.orig == entries[0].orig))
    });
    assert!(
        seen.iter()
            .any(|e| matches!(e, ctnl::Event::Destroy(x) if x.orig == entries[0].orig)),
        "{seen:?}"
    );
}

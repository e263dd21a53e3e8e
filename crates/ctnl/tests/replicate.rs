//! A real TCP connection forwarded by router r1 is found in r1's table and replicated into
//! router r2's table: create, read back (ours and `conntrack -L`), update, delete, events.

mod common;

use common::{collect_events, find, netns_path, root_or_skip};
use ctnl::{ConnEntry, Conntrack, Event, EventStream, Groups, L4Key, proto, status, tcp_state};
use nslab::{Lab, Node};
use std::io::{Read, Write};
use std::net::{IpAddr, SocketAddr, TcpListener, TcpStream};
use std::time::Duration;

fn setup_forwarding(lab: &Lab, masquerade: bool) {
    lab.exec(Node::Router(1), "sysctl", &["-qw", "net.ipv4.ip_forward=1"])
        .expect("ip_forward");
    lab.exec(
        Node::Client(0),
        "ip",
        &["route", "add", "default", "via", "10.99.0.11"],
    )
    .expect("c0 route");
    lab.exec(
        Node::Client(1),
        "ip",
        &["route", "add", "default", "via", "10.99.1.11"],
    )
    .expect("c1 route");
    // A stateful rule makes r1 track connections (conntrack hooks register on demand).
    let mut rules = String::from(
        "table inet ctlab {\n chain forward_filter {\n  type filter hook forward priority 0; policy drop;\n  ct state established,related accept\n  ct state new accept\n }\n}\n",
    );
    if masquerade {
        rules.push_str(
            "table ip ctnat {\n chain post {\n  type nat hook postrouting priority 100;\n  oifname \"eth1\" masquerade\n }\n}\n",
        );
    }
    let path = std::env::temp_dir().join(format!("{}rules.nft", lab.ns(Node::Hub)));
    std::fs::write(&path, &rules).expect("write rules");
    let path_text = path.display().to_string();
    lab.exec(Node::Router(1), "nft", &["-f", &path_text])
        .expect("nft rules");
    let _ = std::fs::remove_file(&path);
}

/// Opens a TCP connection c0 → c1 through r1 and exchanges data both ways.
fn tcp_through_router(lab: &Lab) -> (TcpStream, TcpStream, SocketAddr, SocketAddr) {
    let server_addr: SocketAddr = (Lab::client_addr(1), 0).into();
    let listener = ctnl::in_netns(&netns_path(&lab.ns(Node::Client(1))), move || {
        TcpListener::bind(server_addr)
    })
    .expect("setns c1")
    .expect("bind");
    let server = listener.local_addr().expect("local addr");
    let mut client = ctnl::in_netns(&netns_path(&lab.ns(Node::Client(0))), move || {
        TcpStream::connect_timeout(&server, Duration::from_secs(5))
    })
    .expect("setns c0")
    .expect("connect through r1");
    let (mut accepted, _) = listener.accept().expect("accept");
    client.write_all(b"ping").expect("write");
    let mut buf = [0u8; 4];
    accepted.read_exact(&mut buf).expect("read");
    accepted.write_all(b"pong").expect("write back");
    client.read_exact(&mut buf).expect("read back");
    assert_eq!(&buf, b"pong");
    let local = client.local_addr().expect("client addr");
    (client, accepted, local, server)
}

#[test]
fn tcp_connection_is_dumped_and_replicated_with_events() {
    if !root_or_skip("tcp_connection_is_dumped_and_replicated_with_events") {
        return;
    }
    let lab = Lab::new("ct-a-", 2, 2).expect("lab");
    setup_forwarding(&lab, false);
    let (_client, _server_side, client_addr, server_addr) = tcp_through_router(&lab);

    // 1. r1's table holds the connection, ESTABLISHED and assured, with a sane timeout.
    let mut r1 = Conntrack::open_in_netns(&netns_path(&lab.ns(Node::Router(1)))).expect("r1");
    let table = r1.dump().expect("dump r1");
    let flow = table
        .iter()
        .find(|e| {
            e.protocol == proto::TCP
                && e.orig.src == client_addr.ip()
                && e.orig.dst == server_addr.ip()
                && e.orig.l4
                    == L4Key::Ports {
                        src: client_addr.port(),
                        dst: server_addr.port(),
                    }
        })
        .unwrap_or_else(|| panic!("no entry for {client_addr} -> {server_addr} in {table:#?}"))
        .clone();
    assert_eq!(flow.reply, flow.orig.inverted(0, 0), "no NAT on r1");
    assert!(!flow.has_nat());
    let tcp = flow.tcp.expect("TCP protoinfo");
    assert_eq!(tcp.state, tcp_state::ESTABLISHED);
    let want = status::CONFIRMED | status::SEEN_REPLY | status::ASSURED;
    assert_eq!(flow.status & want, want, "status {:#x}", flow.status);
    // The default established timeout is 5 days (432000 s); allow for sysctl changes.
    assert!(
        (60..=432_000).contains(&flow.timeout),
        "timeout {}",
        flow.timeout
    );
    assert!(flow.id.is_some());

    // 2. Replicate into r2, with a subscriber there.
    let r2_path = netns_path(&lab.ns(Node::Router(2)));
    let mut events = EventStream::open_in_netns(&r2_path, Groups::ALL).expect("events r2");
    assert!(events.receive_buffer() >= 1 << 20, "large receive buffer");
    let mut r2 = Conntrack::open_in_netns(&r2_path).expect("r2");
    let replica = ConnEntry {
        timeout: 1200,
        mark: Some(0x42),
        tcp: Some(tcp.with_exact_flags()),
        id: None,
        ..flow.clone()
    };
    r2.create(&replica).expect("create replica");
    let err = r2.create(&replica).expect_err("second create must collide");
    assert_eq!(err.errno(), Some(libc::EEXIST), "{err}");

    let back = r2.dump().expect("dump r2");
    let got = find(&back, &replica).expect("replica in r2's table");
    assert_eq!(got.reply, replica.reply);
    assert_eq!(got.status & want, want, "status {:#x}", got.status);
    assert_eq!(got.mark, Some(0x42));
    assert!(
        (1190..=1200).contains(&got.timeout),
        "timeout {}",
        got.timeout
    );
    let got_tcp = got.tcp.expect("tcp info");
    assert_eq!(got_tcp.state, tcp_state::ESTABLISHED);
    assert_eq!(
        (got_tcp.wscale_orig, got_tcp.wscale_reply),
        (tcp.wscale_orig, tcp.wscale_reply)
    );
    assert_eq!(got_tcp.flags_orig.flags, tcp.flags_orig.flags);
    assert_eq!(got_tcp.flags_reply.flags, tcp.flags_reply.flags);

    // conntrack(8) sees the same entry.
    let listing = lab
        .exec(Node::Router(2), "conntrack", &["-L", "-p", "tcp"])
        .expect("conntrack -L");
    let text = String::from_utf8_lossy(&listing.stdout);
    let needle = format!(
        "src={} dst={} sport={} dport={}",
        client_addr.ip(),
        server_addr.ip(),
        client_addr.port(),
        server_addr.port()
    );
    let line = text
        .lines()
        .find(|l| l.contains(&needle))
        .unwrap_or_else(|| panic!("conntrack -L lacks {needle}: {text}"));
    let reverse = format!(
        "src={} dst={} sport={} dport={}",
        server_addr.ip(),
        client_addr.ip(),
        server_addr.port(),
        client_addr.port()
    );
    for part in ["ESTABLISHED", "[ASSURED]", "mark=66", reverse.as_str()] {
        assert!(line.contains(part), "`{part}` missing in: {line}");
    }

    // 3. Update timeout and mark.
    let changed = ConnEntry {
        timeout: 600,
        mark: Some(0x43),
        ..replica.clone()
    };
    r2.update(&changed).expect("update");
    let back = r2.dump().expect("dump after update");
    let got = find(&back, &replica).expect("still there");
    assert_eq!(got.mark, Some(0x43));
    assert!(
        (590..=600).contains(&got.timeout),
        "timeout {}",
        got.timeout
    );
    assert_eq!(got.tcp.map(|t| t.state), Some(tcp_state::ESTABLISHED));

    // 4. Delete.
    r2.delete(&replica).expect("delete");
    assert!(find(&r2.dump().expect("dump after delete"), &replica).is_none());
    let err = r2.delete(&replica).expect_err("second delete");
    assert_eq!(err.errno(), Some(libc::ENOENT));

    // 5. The subscriber saw NEW, UPDATE (mark 0x43) and DESTROY for the replica.
    let same = |e: &ConnEntry| e.orig == replica.orig && e.protocol == proto::TCP;
    let seen = collect_events(&mut events, Duration::from_secs(3), |seen| {
        seen.iter()
            .any(|e| matches!(e, Event::Destroy(x) if same(x)))
    });
    let new = seen
        .iter()
        .position(|e| matches!(e, Event::New(x) if same(x)))
        .unwrap_or_else(|| panic!("no NEW event in {seen:#?}"));
    let update = seen
        .iter()
        .position(|e| matches!(e, Event::Update(x) if same(x) && x.mark == Some(0x43)))
        .unwrap_or_else(|| panic!("no UPDATE event with the new mark in {seen:#?}"));
    let destroy = seen
        .iter()
        .position(|e| matches!(e, Event::Destroy(x) if same(x)))
        .unwrap_or_else(|| panic!("no DESTROY event in {seen:#?}"));
    assert!(new < update && update < destroy, "order: {seen:#?}");
    if let Event::New(x) = &seen[new] {
        assert_eq!(x.reply, replica.reply);
        assert_eq!(x.tcp.map(|t| t.state), Some(tcp_state::ESTABLISHED));
    }
    assert!(
        !seen.iter().any(|e| matches!(e, Event::Overrun)),
        "no overrun expected"
    );
    // The router's own traffic was not disturbed: r1 still holds the original flow.
    let again = r1.dump().expect("dump r1 again");
    assert!(find(&again, &flow).is_some());
}

#[test]
fn masqueraded_connection_is_replicated_with_its_nat() {
    if !root_or_skip("masqueraded_connection_is_replicated_with_its_nat") {
        return;
    }
    let lab = Lab::new("ct-n-", 2, 2).expect("lab");
    setup_forwarding(&lab, true);
    let (_client, server_side, client_addr, server_addr) = tcp_through_router(&lab);
    // c1 sees the connection coming from r1's LAN1 address.
    let seen_from = server_side.peer_addr().expect("peer");
    let r1_lan1 = IpAddr::from(Lab::router_addr(1, 1));
    assert_eq!(seen_from.ip(), r1_lan1, "masquerade applied");

    let mut r1 = Conntrack::open_in_netns(&netns_path(&lab.ns(Node::Router(1)))).expect("r1");
    let table = r1.dump().expect("dump r1");
    let flow = table
        .iter()
        .find(|e| {
            e.protocol == proto::TCP
                && e.orig.src == client_addr.ip()
                && e.orig.l4
                    == L4Key::Ports {
                        src: client_addr.port(),
                        dst: server_addr.port(),
                    }
        })
        .unwrap_or_else(|| panic!("no entry for {client_addr} in {table:#?}"))
        .clone();
    assert_eq!(
        flow.reply.dst, r1_lan1,
        "reply goes to the masquerade address"
    );
    assert_eq!(
        flow.reply.l4.to_words(),
        (server_addr.port(), seen_from.port())
    );
    assert_eq!(flow.status & status::SRC_NAT, status::SRC_NAT);
    let snat = flow.src_nat().expect("SNAT derived from the tuples");
    assert_eq!(snat.addr, r1_lan1);
    assert!(flow.dst_nat().is_none());

    // The backup router gets the same entry, NAT included, from the tuples alone.
    let mut r2 = Conntrack::open_in_netns(&netns_path(&lab.ns(Node::Router(2)))).expect("r2");
    let replica = ConnEntry {
        timeout: 900,
        tcp: flow.tcp.map(|t| t.with_exact_flags()),
        id: None,
        ..flow.clone()
    };
    r2.create(&replica).expect("create NATed replica");
    let back = r2.dump().expect("dump r2");
    let got = find(&back, &replica).expect("replica present");
    assert_eq!(got.reply, flow.reply, "same translated reply tuple");
    assert_eq!(got.status & status::SRC_NAT, status::SRC_NAT);
    assert_eq!(got.tcp.map(|t| t.state), Some(tcp_state::ESTABLISHED));

    // A refresh of the NATed replica works (no NAT attributes on updates).
    r2.update(&ConnEntry {
        timeout: 300,
        ..replica.clone()
    })
    .expect("refresh");
    let got = find(&r2.dump().expect("dump"), &replica)
        .cloned()
        .expect("present");
    assert!(got.timeout <= 300, "{}", got.timeout);
    assert_eq!(got.reply, flow.reply);
}

//! Hostile input: a client on the LAN sprays malformed and forged VRRP/AH packets at a
//! running vrrpd pair. Nothing may crash, no forged advert may be accepted, and the
//! drops are logged with interface and VRID.
//!
//! Needs root and python3 (for the raw-socket sender run inside the client namespace).

mod common;

use std::net::Ipv4Addr;
use std::time::Duration;

use common::{AuthCfg, Bench, instance};
use nslab::{Node, root_or_skip};

const VIP: Ipv4Addr = Ipv4Addr::new(10, 99, 0, 200);
const AH_VIP: Ipv4Addr = Ipv4Addr::new(10, 99, 0, 201);

/// Sends garbage from the client: VRRP (112) and AH (51) payloads via raw sockets, the
/// kernel building the IPv4 header (source 10.99.0.100, TTL 255 unless stated).
const SPRAYER: &str = r#"
import random, socket, struct
random.seed(7)
GROUP = "224.0.0.18"
def csum(b):
    if len(b) % 2: b += b"\0"
    s = sum(struct.unpack("!%dH" % (len(b) // 2), b))
    while s >> 16: s = (s & 0xffff) + (s >> 16)
    return (~s) & 0xffff
def vrrp(vrid, prio, count, auth, adv, addrs, authdata=b"\0" * 8, ver_type=0x21, fix=True):
    body = struct.pack("!BBBBBBH", ver_type, vrid, prio, count, auth, adv, 0)
    body += b"".join(socket.inet_aton(a) for a in addrs) + authdata
    if fix:
        c = csum(body)
        body = body[:6] + struct.pack("!H", c) + body[8:]
    return body
def sock(proto, ttl=255):
    s = socket.socket(socket.AF_INET, socket.SOCK_RAW, proto)
    s.setsockopt(socket.IPPROTO_IP, socket.IP_MULTICAST_TTL, ttl)
    s.setsockopt(socket.IPPROTO_IP, socket.IP_MULTICAST_IF, socket.inet_aton("10.99.0.100"))
    return s
v, ah = sock(112), sock(51)
sent = 0
def send(s, b):
    global sent
    s.sendto(b, (GROUP, 0)); sent += 1
vip = ["10.99.0.200"]
# Truncated and empty.
for n in (0, 1, 2, 7, 8, 15):
    send(v, bytes([0x21, 51, 254, 1, 0, 1, 0, 0])[:n] + b"\xff" * max(0, n - 8))
# Forged priority 254, each broken in one way.
send(v, vrrp(51, 254, 1, 0, 1, vip, fix=False))                  # bad checksum
send(v, vrrp(51, 254, 255, 0, 1, vip))                           # count beyond the data
send(v, vrrp(51, 254, 1, 0, 1, vip, ver_type=0x31))              # version 3
send(v, vrrp(51, 254, 1, 0, 1, vip, ver_type=0x22))              # type 2
send(v, vrrp(51, 254, 1, 0, 5, vip))                             # advert interval 5
send(v, vrrp(51, 254, 1, 1, 1, vip, authdata=b"secret12"))       # PASS where none is configured
send(v, vrrp(51, 254, 1, 7, 1, vip))                             # auth type 7
send(v, vrrp(0, 254, 1, 0, 1, vip))                              # VRID 0
send(v, vrrp(52, 254, 1, 0, 1, ["10.99.0.201"]))                 # no AH for an AH instance
send(sock(112, ttl=1), vrrp(51, 254, 1, 0, 1, vip))              # TTL 1
# AH: garbage, wrong next header, and a well-formed header with a forged ICV.
for n in (0, 3, 12, 23, 24, 30):
    send(ah, bytes(random.getrandbits(8) for _ in range(n)))
inner = vrrp(52, 254, 1, 2, 1, ["10.99.0.201"])
for nh in (112, 6):
    hdr = struct.pack("!BBHII", nh, 4, 0, 0x0a636464, 1000) + bytes(12)
    send(ah, hdr + inner)
# Fuzz: random payloads starting like a VRRPv2 advert for VRID 51 or 52.
for i in range(400):
    n = random.randrange(0, 80)
    body = bytes([0x21, random.choice((51, 52)), 254]) + bytes(random.getrandbits(8) for _ in range(n))
    send(v, body[: random.randrange(0, len(body) + 1)])
    send(ah, bytes(random.getrandbits(8) for _ in range(random.randrange(0, 100))))
print("sent", sent)
"#;

#[test]
fn garbage_and_forged_adverts_change_nothing() {
    if !root_or_skip("garbage_and_forged_adverts_change_nothing") {
        return;
    }
    let b = Bench::new("vd8-", 2, 1);
    let conf = |k: u8, prio: u8| {
        let text = instance(
            "VI_1",
            "eth0",
            51,
            prio,
            &["10.99.0.200/24"],
            AuthCfg::None,
            "",
        ) + &instance(
            "VI_AH",
            "eth0",
            52,
            prio,
            &["10.99.0.201/24"],
            AuthCfg::Ah("secret12"),
            "",
        );
        b.write(&format!("r{k}.conf"), &text)
    };
    let mut r1 = b.vrrpd(1, &conf(1, 150));
    let mut r2 = b.vrrpd(2, &conf(2, 100));
    let long = Duration::from_secs(15);
    assert_eq!(
        b.wait_holders(VIP, &[1], long),
        [1],
        "election\n{}",
        b.logs()
    );
    assert_eq!(
        b.wait_holders(AH_VIP, &[1], long),
        [1],
        "election (AH)\n{}",
        b.logs()
    );

    let script = b.write("spray.py", SPRAYER);
    let out = b
        .lab
        .exec(Node::Client(0), "python3", &[&script.display().to_string()])
        .expect("run the sprayer");
    let printed = String::from_utf8_lossy(&out.stdout);
    assert!(printed.contains("sent"), "sprayer output: {printed}");

    // Nothing moved: a forged priority-254 advert accepted by r1 would have made it
    // yield, and a crash would let r2 take over after 3.6 s.
    b.assert_stable(VIP, &[1], Duration::from_secs(5));
    assert_eq!(b.lab.holders(AH_VIP).unwrap(), [1]);
    assert!(
        r1.is_running() && r2.is_running(),
        "a daemon died\n{}",
        b.logs()
    );
    let log = b.log("r1.log");
    for needle in [
        "(VI_1) VRID 51 on eth0: dropped packet from 10.99.0.100",
        "(VI_AH) VRID 52 on eth0: dropped packet from 10.99.0.100",
    ] {
        assert!(log.contains(needle), "missing {needle:?}\n{}", b.logs());
    }
    // Rate limiting: the fuzz sent hundreds of bad packets; the warnings stay few.
    let warnings = log.lines().filter(|l| l.contains("dropped packet")).count();
    println!("{warnings} drop warnings logged:");
    for l in log.lines().filter(|l| l.contains("dropped packet")) {
        println!("  {l}");
    }
    assert!(warnings < 60, "{warnings} drop warnings: not rate-limited");
    assert!(!log.contains("panicked"), "{log}");

    // Both still answer a graceful stop normally.
    r1.signal("TERM").unwrap();
    assert_eq!(r1.wait_timeout(Duration::from_secs(5)), Some(Some(0)));
    assert_eq!(
        b.wait_holders(VIP, &[2], long),
        [2],
        "failover after the spray\n{}",
        b.logs()
    );
}

/// A VIP whose device does not exist: the netlink failure is logged with the interface
/// and VRID, the other VIP is installed, and the daemon keeps running as master.
#[test]
fn failing_netlink_calls_are_logged_and_survived() {
    if !root_or_skip("failing_netlink_calls_are_logged_and_survived") {
        return;
    }
    let b = Bench::new("vd14-", 1, 1);
    let text = instance(
        "VI_1",
        "eth0",
        51,
        150,
        &["10.99.0.200/24", "10.99.0.210/24 dev nosuch0"],
        AuthCfg::None,
        "",
    );
    let mut r1 = b.vrrpd(1, &b.write("r1.conf", &text));
    assert_eq!(
        b.wait_holders(VIP, &[1], Duration::from_secs(15)),
        [1],
        "{}",
        b.logs()
    );
    b.assert_stable(VIP, &[1], Duration::from_secs(2));
    let log = b.log("r1.log");
    assert!(
        log.contains("(VI_1) VRID 51: cannot add 10.99.0.210 on nosuch0"),
        "netlink failure logged\n{}",
        b.logs()
    );
    assert!(r1.is_running(), "{}", b.logs());
    r1.signal("TERM").unwrap();
    assert_eq!(r1.wait_timeout(Duration::from_secs(5)), Some(Some(0)));
    assert!(
        b.lab.holders(VIP).unwrap().is_empty(),
        "VIP removed at shutdown"
    );
}

//! A reload that only changes a virtual address's prefix (IPv4 and IPv6): the address is
//! later removed as it was installed, so a stopped master keeps neither.
//!
//! Needs root (skips otherwise, fails under CI).

mod common;

use std::net::Ipv4Addr;
use std::time::Duration;

use common::{AuthCfg, Bench, instance};
use nslab::{Lab, Node, root_or_skip};

const LONG: Duration = Duration::from_secs(15);

fn addrs(b: &Bench, family: &str) -> String {
    let out = b
        .lab
        .exec(
            Node::Router(1),
            "ip",
            &[family, "-o", "addr", "show", "dev", "eth0"],
        )
        .expect("ip addr");
    String::from_utf8_lossy(&out.stdout).into_owned()
}

#[test]
fn a_prefix_changed_by_reload_does_not_strand_the_address() {
    if !root_or_skip("a_prefix_changed_by_reload_does_not_strand_the_address") {
        return;
    }
    let b = Bench::new("vpr-", 1, 1);
    b.enable_ipv6(1);
    let conf = |v4: &str, v6: &str| {
        instance(
            "VI_1",
            "eth0",
            97,
            150,
            &[v4],
            AuthCfg::None,
            &format!("    virtual_ipaddress_excluded {{\n        {v6}\n    }}\n"),
        )
    };
    let c = b.write("r1.conf", &conf("10.99.0.97/24", "2001:db8:97::1/64"));
    let p = b.vrrpd(1, &c);
    let vip = Ipv4Addr::new(10, 99, 0, 97);
    assert_eq!(b.wait_holders(vip, &[1], LONG), [1], "{}", b.logs());
    assert!(Lab::wait_until(LONG, || addrs(&b, "-6").contains("2001:db8:97::1/64")));

    b.write("r1.conf", &conf("10.99.0.97/25", "2001:db8:97::1/80"));
    p.signal("HUP").expect("SIGHUP");
    std::thread::sleep(Duration::from_millis(1500));
    p.signal("TERM").expect("SIGTERM");
    assert!(
        Lab::wait_until(LONG, || !addrs(&b, "-4").contains("10.99.0.97/")),
        "IPv4 address stranded: {}\n{}",
        addrs(&b, "-4"),
        b.logs()
    );
    assert!(
        Lab::wait_until(LONG, || !addrs(&b, "-6").contains("2001:db8:97::1/")),
        "IPv6 address stranded: {}",
        addrs(&b, "-6")
    );
}

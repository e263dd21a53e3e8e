#!/usr/bin/env python3
"""Writes the hostile-packet corpus replayed by bins/vrrpd/tests/badinput.rs.

Each NAME.pkt holds comment lines and one IPv4 packet per hex line (several lines = several
frames sent back to back, e.g. fragments). Header lines:
  # what: description
  # to: mcast | r1             (destination MAC: 01:00:5e:00:00:12 or router 1's MAC)
  # expect: COUNTER | none     (status --json counter that must grow on the receiving
                                instance(s); none = no error counter may change at all)
  # instance: NAME             (instance whose counter grows; absent with none;
                                "interface IFACE" names status --json's interfaces[]
                                entry, whose counter is `unattributed`)

The lab (see badinput.rs): rogue client 10.99.0.100 on LAN 10.99.0.0/24; vrrpd routers r1
(10.99.0.11, priority 150, master) and r2 (10.99.0.12, priority 100) run
  VI_PASS VRID 51 PASS "goodpass" VIP 10.99.0.200
  VI_AH   VRID 52 AH   "ahsecret" VIP 10.99.0.201
  VI_NONE VRID 53 no authentication VIP 10.99.0.202
  VI_UNI  VRID 54 no authentication VIP 10.99.0.203, unicast (peer: the other router)
Every forged advert claims priority 254, so accepting any of them would move a VIP.
Run from this directory: python3 gen.py   (deterministic output).
"""

import hashlib
import hmac
import socket
import struct

ROGUE = "10.99.0.100"
GROUP = "224.0.0.18"
R1 = "10.99.0.11"


def csum(data):
    if len(data) % 2:
        data += b"\0"
    s = sum(struct.unpack("!%dH" % (len(data) // 2), data))
    while s >> 16:
        s = (s & 0xFFFF) + (s >> 16)
    return (~s) & 0xFFFF


def vrrp(vrid, vip, prio=254, count=None, auth=0, adv=1, authdata=b"\0" * 8,
         ver_type=0x21, good_sum=True, addrs=None):
    addrs = [vip] if addrs is None else addrs
    count = len(addrs) if count is None else count
    body = struct.pack("!BBBBBBH", ver_type, vrid, prio, count, auth, adv, 0)
    body += b"".join(socket.inet_aton(a) for a in addrs) + authdata
    c = csum(body)
    if not good_sum:
        c ^= 0x5A5A
    return body[:6] + struct.pack("!H", c) + body[8:]


def ip(payload, proto=112, ttl=255, src=ROGUE, dst=GROUP, ident=0x4242, frag=0,
       options=b"", total=None, good_sum=True, tos=0xC0):
    ihl = 5 + len(options) // 4
    total = 4 * ihl + len(payload) if total is None else total
    hdr = struct.pack("!BBHHHBBH4s4s", 0x40 | ihl, tos, total, ident, frag, ttl, proto, 0,
                      socket.inet_aton(src), socket.inet_aton(dst)) + options
    c = csum(hdr)
    if not good_sum:
        c ^= 0x1111
    hdr = hdr[:10] + struct.pack("!H", c) + hdr[12:]
    return hdr + payload


def ah_packet(vrid, vip, key, seq=1, spi=ROGUE, next_header=112, payload_len=4,
              ttl=255, prio=254):
    """An AH-protected advert with the ICV computed as keepalived does (spec §2.2)."""
    inner = vrrp(vrid, vip, prio=prio, auth=2)
    spi_bytes = socket.inet_aton(spi)
    ah = struct.pack("!BBH4sI", next_header, payload_len, 0, spi_bytes, seq) + bytes(12)
    whole = ip(ah + inner, proto=51, ttl=ttl)
    # HMAC over the IP header with TOS, flags/fragment and checksum zeroed (TTL kept).
    hdr = bytearray(whole[:20])
    hdr[1] = 0
    hdr[6:8] = b"\0\0"
    hdr[10:12] = b"\0\0"
    k = key.encode()[:8].ljust(8, b"\0")
    icv = hmac.new(k, bytes(hdr) + ah + inner, hashlib.md5).digest()[:12]
    return whole[:20] + ah[:12] + icv + inner


WRONG_PW = b"letmein!"
PASS_VIP, AH_VIP, NONE_VIP = "10.99.0.200", "10.99.0.201", "10.99.0.202"
UNI_VIP = "10.99.0.203"

CASES = []


def case(name, what, expect, instance, packets, to="mcast", note=None):
    CASES.append((name, what, expect, instance, packets, to, note))


pw_forged = vrrp(51, PASS_VIP, auth=1, authdata=WRONG_PW)
case("pass_wrong_password", "priority 254 with a wrong PASS password", "auth_failures",
     "VI_PASS", [ip(pw_forged)])
case("pass_ttl_1", "TTL 1 (must be 255 for multicast)", "ttl_errors", "VI_PASS",
     [ip(pw_forged, ttl=1)])
case("pass_ip_options", "IP header with 4 bytes of options (NOP NOP NOP EOL), wrong password",
     "auth_failures", "VI_PASS", [ip(pw_forged, options=b"\x01\x01\x01\x00")])
case("pass_no_auth", "auth type 0 sent to a PASS instance", "auth_type_mismatch", "VI_PASS",
     [ip(vrrp(51, PASS_VIP))])
case("pass_carried_in_ah", "protocol 51 (AH) for the PASS instance", "auth_type_mismatch",
     "VI_PASS", [ah_packet(51, PASS_VIP, "goodpass")])
case("pass_fragments", "wrong-password advert split in two IP fragments (reassembled by the kernel)",
     "auth_failures", "VI_PASS",
     [ip(pw_forged[:8], frag=0x2000, total=28, ident=0x5151),
      ip(pw_forged[8:], frag=1, total=20 + len(pw_forged) - 8, ident=0x5151)])
case("pass_first_fragment_only", "first fragment of a forged advert, never completed",
     "none", None, [ip(pw_forged[:8], frag=0x2000, total=28, ident=0x5252)])

case("none_bad_checksum", "VRRP checksum wrong", "checksum_errors", "VI_NONE",
     [ip(vrrp(53, NONE_VIP, good_sum=False))])
case("none_options_bad_checksum", "IP options and a wrong VRRP checksum", "checksum_errors",
     "VI_NONE", [ip(vrrp(53, NONE_VIP, good_sum=False), options=b"\x01\x01\x01\x00")])
case("none_count_beyond_data", "address count 255 with one address present",
     "packet_length_errors", "VI_NONE", [ip(vrrp(53, NONE_VIP, count=255))])
case("none_truncated", "IP header plus 8 bytes of VRRP: the fixed header only",
     "packet_length_errors", "VI_NONE", [ip(vrrp(53, NONE_VIP)[:8])])
case("none_total_length_short",
     "IP total length 36 cuts the Auth Data (the kernel trims the frame to it)",
     "packet_length_errors", "VI_NONE", [ip(vrrp(53, NONE_VIP), total=36)])
case("none_version_3", "VRRP version 3", "version_errors", "VI_NONE",
     [ip(vrrp(53, NONE_VIP, ver_type=0x31))])
case("none_type_2", "VRRP type 2", "invalid_type", "VI_NONE",
     [ip(vrrp(53, NONE_VIP, ver_type=0x22))])
case("none_auth_type_7", "unknown auth type 7", "invalid_auth_type", "VI_NONE",
     [ip(vrrp(53, NONE_VIP, auth=7))])
case("none_auth_type_pass", "PASS advert for an unauthenticated instance",
     "auth_type_mismatch", "VI_NONE", [ip(vrrp(53, NONE_VIP, auth=1, authdata=WRONG_PW))])
case("none_advert_interval_5", "advert interval 5 against a configured 1",
     "advert_interval_errors", "VI_NONE", [ip(vrrp(53, NONE_VIP, adv=5))])
case("none_unicast_destination", "multicast instance receives a unicast advert",
     "address_list_errors", "VI_NONE", [ip(vrrp(53, NONE_VIP), dst=R1)], to="r1",
     note="keepalived: destination is multicast iff the instance is -> addr_list_err; "
          "vrrpd keeps a socket bound to the instance's source address to see it")
case("uni_multicast_destination", "unicast instance receives a multicast advert",
     "address_list_errors", "VI_UNI", [ip(vrrp(54, UNI_VIP))],
     note="keepalived: destination is multicast iff the instance is -> addr_list_err; "
          "vrrpd keeps a group socket on the interface to see it")
case("none_bad_ip_checksum", "IPv4 header checksum wrong (the kernel drops it)", "none", None,
     [ip(vrrp(53, NONE_VIP), good_sum=False)])
case("vrid_0", "VRID 0", "none", None, [ip(vrrp(0, NONE_VIP))])
case("vrid_unknown", "VRID 99, configured nowhere", "none", None, [ip(vrrp(99, NONE_VIP))])
case("empty_payload", "protocol 112 with no payload at all", "none", None, [ip(b"")])

case("ah_wrong_key", "AH advert whose ICV was computed with another key", "auth_failures",
     "VI_AH", [ah_packet(52, AH_VIP, "wrongkey", seq=0x7FFFFFFF)])
case("ah_spi_mismatch", "valid ICV but SPI differs from the source address", "auth_failures",
     "VI_AH", [ah_packet(52, AH_VIP, "ahsecret", seq=0x7FFFFFFF, spi="10.99.0.99")])
case("ah_payload_len_5", "AH payload length 5 instead of 4", "auth_failures", "VI_AH",
     [ah_packet(52, AH_VIP, "ahsecret", payload_len=5)],
     note="the AH length leads to no instance; the VRID at keepalived's fixed AH offset "
          "does, and that instance's decoder rejects the AH header (malformed)")
case("ah_truncated", "IP header plus 12 bytes of AH", "unattributed", "interface eth0",
     [ip(ah_packet(52, AH_VIP, "wrongkey")[20:32], proto=51)],
     note="too short to hold a VRID: no instance can be blamed, so the interface's "
          "'unattributed' counter in status --json grows")
case("ah_next_header_6", "AH whose next header is TCP: ignored silently", "none", None,
     [ah_packet(52, AH_VIP, "ahsecret", next_header=6)])
case("ah_plain_vrrp", "plain protocol-112 advert with auth type 2 for the AH instance",
     "auth_type_mismatch", "VI_AH", [ip(vrrp(52, AH_VIP, auth=2))])


def main():
    for name, what, expect, instance, packets, to, note in CASES:
        with open(name + ".pkt", "w") as f:
            f.write("# what: %s\n# to: %s\n# expect: %s\n" % (what, to, expect))
            if note:
                f.write("# note: %s\n" % note)
            if instance:
                f.write("# instance: %s\n" % instance)
            for p in packets:
                f.write(p.hex() + "\n")
    print(len(CASES), "cases written")


if __name__ == "__main__":
    main()

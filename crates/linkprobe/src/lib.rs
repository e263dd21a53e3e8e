//! Link-state probes: MII registers, ethtool, interface flags and netlink link events.

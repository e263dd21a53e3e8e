//! Parser for the VRRP subset of keepalived.conf, with file:line:col diagnostics.

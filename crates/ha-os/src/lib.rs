//! OS effects for the VRRP and SSYNCP daemons: raw sockets, virtual addresses, gratuitous ARP, VMAC.

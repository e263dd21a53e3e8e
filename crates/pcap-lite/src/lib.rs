//! Minimal classic-pcap reader and writer used by tests, examples and the simulator.

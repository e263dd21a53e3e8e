//! Deterministic multi-router simulator driving the real VRRP state machine and codec.

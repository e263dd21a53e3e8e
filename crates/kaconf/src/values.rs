//! Parsing of single values: integers, timers, booleans, addresses, scopes.

use std::net::{IpAddr, Ipv4Addr};

use crate::model::{MICROS_PER_SECOND, Scope};

/// Why an integer could not be read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum IntError {
    Invalid,
    OutOfRange,
}

/// Reads a decimal integer (optional sign) within `[min, max]`.
pub(crate) fn parse_int(text: &str, min: i64, max: i64) -> Result<i64, IntError> {
    let digits = text.strip_prefix(['+', '-']).unwrap_or(text);
    if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return Err(IntError::Invalid);
    }
    // A syntactically valid number too large for i64 is simply out of range.
    let value = text.parse::<i64>().map_err(|_| IntError::OutOfRange)?;
    if value < min || value > max {
        return Err(IntError::OutOfRange);
    }
    Ok(value)
}

/// Why a timer could not be read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum TimerError {
    Invalid,
    OutOfRange,
}

/// Reads `SECONDS[.FRACTION]` with at most 6 decimals into microseconds, at most `max_secs`.
pub(crate) fn parse_timer(text: &str, max_secs: u64) -> Result<u64, TimerError> {
    let (whole, fraction) = match text.split_once('.') {
        Some((whole, fraction)) => (whole, fraction),
        None => (text, ""),
    };
    let whole_ok = whole.bytes().all(|b| b.is_ascii_digit());
    let fraction_ok = fraction.len() <= 6 && fraction.bytes().all(|b| b.is_ascii_digit());
    if !whole_ok || !fraction_ok || (whole.is_empty() && fraction.is_empty()) {
        return Err(TimerError::Invalid);
    }
    let seconds: u64 = if whole.is_empty() {
        0
    } else {
        whole.parse().map_err(|_| TimerError::OutOfRange)?
    };
    let mut micros: u64 = 0;
    for (index, digit) in fraction.bytes().enumerate() {
        let place = 10u64.pow(5 - index as u32);
        micros += u64::from(digit - b'0') * place;
    }
    if seconds > max_secs || (seconds == max_secs && micros > 0) {
        return Err(TimerError::OutOfRange);
    }
    Ok(seconds * MICROS_PER_SECOND + micros)
}

/// Reads keepalived's `<BOOL>`: on|off|true|false|yes|no.
pub(crate) fn parse_bool(text: &str) -> Option<bool> {
    match text {
        "on" | "true" | "yes" => Some(true),
        "off" | "false" | "no" => Some(false),
        _ => None,
    }
}

/// Reads `ADDR[/LEN]`; returns the address, prefix length (default /32 or /128).
pub(crate) fn parse_prefix(text: &str) -> Option<(IpAddr, u8)> {
    let (addr_text, len_text) = match text.split_once('/') {
        Some((addr, len)) => (addr, Some(len)),
        None => (text, None),
    };
    let addr: IpAddr = addr_text.parse().ok()?;
    let max = if addr.is_ipv4() { 32 } else { 128 };
    let len = match len_text {
        Some(len) => u8::try_from(parse_int(len, 0, max).ok()?).ok()?,
        None => max as u8,
    };
    Some((addr, len))
}

/// Reads a scope name or number (as in /etc/iproute2/rt_scopes).
pub(crate) fn parse_scope(text: &str) -> Option<Scope> {
    match text {
        "global" | "universe" => Some(Scope::Global),
        "site" => Some(Scope::Site),
        "link" => Some(Scope::Link),
        "host" => Some(Scope::Host),
        "nowhere" => Some(Scope::Nowhere),
        number => parse_int(number, 0, 255)
            .ok()
            .and_then(|v| u8::try_from(v).ok())
            .map(Scope::from_u8),
    }
}

/// IPv4 network mask for a prefix length 0..=32.
pub(crate) fn ipv4_mask(prefix_len: u8) -> u32 {
    if prefix_len == 0 {
        0
    } else {
        u32::MAX << (32 - u32::from(prefix_len.min(32)))
    }
}

/// Broadcast address of `addr/prefix_len` (all host bits set).
pub(crate) fn ipv4_broadcast(addr: Ipv4Addr, prefix_len: u8) -> Ipv4Addr {
    Ipv4Addr::from(u32::from(addr) | !ipv4_mask(prefix_len))
}

/// Network address of `addr/prefix_len` (all host bits clear).
pub(crate) fn ipv4_network(addr: Ipv4Addr, prefix_len: u8) -> Ipv4Addr {
    Ipv4Addr::from(u32::from(addr) & ipv4_mask(prefix_len))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn timers() {
        assert_eq!(parse_timer("1", 255), Ok(1_000_000));
        assert_eq!(parse_timer("0.001", 255), Ok(1_000));
        assert_eq!(parse_timer("0.5", 255), Ok(500_000));
        assert_eq!(parse_timer(".25", 255), Ok(250_000));
        assert_eq!(parse_timer("2.000001", 255), Ok(2_000_001));
        assert_eq!(parse_timer("1.0000001", 255), Err(TimerError::Invalid));
        assert_eq!(parse_timer("-1", 255), Err(TimerError::Invalid));
        assert_eq!(parse_timer(".", 255), Err(TimerError::Invalid));
        assert_eq!(parse_timer("255.1", 255), Err(TimerError::OutOfRange));
        assert_eq!(
            parse_timer("99999999999999999999999", 255),
            Err(TimerError::OutOfRange)
        );
    }

    #[test]
    fn ints_and_prefixes() {
        assert_eq!(parse_int("-30", -253, 253), Ok(-30));
        assert_eq!(parse_int("256", 1, 255), Err(IntError::OutOfRange));
        assert_eq!(parse_int("1x", 1, 255), Err(IntError::Invalid));
        assert_eq!(
            parse_int("99999999999999999999", 0, 1),
            Err(IntError::OutOfRange)
        );
        assert_eq!(
            parse_prefix("10.0.0.1/24"),
            Some(("10.0.0.1".parse().unwrap(), 24))
        );
        assert_eq!(
            parse_prefix("10.0.0.1"),
            Some(("10.0.0.1".parse().unwrap(), 32))
        );
        assert_eq!(
            parse_prefix("2001:db8::1"),
            Some(("2001:db8::1".parse().unwrap(), 128))
        );
        assert_eq!(parse_prefix("10.0.0.1/33"), None);
        assert_eq!(
            ipv4_broadcast("198.51.100.10".parse().unwrap(), 24),
            Ipv4Addr::new(198, 51, 100, 255)
        );
        assert_eq!(
            ipv4_network("10.1.2.3".parse().unwrap(), 8),
            Ipv4Addr::new(10, 0, 0, 0)
        );
        assert_eq!(
            ipv4_broadcast("10.1.2.3".parse().unwrap(), 0),
            Ipv4Addr::BROADCAST
        );
    }
}

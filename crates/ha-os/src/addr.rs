//! Virtual IPv4 addresses over rtnetlink (`RTM_NEWADDR` / `RTM_DELADDR` / `RTM_GETADDR`).

use std::net::{Ipv4Addr, Ipv6Addr};

use crate::error::{Operation, OsError, Result};
use crate::iface::{MAX_INTERFACE_NAME_LEN, validate_interface_name};
use crate::link::DeleteOutcome;
use crate::nlwire::{self, Message, RequestBuilder};
use crate::rtnl::{Expect, Rtnetlink};

/// Address scope (`RT_SCOPE_*`), as in `ip addr ... scope S`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AddressScope {
    /// `global` (0), keepalived's default.
    Global,
    /// `site` (200).
    Site,
    /// `link` (253).
    Link,
    /// `host` (254).
    Host,
    /// `nowhere` (255).
    Nowhere,
    /// Any other numeric scope.
    Other(u8),
}

impl AddressScope {
    /// The kernel's number for the scope.
    pub fn to_raw(self) -> u8 {
        match self {
            Self::Global => 0,
            Self::Site => 200,
            Self::Link => 253,
            Self::Host => 254,
            Self::Nowhere => 255,
            Self::Other(raw) => raw,
        }
    }

    /// The scope for a kernel number.
    pub fn from_raw(raw: u8) -> Self {
        match raw {
            0 => Self::Global,
            200 => Self::Site,
            253 => Self::Link,
            254 => Self::Host,
            255 => Self::Nowhere,
            other => Self::Other(other),
        }
    }
}

/// A virtual address to put on (or take off) an interface, keepalived's
/// `virtual_ipaddress` entry: `ADDR[/LEN] [brd X] [scope S] [label L] [peer P]`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VirtualAddress {
    /// The address (`IFA_LOCAL`).
    pub address: Ipv4Addr,
    /// Prefix length, 0..=32; keepalived's default is 32.
    pub prefix_len: u8,
    /// Broadcast address (`IFA_BROADCAST`), none by default.
    pub broadcast: Option<Ipv4Addr>,
    /// Label (`IFA_LABEL`), at most 15 bytes; by convention `eth0:1`.
    pub label: Option<String>,
    /// Scope; global by default.
    pub scope: AddressScope,
    /// Point-to-point peer (`IFA_ADDRESS`); the address itself when absent.
    pub peer: Option<Ipv4Addr>,
}

impl VirtualAddress {
    /// `address/prefix_len`, scope global, no broadcast, label or peer.
    pub fn new(address: Ipv4Addr, prefix_len: u8) -> Self {
        Self {
            address,
            prefix_len,
            broadcast: None,
            label: None,
            scope: AddressScope::Global,
            peer: None,
        }
    }

    /// keepalived's `brd +`: the all-ones host part of the prefix.
    pub fn computed_broadcast(&self) -> Ipv4Addr {
        let mask = prefix_mask(self.prefix_len);
        Ipv4Addr::from(u32::from(self.address) | !mask)
    }

    /// keepalived's `brd -`: the network address of the prefix.
    pub fn network_address(&self) -> Ipv4Addr {
        Ipv4Addr::from(u32::from(self.address) & prefix_mask(self.prefix_len))
    }

    fn validate(&self, op: Operation, interface: &str) -> Result<()> {
        let invalid = |reason| OsError::InvalidArgument {
            op,
            interface: interface.to_owned(),
            reason,
        };
        if self.prefix_len > 32 {
            return Err(invalid("prefix length above 32"));
        }
        if let Some(label) = &self.label {
            if label.is_empty() || label.len() > MAX_INTERFACE_NAME_LEN {
                return Err(invalid("label must be 1..=15 bytes"));
            }
            if label.bytes().any(|b| b == 0) {
                return Err(invalid("label contains NUL"));
            }
        }
        Ok(())
    }
}

fn prefix_mask(prefix_len: u8) -> u32 {
    match prefix_len {
        0 => 0,
        len if len >= 32 => u32::MAX,
        len => u32::MAX << (32 - u32::from(len)),
    }
}

/// One IPv4 address as the kernel lists it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InterfaceAddress {
    /// Interface index.
    pub index: u32,
    /// The local address (`IFA_LOCAL`, or `IFA_ADDRESS` when absent).
    pub address: Ipv4Addr,
    /// Prefix length.
    pub prefix_len: u8,
    /// Peer / prefix address (`IFA_ADDRESS`).
    pub peer: Option<Ipv4Addr>,
    /// Broadcast address.
    pub broadcast: Option<Ipv4Addr>,
    /// Label.
    pub label: Option<String>,
    /// Scope.
    pub scope: AddressScope,
    /// `IFA_F_*` flags (0x01 = secondary, 0x80 = permanent...).
    pub flags: u32,
}

/// Result of an idempotent address add.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AddOutcome {
    /// The address was added.
    Added,
    /// The kernel already had it (`EEXIST`); nothing changed.
    AlreadyPresent,
}

fn ipv4(payload: &[u8]) -> Option<Ipv4Addr> {
    <[u8; 4]>::try_from(payload).ok().map(Ipv4Addr::from)
}

fn parse_address(msg: &Message<'_>) -> std::result::Result<Option<InterfaceAddress>, &'static str> {
    let fixed = msg
        .payload
        .get(..nlwire::IFADDRMSG_LEN)
        .ok_or("truncated ifaddrmsg")?;
    if i32::from(fixed[0]) != libc::AF_INET {
        return Ok(None);
    }
    let index = nlwire::read_u32(fixed, 4).ok_or("truncated ifaddrmsg")?;
    let mut flags = u32::from(fixed[2]);
    let (mut local, mut peer, mut broadcast, mut label) = (None, None, None, None);
    for attr in nlwire::attrs(msg.payload.get(nlwire::IFADDRMSG_LEN..).unwrap_or(&[])) {
        let (kind, payload) = attr?;
        match kind {
            nlwire::IFA_LOCAL => local = ipv4(payload),
            nlwire::IFA_ADDRESS => peer = ipv4(payload),
            nlwire::IFA_BROADCAST => broadcast = ipv4(payload),
            nlwire::IFA_LABEL => label = Some(nlwire::c_string(payload)),
            nlwire::IFA_FLAGS => flags = nlwire::read_u32(payload, 0).unwrap_or(flags),
            _ => {}
        }
    }
    let Some(address) = local.or(peer) else {
        return Err("address without IFA_LOCAL or IFA_ADDRESS");
    };
    Ok(Some(InterfaceAddress {
        index,
        address,
        prefix_len: fixed[1],
        peer,
        broadcast,
        label,
        scope: AddressScope::from_raw(fixed[3]),
        flags,
    }))
}

impl Rtnetlink {
    fn resolve(&mut self, op: Operation, interface: &str) -> Result<u32> {
        validate_interface_name(op, interface)?;
        match self.link_by_name(interface) {
            Ok(link) => Ok(link.index),
            Err(OsError::NoSuchInterface { interface, .. }) => {
                Err(OsError::NoSuchInterface { op, interface })
            }
            Err(e) => Err(e),
        }
    }

    fn address_request(
        msg_type: u16,
        flags: u16,
        index: u32,
        vip: &VirtualAddress,
    ) -> RequestBuilder {
        let mut request = RequestBuilder::new(msg_type, flags)
            .ifaddrmsg(vip.prefix_len, vip.scope.to_raw(), index)
            .attr(nlwire::IFA_LOCAL, &vip.address.octets())
            .attr(
                nlwire::IFA_ADDRESS,
                &vip.peer.unwrap_or(vip.address).octets(),
            );
        if let Some(broadcast) = vip.broadcast {
            request = request.attr(nlwire::IFA_BROADCAST, &broadcast.octets());
        }
        if let Some(label) = &vip.label {
            request = request.attr_str(nlwire::IFA_LABEL, label);
        }
        request
    }

    /// Adds `vip` to `interface`. Adding an address that is already there is reported as
    /// [`AddOutcome::AlreadyPresent`], not as an error.
    pub fn add_address(&mut self, interface: &str, vip: &VirtualAddress) -> Result<AddOutcome> {
        let op = Operation::AddAddress;
        vip.validate(op, interface)?;
        let index = self.resolve(op, interface)?;
        let flags = nlwire::NLM_F_ACK | nlwire::NLM_F_CREATE | nlwire::NLM_F_EXCL;
        let request = Self::address_request(nlwire::RTM_NEWADDR, flags, index, vip);
        match self.transact(op, interface, request, Expect::Ack, |_| Ok(())) {
            Ok(()) => Ok(AddOutcome::Added),
            Err(e) if e.errno() == Some(libc::EEXIST) => Ok(AddOutcome::AlreadyPresent),
            Err(e) => Err(e),
        }
    }

    /// Removes `vip` (matched by address and prefix) from `interface`. A missing address is
    /// reported as [`DeleteOutcome::NotPresent`], not as an error.
    pub fn delete_address(
        &mut self,
        interface: &str,
        vip: &VirtualAddress,
    ) -> Result<DeleteOutcome> {
        let op = Operation::DeleteAddress;
        vip.validate(op, interface)?;
        let index = self.resolve(op, interface)?;
        let mut plain = vip.clone();
        // The label and broadcast are not part of the match; the kernel would compare the label.
        plain.label = None;
        plain.broadcast = None;
        let request = Self::address_request(nlwire::RTM_DELADDR, nlwire::NLM_F_ACK, index, &plain);
        match self.transact(op, interface, request, Expect::Ack, |_| Ok(())) {
            Ok(()) => Ok(DeleteOutcome::Deleted),
            Err(e) if e.errno() == Some(libc::EADDRNOTAVAIL) => Ok(DeleteOutcome::NotPresent),
            Err(e) => Err(e),
        }
    }

    fn address6_request(
        msg_type: u16,
        flags: u16,
        index: u32,
        address: Ipv6Addr,
        prefix_len: u8,
    ) -> RequestBuilder {
        // IFA_F_NODAD: a virtual address is in use at once, without duplicate detection
        // (its owner just won an election), as keepalived installs them.
        const IFA_F_NODAD: u8 = 0x02;
        RequestBuilder::new(msg_type, flags)
            .ifaddrmsg_family(libc::AF_INET6 as u8, prefix_len, IFA_F_NODAD, 0, index)
            .attr(nlwire::IFA_LOCAL, &address.octets())
            .attr(nlwire::IFA_ADDRESS, &address.octets())
    }

    /// Adds the IPv6 `address`/`prefix_len` to `interface` (no duplicate address detection).
    /// An address already there is [`AddOutcome::AlreadyPresent`].
    pub fn add_address6(
        &mut self,
        interface: &str,
        address: Ipv6Addr,
        prefix_len: u8,
    ) -> Result<AddOutcome> {
        let op = Operation::AddAddress;
        if prefix_len > 128 {
            return Err(OsError::InvalidArgument {
                op,
                interface: interface.to_owned(),
                reason: "IPv6 prefix length above 128",
            });
        }
        let index = self.resolve(op, interface)?;
        let flags = nlwire::NLM_F_ACK | nlwire::NLM_F_CREATE | nlwire::NLM_F_EXCL;
        let request =
            Self::address6_request(nlwire::RTM_NEWADDR, flags, index, address, prefix_len);
        match self.transact(op, interface, request, Expect::Ack, |_| Ok(())) {
            Ok(()) => Ok(AddOutcome::Added),
            Err(e) if e.errno() == Some(libc::EEXIST) => Ok(AddOutcome::AlreadyPresent),
            Err(e) => Err(e),
        }
    }

    /// Removes the IPv6 `address`/`prefix_len` from `interface`; a missing one is
    /// [`DeleteOutcome::NotPresent`].
    pub fn delete_address6(
        &mut self,
        interface: &str,
        address: Ipv6Addr,
        prefix_len: u8,
    ) -> Result<DeleteOutcome> {
        let op = Operation::DeleteAddress;
        let index = self.resolve(op, interface)?;
        let request = Self::address6_request(
            nlwire::RTM_DELADDR,
            nlwire::NLM_F_ACK,
            index,
            address,
            prefix_len,
        );
        match self.transact(op, interface, request, Expect::Ack, |_| Ok(())) {
            Ok(()) => Ok(DeleteOutcome::Deleted),
            Err(e) if e.errno() == Some(libc::EADDRNOTAVAIL) => Ok(DeleteOutcome::NotPresent),
            Err(e) => Err(e),
        }
    }

    /// Lists the IPv4 addresses of `interface` (to notice a VIP removed by someone else).
    pub fn list_addresses(&mut self, interface: &str) -> Result<Vec<InterfaceAddress>> {
        let op = Operation::ListAddresses;
        let index = self.resolve(op, interface)?;
        let request =
            RequestBuilder::new(nlwire::RTM_GETADDR, nlwire::NLM_F_DUMP).ifaddrmsg(0, 0, index);
        let mut found = Vec::new();
        self.transact(op, interface, request, Expect::Dump, |msg| {
            if msg.kind != nlwire::RTM_NEWADDR {
                return Ok(());
            }
            let parsed = parse_address(msg).map_err(|detail| OsError::MalformedReply {
                op,
                interface: interface.to_owned(),
                detail,
            })?;
            if let Some(addr) = parsed.filter(|a| a.index == index) {
                found.push(addr);
            }
            Ok(())
        })?;
        Ok(found)
    }

    /// Whether `interface` currently carries `address` (any prefix length).
    pub fn has_address(&mut self, interface: &str, address: Ipv4Addr) -> Result<bool> {
        Ok(self
            .list_addresses(interface)?
            .iter()
            .any(|a| a.address == address))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn broadcast_and_network_like_keepalived_plus_and_minus() {
        let vip = VirtualAddress::new(Ipv4Addr::new(192, 168, 200, 16), 24);
        assert_eq!(vip.computed_broadcast(), Ipv4Addr::new(192, 168, 200, 255));
        assert_eq!(vip.network_address(), Ipv4Addr::new(192, 168, 200, 0));
        let host = VirtualAddress::new(Ipv4Addr::new(10, 0, 0, 1), 32);
        assert_eq!(host.computed_broadcast(), Ipv4Addr::new(10, 0, 0, 1));
        let all = VirtualAddress::new(Ipv4Addr::new(10, 1, 2, 3), 0);
        assert_eq!(all.computed_broadcast(), Ipv4Addr::BROADCAST);
        assert_eq!(all.network_address(), Ipv4Addr::UNSPECIFIED);
    }

    #[test]
    fn invalid_vips_are_rejected_before_any_syscall() {
        let mut vip = VirtualAddress::new(Ipv4Addr::new(10, 0, 0, 1), 33);
        assert!(vip.validate(Operation::AddAddress, "eth0").is_err());
        vip.prefix_len = 24;
        vip.label = Some("eth0:this-is-too-long".into());
        let err = vip.validate(Operation::AddAddress, "eth0").unwrap_err();
        assert_eq!(err.interface(), "eth0");
        assert_eq!(err.operation(), Operation::AddAddress);
        vip.label = Some("eth0:1".into());
        assert!(vip.validate(Operation::AddAddress, "eth0").is_ok());
    }

    #[test]
    fn scope_numbers() {
        for raw in 0..=255u8 {
            assert_eq!(AddressScope::from_raw(raw).to_raw(), raw);
        }
        assert_eq!(AddressScope::Link.to_raw(), 253);
    }

    #[test]
    fn parses_a_kernel_address_message() {
        let request = RequestBuilder::new(nlwire::RTM_NEWADDR, 0)
            .ifaddrmsg(24, 0, 3)
            .attr(nlwire::IFA_ADDRESS, &[192, 168, 200, 16])
            .attr(nlwire::IFA_LOCAL, &[192, 168, 200, 16])
            .attr(nlwire::IFA_BROADCAST, &[192, 168, 200, 255])
            .attr_str(nlwire::IFA_LABEL, "b0:vip")
            .attr_u32(nlwire::IFA_FLAGS, 0x81)
            .finish(5)
            .unwrap();
        let msg = nlwire::messages(&request).next().unwrap().unwrap();
        let addr = parse_address(&msg).unwrap().unwrap();
        assert_eq!(addr.index, 3);
        assert_eq!(addr.address, Ipv4Addr::new(192, 168, 200, 16));
        assert_eq!(addr.prefix_len, 24);
        assert_eq!(addr.broadcast, Some(Ipv4Addr::new(192, 168, 200, 255)));
        assert_eq!(addr.label.as_deref(), Some("b0:vip"));
        assert_eq!(addr.flags, 0x81);
        // Every truncation is an error or a shorter parse, never a panic.
        for cut in 16..request.len() {
            let msg = Message {
                kind: nlwire::RTM_NEWADDR,
                flags: 0,
                seq: 5,
                payload: &request[16..cut],
            };
            let _ = parse_address(&msg);
        }
    }
}

//! Interfaces over rtnetlink: lookup, macvlan (VMAC) creation, deletion, up/down.

use crate::error::{Operation, OsError, Result};
use crate::iface::validate_interface_name;
use crate::nlwire::{self, Message, RequestBuilder};
use crate::rtnl::{Expect, Rtnetlink};

/// What the kernel reports about one interface.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LinkInfo {
    /// Interface index.
    pub index: u32,
    /// Interface name.
    pub name: String,
    /// Hardware address, when it is a 6-byte (Ethernet) one.
    pub mac: Option<[u8; 6]>,
    /// `IFF_*` flags (see [`crate::iface::flags`]).
    pub flags: u32,
    /// MTU.
    pub mtu: Option<u32>,
    /// Index of the lower (parent) interface, e.g. a macvlan's parent.
    pub parent_index: Option<u32>,
    /// Link kind (`"macvlan"`, `"veth"`...), absent for plain devices.
    pub kind: Option<String>,
    /// The macvlan mode when `kind` is macvlan.
    pub macvlan_mode: Option<MacvlanMode>,
}

/// macvlan modes (`MACVLAN_MODE_*`); keepalived's VMAC uses [`MacvlanMode::Private`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MacvlanMode {
    /// No traffic between macvlans of the same parent (keepalived's choice).
    Private,
    /// Traffic between macvlans goes through the external switch.
    Vepa,
    /// macvlans of the same parent talk directly.
    Bridge,
    /// One macvlan takes over the parent.
    Passthru,
    /// Source-MAC based.
    Source,
}

impl MacvlanMode {
    fn to_raw(self) -> u32 {
        match self {
            Self::Private => 1,
            Self::Vepa => 2,
            Self::Bridge => 4,
            Self::Passthru => 8,
            Self::Source => 16,
        }
    }

    fn from_raw(raw: u32) -> Option<Self> {
        Some(match raw {
            1 => Self::Private,
            2 => Self::Vepa,
            4 => Self::Bridge,
            8 => Self::Passthru,
            16 => Self::Source,
            _ => return None,
        })
    }
}

/// The VRRP virtual MAC for IPv4: 00:00:5e:00:01:VRID (RFC 3768 §7.3).
pub fn vmac_address(vrid: u8) -> [u8; 6] {
    [0x00, 0x00, 0x5e, 0x00, 0x01, vrid]
}

/// keepalived's default VMAC interface name: `vrrp.<VRID>`.
pub fn vmac_interface_name(vrid: u8) -> String {
    format!("vrrp.{vrid}")
}

/// A macvlan interface to create.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MacvlanSpec {
    /// Name of the new interface.
    pub name: String,
    /// Its MAC address.
    pub mac: [u8; 6],
    /// Its macvlan mode.
    pub mode: MacvlanMode,
    /// Bring it up on creation.
    pub up: bool,
}

impl MacvlanSpec {
    /// keepalived's VMAC for `vrid`: `vrrp.<VRID>`, 00:00:5e:00:01:VRID, private, up.
    pub fn vmac(vrid: u8) -> Self {
        Self {
            name: vmac_interface_name(vrid),
            mac: vmac_address(vrid),
            mode: MacvlanMode::Private,
            up: true,
        }
    }
}

/// Result of an idempotent create.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CreateOutcome {
    /// The interface was created.
    Created,
    /// An interface with that name already existed (`EEXIST`); it was left unchanged.
    AlreadyExists,
}

/// Result of an idempotent delete.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DeleteOutcome {
    /// The object was deleted.
    Deleted,
    /// It was not there (`ENODEV` / `EADDRNOTAVAIL`).
    NotPresent,
}

const IFF_UP: u32 = 0x1;

fn parse_link(msg: &Message<'_>) -> std::result::Result<LinkInfo, &'static str> {
    let index = nlwire::read_u32(msg.payload, 4).ok_or("truncated ifinfomsg")?;
    let flags = nlwire::read_u32(msg.payload, 8).ok_or("truncated ifinfomsg")?;
    let area = msg.payload.get(nlwire::IFINFOMSG_LEN..).unwrap_or(&[]);
    let mut info = LinkInfo {
        index,
        name: String::new(),
        mac: None,
        flags,
        mtu: None,
        parent_index: None,
        kind: None,
        macvlan_mode: None,
    };
    for attr in nlwire::attrs(area) {
        let (kind, payload) = attr?;
        match kind {
            nlwire::IFLA_IFNAME => info.name = nlwire::c_string(payload),
            nlwire::IFLA_ADDRESS => info.mac = <[u8; 6]>::try_from(payload).ok(),
            nlwire::IFLA_MTU => info.mtu = nlwire::read_u32(payload, 0),
            nlwire::IFLA_LINK => info.parent_index = nlwire::read_u32(payload, 0),
            nlwire::IFLA_LINKINFO => {
                for inner in nlwire::attrs(payload) {
                    let (inner_kind, inner_payload) = inner?;
                    match inner_kind {
                        nlwire::IFLA_INFO_KIND => info.kind = Some(nlwire::c_string(inner_payload)),
                        nlwire::IFLA_INFO_DATA => {
                            for data in nlwire::attrs(inner_payload) {
                                let (data_kind, data_payload) = data?;
                                if data_kind == nlwire::IFLA_MACVLAN_MODE {
                                    info.macvlan_mode = nlwire::read_u32(data_payload, 0)
                                        .and_then(MacvlanMode::from_raw);
                                }
                            }
                        }
                        _ => {}
                    }
                }
            }
            _ => {}
        }
    }
    // Only macvlan's IFLA_INFO_DATA attribute 1 is the mode.
    if info.kind.as_deref() != Some("macvlan") {
        info.macvlan_mode = None;
    }
    Ok(info)
}

impl Rtnetlink {
    fn get_link(&mut self, label: &str, request: RequestBuilder) -> Result<LinkInfo> {
        let mut found = None;
        self.transact(Operation::LinkLookup, label, request, Expect::Ack, |msg| {
            if msg.kind == nlwire::RTM_NEWLINK {
                found = Some(parse_link(msg).map_err(|detail| OsError::MalformedReply {
                    op: Operation::LinkLookup,
                    interface: label.to_owned(),
                    detail,
                })?);
            }
            Ok(())
        })?;
        found.ok_or_else(|| OsError::MalformedReply {
            op: Operation::LinkLookup,
            interface: label.to_owned(),
            detail: "no link in reply",
        })
    }

    /// Looks an interface up by name: index, MAC, flags, kind...
    pub fn link_by_name(&mut self, name: &str) -> Result<LinkInfo> {
        validate_interface_name(Operation::LinkLookup, name)?;
        let request = RequestBuilder::new(nlwire::RTM_GETLINK, nlwire::NLM_F_ACK)
            .ifinfomsg(0, 0, 0)
            .attr_str(nlwire::IFLA_IFNAME, name);
        self.get_link(name, request)
    }

    /// Looks an interface up by index.
    pub fn link_by_index(&mut self, index: u32) -> Result<LinkInfo> {
        let label = format!("#{index}");
        if index == 0 || i32::try_from(index).is_err() {
            return Err(OsError::NoSuchInterface {
                op: Operation::LinkLookup,
                interface: label,
            });
        }
        let request =
            RequestBuilder::new(nlwire::RTM_GETLINK, nlwire::NLM_F_ACK).ifinfomsg(index, 0, 0);
        self.get_link(&label, request)
    }

    /// The index of the interface called `name`.
    pub fn index_of(&mut self, name: &str) -> Result<u32> {
        Ok(self.link_by_name(name)?.index)
    }

    /// Creates a macvlan on `parent` (keepalived's VMAC when built with [`MacvlanSpec::vmac`]).
    /// An existing interface of that name is reported as [`CreateOutcome::AlreadyExists`]
    /// and not modified; check it with [`Self::link_by_name`].
    pub fn create_macvlan(&mut self, parent: &str, spec: &MacvlanSpec) -> Result<CreateOutcome> {
        validate_interface_name(Operation::CreateMacvlan, &spec.name)?;
        validate_interface_name(Operation::CreateMacvlan, parent)?;
        let parent_index = match self.link_by_name(parent) {
            Ok(link) => link.index,
            Err(OsError::NoSuchInterface { interface, .. }) => {
                return Err(OsError::NoSuchInterface {
                    op: Operation::CreateMacvlan,
                    interface,
                });
            }
            Err(e) => return Err(e),
        };
        let up = if spec.up { IFF_UP } else { 0 };
        let request = RequestBuilder::new(
            nlwire::RTM_NEWLINK,
            nlwire::NLM_F_ACK | nlwire::NLM_F_CREATE | nlwire::NLM_F_EXCL,
        )
        .ifinfomsg(0, up, IFF_UP)
        .attr_str(nlwire::IFLA_IFNAME, &spec.name)
        .attr_u32(nlwire::IFLA_LINK, parent_index)
        .attr(nlwire::IFLA_ADDRESS, &spec.mac)
        .begin_nest(nlwire::IFLA_LINKINFO)
        .attr_str(nlwire::IFLA_INFO_KIND, "macvlan")
        .begin_nest(nlwire::IFLA_INFO_DATA)
        .attr_u32(nlwire::IFLA_MACVLAN_MODE, spec.mode.to_raw())
        .end_nest()
        .end_nest();
        match self.transact(
            Operation::CreateMacvlan,
            &spec.name,
            request,
            Expect::Ack,
            |_| Ok(()),
        ) {
            Ok(()) => Ok(CreateOutcome::Created),
            Err(e) if e.errno() == Some(libc::EEXIST) => Ok(CreateOutcome::AlreadyExists),
            Err(e) => Err(e),
        }
    }

    /// Deletes the interface `name`; a missing one is [`DeleteOutcome::NotPresent`].
    pub fn delete_link(&mut self, name: &str) -> Result<DeleteOutcome> {
        validate_interface_name(Operation::DeleteLink, name)?;
        let request = RequestBuilder::new(nlwire::RTM_DELLINK, nlwire::NLM_F_ACK)
            .ifinfomsg(0, 0, 0)
            .attr_str(nlwire::IFLA_IFNAME, name);
        match self.transact(
            Operation::DeleteLink,
            name,
            request,
            Expect::Ack,
            |_| Ok(()),
        ) {
            Ok(()) => Ok(DeleteOutcome::Deleted),
            Err(OsError::NoSuchInterface { .. }) => Ok(DeleteOutcome::NotPresent),
            Err(e) => Err(e),
        }
    }

    /// Sets the interface administratively up or down.
    pub fn set_link_up(&mut self, name: &str, up: bool) -> Result<()> {
        validate_interface_name(Operation::SetLinkState, name)?;
        let request = RequestBuilder::new(nlwire::RTM_SETLINK, nlwire::NLM_F_ACK)
            .ifinfomsg(0, if up { IFF_UP } else { 0 }, IFF_UP)
            .attr_str(nlwire::IFLA_IFNAME, name);
        self.transact(Operation::SetLinkState, name, request, Expect::Ack, |_| {
            Ok(())
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn vmac_naming_and_address() {
        assert_eq!(vmac_address(51), [0, 0, 0x5e, 0, 1, 0x33]);
        assert_eq!(vmac_interface_name(51), "vrrp.51");
        assert_eq!(vmac_interface_name(255), "vrrp.255");
        let spec = MacvlanSpec::vmac(7);
        assert_eq!(spec.mode, MacvlanMode::Private);
        assert_eq!(spec.mac, [0, 0, 0x5e, 0, 1, 7]);
    }

    #[test]
    fn parses_a_macvlan_link_message() {
        let request = RequestBuilder::new(nlwire::RTM_NEWLINK, 0)
            .ifinfomsg(9, 0x1043, 0)
            .attr_str(nlwire::IFLA_IFNAME, "vrrp.51")
            .attr(nlwire::IFLA_ADDRESS, &vmac_address(51))
            .attr_u32(nlwire::IFLA_MTU, 1500)
            .attr_u32(nlwire::IFLA_LINK, 3)
            .begin_nest(nlwire::IFLA_LINKINFO)
            .attr_str(nlwire::IFLA_INFO_KIND, "macvlan")
            .begin_nest(nlwire::IFLA_INFO_DATA)
            .attr_u32(nlwire::IFLA_MACVLAN_MODE, 1)
            .end_nest()
            .end_nest()
            .finish(1)
            .unwrap();
        let msg = nlwire::messages(&request).next().unwrap().unwrap();
        let link = parse_link(&msg).unwrap();
        assert_eq!(
            link,
            LinkInfo {
                index: 9,
                name: "vrrp.51".into(),
                mac: Some(vmac_address(51)),
                flags: 0x1043,
                mtu: Some(1500),
                parent_index: Some(3),
                kind: Some("macvlan".into()),
                macvlan_mode: Some(MacvlanMode::Private),
            }
        );
        for cut in 0..msg.payload.len() {
            let short = Message {
                payload: &msg.payload[..cut],
                ..msg
            };
            let _ = parse_link(&short);
        }
    }

    #[test]
    fn macvlan_mode_round_trips() {
        for mode in [
            MacvlanMode::Private,
            MacvlanMode::Vepa,
            MacvlanMode::Bridge,
            MacvlanMode::Passthru,
            MacvlanMode::Source,
        ] {
            assert_eq!(MacvlanMode::from_raw(mode.to_raw()), Some(mode));
        }
        assert_eq!(MacvlanMode::from_raw(3), None);
    }
}

//! The effects a VRRP daemon performs, behind a trait so daemon tests can use a recording
//! fake instead of the kernel.

use std::collections::{BTreeSet, HashMap};
use std::net::Ipv4Addr;

use crate::addr::{AddOutcome, VirtualAddress};
use crate::error::{Operation, OsError, Result};
use crate::garp::GarpSender;
use crate::link::{CreateOutcome, DeleteOutcome, MacvlanSpec};
use crate::rtnl::Rtnetlink;
use crate::tx::Sender;

/// Everything a VRRP instance does to the OS besides receiving.
pub trait Effects {
    /// Sends one complete IPv4 packet (advert) on `interface`.
    fn send_packet(&mut self, interface: &str, packet: &[u8]) -> Result<()>;
    /// Adds a virtual address to `interface` (idempotent).
    fn add_vip(&mut self, interface: &str, vip: &VirtualAddress) -> Result<AddOutcome>;
    /// Removes a virtual address from `interface` (idempotent).
    fn delete_vip(&mut self, interface: &str, vip: &VirtualAddress) -> Result<DeleteOutcome>;
    /// Sends one gratuitous ARP for `vip` on `interface`.
    fn send_garp(&mut self, interface: &str, vip: Ipv4Addr) -> Result<()>;
    /// Creates a macvlan (VMAC) on `parent`.
    fn create_vmac(&mut self, parent: &str, spec: &MacvlanSpec) -> Result<CreateOutcome>;
    /// Deletes an interface (the VMAC).
    fn delete_link(&mut self, name: &str) -> Result<DeleteOutcome>;
}

/// The real effects: one rtnetlink socket, plus send and GARP sockets opened on first use
/// per interface and reused afterwards (in the network namespace of the calling thread at
/// that moment).
#[derive(Debug)]
pub struct LinuxEffects {
    netlink: Rtnetlink,
    senders: HashMap<String, Sender>,
    garp: HashMap<String, GarpSender>,
}

impl LinuxEffects {
    /// Opens the rtnetlink socket; the other sockets are opened lazily.
    pub fn new() -> Result<Self> {
        Ok(Self {
            netlink: Rtnetlink::open()?,
            senders: HashMap::new(),
            garp: HashMap::new(),
        })
    }

    /// The rtnetlink socket, for lookups and listings.
    pub fn netlink(&mut self) -> &mut Rtnetlink {
        &mut self.netlink
    }

    /// Forgets the cached sockets of `interface` (after it was deleted or recreated).
    pub fn forget_interface(&mut self, interface: &str) {
        self.senders.remove(interface);
        self.garp.remove(interface);
    }

    fn sender(&mut self, interface: &str) -> Result<&Sender> {
        if !self.senders.contains_key(interface) {
            let sender = Sender::open(interface)?;
            self.senders.insert(interface.to_owned(), sender);
        }
        self.senders
            .get(interface)
            .ok_or_else(|| OsError::NoSuchInterface {
                op: Operation::Send,
                interface: interface.to_owned(),
            })
    }

    fn garp_sender(&mut self, interface: &str) -> Result<&GarpSender> {
        if !self.garp.contains_key(interface) {
            let sender = GarpSender::open(interface)?;
            self.garp.insert(interface.to_owned(), sender);
        }
        self.garp
            .get(interface)
            .ok_or_else(|| OsError::NoSuchInterface {
                op: Operation::SendGarp,
                interface: interface.to_owned(),
            })
    }
}

impl Effects for LinuxEffects {
    fn send_packet(&mut self, interface: &str, packet: &[u8]) -> Result<()> {
        self.sender(interface)?.send(packet)
    }

    fn add_vip(&mut self, interface: &str, vip: &VirtualAddress) -> Result<AddOutcome> {
        self.netlink.add_address(interface, vip)
    }

    fn delete_vip(&mut self, interface: &str, vip: &VirtualAddress) -> Result<DeleteOutcome> {
        self.netlink.delete_address(interface, vip)
    }

    fn send_garp(&mut self, interface: &str, vip: Ipv4Addr) -> Result<()> {
        self.garp_sender(interface)?.send(vip)
    }

    fn create_vmac(&mut self, parent: &str, spec: &MacvlanSpec) -> Result<CreateOutcome> {
        self.netlink.create_macvlan(parent, spec)
    }

    fn delete_link(&mut self, name: &str) -> Result<DeleteOutcome> {
        self.forget_interface(name);
        self.netlink.delete_link(name)
    }
}

/// One effect as recorded by [`RecordingEffects`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Recorded {
    /// A packet sent on an interface.
    Packet {
        /// Interface.
        interface: String,
        /// The packet bytes.
        bytes: Vec<u8>,
    },
    /// A VIP add.
    AddVip {
        /// Interface.
        interface: String,
        /// The address.
        vip: VirtualAddress,
    },
    /// A VIP delete.
    DeleteVip {
        /// Interface.
        interface: String,
        /// The address.
        vip: VirtualAddress,
    },
    /// A gratuitous ARP.
    Garp {
        /// Interface.
        interface: String,
        /// The address announced.
        vip: Ipv4Addr,
    },
    /// A VMAC creation.
    CreateVmac {
        /// Parent interface.
        parent: String,
        /// What was asked for.
        spec: MacvlanSpec,
    },
    /// An interface deletion.
    DeleteLink {
        /// Interface.
        name: String,
    },
}

/// A fake [`Effects`] for daemon tests: records every call in order, keeps a model of the
/// VIPs and links so outcomes are realistic, and can be told to fail the next operation.
#[derive(Debug, Default)]
pub struct RecordingEffects {
    /// Every effect, in call order (failed ones are not recorded).
    pub log: Vec<Recorded>,
    vips: BTreeSet<(String, Ipv4Addr, u8)>,
    links: BTreeSet<String>,
    failures: Vec<(Operation, i32)>,
}

impl RecordingEffects {
    /// An empty recorder.
    pub fn new() -> Self {
        Self::default()
    }

    /// Makes the next call performing `op` fail with `errno` (queued in order).
    pub fn fail_next(&mut self, op: Operation, errno: i32) {
        self.failures.push((op, errno));
    }

    /// Whether `vip` is currently on `interface` in the model.
    pub fn has_vip(&self, interface: &str, address: Ipv4Addr) -> bool {
        self.vips
            .iter()
            .any(|(i, a, _)| i == interface && *a == address)
    }

    fn check(&mut self, op: Operation, interface: &str) -> Result<()> {
        if let Some(pos) = self.failures.iter().position(|(o, _)| *o == op) {
            let (_, errno) = self.failures.remove(pos);
            return Err(OsError::Io {
                op,
                interface: interface.to_owned(),
                source: std::io::Error::from_raw_os_error(errno),
            });
        }
        Ok(())
    }
}

impl Effects for RecordingEffects {
    fn send_packet(&mut self, interface: &str, packet: &[u8]) -> Result<()> {
        self.check(Operation::Send, interface)?;
        self.log.push(Recorded::Packet {
            interface: interface.to_owned(),
            bytes: packet.to_vec(),
        });
        Ok(())
    }

    fn add_vip(&mut self, interface: &str, vip: &VirtualAddress) -> Result<AddOutcome> {
        self.check(Operation::AddAddress, interface)?;
        self.log.push(Recorded::AddVip {
            interface: interface.to_owned(),
            vip: vip.clone(),
        });
        let key = (interface.to_owned(), vip.address, vip.prefix_len);
        Ok(if self.vips.insert(key) {
            AddOutcome::Added
        } else {
            AddOutcome::AlreadyPresent
        })
    }

    fn delete_vip(&mut self, interface: &str, vip: &VirtualAddress) -> Result<DeleteOutcome> {
        self.check(Operation::DeleteAddress, interface)?;
        self.log.push(Recorded::DeleteVip {
            interface: interface.to_owned(),
            vip: vip.clone(),
        });
        let key = (interface.to_owned(), vip.address, vip.prefix_len);
        Ok(if self.vips.remove(&key) {
            DeleteOutcome::Deleted
        } else {
            DeleteOutcome::NotPresent
        })
    }

    fn send_garp(&mut self, interface: &str, vip: Ipv4Addr) -> Result<()> {
        self.check(Operation::SendGarp, interface)?;
        self.log.push(Recorded::Garp {
            interface: interface.to_owned(),
            vip,
        });
        Ok(())
    }

    fn create_vmac(&mut self, parent: &str, spec: &MacvlanSpec) -> Result<CreateOutcome> {
        self.check(Operation::CreateMacvlan, &spec.name)?;
        self.log.push(Recorded::CreateVmac {
            parent: parent.to_owned(),
            spec: spec.clone(),
        });
        Ok(if self.links.insert(spec.name.clone()) {
            CreateOutcome::Created
        } else {
            CreateOutcome::AlreadyExists
        })
    }

    fn delete_link(&mut self, name: &str) -> Result<DeleteOutcome> {
        self.check(Operation::DeleteLink, name)?;
        self.log.push(Recorded::DeleteLink {
            name: name.to_owned(),
        });
        self.vips.retain(|(i, _, _)| i != name);
        Ok(if self.links.remove(name) {
            DeleteOutcome::Deleted
        } else {
            DeleteOutcome::NotPresent
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn recorder_models_idempotence_and_injected_failures() {
        let mut fx = RecordingEffects::new();
        let vip = VirtualAddress::new(Ipv4Addr::new(10, 0, 0, 1), 32);
        assert_eq!(fx.add_vip("eth0", &vip).unwrap(), AddOutcome::Added);
        assert_eq!(
            fx.add_vip("eth0", &vip).unwrap(),
            AddOutcome::AlreadyPresent
        );
        assert!(fx.has_vip("eth0", vip.address));
        fx.fail_next(Operation::SendGarp, libc::ENETDOWN);
        let err = fx.send_garp("eth0", vip.address).unwrap_err();
        assert_eq!(err.errno(), Some(libc::ENETDOWN));
        assert_eq!(err.interface(), "eth0");
        fx.send_garp("eth0", vip.address).unwrap();
        assert_eq!(fx.delete_vip("eth0", &vip).unwrap(), DeleteOutcome::Deleted);
        assert_eq!(
            fx.delete_vip("eth0", &vip).unwrap(),
            DeleteOutcome::NotPresent
        );
        assert_eq!(
            fx.create_vmac("eth0", &MacvlanSpec::vmac(1)).unwrap(),
            CreateOutcome::Created
        );
        assert_eq!(fx.delete_link("vrrp.1").unwrap(), DeleteOutcome::Deleted);
        assert_eq!(fx.log.len(), 7, "the failed GARP is not recorded");
        assert_eq!(
            fx.log[2],
            Recorded::Garp {
                interface: "eth0".into(),
                vip: vip.address
            }
        );
    }
}

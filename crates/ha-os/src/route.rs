//! IPv4 routes a master installs and a backup removes (keepalived's `virtual_routes`),
//! tagged with protocol 18 ("keepalived") so `ip route show proto keepalived` lists them.

use std::net::Ipv4Addr;

use crate::addr::AddOutcome;
use crate::error::{Operation, OsError, Result};
use crate::iface::validate_interface_name;
use crate::link::DeleteOutcome;
use crate::nlwire::{self, RequestBuilder};
use crate::rtnl::{Expect, Rtnetlink};

/// `RTPROT_KEEPALIVED`: the routing protocol number keepalived's routes carry.
pub const RTPROT_KEEPALIVED: u8 = 18;
/// `RT_TABLE_MAIN`.
const RT_TABLE_MAIN: u32 = 254;
/// `RT_SCOPE_UNIVERSE`, `RT_SCOPE_LINK`.
const SCOPE_UNIVERSE: u8 = 0;
const SCOPE_LINK: u8 = 253;

/// What a route does with matching packets (`RTN_*`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RouteType {
    /// Forward (`RTN_UNICAST`).
    Unicast,
    /// Drop silently (`RTN_BLACKHOLE`).
    Blackhole,
    /// Drop with "host unreachable" (`RTN_UNREACHABLE`).
    Unreachable,
    /// Drop with "administratively prohibited" (`RTN_PROHIBIT`).
    Prohibit,
}

impl RouteType {
    fn to_raw(self) -> u8 {
        match self {
            RouteType::Unicast => 1,
            RouteType::Blackhole => 6,
            RouteType::Unreachable => 7,
            RouteType::Prohibit => 8,
        }
    }
}

/// One IPv4 route.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Route {
    /// Destination network.
    pub dst: Ipv4Addr,
    /// Destination prefix length (0..=32).
    pub prefix_len: u8,
    /// Preferred source address.
    pub src: Option<Ipv4Addr>,
    /// Gateway.
    pub via: Option<Ipv4Addr>,
    /// Output interface.
    pub dev: Option<String>,
    /// Scope; by default link scope for a unicast route without gateway, else universe
    /// (as `ip route` chooses).
    pub scope: Option<u8>,
    /// Routing table (default main).
    pub table: Option<u32>,
    /// Metric (`RTA_PRIORITY`).
    pub metric: Option<u32>,
    /// Route type.
    pub kind: RouteType,
}

impl Route {
    fn label(&self) -> String {
        format!("{}/{}", self.dst, self.prefix_len)
    }
}

impl Rtnetlink {
    fn route_request(
        &mut self,
        msg_type: u16,
        flags: u16,
        route: &Route,
    ) -> Result<RequestBuilder> {
        let op = if msg_type == nlwire::RTM_NEWROUTE {
            Operation::AddRoute
        } else {
            Operation::DeleteRoute
        };
        let invalid = |reason| OsError::InvalidArgument {
            op,
            interface: route.dev.clone().unwrap_or_default(),
            reason,
        };
        if route.prefix_len > 32 {
            return Err(invalid("prefix length above 32"));
        }
        if route.kind == RouteType::Unicast && route.via.is_none() && route.dev.is_none() {
            return Err(invalid("a unicast route needs a gateway or a device"));
        }
        let table = route.table.unwrap_or(RT_TABLE_MAIN);
        let scope =
            route
                .scope
                .unwrap_or(if route.kind == RouteType::Unicast && route.via.is_none() {
                    SCOPE_LINK
                } else {
                    SCOPE_UNIVERSE
                });
        // The table byte holds ids below 256; larger ones go in RTA_TABLE only.
        let table_byte = u8::try_from(table).unwrap_or(0);
        let mut request = RequestBuilder::new(msg_type, flags).rtmsg(
            route.prefix_len,
            table_byte,
            RTPROT_KEEPALIVED,
            scope,
            route.kind.to_raw(),
        );
        request = request
            .attr(nlwire::RTA_DST, &route.dst.octets())
            .attr_u32(nlwire::RTA_TABLE, table);
        if let Some(dev) = &route.dev {
            validate_interface_name(op, dev)?;
            let index = self.link_by_name(dev).map_err(|e| match e {
                OsError::NoSuchInterface { interface, .. } => {
                    OsError::NoSuchInterface { op, interface }
                }
                other => other,
            })?;
            request = request.attr_u32(nlwire::RTA_OIF, index.index);
        }
        if let Some(via) = route.via {
            request = request.attr(nlwire::RTA_GATEWAY, &via.octets());
        }
        if let Some(src) = route.src {
            request = request.attr(nlwire::RTA_PREFSRC, &src.octets());
        }
        if let Some(metric) = route.metric {
            request = request.attr_u32(nlwire::RTA_PRIORITY, metric);
        }
        Ok(request)
    }

    /// Adds `route`; one that is already there is [`AddOutcome::AlreadyPresent`].
    pub fn add_route(&mut self, route: &Route) -> Result<AddOutcome> {
        let flags = nlwire::NLM_F_ACK | nlwire::NLM_F_CREATE | nlwire::NLM_F_EXCL;
        let request = self.route_request(nlwire::RTM_NEWROUTE, flags, route)?;
        let label = route.label();
        match self.transact(
            Operation::AddRoute,
            &label,
            request,
            Expect::Ack,
            |_| Ok(()),
        ) {
            Ok(()) => Ok(AddOutcome::Added),
            Err(e) if e.errno() == Some(libc::EEXIST) => Ok(AddOutcome::AlreadyPresent),
            Err(e) => Err(e),
        }
    }

    /// Removes `route`; a missing one is [`DeleteOutcome::NotPresent`].
    pub fn delete_route(&mut self, route: &Route) -> Result<DeleteOutcome> {
        let request = self.route_request(nlwire::RTM_DELROUTE, nlwire::NLM_F_ACK, route)?;
        let label = route.label();
        match self.transact(Operation::DeleteRoute, &label, request, Expect::Ack, |_| {
            Ok(())
        }) {
            Ok(()) => Ok(DeleteOutcome::Deleted),
            Err(e) if e.errno() == Some(libc::ESRCH) => Ok(DeleteOutcome::NotPresent),
            Err(e) => Err(e),
        }
    }
}

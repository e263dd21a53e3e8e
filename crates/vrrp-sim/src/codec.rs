//! The one place where the simulator meets the wire format: adverts are encoded to
//! real IPv4 packets (AH included) with `vrrp-wire` and decoded and authenticated on
//! the receiving side, exactly as a daemon would.

use std::net::{IpAddr, Ipv4Addr};

use vrrp_fsm::{AdvertRx, AdvertTx, Duration, InstanceConfig};
use vrrp_wire::{
    AddressList, AddressListMatch, AddressListPolicy, AdvertRepr, Auth, Authenticator, RxError,
    RxPolicy, TxParams, decode_advert, encode_advert,
};

/// Encoding/decoding context of one simulated VRRP instance.
#[derive(Clone, Debug)]
pub struct WireCtx {
    auth: Authenticator,
    vrid: vrrp_wire::Vrid,
    source: Ipv4Addr,
    addresses: AddressList,
    v4_vips: Vec<Ipv4Addr>,
}

/// Why the simulated sender could not encode an advert.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum EncodeFailure {
    /// More than 255 VIPs, or a fractional / over-255 s interval.
    Unrepresentable,
    /// The codec refused it.
    Emit(vrrp_wire::EmitError),
}

impl WireCtx {
    /// Context for an instance with this configuration and key.
    pub fn new(cfg: &InstanceConfig, auth: Auth) -> Self {
        let v4_vips: Vec<Ipv4Addr> = cfg
            .vips
            .iter()
            .filter_map(|a| match a {
                IpAddr::V4(v) => Some(*v),
                IpAddr::V6(_) => None,
            })
            .collect();
        WireCtx {
            auth: Authenticator::new(auth),
            vrid: cfg.vrid,
            source: cfg.source,
            addresses: AddressList::from_slice(&v4_vips[..v4_vips.len().min(255)])
                .unwrap_or_default(),
            v4_vips,
        }
    }

    /// Encodes `tx` as the IPv4 packet keepalived would send.
    pub fn encode(&self, tx: &AdvertTx, ip_id: u16) -> Result<Vec<u8>, EncodeFailure> {
        let secs = tx.advert_interval.as_micros() / 1_000_000;
        if !tx.advert_interval.as_micros().is_multiple_of(1_000_000) || secs == 0 || secs > 255 {
            return Err(EncodeFailure::Unrepresentable);
        }
        let repr = AdvertRepr {
            vrid: self.vrid,
            priority: tx.priority,
            adver_int: secs as u8,
            addresses: self.addresses.clone(),
        };
        let mut buf = vec![0u8; vrrp_wire::advert_packet_len(&repr, self.auth.auth())];
        let params = TxParams::multicast(self.source, ip_id);
        let n = encode_advert(&params, &repr, &self.auth, tx.ah_seq, &mut buf)
            .map_err(EncodeFailure::Emit)?;
        buf.truncate(n);
        Ok(buf)
    }

    /// Decodes and authenticates a received packet for this instance.
    pub fn decode(&self, packet: &[u8]) -> Result<AdvertRx, RxError> {
        let policy = RxPolicy {
            expected_vrid: Some(self.vrid),
            vips: Some(&self.v4_vips),
            address_list_policy: AddressListPolicy::AcceptAndFlag,
            ..RxPolicy::new(&self.auth)
        };
        let rx = decode_advert(packet, &policy)?;
        Ok(AdvertRx {
            source: rx.src,
            priority: rx.priority,
            advert_interval: Duration::from_secs(u64::from(rx.adver_int)),
            ah_seq: rx.ah_sequence(),
            addresses_match: rx.address_list != AddressListMatch::Differs,
        })
    }
}

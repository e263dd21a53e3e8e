//! The optional Ver 1 authentication trailer (HMAC-SHA-256 truncated to 128 bits).

use crate::bytes::{array_at, u8_at, u16_at};
use crate::error::DecodeError;

/// Length of the trailer: Key ID, Algorithm, Reserved, 16-byte MAC.
pub const TRAILER_LEN: usize = 20;
/// Length of the truncated MAC.
pub const MAC_LEN: usize = 16;
/// Algorithm 1: HMAC-SHA-256 truncated to 128 bits (as RFC 4868 does for IPsec).
pub const ALG_HMAC_SHA256_128: u8 = 1;

/// A decoded trailer (framing only; see [`MessageView::verify`](super::MessageView::verify)).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct AuthTrailer {
    /// Key ID (two keys may be valid at once, for rollover).
    pub key_id: u8,
    /// Algorithm (always [`ALG_HMAC_SHA256_128`] once parsed).
    pub algorithm: u8,
    /// The truncated MAC.
    pub mac: [u8; MAC_LEN],
}

impl AuthTrailer {
    /// Decodes the 20 trailer bytes, checking the algorithm and reserved field.
    pub fn parse(bytes: &[u8]) -> Result<Self, DecodeError> {
        if bytes.len() != TRAILER_LEN {
            return Err(DecodeError::MissingTrailer);
        }
        let algorithm = u8_at(bytes, 1);
        if algorithm != ALG_HMAC_SHA256_128 {
            return Err(DecodeError::UnsupportedAuthAlgorithm(algorithm));
        }
        let reserved = u16_at(bytes, 2);
        if reserved != 0 {
            return Err(DecodeError::TrailerReservedNonZero(reserved));
        }
        Ok(Self {
            key_id: u8_at(bytes, 0),
            algorithm,
            mac: array_at(bytes, 4),
        })
    }
}

#[cfg(feature = "hmac")]
pub use keyed::{AuthKey, KeyLookup};

#[cfg(feature = "hmac")]
mod keyed {
    use super::MAC_LEN;
    use crate::checksum::CHECKSUM_OFFSET;
    use ring::hmac;

    /// A secret for one (Sync ID, Key ID), ready to sign and verify.
    ///
    /// Uses `ring`'s HMAC-SHA256; MAC comparison is constant-time.
    pub struct AuthKey {
        sync_id: u8,
        key_id: u8,
        key: hmac::Key,
    }

    impl core::fmt::Debug for AuthKey {
        fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
            // Never print the secret.
            f.debug_struct("AuthKey")
                .field("sync_id", &self.sync_id)
                .field("key_id", &self.key_id)
                .finish_non_exhaustive()
        }
    }

    impl AuthKey {
        /// Creates the key `secret` for messages of `sync_id` carrying `key_id`.
        pub fn new(sync_id: u8, key_id: u8, secret: &[u8]) -> Self {
            Self {
                sync_id,
                key_id,
                key: hmac::Key::new(hmac::HMAC_SHA256, secret),
            }
        }

        /// The Sync ID this key is for.
        pub fn sync_id(&self) -> u8 {
            self.sync_id
        }

        /// The Key ID written into trailers.
        pub fn key_id(&self) -> u8 {
            self.key_id
        }

        /// The full HMAC-SHA256 of `data` (the primitive the trailer truncates).
        pub fn hmac_sha256(&self, data: &[u8]) -> [u8; 32] {
            let tag = hmac::sign(&self.key, data);
            let mut out = [0u8; 32];
            out.copy_from_slice(tag.as_ref());
            out
        }

        /// HMAC-SHA256 of `data` truncated to its first 16 bytes.
        pub fn mac128(&self, data: &[u8]) -> [u8; MAC_LEN] {
            truncate(hmac::sign(&self.key, data).as_ref())
        }

        /// The trailer MAC of `message`: bytes `[0, len - 16)` with the
        /// Checksum field taken as zero, without copying the message.
        pub(crate) fn message_mac(&self, message: &[u8]) -> [u8; MAC_LEN] {
            let covered_end = message.len().saturating_sub(MAC_LEN);
            let mut ctx = hmac::Context::with_key(&self.key);
            ctx.update(message.get(..CHECKSUM_OFFSET).unwrap_or_default());
            ctx.update(&[0, 0]);
            ctx.update(
                message
                    .get(CHECKSUM_OFFSET + 2..covered_end)
                    .unwrap_or_default(),
            );
            truncate(ctx.sign().as_ref())
        }
    }

    fn truncate(tag: &[u8]) -> [u8; MAC_LEN] {
        tag.first_chunk::<MAC_LEN>()
            .copied()
            .unwrap_or([0; MAC_LEN])
    }

    /// Compares two MACs in time independent of where they differ.
    pub(crate) fn macs_equal(a: &[u8; MAC_LEN], b: &[u8; MAC_LEN]) -> bool {
        let diff = a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y));
        core::hint::black_box(diff) == 0
    }

    /// Finds the key for a received message's (Sync ID, Key ID).
    pub trait KeyLookup {
        /// The key for `sync_id` and `key_id`, if configured.
        fn key(&self, sync_id: u8, key_id: u8) -> Option<&AuthKey>;
    }

    impl KeyLookup for AuthKey {
        fn key(&self, sync_id: u8, key_id: u8) -> Option<&AuthKey> {
            (self.sync_id == sync_id && self.key_id == key_id).then_some(self)
        }
    }

    impl KeyLookup for [AuthKey] {
        fn key(&self, sync_id: u8, key_id: u8) -> Option<&AuthKey> {
            self.iter()
                .find(|k| k.sync_id == sync_id && k.key_id == key_id)
        }
    }

    impl<const N: usize> KeyLookup for [AuthKey; N] {
        fn key(&self, sync_id: u8, key_id: u8) -> Option<&AuthKey> {
            self.as_slice().key(sync_id, key_id)
        }
    }
}

#[cfg(feature = "hmac")]
pub(crate) use keyed::macs_equal;

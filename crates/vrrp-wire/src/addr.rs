//! Address lists: a borrowed view of the addresses in a received advert, and an owned,
//! fixed-capacity list that never allocates.

use core::fmt;
use core::net::Ipv4Addr;

/// Most addresses one VRRPv2 advert can carry (the count field is one byte).
pub const MAX_ADDRESSES: usize = 255;

/// A borrowed list of IPv4 addresses as they appear on the wire (4 bytes each).
#[derive(Clone, Copy, PartialEq, Eq)]
pub struct AddrSlice<'a> {
    bytes: &'a [u8],
}

impl<'a> AddrSlice<'a> {
    /// Wraps raw bytes; a trailing partial address (length not a multiple of 4) is ignored.
    pub fn new(bytes: &'a [u8]) -> Self {
        let whole = bytes.len() / 4 * 4;
        Self {
            bytes: &bytes[..whole],
        }
    }

    /// Number of addresses.
    pub fn len(&self) -> usize {
        self.bytes.len() / 4
    }

    /// Whether the list is empty.
    pub fn is_empty(&self) -> bool {
        self.bytes.is_empty()
    }

    /// The `index`-th address, if present.
    pub fn get(&self, index: usize) -> Option<Ipv4Addr> {
        let start = index.checked_mul(4)?;
        let b = self.bytes.get(start..start.checked_add(4)?)?;
        Some(Ipv4Addr::new(b[0], b[1], b[2], b[3]))
    }

    /// Iterates over the addresses in wire order.
    pub fn iter(&self) -> AddrIter<'a> {
        AddrIter {
            chunks: self.bytes.chunks_exact(4),
        }
    }

    /// Whether `addr` is in the list.
    pub fn contains(&self, addr: Ipv4Addr) -> bool {
        let want = addr.octets();
        self.bytes.chunks_exact(4).any(|c| c == want)
    }

    /// The raw wire bytes (a multiple of 4 long).
    pub fn as_bytes(&self) -> &'a [u8] {
        self.bytes
    }

    /// Copies the addresses into an owned list (never more than [`MAX_ADDRESSES`]).
    pub fn to_list(&self) -> AddressList {
        let mut list = AddressList::new();
        for a in self.iter().take(MAX_ADDRESSES) {
            // Cannot fail: at most MAX_ADDRESSES are taken.
            let _ = list.push(a);
        }
        list
    }
}

impl fmt::Debug for AddrSlice<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_list().entries(self.iter()).finish()
    }
}

impl<'a> IntoIterator for AddrSlice<'a> {
    type Item = Ipv4Addr;
    type IntoIter = AddrIter<'a>;
    fn into_iter(self) -> AddrIter<'a> {
        self.iter()
    }
}

/// Iterator over an [`AddrSlice`].
#[derive(Clone, Debug)]
pub struct AddrIter<'a> {
    chunks: core::slice::ChunksExact<'a, u8>,
}

impl Iterator for AddrIter<'_> {
    type Item = Ipv4Addr;
    fn next(&mut self) -> Option<Ipv4Addr> {
        self.chunks
            .next()
            .map(|b| Ipv4Addr::new(b[0], b[1], b[2], b[3]))
    }
    fn size_hint(&self) -> (usize, Option<usize>) {
        self.chunks.size_hint()
    }
}

impl ExactSizeIterator for AddrIter<'_> {}

/// The list already holds [`MAX_ADDRESSES`] addresses.
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
#[error("an advert carries at most 255 addresses")]
pub struct CapacityError;

/// An owned list of up to 255 IPv4 addresses stored inline (no allocation).
#[derive(Clone)]
pub struct AddressList {
    len: u8,
    addrs: [Ipv4Addr; MAX_ADDRESSES],
}

impl AddressList {
    /// An empty list.
    pub const fn new() -> Self {
        Self {
            len: 0,
            addrs: [Ipv4Addr::UNSPECIFIED; MAX_ADDRESSES],
        }
    }

    /// Builds a list from a slice; fails if it holds more than 255 addresses.
    pub fn from_slice(addrs: &[Ipv4Addr]) -> Result<Self, CapacityError> {
        if addrs.len() > MAX_ADDRESSES {
            return Err(CapacityError);
        }
        let mut list = Self::new();
        list.addrs[..addrs.len()].copy_from_slice(addrs);
        // Fits: checked against MAX_ADDRESSES (255) above.
        list.len = addrs.len() as u8;
        Ok(list)
    }

    /// Appends an address; fails when the list is full.
    pub fn push(&mut self, addr: Ipv4Addr) -> Result<(), CapacityError> {
        let slot = self
            .addrs
            .get_mut(usize::from(self.len))
            .ok_or(CapacityError)?;
        *slot = addr;
        self.len += 1;
        Ok(())
    }

    /// Number of addresses (0..=255).
    pub fn len(&self) -> usize {
        usize::from(self.len)
    }

    /// The count as it goes into the advert's "Count IP Addrs" byte.
    pub fn count_byte(&self) -> u8 {
        self.len
    }

    /// Whether the list is empty.
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// The addresses in order.
    pub fn as_slice(&self) -> &[Ipv4Addr] {
        &self.addrs[..usize::from(self.len)]
    }

    /// Iterates over the addresses in order.
    pub fn iter(&self) -> core::slice::Iter<'_, Ipv4Addr> {
        self.as_slice().iter()
    }
}

impl Default for AddressList {
    fn default() -> Self {
        Self::new()
    }
}

impl PartialEq for AddressList {
    fn eq(&self, other: &Self) -> bool {
        self.as_slice() == other.as_slice()
    }
}

impl Eq for AddressList {}

impl fmt::Debug for AddressList {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_list().entries(self.as_slice()).finish()
    }
}

impl<'a> IntoIterator for &'a AddressList {
    type Item = &'a Ipv4Addr;
    type IntoIter = core::slice::Iter<'a, Ipv4Addr>;
    fn into_iter(self) -> Self::IntoIter {
        self.iter()
    }
}

impl TryFrom<&[Ipv4Addr]> for AddressList {
    type Error = CapacityError;
    fn try_from(addrs: &[Ipv4Addr]) -> Result<Self, CapacityError> {
        Self::from_slice(addrs)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn list_capacity_is_255() {
        let mut list = AddressList::new();
        for i in 0..255u32 {
            list.push(Ipv4Addr::from(i)).unwrap();
        }
        assert_eq!(list.len(), 255);
        assert_eq!(list.push(Ipv4Addr::LOCALHOST), Err(CapacityError));
        let too_many = [Ipv4Addr::LOCALHOST; 256];
        assert_eq!(AddressList::from_slice(&too_many), Err(CapacityError));
        assert_eq!(
            AddressList::from_slice(&too_many[..255]).unwrap().len(),
            255
        );
    }

    #[test]
    fn equality_ignores_unused_slots() {
        let a = AddressList::from_slice(&[Ipv4Addr::new(10, 0, 0, 1)]).unwrap();
        let mut b =
            AddressList::from_slice(&[Ipv4Addr::new(10, 0, 0, 1), Ipv4Addr::LOCALHOST]).unwrap();
        assert_ne!(a, b);
        b.len = 1;
        assert_eq!(a, b);
    }

    #[test]
    fn slice_view() {
        let bytes = [10, 0, 0, 1, 10, 0, 0, 2, 9];
        let s = AddrSlice::new(&bytes);
        assert_eq!(s.len(), 2);
        assert_eq!(s.get(1), Some(Ipv4Addr::new(10, 0, 0, 2)));
        assert_eq!(s.get(2), None);
        assert_eq!(s.get(usize::MAX), None);
        assert!(s.contains(Ipv4Addr::new(10, 0, 0, 1)));
        assert!(!s.contains(Ipv4Addr::new(10, 0, 0, 3)));
        assert_eq!(
            s.to_list().as_slice(),
            &[Ipv4Addr::new(10, 0, 0, 1), Ipv4Addr::new(10, 0, 0, 2)]
        );
        assert_eq!(s.iter().len(), 2);
    }
}

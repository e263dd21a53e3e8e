//! Bounds-checked big-endian reads and writes.
//!
//! Every caller checks lengths before touching bytes, so the fallbacks here
//! (a read returns 0, a write is skipped) are never taken; they exist so that
//! a bug can corrupt a value at worst, never panic.

pub(crate) fn u8_at(bytes: &[u8], offset: usize) -> u8 {
    bytes.get(offset).copied().unwrap_or(0)
}

pub(crate) fn u16_at(bytes: &[u8], offset: usize) -> u16 {
    u16::from_be_bytes(array_at(bytes, offset))
}

pub(crate) fn u32_at(bytes: &[u8], offset: usize) -> u32 {
    u32::from_be_bytes(array_at(bytes, offset))
}

pub(crate) fn array_at<const N: usize>(bytes: &[u8], offset: usize) -> [u8; N] {
    bytes
        .get(offset..)
        .and_then(|rest| rest.first_chunk::<N>())
        .copied()
        .unwrap_or([0; N])
}

pub(crate) fn put_u8(buf: &mut [u8], offset: usize, value: u8) {
    put_bytes(buf, offset, &[value]);
}

pub(crate) fn put_u16(buf: &mut [u8], offset: usize, value: u16) {
    put_bytes(buf, offset, &value.to_be_bytes());
}

pub(crate) fn put_u32(buf: &mut [u8], offset: usize, value: u32) {
    put_bytes(buf, offset, &value.to_be_bytes());
}

pub(crate) fn put_bytes(buf: &mut [u8], offset: usize, value: &[u8]) {
    if let Some(dst) = offset
        .checked_add(value.len())
        .and_then(|end| buf.get_mut(offset..end))
    {
        dst.copy_from_slice(value);
    }
}

pub(crate) fn zero(buf: &mut [u8], start: usize, end: usize) {
    if let Some(dst) = buf.get_mut(start..end) {
        dst.fill(0);
    }
}

/// Rounds `len` up to the next multiple of 4.
pub(crate) const fn align4(len: usize) -> usize {
    (len + 3) & !3
}

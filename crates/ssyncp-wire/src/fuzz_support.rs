//! Fuzz target bodies, shared by `fuzz/fuzz_targets/ssyncp_v*.rs` and a test
//! that replays the checked-in seed corpus. They panic (on purpose) only when
//! a codec invariant is broken, which is what a fuzzer looks for.

use crate::v0;
use crate::v1;

/// Fuzz key used to exercise the HMAC path (sync ID 7, key ID 1).
pub const FUZZ_KEY_SECRET: &[u8] = b"ssyncp-fuzz-key";

/// Ver 0 body: parse; if valid, re-emit every entry and require the
/// identical message bytes; also run the version dispatcher.
pub fn ssyncp_v0(data: &[u8]) {
    let _ = crate::parse_any(data);
    for start in 0..data.len().min(4) {
        let _ = v0::Conn::parse(data.get(start..).unwrap_or_default());
    }
    let Ok(msg) = v0::MessageView::parse(data) else {
        return;
    };
    let mut buf = [0u8; v0::MAX_MESSAGE_LEN];
    let mut writer =
        v0::MessageWriter::new(&mut buf, msg.sync_id()).expect("buffer holds a header");
    let mut seen = 0usize;
    for conn in msg.conns() {
        let repr = conn.repr();
        assert_eq!(repr.buffer_len(), conn.as_bytes().len());
        writer
            .push(&repr)
            .expect("a valid message's entries fit again");
        seen += 1;
    }
    assert_eq!(seen, usize::from(msg.count()));
    assert_eq!(writer.finish(), data, "Ver 0 re-encoding differs");
}

/// Ver 1 body: parse; if valid, re-encode header, entries (typed where
/// possible, verbatim otherwise) or control body, re-parse, and require the
/// same decoded content; verify the MAC against the fuzz key.
pub fn ssyncp_v1(data: &[u8]) {
    let _ = crate::parse_any(data);
    let _ = v1::peek_header(data);
    let _ = v1::EntryRepr::parse(data.get(v1::HEADER_LEN..).unwrap_or_default());
    let Ok(msg) = v1::MessageView::parse(data) else {
        return;
    };
    #[cfg(feature = "hmac")]
    let key = v1::AuthKey::new(7, 1, FUZZ_KEY_SECRET);
    #[cfg(feature = "hmac")]
    let _ = msg.verify(&key);

    let mut header = msg.header();
    header.flags.0 &= !v1::Flags::AUTH;
    let mut buf = [0u8; v1::MAX_MESSAGE_LEN];
    let mtu = data.len() + v1::IPV4_HEADER_LEN;
    let out = match msg.control() {
        Some(body) => {
            v1::emit_control(&mut buf, &header, &body).expect("valid control body re-encodes")
        }
        None => {
            let mut writer =
                v1::MessageWriter::new(&mut buf, mtu, &header).expect("mtu holds a header");
            for entry in msg.entries() {
                match entry.repr() {
                    Ok(repr) => {
                        assert!(repr.padded_len() <= crate::bytes::align4(entry.size()));
                        writer.push(&repr).expect("typed entry fits again")
                    }
                    Err(_) => writer.push_view(&entry).expect("raw entry fits again"),
                }
            }
            writer.finish()
        }
    };
    let again = v1::MessageView::parse(out).expect("re-encoded message parses");
    assert_eq!(again.header(), header);
    assert_eq!(again.control(), msg.control());
    assert_eq!(again.count(), msg.count());
    for (a, b) in msg.entries().zip(again.entries()) {
        assert_eq!(
            a.repr().ok(),
            b.repr().ok(),
            "Ver 1 entry re-encoding differs"
        );
        assert_eq!(a.type_byte(), b.type_byte());
    }
}

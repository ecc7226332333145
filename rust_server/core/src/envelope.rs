//! The relay envelope: one inbound line becomes `{"remote_addr":"A","content":"ESC(T)"}` LF.
//!
//! Encoded once per accepted line into a shared [`Bytes`] buffer that every recipient's
//! queue references (spec/relay.md §2.4, §4.5). [`envelope_len`] gives the exact length
//! without building the envelope, so the 65,536-byte ceiling (§2.6) can be checked first.

use bytes::Bytes;

/// Bytes of the envelope that are neither the address nor the escaped text:
/// `{"remote_addr":"` (16) + `","content":"` (13) + `"}` (2).
pub const ENVELOPE_OVERHEAD: usize = 31;

/// Length of `text` once escaped as a JSON string body, quotes excluded.
///
/// `"` and `\` take 2 bytes; U+0008, U+0009, U+000A, U+000C and U+000D take 2; every other
/// control character below U+0020 takes 6 (`\u00xx`); everything else is its raw UTF-8.
pub fn escaped_len(text: &str) -> usize {
    text.bytes()
        .map(|byte| match byte {
            b'"' | b'\\' | 0x08 | 0x09 | 0x0a | 0x0c | 0x0d => 2,
            0x00..=0x1f => 6,
            _ => 1,
        })
        .sum()
}

/// Length of the envelope for `text` from `remote_addr`, LF excluded.
pub fn envelope_len(remote_addr: &str, text: &str) -> usize {
    ENVELOPE_OVERHEAD + remote_addr.len() + escaped_len(text)
}

/// The envelope for `text` from `remote_addr`, LF included, ready to share between queues.
///
/// `remote_addr` is an address string the relay built itself (digits, dots, colons,
/// brackets, `%`, or `peer-<hex>`), so it is written as is.
pub fn encode(remote_addr: &str, text: &str) -> Bytes {
    let mut out = Vec::with_capacity(envelope_len(remote_addr, text) + 1);
    out.extend_from_slice(b"{\"remote_addr\":\"");
    out.extend_from_slice(remote_addr.as_bytes());
    out.extend_from_slice(b"\",\"content\":");
    serde_json::to_writer(&mut out, text).expect("writing a str into a Vec cannot fail");
    out.extend_from_slice(b"}\n");
    Bytes::from(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn encodes_the_spec_examples() {
        let addr = "127.0.0.1:44568";
        assert_eq!(
            &encode(addr, "{\"x\": 1}")[..],
            &b"{\"remote_addr\":\"127.0.0.1:44568\",\"content\":\"{\\\"x\\\": 1}\"}\n"[..]
        );
        assert_eq!(
            &encode(addr, "h\u{e9}llo \u{2603}")[..],
            "{\"remote_addr\":\"127.0.0.1:44568\",\"content\":\"h\u{e9}llo \u{2603}\"}\n"
                .as_bytes()
        );
        assert_eq!(
            &encode(addr, "")[..],
            &b"{\"remote_addr\":\"127.0.0.1:44568\",\"content\":\"\"}\n"[..]
        );
    }

    #[test]
    fn ceiling_boundary_matches_the_spec_table() {
        let addr = "127.0.0.1:44568";
        let ascii = "a".repeat(65_490);
        assert_eq!(envelope_len(addr, &ascii), 65_536);
        assert_eq!(envelope_len(addr, &"\"".repeat(32_745)), 65_536);
        assert_eq!(envelope_len(addr, &"\u{1}".repeat(10_915)), 65_536);
    }
}

//! The content of one benchmark message: who sent it, its number, and when.
//!
//! Content is plain ASCII so that it passes through both relays unchanged (no JSON
//! escaping, no UTF-8 questions): a fixed 30-byte header, then `x` up to the content size.
//!
//! ```text
//! SSSS QQQQQQQQQQ TTTTTTTTTTTTTTTT xxxx...
//! sender (4 decimal digits), sequence number (10 decimal digits), send time
//! (16 lowercase hex digits, nanoseconds since the generator's clock base)
//! ```
//!
//! Barrier lines start with `SYNC` and carry no header.

use std::sync::OnceLock;
use std::time::Instant;

/// Bytes of the fixed header; the smallest content size a run can use.
pub const HEADER_LEN: usize = 30;
/// Content of the barrier message that proves every receiver is a member.
pub const SYNC: &[u8] = b"SYNC";

/// What a receiver reads back out of a message.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Header {
    /// Index of the sending client.
    pub sender: u16,
    /// Sequence number within that sender, from 0.
    pub seq: u32,
    /// Send time, nanoseconds since [`clock_base`].
    pub sent_ns: u64,
}

/// The process-wide monotonic base that every timestamp is measured from.
pub fn clock_base() -> Instant {
    static BASE: OnceLock<Instant> = OnceLock::new();
    *BASE.get_or_init(Instant::now)
}

/// Nanoseconds since [`clock_base`], on the monotonic clock.
pub fn now_ns() -> u64 {
    u64::try_from(clock_base().elapsed().as_nanos()).unwrap_or(u64::MAX)
}

/// Appends the content of one message (no framing) of exactly `size` bytes.
pub fn write_content(out: &mut Vec<u8>, header: Header, size: usize) {
    let start = out.len();
    push_decimal(out, u64::from(header.sender), 4);
    push_decimal(out, u64::from(header.seq), 10);
    push_hex(out, header.sent_ns, 16);
    out.resize(start + size.max(HEADER_LEN), b'x');
}

/// Reads the header back; `None` for barrier lines and anything malformed.
pub fn parse_content(content: &[u8]) -> Option<Header> {
    if content.len() < HEADER_LEN {
        return None;
    }
    let sender = parse_decimal(&content[0..4])?;
    let seq = parse_decimal(&content[4..14])?;
    let sent_ns = parse_hex(&content[14..30])?;
    Some(Header {
        sender: u16::try_from(sender).ok()?,
        seq: u32::try_from(seq).ok()?,
        sent_ns,
    })
}

fn push_decimal(out: &mut Vec<u8>, mut value: u64, width: usize) {
    let start = out.len();
    out.resize(start + width, b'0');
    for slot in out[start..].iter_mut().rev() {
        // `value % 10` is below 10, so the cast cannot truncate.
        *slot = b'0' + (value % 10) as u8;
        value /= 10;
    }
}

fn push_hex(out: &mut Vec<u8>, mut value: u64, width: usize) {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    let start = out.len();
    out.resize(start + width, b'0');
    for slot in out[start..].iter_mut().rev() {
        *slot = DIGITS[(value & 0xf) as usize];
        value >>= 4;
    }
}

fn parse_decimal(digits: &[u8]) -> Option<u64> {
    digits.iter().try_fold(0u64, |acc, &d| {
        d.is_ascii_digit().then(|| acc * 10 + u64::from(d - b'0'))
    })
}

fn parse_hex(digits: &[u8]) -> Option<u64> {
    digits.iter().try_fold(0u64, |acc, &d| {
        let nibble = match d {
            b'0'..=b'9' => d - b'0',
            b'a'..=b'f' => d - b'a' + 10,
            _ => return None,
        };
        Some((acc << 4) | u64::from(nibble))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn content_round_trips_and_has_the_exact_size() {
        let header = Header {
            sender: 7,
            seq: 4_000_000_000,
            sent_ns: 0x0123_4567_89ab_cdef,
        };
        let mut out = Vec::new();
        write_content(&mut out, header, 128);
        assert_eq!(out.len(), 128);
        assert_eq!(&out[..30], b"000740000000000123456789abcdef");
        assert_eq!(parse_content(&out), Some(header));
        assert_eq!(parse_content(SYNC), None);
    }
}

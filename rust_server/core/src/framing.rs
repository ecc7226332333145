//! Line framing: bytes from a socket in, line bodies and oversize events out.
//!
//! Byte-level and bounded (spec/relay.md §2.2, §4.3). The reader never holds more than
//! `max_line_bytes + 1` bytes of one line (the extra byte may be the CR of a CR LF); a
//! longer line switches to discard mode, which throws bytes away up to and including the
//! next LF and then reports a single [`Frame::Oversize`]. Pure and synchronous: the
//! connection handler owns the socket and feeds the buffer.

use bytes::{Buf, Bytes, BytesMut};

/// What the reader took out of the buffer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Frame {
    /// A complete line body, without its LF and without exactly one CR before that LF.
    Line(Bytes),
    /// A line whose body was longer than the cap; its bytes are gone and the session goes on.
    Oversize,
}

/// Splits a byte stream into lines, with a hard cap on line length.
#[derive(Debug)]
pub struct LineReader {
    /// Longest accepted line body in bytes, LF and the stripped CR excluded.
    max_line_bytes: usize,
    /// True while the rest of an oversize line is being thrown away.
    discarding: bool,
    /// How far into the buffer the LF search has already looked, so each byte is scanned once.
    scanned: usize,
}

impl LineReader {
    /// A reader that accepts line bodies of at most `max_line_bytes` bytes.
    pub fn new(max_line_bytes: usize) -> Self {
        Self {
            max_line_bytes,
            discarding: false,
            scanned: 0,
        }
    }

    /// Takes the next frame out of `buf`, or returns `None` when more bytes are needed.
    ///
    /// Bytes of a line in progress stay in `buf`; the caller appends the next read to it.
    pub fn decode(&mut self, buf: &mut BytesMut) -> Option<Frame> {
        match memchr::memchr(b'\n', &buf[self.scanned..]) {
            Some(offset) => {
                let lf = self.scanned + offset;
                self.scanned = 0;
                if self.discarding {
                    self.discarding = false;
                    buf.advance(lf + 1);
                    return Some(Frame::Oversize);
                }
                let mut line = buf.split_to(lf + 1);
                line.truncate(lf);
                if line.last() == Some(&b'\r') {
                    line.truncate(lf - 1);
                }
                Some(self.classify(line))
            }
            None => {
                if self.discarding || self.partial_is_oversize(buf) {
                    // Nothing of this line will be used: drop it now so memory stays bounded.
                    self.discarding = true;
                    buf.clear();
                    self.scanned = 0;
                } else {
                    self.scanned = buf.len();
                }
                None
            }
        }
    }

    /// At EOF: the unterminated last line, if any, processed like a complete one.
    ///
    /// Nothing comes out of a line that was being discarded.
    pub fn decode_eof(&mut self, buf: &mut BytesMut) -> Option<Frame> {
        if let Some(frame) = self.decode(buf) {
            return Some(frame);
        }
        self.scanned = 0;
        if std::mem::take(&mut self.discarding) || buf.is_empty() {
            buf.clear();
            return None;
        }
        // Without an LF there is no "CR before LF" to strip: a trailing CR is content.
        let line = buf.split();
        Some(self.classify(line))
    }

    /// Whether a line has started and not yet ended (what the line timeout measures).
    pub fn line_in_progress(&self, buf: &BytesMut) -> bool {
        self.discarding || !buf.is_empty()
    }

    fn classify(&self, body: BytesMut) -> Frame {
        if body.len() > self.max_line_bytes {
            Frame::Oversize
        } else {
            Frame::Line(body.freeze())
        }
    }

    /// A partial line (no LF yet) is already too long when even a final CR LF could not save it.
    fn partial_is_oversize(&self, buf: &BytesMut) -> bool {
        let limit = self.max_line_bytes;
        buf.len() > limit + 1 || (buf.len() == limit + 1 && buf.last() != Some(&b'\r'))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn frames(reader: &mut LineReader, buf: &mut BytesMut) -> Vec<Frame> {
        std::iter::from_fn(|| reader.decode(buf)).collect()
    }

    fn line(text: &[u8]) -> Frame {
        Frame::Line(Bytes::copy_from_slice(text))
    }

    #[test]
    fn strips_exactly_one_cr_before_lf() {
        let mut reader = LineReader::new(100);
        let mut buf = BytesMut::from(&b"abc\nabc\r\nabc\r\r\na\rb\n\n\r\n"[..]);
        assert_eq!(
            frames(&mut reader, &mut buf),
            vec![
                line(b"abc"),
                line(b"abc"),
                line(b"abc\r"),
                line(b"a\rb"),
                line(b""),
                line(b""),
            ]
        );
        assert!(buf.is_empty());
    }

    #[test]
    fn delivers_partial_last_line_at_eof() {
        let mut reader = LineReader::new(100);
        let mut buf = BytesMut::from(&b"one\ntail"[..]);
        assert_eq!(reader.decode_eof(&mut buf), Some(line(b"one")));
        assert_eq!(reader.decode_eof(&mut buf), Some(line(b"tail")));
        assert_eq!(reader.decode_eof(&mut buf), None);
    }

    #[test]
    fn accepts_body_of_exactly_the_limit_and_skips_one_more() {
        let mut reader = LineReader::new(4);
        let mut buf = BytesMut::from(&b"abcd\r\nabcde\nok\n"[..]);
        assert_eq!(
            frames(&mut reader, &mut buf),
            vec![line(b"abcd"), Frame::Oversize, line(b"ok")]
        );
    }

    #[test]
    fn skips_oversize_line_and_keeps_session_with_bounded_buffer() {
        let mut reader = LineReader::new(8);
        let mut buf = BytesMut::new();
        for _ in 0..1000 {
            buf.extend_from_slice(b"0123456789");
            assert_eq!(reader.decode(&mut buf), None);
            assert!(buf.len() <= 9 + 10, "buffer grew to {}", buf.len());
        }
        buf.extend_from_slice(b"end of it\nok\n");
        assert_eq!(
            frames(&mut reader, &mut buf),
            vec![Frame::Oversize, line(b"ok")]
        );
    }

    #[test]
    fn eof_during_discard_relays_nothing() {
        let mut reader = LineReader::new(2);
        let mut buf = BytesMut::from(&b"abcdef"[..]);
        assert_eq!(reader.decode_eof(&mut buf), None);
        assert!(!reader.line_in_progress(&buf));
    }

    #[test]
    fn reports_line_in_progress_until_its_lf() {
        let mut reader = LineReader::new(100);
        let mut buf = BytesMut::from(&b"ab"[..]);
        assert_eq!(reader.decode(&mut buf), None);
        assert!(reader.line_in_progress(&buf));
        buf.extend_from_slice(b"c\n");
        assert_eq!(reader.decode(&mut buf), Some(line(b"abc")));
        assert!(!reader.line_in_progress(&buf));
    }
}

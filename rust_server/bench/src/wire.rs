//! The two wires the generator speaks: our relay's lines, and the NATS client protocol.
//!
//! Pure: bytes in, events out. Framing helpers append to a caller's buffer so that a
//! sender can put many messages into one write.

use anyhow::{bail, Context};
use memchr::memmem;

/// NATS subject every client subscribes to and publishes on.
pub const SUBJECT: &str = "bench";

/// Which protocol the target speaks.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Proto {
    /// Our relay: a line out, `{"remote_addr":"..","content":".."}` lines in.
    Line,
    /// nats-server: CONNECT (echo off), SUB, PUB; MSG in; PING answered with PONG.
    Nats,
}

/// Something a receiver found in its input.
#[derive(Debug, PartialEq, Eq)]
pub enum Event<'a> {
    /// The content of one relayed message.
    Content(&'a [u8]),
    /// NATS keep-alive: must be answered with `PONG`.
    Ping,
    /// NATS answer to our `PING` (the server has processed everything sent before it).
    Pong,
    /// A line the relay wrote on its own: a `Warning:` notice or a NATS `-ERR`.
    Notice(&'a [u8]),
}

/// What a NATS client sends first: connect with echo off, subscribe, then ping so that
/// the `PONG` proves the subscription is in place.
pub fn nats_hello() -> Vec<u8> {
    format!(
        "CONNECT {{\"verbose\":false,\"pedantic\":false,\"echo\":false,\"name\":\"relay-bench\"}}\r\n\
         SUB {SUBJECT} 1\r\nPING\r\n"
    )
    .into_bytes()
}

/// The answer to a server `PING`.
pub const PONG: &[u8] = b"PONG\r\n";

/// Appends the framing before a message's content.
pub fn open_message(proto: Proto, out: &mut Vec<u8>, content_len: usize) {
    if proto == Proto::Nats {
        out.extend_from_slice(b"PUB ");
        out.extend_from_slice(SUBJECT.as_bytes());
        out.push(b' ');
        out.extend_from_slice(content_len.to_string().as_bytes());
        out.extend_from_slice(b"\r\n");
    }
}

/// Appends the framing after a message's content.
pub fn close_message(proto: Proto, out: &mut Vec<u8>) {
    match proto {
        Proto::Line => out.push(b'\n'),
        Proto::Nats => out.extend_from_slice(b"\r\n"),
    }
}

/// Splits a receiver's input into events.
#[derive(Debug)]
pub struct Parser {
    proto: Proto,
    content_key: memmem::Finder<'static>,
}

impl Parser {
    /// A parser for `proto`.
    pub fn new(proto: Proto) -> Self {
        Self {
            proto,
            content_key: memmem::Finder::new(b"\",\"content\":\""),
        }
    }

    /// Hands every complete item of `buf` to `on_event`; returns the bytes consumed.
    ///
    /// # Errors
    ///
    /// When the input is not the protocol it should be.
    pub fn parse(&self, buf: &[u8], on_event: impl FnMut(Event<'_>)) -> anyhow::Result<usize> {
        match self.proto {
            Proto::Line => self.parse_lines(buf, on_event),
            Proto::Nats => parse_nats(buf, on_event),
        }
    }

    fn parse_lines(
        &self,
        buf: &[u8],
        mut on_event: impl FnMut(Event<'_>),
    ) -> anyhow::Result<usize> {
        let mut start = 0;
        for lf in memchr::memchr_iter(b'\n', buf) {
            let line = &buf[start..lf];
            start = lf + 1;
            if line.starts_with(b"Warning: ") {
                on_event(Event::Notice(line));
                continue;
            }
            let content = self
                .content_key
                .find(line)
                .map(|at| at + self.content_key.needle().len())
                .filter(|&from| line.ends_with(b"\"}") && from + 2 <= line.len())
                .map(|from| &line[from..line.len() - 2]);
            match content {
                Some(content) => on_event(Event::Content(content)),
                None => bail!(
                    "not an envelope: {:?}",
                    String::from_utf8_lossy(&line[..line.len().min(120)])
                ),
            }
        }
        Ok(start)
    }
}

fn parse_nats(buf: &[u8], mut on_event: impl FnMut(Event<'_>)) -> anyhow::Result<usize> {
    let mut pos = 0;
    while let Some(offset) = memchr::memchr(b'\n', &buf[pos..]) {
        let nl = pos + offset;
        let control = buf[pos..nl].strip_suffix(b"\r").unwrap_or(&buf[pos..nl]);
        if let Some(args) = control.strip_prefix(b"MSG ") {
            let size = payload_size(args)?;
            let end = nl + 1 + size;
            if end + 2 > buf.len() {
                break;
            }
            on_event(Event::Content(&buf[nl + 1..end]));
            pos = end + 2;
            continue;
        }
        if control == b"PING" {
            on_event(Event::Ping);
        } else if control == b"PONG" {
            on_event(Event::Pong);
        } else if control.starts_with(b"-ERR") {
            on_event(Event::Notice(control));
        } else if !(control.starts_with(b"INFO ") || control == b"+OK") {
            bail!(
                "unexpected NATS line: {:?}",
                String::from_utf8_lossy(&control[..control.len().min(120)])
            );
        }
        pos = nl + 1;
    }
    Ok(pos)
}

/// The `#bytes` of `MSG <subject> <sid> [reply-to] <#bytes>`: its last field.
fn payload_size(args: &[u8]) -> anyhow::Result<usize> {
    let field = args
        .rsplit(|&b| b == b' ')
        .next()
        .filter(|f| !f.is_empty())
        .context("MSG without a size")?;
    std::str::from_utf8(field)?
        .parse()
        .context("MSG size is not a number")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn events(parser: &Parser, buf: &[u8]) -> (Vec<String>, usize) {
        let mut seen = Vec::new();
        let used = parser
            .parse(buf, |event| seen.push(format!("{event:?}")))
            .expect("parses");
        (seen, used)
    }

    #[test]
    fn finds_content_in_envelopes_and_keeps_partial_lines() {
        let parser = Parser::new(Proto::Line);
        let input = b"{\"remote_addr\":\"127.0.0.1:1\",\"content\":\"abc\"}\nWarning: x\n{\"remote";
        let (seen, used) = events(&parser, input);
        assert_eq!(seen.len(), 2);
        assert_eq!(parser.parse(&input[..used], |_| {}).expect("ok"), used);
        assert_eq!(used, input.len() - b"{\"remote".len());
        let mut content = Vec::new();
        parser
            .parse(&input[..used], |e| {
                if let Event::Content(c) = e {
                    content.extend_from_slice(c);
                }
            })
            .expect("ok");
        assert_eq!(content, b"abc");
    }

    #[test]
    fn parses_nats_messages_pings_and_partial_payloads() {
        let parser = Parser::new(Proto::Nats);
        let input = b"INFO {}\r\nMSG bench 1 3\r\nabc\r\nPING\r\nMSG bench 1 r 2\r\nxy\r\nMSG bench 1 5\r\nab";
        let mut contents = Vec::new();
        let mut pings = 0;
        let used = parser
            .parse(input, |e| match e {
                Event::Content(c) => contents.push(c.to_vec()),
                Event::Ping => pings += 1,
                _ => {}
            })
            .expect("parses");
        assert_eq!(contents, vec![b"abc".to_vec(), b"xy".to_vec()]);
        assert_eq!(pings, 1);
        assert_eq!(&input[used..], b"MSG bench 1 5\r\nab");
    }

    #[test]
    fn frames_messages_for_both_wires() {
        let mut out = Vec::new();
        open_message(Proto::Nats, &mut out, 3);
        out.extend_from_slice(b"abc");
        close_message(Proto::Nats, &mut out);
        open_message(Proto::Line, &mut out, 3);
        out.extend_from_slice(b"abc");
        close_message(Proto::Line, &mut out);
        assert_eq!(out, b"PUB bench 3\r\nabc\r\nabc\n");
    }
}

//! The summoner relay core: everything the relay does, with no Python in it.
//!
//! Two thin crates put a face on this one: the `summoner-relay` binary and the
//! `summoner_client._relay` extension module. The contract both faces serve is
//! relay protocol version 1 (`spec/relay.md`).
//!
//! # Layout
//!
//! - [`framing`]: [`LineReader`](framing::LineReader), the byte splitter with a hard
//!   line cap and discard mode.
//! - [`envelope`]: encode a line once into a shared buffer; its exact length up front.
//! - [`config`]: the JSON configuration, validated with every problem and its key path.
//! - [`notice`]: the relay's `Warning: ...` lines.
//! - [`error`]: [`RelayError`](error::RelayError) and [`CloseReason`](error::CloseReason).
//! - [`PROTOCOL_VERSION`], [`MAX_RELAYED_LINE_BYTES`], [`VERSION`]: constants every
//!   face re-exports, so a client can tell which contract it is talking to.
//!
//! - [`outbox`]: one client's bounded queue, the slow-consumer policy, and its writer.
//! - [`registry`]: membership and fan-out.
//! - [`limits`]: token buckets, connection caps, quarantine.
//! - [`metrics`]: counters kept per connection and summed on scrape.
//! - `handler`: one connection's reader, per-line pipeline and close.
//! - `transport`: how a plain or TLS stream splits into the reader's and writer's halves.
//! - `listener`: accept loop and admission.
//! - `admin`: `/healthz`, `/metrics`, `/connz`.
//! - [`tls`]: the listener's TLS acceptor.
//! - [`logsink`]: the `logger` config as a subscriber, for the faces to install.
//! - [`Relay`]: `bind`, then `serve(shutdown)`; ties the modules together.

mod admin;
pub mod config;
pub mod envelope;
pub mod error;
pub mod framing;
mod handler;
pub mod limits;
mod listener;
pub mod logsink;
pub mod metrics;
pub mod notice;
pub mod outbox;
pub mod registry;
mod server;
pub mod tls;
mod transport;

pub use config::Config;
pub use error::{CloseReason, RelayError};
pub use server::Relay;

/// Relay protocol version this crate implements. It changes only when the bytes on
/// the wire change, never with the crate version.
pub const PROTOCOL_VERSION: u32 = 1;

/// Longest line, LF excluded, that the relay ever writes. Summoner 1.3 clients read
/// with a 65,536-byte line limit and stop for good on a longer line, so this is a
/// constant of the protocol, not a setting.
pub const MAX_RELAYED_LINE_BYTES: usize = 65_536;

/// Version of this crate, which is also the version of the Python package.
pub const VERSION: &str = env!("CARGO_PKG_VERSION");

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ceiling_matches_the_original_clients_line_limit() {
        assert_eq!(MAX_RELAYED_LINE_BYTES, 64 * 1024);
    }

    #[test]
    fn version_is_semver_shaped() {
        let parts: Vec<&str> = VERSION.split('.').collect();
        assert_eq!(parts.len(), 3, "{VERSION}");
        assert!(parts.iter().all(|p| p.parse::<u32>().is_ok()), "{VERSION}");
    }
}

//! Errors that stop the relay from starting, and the reasons a connection ends.
//!
//! A closed connection is not an error: it ends with a [`CloseReason`], which shows in the
//! logs, the metrics and, where the reason has one, a notice to the client.

use crate::config::ConfigErrors;
use crate::notice::Notice;

/// Why the relay could not start or keep serving.
#[derive(Debug, thiserror::Error)]
pub enum RelayError {
    /// The configuration has problems; all of them are listed.
    #[error("invalid configuration:\n{0}")]
    Config(ConfigErrors),
    /// The listening address could not be bound.
    #[error("cannot listen on {addr}: {source}")]
    Bind {
        /// The address as configured.
        addr: String,
        /// The operating system's error.
        #[source]
        source: std::io::Error,
    },
    /// The TLS certificate or key could not be loaded.
    #[error("TLS: {0}")]
    Tls(String),
    /// `serve` was called before `bind`, or twice.
    #[error("the relay is not bound: call bind() once before serve()")]
    NotBound,
}

/// The single recorded cause of a connection's end (spec/relay.md Appendix A).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum CloseReason {
    /// The client sent EOF.
    ClientClosed,
    /// A read or write error, a reset, or a keepalive failure.
    IoError,
    /// The recipient's queue reached the disconnect threshold or its hard bound.
    SlowConsumer,
    /// No write progress for `write_timeout_secs`.
    WriteTimeout,
    /// The idle limit expired.
    Idle,
    /// A started line was not finished in time.
    LineTimeout,
    /// Missing or wrong token, or handshake timeout.
    AuthFailed,
    /// The TLS handshake failed or timed out.
    TlsFailed,
    /// The relay is shutting down.
    Shutdown,
    /// An unexpected failure inside this connection.
    Internal,
}

impl CloseReason {
    /// Every reason, in a fixed order, for per-reason counters kept in arrays.
    pub const ALL: [CloseReason; 10] = [
        CloseReason::ClientClosed,
        CloseReason::IoError,
        CloseReason::SlowConsumer,
        CloseReason::WriteTimeout,
        CloseReason::Idle,
        CloseReason::LineTimeout,
        CloseReason::AuthFailed,
        CloseReason::TlsFailed,
        CloseReason::Shutdown,
        CloseReason::Internal,
    ];

    /// The metric label and log word.
    pub const fn label(self) -> &'static str {
        match self {
            CloseReason::ClientClosed => "client_closed",
            CloseReason::IoError => "io_error",
            CloseReason::SlowConsumer => "slow_consumer",
            CloseReason::WriteTimeout => "write_timeout",
            CloseReason::Idle => "idle",
            CloseReason::LineTimeout => "line_timeout",
            CloseReason::AuthFailed => "auth_failed",
            CloseReason::TlsFailed => "tls_failed",
            CloseReason::Shutdown => "shutdown",
            CloseReason::Internal => "internal",
        }
    }

    /// The notice the client is sent, if this reason has one.
    pub const fn notice(self) -> Option<Notice> {
        match self {
            CloseReason::ClientClosed | CloseReason::IoError | CloseReason::TlsFailed => None,
            CloseReason::SlowConsumer | CloseReason::WriteTimeout => Some(Notice::SlowConsumer),
            CloseReason::Idle => Some(Notice::Idle),
            CloseReason::LineTimeout => Some(Notice::LineTimeout),
            CloseReason::AuthFailed => Some(Notice::AuthFailed),
            CloseReason::Shutdown => Some(Notice::ShuttingDown),
            CloseReason::Internal => Some(Notice::Internal),
        }
    }

    /// Position in [`CloseReason::ALL`].
    pub const fn index(self) -> usize {
        self as usize
    }
}

//! How a connection's stream splits into the reader's half and the writer's half.
//!
//! Plain TCP splits into owned halves (`TcpStream::into_split`): the reader and the
//! writer share no lock, and the read half can wait for input without holding a buffer,
//! so an idle connection keeps no read buffer at all (spec/relay.md §4.3, §4.15). A TLS
//! stream is one state machine for both directions, so it is split with
//! `tokio::io::split`, and its reader keeps its small buffer while it waits.

use std::future::Future;
use std::io;

use tokio::io::{AsyncRead, AsyncWrite};
use tokio::net::tcp::{OwnedReadHalf, OwnedWriteHalf};
use tokio::net::TcpStream;
use tokio_rustls::server::TlsStream;

/// A connection's byte stream, as the handler splits it.
pub(crate) trait Transport: Send + 'static {
    /// The reader task's half.
    type Read: ReadHalf;
    /// The writer task's half.
    type Write: AsyncWrite + Unpin + Send + 'static;

    /// Splits the stream for its two tasks.
    fn split(self) -> (Self::Read, Self::Write);
}

/// The reader's half: bytes, and a wait for input that needs no buffer where the
/// transport can tell.
pub(crate) trait ReadHalf: AsyncRead + Unpin + Send + 'static {
    /// Whether [`ReadHalf::readable`] really waits for input. When it does not, the
    /// reader keeps its buffer while it waits and lets the read itself wait.
    const WAITS_WITHOUT_BUFFER: bool;

    /// Resolves once a read is likely to make progress (data, EOF or an error).
    fn readable(&self) -> impl Future<Output = io::Result<()>> + Send + '_;
}

impl Transport for TcpStream {
    type Read = OwnedReadHalf;
    type Write = OwnedWriteHalf;

    fn split(self) -> (OwnedReadHalf, OwnedWriteHalf) {
        self.into_split()
    }
}

impl ReadHalf for OwnedReadHalf {
    const WAITS_WITHOUT_BUFFER: bool = true;

    fn readable(&self) -> impl Future<Output = io::Result<()>> + Send + '_ {
        OwnedReadHalf::readable(self)
    }
}

impl Transport for TlsStream<TcpStream> {
    type Read = tokio::io::ReadHalf<Self>;
    type Write = tokio::io::WriteHalf<Self>;

    fn split(self) -> (Self::Read, Self::Write) {
        tokio::io::split(self)
    }
}

impl<T: AsyncRead + Send + 'static> ReadHalf for tokio::io::ReadHalf<T> {
    const WAITS_WITHOUT_BUFFER: bool = false;

    fn readable(&self) -> impl Future<Output = io::Result<()>> + Send + '_ {
        std::future::ready(Ok(()))
    }
}

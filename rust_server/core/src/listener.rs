//! The accept loop: accept, set socket options, admit or refuse, hand off.
//!
//! It only accepts and hands off: TLS, auth and everything per line run in the
//! connection's own task. Accept errors (out of file descriptors, ...) pause the loop
//! with a doubling backoff; the relay never exits because of them (spec/relay.md §4.2).

use std::net::SocketAddr;
use std::panic::AssertUnwindSafe;
use std::sync::atomic::Ordering::Relaxed;
use std::sync::Arc;
use std::time::Duration;

use futures_util::FutureExt;
use socket2::{Domain, Protocol, SockRef, Socket, TcpKeepalive, Type};
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

use crate::error::{CloseReason, RelayError};
use crate::handler;
use crate::metrics::RefuseReason;
use crate::notice::Notice;
use crate::server::Shared;

/// Longest pause after repeated accept errors.
const MAX_ACCEPT_BACKOFF: Duration = Duration::from_secs(2);
/// How long a refused connection is drained before it is closed, as in any close.
const REFUSAL_DRAIN: Duration = Duration::from_secs(1);

/// Binds the listening socket with the configured backlog.
pub(crate) fn bind(addr: SocketAddr, backlog: u32) -> Result<TcpListener, RelayError> {
    let fail = |source| RelayError::Bind {
        addr: addr.to_string(),
        source,
    };
    let socket =
        Socket::new(Domain::for_address(addr), Type::STREAM, Some(Protocol::TCP)).map_err(fail)?;
    socket.set_reuse_address(true).map_err(fail)?;
    if addr.is_ipv6() {
        // "::" serves IPv4 too; per-IP limits map IPv4-mapped peers back to IPv4.
        let _ = socket.set_only_v6(false);
    }
    socket.bind(&addr.into()).map_err(fail)?;
    socket
        .listen(i32::try_from(backlog).unwrap_or(i32::MAX))
        .map_err(fail)?;
    socket.set_nonblocking(true).map_err(fail)?;
    TcpListener::from_std(socket.into()).map_err(fail)
}

/// Accepts until the future is dropped (at shutdown).
pub(crate) async fn accept_loop(shared: &Arc<Shared>, listener: &TcpListener) {
    let first_backoff = shared.config.limits.accept_error_backoff;
    let mut backoff = first_backoff;
    loop {
        match listener.accept().await {
            Ok((stream, peer)) => {
                backoff = first_backoff;
                shared.metrics.connections_accepted.fetch_add(1, Relaxed);
                hand_off(shared, stream, peer);
            }
            Err(error) => {
                tracing::warn!(%error, backoff_ms = backoff.as_millis() as u64, "accept failed");
                tokio::time::sleep(backoff).await;
                backoff = (backoff * 2).min(MAX_ACCEPT_BACKOFF);
            }
        }
    }
}

fn set_socket_options(shared: &Shared, stream: &TcpStream) {
    // The writer batches in user space, so Nagle would only add latency.
    let _ = stream.set_nodelay(true);
    if let Some(idle) = shared.config.limits.tcp_keepalive {
        let interval = (idle / 3).max(Duration::from_secs(1));
        let keepalive = TcpKeepalive::new()
            .with_time(idle)
            .with_interval(interval)
            .with_retries(3);
        let _ = SockRef::from(stream).set_tcp_keepalive(&keepalive);
    }
}

fn hand_off(shared: &Arc<Shared>, stream: TcpStream, peer: SocketAddr) {
    set_socket_options(shared, &stream);
    let ip = handler::ip_key(peer);
    match shared.admission.admit(ip, std::time::Instant::now()) {
        Ok(slot) => {
            let id = shared.next_connection_id();
            let task_shared = Arc::clone(shared);
            shared.tracker.spawn(async move {
                let served = serve_admitted(Arc::clone(&task_shared), stream, peer, id, slot);
                // A bug in one connection must not take the relay down: the panic is
                // caught here, logged, and counted; the handler already closed the socket.
                if AssertUnwindSafe(served).catch_unwind().await.is_err() {
                    tracing::error!(conn = id, %peer, "connection task panicked");
                    task_shared.registry.leave(id);
                    task_shared.retire(id, CloseReason::Internal);
                }
            });
        }
        Err(reason) => {
            shared.metrics.refuse(reason);
            tracing::warn!(%peer, reason = reason.label(), "connection refused");
            let notice = match reason {
                RefuseReason::MaxConnections => Some(Notice::ServerFull),
                RefuseReason::MaxConnectionsPerIp => Some(Notice::TooManyFromAddress),
                RefuseReason::Quarantined => Some(Notice::Quarantined),
                RefuseReason::ShuttingDown => None,
            };
            shared
                .tracker
                .spawn(refuse(Arc::clone(shared), stream, notice));
        }
    }
}

/// Serves an admitted connection, after the TLS handshake when the listener speaks TLS.
async fn serve_admitted(
    shared: Arc<Shared>,
    stream: TcpStream,
    peer: SocketAddr,
    id: u64,
    slot: crate::limits::Slot,
) {
    match shared.tls.clone() {
        None => handler::serve(shared, stream, peer, id, slot).await,
        // Boxed: the handshake and the TLS stream would otherwise enlarge the task of
        // every plaintext connection by a few KiB (spec/relay.md §4.15, idle memory).
        Some(acceptor) => Box::pin(serve_tls(shared, acceptor, stream, peer, id, slot)).await,
    }
}

/// The TLS handshake within `handshake_timeout_secs`, then the connection as usual.
async fn serve_tls(
    shared: Arc<Shared>,
    acceptor: tokio_rustls::TlsAcceptor,
    stream: TcpStream,
    peer: SocketAddr,
    id: u64,
    slot: crate::limits::Slot,
) {
    shared.handshaking.fetch_add(1, Relaxed);
    let timeout = shared.config.security.handshake_timeout;
    let handshake = tokio::time::timeout(timeout, acceptor.accept(stream)).await;
    shared.handshaking.fetch_sub(1, Relaxed);
    match handshake {
        Ok(Ok(tls_stream)) => handler::serve(shared, tls_stream, peer, id, slot).await,
        _ => {
            tracing::warn!(conn = id, %peer, "TLS handshake failed");
            shared.retire(id, CloseReason::TlsFailed);
        }
    }
}

/// One non-waiting attempt at the notice (after the handshake, with TLS), then the usual
/// close: half-close, drain input briefly, close.
async fn refuse(shared: Arc<Shared>, stream: TcpStream, notice: Option<Notice>) {
    match shared.tls.clone() {
        None => {
            if let Some(notice) = notice {
                let _ = stream.try_write(notice.text().as_bytes());
            }
            finish_refusal(stream).await;
        }
        Some(acceptor) => {
            let timeout = shared.config.security.handshake_timeout;
            if let Ok(Ok(tls_stream)) = tokio::time::timeout(timeout, acceptor.accept(stream)).await
            {
                finish_refusal_tls(tls_stream, notice).await;
            }
        }
    }
}

async fn finish_refusal<S: AsyncRead + AsyncWrite + Unpin>(mut stream: S) {
    let _ = stream.shutdown().await;
    let mut scratch = [0u8; 1024];
    let _ = tokio::time::timeout(REFUSAL_DRAIN, async {
        while matches!(stream.read(&mut scratch).await, Ok(n) if n > 0) {}
    })
    .await;
}

async fn finish_refusal_tls<S: AsyncRead + AsyncWrite + Unpin>(
    mut stream: S,
    notice: Option<Notice>,
) {
    if let Some(notice) = notice {
        let attempt = stream.write_all(notice.text().as_bytes());
        let _ = tokio::time::timeout(REFUSAL_DRAIN, attempt).await;
    }
    finish_refusal(stream).await;
}

//! One connection: its reader, the per-line pipeline, and its close.
//!
//! The reader task owns the read half and runs every complete line through the pipeline
//! of spec/relay.md §4.4 (cap, auth, rate limit, UTF-8, ceiling, fan-out). The writer task
//! owns the write half and the outbox. Whichever side learns first why the connection
//! ends records the reason in [`ConnState`]; the close steps of §4.10 then run here.

use std::net::{IpAddr, SocketAddr};
use std::sync::atomic::{AtomicU64, Ordering::Relaxed};
use std::sync::{Arc, OnceLock};
use std::time::Duration;

use bytes::{Bytes, BytesMut};
use futures_util::FutureExt;
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio::task::JoinHandle;
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;

use crate::config::RateLimitAction;
use crate::envelope;
use crate::error::CloseReason;
use crate::framing::{Frame, LineReader};
use crate::limits::{Slot, TokenBucket};
use crate::metrics::{Counters, DropReason};
use crate::notice::Notice;
use crate::outbox::Outbox;
use crate::registry::Member;
use crate::server::Shared;
use crate::transport::{ReadHalf, Transport};

/// Lines handled before the reader yields, so one busy sender cannot hog a worker thread.
const LINES_PER_TURN: usize = 64;
/// Read buffer kept by an idle connection; a long line grows it only while in progress.
const IDLE_BUFFER_BYTES: usize = 4 * 1024;
/// Room asked for while a sender keeps the buffer full: one syscall per ~64 KiB of
/// input instead of per 4 KiB. The buffer goes back to `IDLE_BUFFER_BYTES` as soon as
/// a read would wait (spec/relay.md §4.3, buffer hygiene).
const BUSY_READ_BYTES: usize = 64 * 1024;
/// How long a closing connection keeps reading and discarding, so unread input does
/// not make the OS reset the connection and destroy the final lines in flight.
const CLOSE_DRAIN: Duration = Duration::from_secs(1);

/// What both tasks of a connection share: the first close reason, and when it last wrote.
#[derive(Debug)]
pub(crate) struct ConnState {
    /// Cancelled when either task decides the connection ends.
    cancel: CancellationToken,
    /// The first reason recorded wins.
    reason: OnceLock<CloseReason>,
    /// Milliseconds since the relay started, at the writer's last progress.
    last_write_ms: AtomicU64,
}

impl ConnState {
    fn close(&self, reason: CloseReason) {
        let _ = self.reason.set(reason);
        self.cancel.cancel();
    }
}

/// The address string written as `remote_addr` (spec/relay.md §2.4).
pub(crate) fn address_string(peer: SocketAddr) -> String {
    match peer {
        SocketAddr::V6(v6) => match v6.ip().to_ipv4_mapped() {
            Some(v4) => format!("{v4}:{}", v6.port()),
            None => v6.to_string(),
        },
        SocketAddr::V4(v4) => v4.to_string(),
    }
}

/// The IP that per-IP limits count: IPv4-mapped addresses count as IPv4.
pub(crate) fn ip_key(peer: SocketAddr) -> IpAddr {
    match peer.ip() {
        IpAddr::V6(v6) => v6.to_ipv4_mapped().map_or(IpAddr::V6(v6), IpAddr::V4),
        ip => ip,
    }
}

/// One connection's reader side and everything the pipeline needs.
pub(crate) struct Handler {
    shared: Arc<Shared>,
    id: u64,
    peer: SocketAddr,
    ip: IpAddr,
    addr: Arc<str>,
    outbox: Arc<Outbox>,
    counters: Arc<Counters>,
    conn: Arc<ConnState>,
    reader: LineReader,
    buf: BytesMut,
    bucket: Option<TokenBucket>,
    line_started: Option<Instant>,
    last_read: Instant,
    /// The last read filled all the room it had: more input is probably waiting.
    busy: bool,
    member: bool,
}

/// Serves one admitted connection until it closes; the slot is released on return.
pub(crate) async fn serve<S: Transport>(
    shared: Arc<Shared>,
    stream: S,
    peer: SocketAddr,
    id: u64,
    _slot: Slot,
) {
    let (mut read_half, write_half) = stream.split();
    let mut handler = Handler::new(shared, peer, id);
    let writer = handler.spawn_writer(write_half);
    let reason = handler.run(&mut read_half).await;
    handler.close(reason, &mut read_half, writer).await;
}

impl Handler {
    fn new(shared: Arc<Shared>, peer: SocketAddr, id: u64) -> Self {
        let limits = &shared.config.limits;
        let addr: Arc<str> = shared.remote_addr(id, peer).into();
        let now = Instant::now();
        let bucket = limits.rate_limit_msgs_per_minute.map(|rate| {
            TokenBucket::new(
                rate,
                limits.rate_limit_burst.unwrap_or(rate),
                now.into_std(),
            )
        });
        let counters = Arc::new(Counters::default());
        shared.track(id, Arc::clone(&counters));
        Self {
            outbox: Arc::new(Outbox::new(shared.policy.clone())),
            reader: LineReader::new(limits.max_line_bytes),
            counters,
            conn: Arc::new(ConnState {
                cancel: CancellationToken::new(),
                reason: OnceLock::new(),
                last_write_ms: AtomicU64::new(shared.millis_since_start()),
            }),
            buf: BytesMut::new(),
            ip: ip_key(peer),
            shared,
            id,
            peer,
            addr,
            bucket,
            line_started: None,
            last_read: now,
            busy: false,
            member: false,
        }
    }

    /// Starts the one task that writes to this socket.
    fn spawn_writer<W>(&self, mut writer: W) -> JoinHandle<W>
    where
        W: AsyncWrite + Unpin + Send + 'static,
    {
        let outbox = Arc::clone(&self.outbox);
        let counters = Arc::clone(&self.counters);
        let conn = Arc::clone(&self.conn);
        let shared = Arc::clone(&self.shared);
        let write_timeout = shared.config.limits.write_timeout;
        self.shared.tracker.spawn(async move {
            let touch = || {
                conn.last_write_ms
                    .store(shared.millis_since_start(), Relaxed);
            };
            let outcome = tokio::select! {
                reason = outbox.write_loop(&mut writer, write_timeout, &counters, touch) => reason,
                () = shared.force_close.cancelled() => Some(CloseReason::Shutdown),
            };
            if let Some(reason) = outcome {
                conn.close(reason);
            }
            writer
        })
    }

    /// Handshake, membership, then lines until the connection must close.
    async fn run<R: ReadHalf>(&mut self, rd: &mut R) -> CloseReason {
        if !self.shared.tokens.is_empty() {
            self.shared.handshaking.fetch_add(1, Relaxed);
            let authenticated = self.authenticate(rd).await;
            self.shared.handshaking.fetch_sub(1, Relaxed);
            if let Err(reason) = authenticated {
                return reason;
            }
        }
        self.member = true;
        self.shared.registry.join(Arc::new(Member {
            id: self.id,
            addr: Arc::clone(&self.addr),
            peer: self.peer,
            outbox: Arc::clone(&self.outbox),
            counters: Arc::clone(&self.counters),
            joined_ms: self.shared.millis_since_start(),
        }));
        tracing::info!(conn = self.id, peer = %self.peer, addr = %self.addr, "connection open");
        self.read_loop(rd).await
    }

    /// The first line must be `AUTH <token>` within the handshake timeout (§4.12).
    async fn authenticate<R: AsyncRead + Unpin>(&mut self, rd: &mut R) -> Result<(), CloseReason> {
        let deadline = Instant::now() + self.shared.config.security.handshake_timeout;
        loop {
            if let Some(frame) = self.reader.decode(&mut self.buf) {
                self.counters.lines_received.fetch_add(1, Relaxed);
                return match frame {
                    Frame::Line(line) if self.shared.token_matches(&line) => Ok(()),
                    _ => Err(self.auth_failed()),
                };
            }
            self.buf.reserve(IDLE_BUFFER_BYTES / 4);
            let read = tokio::select! {
                () = self.shared.stop_reading.cancelled() => return Err(CloseReason::Shutdown),
                read = tokio::time::timeout_at(deadline, rd.read_buf(&mut self.buf)) => read,
            };
            match read {
                Err(_) => return Err(self.auth_failed()),
                Ok(Ok(0)) => return Err(CloseReason::ClientClosed),
                Ok(Ok(n)) => self.counters.bytes_received.fetch_add(n as u64, Relaxed),
                Ok(Err(_)) => return Err(CloseReason::IoError),
            };
        }
    }

    fn auth_failed(&self) -> CloseReason {
        self.shared
            .admission
            .auth_failed(self.ip, std::time::Instant::now());
        tracing::warn!(conn = self.id, peer = %self.peer, "authentication failed");
        CloseReason::AuthFailed
    }

    async fn read_loop<R: ReadHalf>(&mut self, rd: &mut R) -> CloseReason {
        loop {
            if let Err(reason) = self.process_buffered().await {
                return reason;
            }
            let read = match self.read_now(rd) {
                Some(read) => Some(read),
                None => {
                    let room = self.room_for_next_read();
                    let deadline = self.next_deadline();
                    tokio::select! {
                        biased;
                        () = self.conn.cancel.cancelled() => {
                            return self.conn.reason.get().copied().unwrap_or(CloseReason::IoError);
                        }
                        () = self.shared.stop_reading.cancelled() => return CloseReason::Shutdown,
                        read = read_until(rd, &mut self.buf, room, deadline) => read,
                    }
                }
            };
            match read {
                Some(Ok(0)) => {
                    let outcome = self.process_eof().await;
                    return outcome.err().unwrap_or(CloseReason::ClientClosed);
                }
                Some(Ok(n)) => {
                    self.counters.bytes_received.fetch_add(n as u64, Relaxed);
                    self.last_read = Instant::now();
                    self.busy = self.buf.len() == self.buf.capacity();
                }
                Some(Err(_)) => return CloseReason::IoError,
                None => {
                    if let Some(reason) = self.expired(Instant::now()) {
                        return reason;
                    }
                }
            }
        }
    }

    /// After a read that filled all its room, more input is probably queued: one read
    /// with [`BUSY_READ_BYTES`] of room is tried at once, without waiting.
    fn read_now<R: AsyncRead + Unpin>(&mut self, rd: &mut R) -> Option<std::io::Result<usize>> {
        let closing = self.conn.cancel.is_cancelled() || self.shared.stop_reading.is_cancelled();
        if !self.busy || closing {
            return None;
        }
        self.buf.reserve(BUSY_READ_BYTES);
        rd.read_buf(&mut self.buf).now_or_never()
    }

    /// Room to ask for in the next waiting read; gives back a grown buffer first.
    ///
    /// A grown buffer (a busy sender's, or a long line's) with nothing in progress goes
    /// back to [`IDLE_BUFFER_BYTES`] before the reader waits, so an idle connection
    /// never holds more (§4.3, buffer hygiene).
    fn room_for_next_read(&mut self) -> usize {
        if self.buf.is_empty() && self.buf.capacity() > 4 * IDLE_BUFFER_BYTES {
            self.buf = BytesMut::with_capacity(IDLE_BUFFER_BYTES);
        }
        if self.busy {
            BUSY_READ_BYTES
        } else {
            IDLE_BUFFER_BYTES / 4
        }
    }

    /// Runs every complete line in the buffer through the pipeline.
    async fn process_buffered(&mut self) -> Result<(), CloseReason> {
        let mut handled = 0;
        let mut completed = false;
        while let Some(frame) = self.reader.decode(&mut self.buf) {
            completed = true;
            self.on_frame(frame).await?;
            handled += 1;
            if handled % LINES_PER_TURN == 0 {
                tokio::task::yield_now().await;
            }
        }
        let in_progress = self.reader.line_in_progress(&self.buf);
        if !in_progress {
            self.line_started = None;
        } else if completed || self.line_started.is_none() {
            self.line_started = Some(Instant::now());
        }
        Ok(())
    }

    async fn process_eof(&mut self) -> Result<(), CloseReason> {
        self.process_buffered().await?;
        if let Some(frame) = self.reader.decode_eof(&mut self.buf) {
            self.on_frame(frame).await?;
        }
        Ok(())
    }

    /// The earliest of the line-timeout and idle deadlines, if either is on.
    fn next_deadline(&self) -> Option<Instant> {
        let limits = &self.shared.config.limits;
        let line = self
            .line_started
            .zip(limits.line_timeout)
            .map(|(started, limit)| started + limit);
        let idle = limits
            .client_timeout
            .map(|limit| self.last_activity() + limit);
        match (line, idle) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        }
    }

    fn last_activity(&self) -> Instant {
        let written = self.conn.last_write_ms.load(Relaxed);
        let last_write = self.shared.instant_at(written);
        self.last_read.max(last_write)
    }

    fn expired(&self, now: Instant) -> Option<CloseReason> {
        let limits = &self.shared.config.limits;
        let line_expired = self
            .line_started
            .zip(limits.line_timeout)
            .is_some_and(|(started, limit)| now >= started + limit);
        if line_expired {
            return Some(CloseReason::LineTimeout);
        }
        let idle_expired = limits
            .client_timeout
            .is_some_and(|limit| now >= self.last_activity() + limit);
        idle_expired.then_some(CloseReason::Idle)
    }

    /// The per-line pipeline after the cap: rate limit, UTF-8, ceiling, fan-out.
    async fn on_frame(&mut self, frame: Frame) -> Result<(), CloseReason> {
        self.counters.lines_received.fetch_add(1, Relaxed);
        let body = match frame {
            Frame::Oversize => {
                self.reject(DropReason::TooLong, Notice::TooLong);
                return Ok(());
            }
            Frame::Line(body) => body,
        };
        if !self.admit_by_rate().await? {
            return Ok(());
        }
        let replaced;
        let text = match std::str::from_utf8(&body) {
            Ok(text) => text,
            Err(_) if self.shared.config.limits.replace_invalid_utf8 => {
                replaced = String::from_utf8_lossy(&body).into_owned();
                &replaced
            }
            Err(_) => {
                self.reject(DropReason::InvalidUtf8, Notice::InvalidUtf8);
                return Ok(());
            }
        };
        if envelope::envelope_len(&self.addr, text) > crate::MAX_RELAYED_LINE_BYTES {
            self.reject(DropReason::TooLong, Notice::TooLong);
            return Ok(());
        }
        let line: Bytes = envelope::encode(&self.addr, text);
        self.counters.lines_relayed.fetch_add(1, Relaxed);
        let recipients = self.shared.registry.broadcast(self.id, &line);
        if tracing::enabled!(tracing::Level::DEBUG) {
            tracing::debug!(conn = self.id, bytes = body.len(), recipients, "relayed");
        }
        Ok(())
    }

    fn reject(&self, reason: DropReason, notice: Notice) {
        self.counters.drop_line(reason);
        if self.outbox.notice(notice, &self.counters) {
            tracing::warn!(conn = self.id, peer = %self.peer, reason = reason.label(), "line not relayed");
        }
    }

    /// Takes a token from every configured bucket, or none; drops or waits per the action.
    async fn admit_by_rate(&mut self) -> Result<bool, CloseReason> {
        if self.bucket.is_none() && !self.shared.admission.ip_rate_limited() {
            // No limit configured (the default): no clock read per line.
            return Ok(true);
        }
        loop {
            let now = std::time::Instant::now();
            let own = self.bucket.as_mut().is_none_or(|b| b.has_token(now));
            let shared_ok = self.shared.admission.ip_has_token(self.ip, now);
            if own && shared_ok {
                if let Some(bucket) = self.bucket.as_mut() {
                    bucket.take();
                }
                self.shared.admission.ip_take(self.ip);
                return Ok(true);
            }
            if self.shared.config.limits.rate_limit_action == RateLimitAction::Drop {
                self.reject(DropReason::RateLimited, Notice::RateLimited);
                return Ok(false);
            }
            let own_wait = self
                .bucket
                .as_mut()
                .map_or(Duration::ZERO, |b| b.wait_time(now));
            let wait = own_wait.max(self.shared.admission.ip_wait_time(self.ip, now));
            tokio::select! {
                () = self.conn.cancel.cancelled() => {
                    return Err(self.conn.reason.get().copied().unwrap_or(CloseReason::IoError));
                }
                () = self.shared.stop_reading.cancelled() => return Err(CloseReason::Shutdown),
                () = tokio::time::sleep(wait.max(Duration::from_millis(1))) => {}
            }
        }
    }

    /// The close steps of §4.10, run on every path.
    async fn close<R, W>(mut self, reason: CloseReason, rd: &mut R, writer: JoinHandle<W>)
    where
        R: AsyncRead + Unpin,
        W: AsyncWrite + Unpin,
    {
        self.conn.close(reason);
        let reason = self.conn.reason.get().copied().unwrap_or(reason);
        self.shared.registry.leave(self.id);
        let notice = reason
            .notice()
            .filter(|_| self.member || reason != CloseReason::Shutdown);
        match reason {
            CloseReason::ClientClosed | CloseReason::IoError => self.outbox.discard(),
            _ => self.outbox.finish(notice, &self.counters),
        }
        let flush_limit = self.shared.config.limits.write_timeout;
        let mut writer = writer;
        let write_half = tokio::select! {
            joined = &mut writer => joined.ok(),
            () = tokio::time::sleep(flush_limit) => None,
            () = self.shared.force_close.cancelled() => None,
        };
        writer.abort();
        if let Some(mut write_half) = write_half {
            let _ = tokio::time::timeout(CLOSE_DRAIN, write_half.shutdown()).await;
        }
        if !matches!(reason, CloseReason::ClientClosed | CloseReason::IoError) {
            self.drain_input(rd).await;
        }
        self.shared.retire(self.id, reason);
        tracing::info!(
            conn = self.id,
            peer = %self.peer,
            reason = reason.label(),
            lines_in = self.counters.lines_received.load(Relaxed),
            bytes_in = self.counters.bytes_received.load(Relaxed),
            bytes_out = self.counters.bytes_sent.load(Relaxed),
            "connection closed"
        );
    }

    /// Reads and throws away input for at most [`CLOSE_DRAIN`]. The scratch space is the
    /// connection's own read buffer, so the task's future holds no buffer of its own.
    async fn drain_input<R: AsyncRead + Unpin>(&mut self, rd: &mut R) {
        let deadline = Instant::now() + CLOSE_DRAIN;
        let mut scratch = std::mem::take(&mut self.buf);
        loop {
            scratch.clear();
            scratch.reserve(IDLE_BUFFER_BYTES);
            let read = tokio::select! {
                () = self.shared.force_close.cancelled() => return,
                read = tokio::time::timeout_at(deadline, rd.read_buf(&mut scratch)) => read,
            };
            match read {
                Ok(Ok(n)) if n > 0 => continue,
                _ => return,
            }
        }
    }
}

/// Reads into `buf` with at least `room` bytes of space, or gives up at `deadline`;
/// `None` means the deadline passed.
async fn read_until<R: ReadHalf>(
    rd: &mut R,
    buf: &mut BytesMut,
    room: usize,
    deadline: Option<Instant>,
) -> Option<std::io::Result<usize>> {
    let read = read_when_ready(rd, buf, room);
    match deadline {
        Some(at) => tokio::time::timeout_at(at, read).await.ok(),
        None => Some(read.await),
    }
}

/// One read. With nothing buffered, on a transport that can wait without a buffer, the
/// buffer is let go while waiting and allocated only once input is ready: an idle
/// connection holds no read buffer.
async fn read_when_ready<R: ReadHalf>(
    rd: &mut R,
    buf: &mut BytesMut,
    room: usize,
) -> std::io::Result<usize> {
    if R::WAITS_WITHOUT_BUFFER && buf.is_empty() {
        loop {
            *buf = BytesMut::new();
            rd.readable().await?;
            buf.reserve(room.max(IDLE_BUFFER_BYTES));
            // Readiness can be spurious: a read that would wait goes back to waiting.
            if let Some(read) = rd.read_buf(buf).now_or_never() {
                return read;
            }
        }
    }
    buf.reserve(room);
    rd.read_buf(buf).await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn writes_addresses_as_the_spec_says() {
        let v4: SocketAddr = "127.0.0.1:44568".parse().expect("literal");
        assert_eq!(address_string(v4), "127.0.0.1:44568");
        let v6: SocketAddr = "[::1]:8888".parse().expect("literal");
        assert_eq!(address_string(v6), "[::1]:8888");
        let mapped: SocketAddr = "[::ffff:10.0.0.1]:9".parse().expect("literal");
        assert_eq!(address_string(mapped), "10.0.0.1:9");
        assert_eq!(ip_key(mapped), IpAddr::from([10, 0, 0, 1]));
        let scoped = SocketAddr::V6(std::net::SocketAddrV6::new(
            "fe80::1".parse().expect("literal"),
            7,
            0,
            3,
        ));
        assert_eq!(address_string(scoped), "[fe80::1%3]:7");
    }
}

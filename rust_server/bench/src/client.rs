//! One benchmark client: connect (and, for NATS, subscribe), receive, send.
//!
//! A client's socket is split once: its receiver task owns the read half, and the write
//! half sits behind an async mutex shared by the sender (if the client sends) and the
//! receiver (which answers NATS `PING`s).

use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering::Relaxed};
use std::sync::Arc;
use std::time::Duration;

use anyhow::{bail, Context};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::tcp::{OwnedReadHalf, OwnedWriteHalf};
use tokio::net::TcpStream;
use tokio::sync::{watch, Mutex};
use tokio::time::Instant;

use crate::message::{self, Header, SYNC};
use crate::stats::{self, Tally};
use crate::wire::{self, Event, Parser, Proto};

/// Bytes a receiver asks for per read.
const READ_BYTES: usize = 64 * 1024;
/// Notices kept per receiver for the report.
const NOTICES_KEPT: usize = 8;

/// The shared write half of a client.
pub type Writer = Arc<Mutex<OwnedWriteHalf>>;

/// A connected client, ready to receive.
#[derive(Debug)]
pub struct Client {
    /// Read half, owned by the receiver.
    pub read: OwnedReadHalf,
    /// Write half, shared.
    pub write: Writer,
    /// Bytes read during the handshake that belong to the receiver.
    pub leftover: Vec<u8>,
}

/// Connects; for NATS also sends CONNECT and SUB and waits for the PONG that proves the
/// subscription is registered.
///
/// # Errors
///
/// Connection refused or reset, or a NATS `-ERR`.
pub async fn connect(addr: SocketAddr, proto: Proto) -> anyhow::Result<Client> {
    let stream = TcpStream::connect(addr)
        .await
        .with_context(|| format!("connect {addr}"))?;
    stream.set_nodelay(true)?;
    let (mut read, mut write) = stream.into_split();
    let mut leftover = Vec::new();
    if proto == Proto::Nats {
        write.write_all(&wire::nats_hello()).await?;
        let parser = Parser::new(proto);
        loop {
            if read.read_buf(&mut leftover).await? == 0 {
                bail!("nats-server closed the connection during CONNECT");
            }
            let (mut pong, mut error) = (false, None);
            let used = parser.parse(&leftover, |event| match event {
                Event::Pong => pong = true,
                Event::Notice(text) => error = Some(String::from_utf8_lossy(text).into_owned()),
                Event::Content(_) | Event::Ping => {}
            })?;
            if let Some(error) = error {
                bail!("nats-server refused: {error}");
            }
            leftover.drain(..used);
            if pong {
                break;
            }
        }
    }
    Ok(Client {
        read,
        write: Arc::new(Mutex::new(write)),
        leftover,
    })
}

/// What every receiver of a run shares.
#[derive(Debug)]
pub struct RunState {
    /// Receivers that have seen a barrier line.
    pub synced: AtomicUsize,
    /// Receivers that have everything they expect.
    pub complete: AtomicUsize,
    /// Distinct messages received by all receivers so far (progress, for the settle rule).
    pub delivered: AtomicU64,
}

/// Reads until told to stop or the connection ends; counts and times every message.
pub async fn receive_loop(
    client: Client,
    proto: Proto,
    run: Arc<RunState>,
    mut tally: Tally,
    mut stop: watch::Receiver<bool>,
) -> Tally {
    let Client {
        mut read,
        write,
        leftover,
    } = client;
    let parser = Parser::new(proto);
    let mut buf = leftover;
    let mut latencies = Vec::with_capacity(1024);
    let mut synced = false;
    let mut received_at = message::now_ns();
    loop {
        let (mut ping, mut saw_sync) = (false, false);
        let before = tally.unique;
        let parsed = parser.parse(&buf, |event| match event {
            Event::Content(content) => match message::parse_content(content) {
                Some(Header {
                    sender,
                    seq,
                    sent_ns,
                }) => {
                    if tally.count(sender, seq) {
                        latencies.push(received_at.saturating_sub(sent_ns));
                    }
                }
                None if content.starts_with(SYNC) => saw_sync = true,
                None => tally.malformed += 1,
            },
            Event::Ping => ping = true,
            Event::Pong => {}
            Event::Notice(text) => {
                if tally.notices.len() < NOTICES_KEPT {
                    tally
                        .notices
                        .push(String::from_utf8_lossy(text).into_owned());
                }
            }
        });
        let used = match parsed {
            Ok(used) => used,
            Err(error) => {
                tally.error = Some(format!("{error:#}"));
                break;
            }
        };
        buf.drain(..used);
        stats::record(&latencies);
        latencies.clear();
        if saw_sync && !synced {
            synced = true;
            run.synced.fetch_add(1, Relaxed);
        }
        if tally.unique > before {
            tally.last_at = Some(std::time::Instant::now());
            run.delivered.fetch_add(tally.unique - before, Relaxed);
            if tally.complete() && before < tally.expected {
                run.complete.fetch_add(1, Relaxed);
            }
        }
        if ping && write.lock().await.write_all(wire::PONG).await.is_err() {
            tally.error = Some("could not answer PING".to_owned());
            break;
        }
        buf.reserve(READ_BYTES.saturating_sub(buf.capacity() - buf.len()));
        let read = tokio::select! {
            read = read.read_buf(&mut buf) => read,
            _ = stop.changed() => break,
        };
        received_at = message::now_ns();
        match read {
            Ok(0) => {
                tally.error = Some("the relay closed the connection".to_owned());
                break;
            }
            Ok(_) => {}
            Err(error) => {
                tally.error = Some(format!("read: {error}"));
                break;
            }
        }
    }
    tally
}

/// How one sender sends.
#[derive(Debug, Clone, Copy)]
pub struct SendPlan {
    /// Wire to frame messages for.
    pub proto: Proto,
    /// This sender's index (written in every message).
    pub sender: u16,
    /// Messages to send.
    pub messages: u32,
    /// Content bytes per message.
    pub size: usize,
    /// Messages per second, or `None` for as fast as the socket takes them.
    pub rate: Option<f64>,
    /// Unpaced: bytes of messages per write.
    pub batch_bytes: usize,
    /// When the first message is due.
    pub start: Instant,
}

/// Sends every message of `plan`; returns when the last one is written.
///
/// # Errors
///
/// A write failed (the relay closed the connection).
pub async fn send_loop(plan: SendPlan, writer: Writer) -> anyhow::Result<Instant> {
    tokio::time::sleep_until(plan.start).await;
    let mut buf = Vec::with_capacity(plan.batch_bytes + plan.size + 64);
    let mut seq = 0;
    while seq < plan.messages {
        let due = match plan.rate {
            None => plan.messages,
            Some(rate) => {
                let elapsed = plan.start.elapsed().as_secs_f64();
                ((elapsed * rate) as u32)
                    .saturating_add(1)
                    .min(plan.messages)
            }
        };
        while seq < due {
            buf.clear();
            let sent_ns = message::now_ns();
            while seq < due && (buf.is_empty() || buf.len() < plan.batch_bytes) {
                let header = Header {
                    sender: plan.sender,
                    seq,
                    sent_ns,
                };
                wire::open_message(plan.proto, &mut buf, plan.size);
                message::write_content(&mut buf, header, plan.size);
                wire::close_message(plan.proto, &mut buf);
                seq += 1;
            }
            writer.lock().await.write_all(&buf).await.context("send")?;
        }
        if let Some(rate) = plan.rate.filter(|_| seq < plan.messages) {
            let next = plan.start + Duration::from_secs_f64(f64::from(seq) / rate);
            tokio::time::sleep_until(next).await;
        }
    }
    Ok(Instant::now())
}

/// Writes one barrier line.
///
/// # Errors
///
/// The write failed.
pub async fn send_sync(proto: Proto, writer: &Writer) -> anyhow::Result<()> {
    let mut buf = Vec::new();
    wire::open_message(proto, &mut buf, SYNC.len());
    buf.extend_from_slice(SYNC);
    wire::close_message(proto, &mut buf);
    writer.lock().await.write_all(&buf).await?;
    Ok(())
}

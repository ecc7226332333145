//! The operator endpoint: `/healthz`, `/metrics` and `/connz` over plain HTTP/1.1, GET only.
//!
//! Served only when `metrics.port` is set, on loopback unless configured otherwise
//! (spec/relay.md §4.14). Requests are bounded in size and time; each is answered and the
//! connection closed. Hand-written rather than built on an HTTP framework: three read-only
//! routes do not justify a server stack in the relay's dependency tree.

use std::fmt::Write as _;
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

use crate::server::Shared;

/// Longest request accepted, headers included.
const MAX_REQUEST_BYTES: usize = 8 * 1024;
/// Time allowed to send the request.
const REQUEST_TIMEOUT: Duration = Duration::from_secs(5);
/// `/connz` rows by default and at most.
const CONNZ_DEFAULT_LIMIT: usize = 100;
const CONNZ_MAX_LIMIT: usize = 10_000;

/// Answers requests until the future is dropped (at shutdown).
pub(crate) async fn serve(shared: Arc<Shared>, listener: TcpListener) {
    loop {
        let Ok((stream, _)) = listener.accept().await else {
            tokio::time::sleep(Duration::from_millis(100)).await;
            continue;
        };
        tokio::spawn(answer(Arc::clone(&shared), stream));
    }
}

async fn answer(shared: Arc<Shared>, mut stream: TcpStream) {
    let Ok(Some(target)) = tokio::time::timeout(REQUEST_TIMEOUT, read_target(&mut stream))
        .await
        .map(Result::ok)
        .map(Option::flatten)
    else {
        let _ = respond(
            &mut stream,
            "400 Bad Request",
            "text/plain",
            "bad request\n",
        )
        .await;
        return;
    };
    let (path, query) = target.split_once('?').unwrap_or((&target, ""));
    let _ = match path {
        "/healthz" => {
            if shared.draining.load(Ordering::Acquire) {
                respond(
                    &mut stream,
                    "503 Service Unavailable",
                    "application/json",
                    "{\"status\":\"draining\"}",
                )
                .await
            } else {
                respond(
                    &mut stream,
                    "200 OK",
                    "application/json",
                    "{\"status\":\"ok\"}",
                )
                .await
            }
        }
        "/metrics" => {
            let body = prometheus(&shared);
            respond(&mut stream, "200 OK", "text/plain; version=0.0.4", &body).await
        }
        "/connz" => {
            let body = connz(&shared, query);
            respond(&mut stream, "200 OK", "application/json", &body).await
        }
        _ => respond(&mut stream, "404 Not Found", "text/plain", "not found\n").await,
    };
}

/// Reads the request head and returns the target of a `GET`, or `None` for anything else.
async fn read_target(stream: &mut TcpStream) -> std::io::Result<Option<String>> {
    let mut head = Vec::with_capacity(1024);
    let mut chunk = [0u8; 1024];
    while !head.windows(4).any(|w| w == b"\r\n\r\n") && !head.windows(2).any(|w| w == b"\n\n") {
        let n = stream.read(&mut chunk).await?;
        if n == 0 || head.len() + n > MAX_REQUEST_BYTES {
            return Ok(None);
        }
        head.extend_from_slice(&chunk[..n]);
    }
    let text = String::from_utf8_lossy(&head);
    let mut words = text.lines().next().unwrap_or_default().split_whitespace();
    match (words.next(), words.next()) {
        (Some("GET"), Some(target)) => Ok(Some(target.to_owned())),
        _ => Ok(None),
    }
}

async fn respond(
    stream: &mut TcpStream,
    status: &str,
    kind: &str,
    body: &str,
) -> std::io::Result<()> {
    let head = format!(
        "HTTP/1.1 {status}\r\nContent-Type: {kind}\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
        body.len()
    );
    stream.write_all(head.as_bytes()).await?;
    stream.write_all(body.as_bytes()).await?;
    stream.shutdown().await
}

/// The Prometheus text exposition of every counter and gauge of §4.14.
pub(crate) fn prometheus(shared: &Shared) -> String {
    let mut out = String::with_capacity(8 * 1024);
    let mut last_family = String::new();
    for (name, value) in shared.counters() {
        let family = name.split('{').next().unwrap_or(&name).to_owned();
        if family != last_family {
            let _ = writeln!(out, "# TYPE summoner_relay_{family} counter");
            last_family = family;
        }
        let _ = writeln!(out, "summoner_relay_{name} {value}");
    }
    for (name, value) in shared.gauges() {
        let family = name.split('{').next().unwrap_or(&name).to_owned();
        if family != last_family {
            let _ = writeln!(out, "# TYPE summoner_relay_{family} gauge");
            last_family = family;
        }
        let _ = writeln!(out, "summoner_relay_{name} {value}");
    }
    let (buckets, sum, count) = shared.totals().queue_depth_histogram();
    let _ = writeln!(out, "# TYPE summoner_relay_queue_depth histogram");
    for (le, value) in buckets {
        let _ = writeln!(
            out,
            "summoner_relay_queue_depth_bucket{{le=\"{le}\"}} {value}"
        );
    }
    let _ = writeln!(out, "summoner_relay_queue_depth_sum {sum}");
    let _ = writeln!(out, "summoner_relay_queue_depth_count {count}");
    let _ = writeln!(out, "# TYPE summoner_relay_info gauge");
    let _ = writeln!(
        out,
        "summoner_relay_info{{version=\"{}\",backend=\"rust\"}} 1",
        crate::VERSION
    );
    out
}

/// One JSON object per member, sorted by id or by queue bytes, at most `limit` of them.
fn connz(shared: &Shared, query: &str) -> String {
    let mut limit = CONNZ_DEFAULT_LIMIT;
    let mut by_queue = false;
    for pair in query.split('&') {
        match pair.split_once('=') {
            Some(("limit", value)) => {
                limit = value
                    .parse()
                    .unwrap_or(CONNZ_DEFAULT_LIMIT)
                    .min(CONNZ_MAX_LIMIT);
            }
            Some(("sort", "queue_bytes")) => by_queue = true,
            _ => {}
        }
    }
    let mut rows: Vec<_> = shared
        .registry
        .snapshot()
        .into_iter()
        .map(|member| {
            let (queue_messages, queue_bytes, lagging, shedding) = member.outbox.depth();
            (member, queue_messages, queue_bytes, lagging, shedding)
        })
        .collect();
    if by_queue {
        rows.sort_by_key(|row| std::cmp::Reverse(row.2));
    } else {
        rows.sort_by_key(|row| row.0.id);
    }
    let now = shared.millis_since_start();
    let objects: Vec<serde_json::Value> = rows
        .into_iter()
        .take(limit)
        .map(|(member, queue_messages, queue_bytes, lagging, shedding)| {
            let c = &member.counters;
            let load = |counter: &std::sync::atomic::AtomicU64| counter.load(Ordering::Relaxed);
            let dropped: u64 = c.dropped.iter().map(load).sum();
            serde_json::json!({
                "id": member.id,
                "address": member.addr.as_ref(),
                "peer": member.peer.to_string(),
                "state": "member",
                "connected_secs": now.saturating_sub(member.joined_ms) as f64 / 1000.0,
                "lines_in": load(&c.lines_received),
                "lines_out": load(&c.deliveries),
                "bytes_in": load(&c.bytes_received),
                "bytes_out": load(&c.bytes_sent),
                "queue_messages": queue_messages,
                "queue_bytes": queue_bytes,
                "lagging": lagging,
                "shedding": shedding,
                "dropped": dropped,
            })
        })
        .collect();
    serde_json::Value::Array(objects).to_string()
}

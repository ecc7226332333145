//! Black-box tests over raw TCP: a relay on a free loopback port, clients as plain sockets.

use std::sync::Arc;
use std::time::Duration;

use serde_json::json;
use summoner_relay_core::{config, Relay};
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
use tokio::net::tcp::{OwnedReadHalf, OwnedWriteHalf};
use tokio::net::TcpStream;
use tokio::sync::oneshot;
use tokio::task::JoinHandle;

/// Every wait in these tests is bounded by this.
const WAIT: Duration = Duration::from_secs(5);

struct Running {
    addr: std::net::SocketAddr,
    stop: Option<oneshot::Sender<()>>,
    task: JoinHandle<()>,
    relay: Arc<Relay>,
}

impl Running {
    async fn start(extra: serde_json::Value) -> Self {
        let mut value = json!({"host": "127.0.0.1", "port": 0});
        if let (Some(base), Some(more)) = (value.as_object_mut(), extra.as_object()) {
            base.extend(more.clone());
        }
        let validated = config::parse_value(&value, true).expect("test config is valid");
        let relay = Arc::new(Relay::new(validated.config).expect("relay"));
        let addr = relay.bind().expect("bind a free port");
        let (tx, rx) = oneshot::channel::<()>();
        let serving = Arc::clone(&relay);
        let task = tokio::spawn(async move {
            serving
                .serve(async {
                    let _ = rx.await;
                })
                .await
                .expect("serve");
        });
        Self {
            addr,
            stop: Some(tx),
            task,
            relay,
        }
    }

    async fn connect(&self) -> Probe {
        let stream = TcpStream::connect(self.addr).await.expect("connect");
        let local = stream.local_addr().expect("local address").to_string();
        let (read, write) = stream.into_split();
        Probe {
            local,
            lines: BufReader::new(read),
            write,
        }
    }

    /// Waits until `n` members joined, so a line sent next reaches all of them.
    async fn members(&self, n: u64) {
        let relay = Arc::clone(&self.relay);
        tokio::time::timeout(WAIT, async move {
            loop {
                let members = relay
                    .stats()
                    .into_iter()
                    .find(|(name, _)| name == "members")
                    .map_or(0, |(_, v)| v);
                if members == n {
                    return;
                }
                tokio::task::yield_now().await;
                tokio::time::sleep(Duration::from_millis(2)).await;
            }
        })
        .await
        .expect("members joined in time");
    }

    fn stat(&self, name: &str) -> u64 {
        self.relay
            .stats()
            .into_iter()
            .find(|(n, _)| n == name)
            .map_or(0, |(_, v)| v)
    }

    async fn stop(mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        tokio::time::timeout(WAIT, self.task)
            .await
            .expect("relay stopped in time")
            .expect("relay task");
    }
}

struct Probe {
    local: String,
    lines: BufReader<OwnedReadHalf>,
    write: OwnedWriteHalf,
}

impl Probe {
    async fn send(&mut self, bytes: &[u8]) {
        self.write.write_all(bytes).await.expect("write");
    }

    /// The next line, LF included; empty at EOF.
    async fn next(&mut self) -> String {
        let mut line = String::new();
        tokio::time::timeout(WAIT, self.lines.read_line(&mut line))
            .await
            .expect("a line in time")
            .expect("read");
        line
    }
}

fn envelope(addr: &str, text: &str) -> String {
    let content = serde_json::to_string(text).expect("a str serialises");
    format!("{{\"remote_addr\":\"{addr}\",\"content\":{content}}}\n")
}

#[tokio::test]
async fn relays_a_line_to_others_and_never_echoes() {
    let relay = Running::start(json!({})).await;
    let mut a = relay.connect().await;
    let mut b = relay.connect().await;
    relay.members(2).await;
    a.send(b"{\"x\": 1}\n").await;
    assert_eq!(
        b.next().await,
        format!(
            "{{\"remote_addr\":\"{}\",\"content\":\"{{\\\"x\\\": 1}}\"}}\n",
            a.local
        )
    );
    b.send(b"from b\n").await;
    assert_eq!(a.next().await, envelope(&b.local, "from b"));
    relay.stop().await;
}

#[tokio::test]
async fn skips_oversize_line_warns_sender_and_keeps_session() {
    let relay = Running::start(json!({"hyper_parameters": {"max_line_bytes": 16}})).await;
    let mut a = relay.connect().await;
    let mut b = relay.connect().await;
    relay.members(2).await;
    a.send(&[b'x'; 1000]).await;
    a.send(b"\nok\n").await;
    assert_eq!(
        a.next().await,
        "Warning: Message too long. It was not relayed.\n"
    );
    assert_eq!(b.next().await, envelope(&a.local, "ok"));
    relay.stop().await;
}

#[tokio::test]
async fn rejects_invalid_utf8_and_keeps_session() {
    let relay = Running::start(json!({})).await;
    let mut a = relay.connect().await;
    let mut b = relay.connect().await;
    relay.members(2).await;
    a.send(b"\xff\xfe\nok\n").await;
    assert_eq!(
        a.next().await,
        "Warning: Message is not valid UTF-8. It was not relayed.\n"
    );
    assert_eq!(b.next().await, envelope(&a.local, "ok"));
    assert_eq!(relay.stat("dropped_total{reason=\"invalid_utf8\"}"), 1);
    relay.stop().await;
}

#[tokio::test]
async fn keeps_per_sender_order_for_many_lines() {
    let relay = Running::start(json!({})).await;
    let mut a = relay.connect().await;
    let mut b = relay.connect().await;
    relay.members(2).await;
    let batch: String = (0..1000).map(|n| format!("{n}\n")).collect();
    a.send(batch.as_bytes()).await;
    for n in 0..1000 {
        assert_eq!(b.next().await, envelope(&a.local, &n.to_string()));
    }
    relay.stop().await;
}

#[tokio::test]
async fn refuses_connections_over_the_cap_with_n7() {
    let relay = Running::start(json!({"hyper_parameters": {"max_connections": 1}})).await;
    let _a = relay.connect().await;
    relay.members(1).await;
    let mut refused = relay.connect().await;
    assert_eq!(
        refused.next().await,
        "Warning: Server is full. Please try again later.\n"
    );
    assert_eq!(refused.next().await, "");
    relay.stop().await;
}

#[tokio::test]
async fn drains_queued_lines_then_sends_n3_at_shutdown() {
    let relay = Running::start(json!({})).await;
    let mut a = relay.connect().await;
    let mut b = relay.connect().await;
    relay.members(2).await;
    for n in 0..100 {
        a.send(format!("{n}\n").as_bytes()).await;
    }
    // Wait until every line was relayed before stopping.
    tokio::time::timeout(WAIT, async {
        while relay.stat("lines_relayed_total") < 100 {
            tokio::time::sleep(Duration::from_millis(2)).await;
        }
    })
    .await
    .expect("lines relayed in time");
    let addr = a.local.clone();
    let stopping = tokio::spawn(relay.stop());
    for n in 0..100 {
        assert_eq!(b.next().await, envelope(&addr, &n.to_string()));
    }
    assert_eq!(b.next().await, "Warning: Server is shutting down.\n");
    assert_eq!(b.next().await, "");
    stopping.await.expect("stopped");
    drop(a);
}

#[tokio::test]
async fn closes_a_silent_line_with_n13_after_the_line_timeout() {
    let relay = Running::start(json!({"hyper_parameters": {"line_timeout_secs": 0.2}})).await;
    let mut a = relay.connect().await;
    relay.members(1).await;
    a.send(b"abc").await;
    assert_eq!(
        a.next().await,
        "Warning: You have been disconnected because a message took too long to arrive.\n"
    );
    assert_eq!(a.next().await, "");
    relay.stop().await;
}

#[tokio::test]
async fn rate_limit_drops_beyond_the_burst_with_one_n1() {
    let relay = Running::start(json!({"hyper_parameters": {
        "rate_limit_msgs_per_minute": 60, "rate_limit_burst": 5
    }}))
    .await;
    let mut a = relay.connect().await;
    let mut b = relay.connect().await;
    relay.members(2).await;
    let batch: String = (0..10).map(|n| format!("{n}\n")).collect();
    a.send(batch.as_bytes()).await;
    a.send(b"").await;
    assert_eq!(
        a.next().await,
        "Warning: You are sending messages too quickly. Please slow down.\n"
    );
    for n in 0..5 {
        assert_eq!(b.next().await, envelope(&a.local, &n.to_string()));
    }
    assert_eq!(relay.stat("dropped_total{reason=\"rate_limited\"}"), 5);
    relay.stop().await;
}

#[tokio::test]
async fn requires_the_auth_line_when_tokens_are_configured() {
    let token = "0123456789abcdef-token";
    let relay = Running::start(json!({"security": {"auth_tokens": [token]}})).await;
    let mut wrong = relay.connect().await;
    wrong.send(b"AUTH not-the-right-token-at-all\n").await;
    assert_eq!(wrong.next().await, "Warning: Authentication failed.\n");
    assert_eq!(wrong.next().await, "");
    let mut a = relay.connect().await;
    let mut b = relay.connect().await;
    a.send(format!("AUTH {token}\nhello\n").as_bytes()).await;
    b.send(format!("AUTH {token}\n").as_bytes()).await;
    relay.members(2).await;
    a.send(b"after\n").await;
    assert_eq!(b.next().await, envelope(&a.local, "after"));
    relay.stop().await;
}

async fn http_get(addr: std::net::SocketAddr, path: &str) -> String {
    let mut stream = TcpStream::connect(addr).await.expect("connect to metrics");
    stream
        .write_all(format!("GET {path} HTTP/1.1\r\nHost: x\r\n\r\n").as_bytes())
        .await
        .expect("request");
    let mut response = String::new();
    tokio::time::timeout(
        WAIT,
        tokio::io::AsyncReadExt::read_to_string(&mut stream, &mut response),
    )
    .await
    .expect("response in time")
    .expect("read response");
    response
}

#[tokio::test]
async fn counts_lines_and_serves_metrics_and_health() {
    let relay = Running::start(json!({
        "hyper_parameters": {"max_line_bytes": 100},
        "metrics": {"port": 0}
    }))
    .await;
    let metrics = relay.relay.metrics_addr().expect("metrics endpoint bound");
    let mut a = relay.connect().await;
    let mut b = relay.connect().await;
    let mut c = relay.connect().await;
    relay.members(3).await;
    let mut batch: Vec<u8> = Vec::new();
    for n in 0..10 {
        batch.extend_from_slice(format!("{n}\n").as_bytes());
    }
    batch.extend_from_slice(&[b'x'; 200]);
    batch.extend_from_slice(b"\n\xff\n");
    a.send(&batch).await;
    for _ in 0..10 {
        b.next().await;
        c.next().await;
    }
    a.next().await;
    a.next().await;
    assert_eq!(relay.stat("lines_received_total"), 12);
    assert_eq!(relay.stat("lines_relayed_total"), 10);
    assert_eq!(relay.stat("deliveries_total"), 20);
    assert_eq!(relay.stat("dropped_total{reason=\"too_long\"}"), 1);
    assert_eq!(relay.stat("dropped_total{reason=\"invalid_utf8\"}"), 1);
    let health = http_get(metrics, "/healthz").await;
    assert!(health.starts_with("HTTP/1.1 200 OK"), "{health}");
    assert!(health.ends_with("{\"status\":\"ok\"}"), "{health}");
    let text = http_get(metrics, "/metrics").await;
    assert!(
        text.contains("\nsummoner_relay_lines_relayed_total 10\n"),
        "{text}"
    );
    assert!(
        text.contains("summoner_relay_connections{state=\"member\"} 3"),
        "{text}"
    );
    let connz = http_get(metrics, "/connz?sort=queue_bytes&limit=2").await;
    let body = connz.split("\r\n\r\n").nth(1).expect("a body");
    let rows: serde_json::Value = serde_json::from_str(body).expect("connz is JSON");
    assert_eq!(rows.as_array().map(Vec::len), Some(2));
    relay.stop().await;
}

//! [`Relay`]: bind, then serve until the shutdown trigger fires, then drain.
//!
//! The shutdown trigger is passed in: the binary passes a signal future, the Python
//! module a token fired by `stop()`, tests a channel. Shutdown follows spec/relay.md §4.11:
//! stop accepting, stop reading, notify and drain, then close whatever is left at the
//! deadline.

use std::collections::HashMap;
use std::future::Future;
use std::hash::BuildHasher;
use std::net::{SocketAddr, ToSocketAddrs};
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use tokio::net::TcpListener;
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

use crate::config::Config;
use crate::error::{CloseReason, RelayError};
use crate::limits::Admission;
use crate::listener;
use crate::metrics::{Counters, Metrics};
use crate::outbox::QueuePolicy;
use crate::registry::Registry;

/// Everything the listener and the connection tasks share.
pub(crate) struct Shared {
    pub(crate) config: Config,
    pub(crate) registry: Registry,
    pub(crate) admission: Arc<Admission>,
    pub(crate) metrics: Metrics,
    pub(crate) policy: QueuePolicy,
    /// Set when the listener speaks TLS only.
    pub(crate) tls: Option<tokio_rustls::TlsAcceptor>,
    /// Accepted auth tokens (config and token file); empty means auth is off.
    pub(crate) tokens: Vec<String>,
    /// Cancelled at shutdown step 2: readers stop, members get N3 and drain.
    pub(crate) stop_reading: CancellationToken,
    /// Cancelled at the drain deadline: every remaining connection closes at once.
    pub(crate) force_close: CancellationToken,
    /// Every connection task, so shutdown can wait for all of them.
    pub(crate) tracker: TaskTracker,
    /// True from shutdown step 1; `/healthz` answers 503.
    pub(crate) draining: AtomicBool,
    /// Counters of every open connection, member or not, until it retires. A std mutex:
    /// held for a map operation or one scrape's sum, never across an await.
    connections: Mutex<HashMap<u64, Arc<Counters>>>,
    /// Connections admitted but not yet members (TLS or AUTH pending).
    pub(crate) handshaking: AtomicUsize,
    next_id: AtomicU64,
    started: Instant,
    /// Keys of the bijection that turns connection ids into masked addresses.
    mask_keys: Option<(u64, u64)>,
}

impl Shared {
    /// Tracks a new connection's counters until it retires.
    pub(crate) fn track(&self, id: u64, counters: Arc<Counters>) {
        self.live_counters().insert(id, counters);
    }

    /// Records a closed connection: its counters move into the retired totals under the
    /// same lock a scrape takes, so no scrape ever sees them twice or not at all.
    /// A connection that never got counters (a failed TLS handshake) retires with none.
    pub(crate) fn retire(&self, id: u64, reason: CloseReason) {
        let mut live = self.live_counters();
        let counters = live.remove(&id).unwrap_or_default();
        self.metrics.retire(reason, &counters);
    }

    fn live_counters(&self) -> std::sync::MutexGuard<'_, HashMap<u64, Arc<Counters>>> {
        self.connections
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
    }

    /// Every counter: retired connections plus live ones (members or not), summed now.
    pub(crate) fn counters(&self) -> Vec<(String, u64)> {
        let mut out = Vec::new();
        self.totals().export(&mut out);
        self.metrics.export(&mut out);
        out.push((
            "log_records_dropped_total".to_owned(),
            crate::logsink::dropped_records(),
        ));
        out
    }

    /// The sum of every connection's counters, live and retired, taken under one lock.
    pub(crate) fn totals(&self) -> Counters {
        let total = Counters::default();
        let live = self.live_counters();
        total.absorb(&self.metrics.retired);
        for counters in live.values() {
            total.absorb(counters);
        }
        total
    }

    /// Every gauge, read now.
    pub(crate) fn gauges(&self) -> Vec<(String, u64)> {
        let members = self.registry.len();
        let handshake = self.handshaking.load(Ordering::Relaxed);
        let closing = self
            .admission
            .connections()
            .saturating_sub(members + handshake);
        let (queue_lines, queue_bytes, lagging, shedding) = self.registry.queue_totals();
        vec![
            (
                "connections{state=\"handshake\"}".to_owned(),
                handshake as u64,
            ),
            ("connections{state=\"member\"}".to_owned(), members as u64),
            ("connections{state=\"closing\"}".to_owned(), closing as u64),
            ("queue_messages".to_owned(), queue_lines as u64),
            ("queue_bytes".to_owned(), queue_bytes as u64),
            ("lagging_clients".to_owned(), lagging as u64),
            ("shedding_clients".to_owned(), shedding as u64),
        ]
    }

    pub(crate) fn next_connection_id(&self) -> u64 {
        self.next_id.fetch_add(1, Ordering::Relaxed)
    }

    pub(crate) fn millis_since_start(&self) -> u64 {
        u64::try_from(self.started.elapsed().as_millis()).unwrap_or(u64::MAX)
    }

    pub(crate) fn instant_at(&self, millis: u64) -> Instant {
        self.started + Duration::from_millis(millis)
    }

    /// The `remote_addr` of connection `id`: the address, or `peer-<16 hex>` when masking.
    pub(crate) fn remote_addr(&self, id: u64, peer: SocketAddr) -> String {
        match self.mask_keys {
            Some((xor, mul)) => format!("peer-{:016x}", mix(id ^ xor).wrapping_mul(mul)),
            None => crate::handler::address_string(peer),
        }
    }

    /// Whether `line` is `AUTH <token>` for a configured token, compared in constant time.
    pub(crate) fn token_matches(&self, line: &[u8]) -> bool {
        let Some(given) = line.strip_prefix(b"AUTH ") else {
            return false;
        };
        self.tokens.iter().fold(false, |found, token| {
            found | constant_time_eq(token.as_bytes(), given)
        })
    }
}

/// A bijection on u64 (xor-shift and odd multiplies are each invertible), so distinct ids
/// give distinct masked addresses while revealing nothing without the random keys.
fn mix(mut x: u64) -> u64 {
    x ^= x >> 30;
    x = x.wrapping_mul(0xbf58_476d_1ce4_e5b9);
    x ^= x >> 27;
    x = x.wrapping_mul(0x94d0_49bb_1331_11eb);
    x ^ (x >> 31)
}

fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    if a.len() != b.len() {
        return false;
    }
    a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

/// The relay: construct with a validated config, [`bind`](Relay::bind), then
/// [`serve`](Relay::serve).
pub struct Relay {
    shared: Arc<Shared>,
    /// The bound listener, taken by `serve`.
    listener: Mutex<Option<TcpListener>>,
    /// The bound metrics listener, if `metrics.port` is set; taken by `serve`.
    admin: Mutex<Option<TcpListener>>,
    /// Its address, kept for the relay's life (the listener itself moves into its task).
    admin_addr: Mutex<Option<SocketAddr>>,
    /// Fired by [`Relay::stop`]; thread-safe and idempotent.
    stop: CancellationToken,
}

impl Relay {
    /// A relay for `config`; reads the auth token file if one is configured.
    ///
    /// # Errors
    ///
    /// [`RelayError::Config`] when the token file cannot be read or holds an invalid token.
    pub fn new(config: Config) -> Result<Self, RelayError> {
        let tokens = load_tokens(&config)?;
        let tls = match &config.security.tls {
            Some((cert, key)) => Some(crate::tls::acceptor(cert, key)?),
            None => None,
        };
        let random = std::collections::hash_map::RandomState::new();
        let mask_keys = config
            .security
            .mask_remote_addr
            .then(|| (random.hash_one(1u8), random.hash_one(2u8) | 1));
        let shared = Shared {
            admission: Arc::new(Admission::new(
                &config.limits,
                config.limits.quarantine_cooldown,
            )),
            policy: QueuePolicy::new(&config.limits),
            registry: Registry::default(),
            metrics: Metrics::default(),
            tokens,
            tls,
            stop_reading: CancellationToken::new(),
            force_close: CancellationToken::new(),
            tracker: TaskTracker::new(),
            draining: AtomicBool::new(false),
            handshaking: AtomicUsize::new(0),
            connections: Mutex::new(HashMap::new()),
            next_id: AtomicU64::new(1),
            started: Instant::now(),
            mask_keys,
            config,
        };
        Ok(Self {
            shared: Arc::new(shared),
            listener: Mutex::new(None),
            admin: Mutex::new(None),
            admin_addr: Mutex::new(None),
            stop: CancellationToken::new(),
        })
    }

    /// The configuration in force.
    pub fn config(&self) -> &Config {
        &self.shared.config
    }

    /// Binds the listener; returns the real address (port 0 resolved).
    ///
    /// # Errors
    ///
    /// [`RelayError::Bind`] when the address cannot be resolved or bound.
    pub fn bind(&self) -> Result<SocketAddr, RelayError> {
        let config = &self.shared.config;
        let target = format!("{}:{}", config.host, config.port);
        let addr = resolve(&config.host, config.port)?;
        let listener = listener::bind(addr, config.limits.connection_buffer_size)?;
        let local = listener.local_addr().map_err(|source| RelayError::Bind {
            addr: target,
            source,
        })?;
        *self.listener.lock().unwrap_or_else(PoisonError::into_inner) = Some(listener);
        if let Some(port) = config.metrics.port {
            let admin = listener::bind(resolve(&config.metrics.host, port)?, 64)?;
            if !admin.local_addr().is_ok_and(|a| a.ip().is_loopback()) {
                tracing::warn!(host = %config.metrics.host, "the metrics endpoint listens beyond loopback");
            }
            *self
                .admin_addr
                .lock()
                .unwrap_or_else(PoisonError::into_inner) = admin.local_addr().ok();
            *self.admin.lock().unwrap_or_else(PoisonError::into_inner) = Some(admin);
        }
        Ok(local)
    }

    /// Starts a graceful shutdown; callable from any thread, before or during `serve`.
    pub fn stop(&self) {
        self.stop.cancel();
    }

    /// Serves until `shutdown` resolves or [`Relay::stop`] is called, then drains for at
    /// most `shutdown_drain_secs`.
    ///
    /// # Errors
    ///
    /// [`RelayError::NotBound`] when [`Relay::bind`] did not run first.
    pub async fn serve(&self, shutdown: impl Future<Output = ()>) -> Result<(), RelayError> {
        let listener = self
            .listener
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .take()
            .ok_or(RelayError::NotBound)?;
        let shared = &self.shared;
        let sweeper = tokio::spawn(sweep_loop(Arc::clone(shared)));
        let admin = self
            .admin
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .take()
            .map(|listener| tokio::spawn(crate::admin::serve(Arc::clone(shared), listener)));
        tokio::select! {
            () = listener::accept_loop(shared, &listener) => {}
            () = shutdown => {}
            () = self.stop.cancelled() => {}
        }
        // Step 1: stop accepting.
        drop(listener);
        shared.draining.store(true, Ordering::Release);
        tracing::info!(connections = shared.registry.len(), "shutting down");
        // Steps 2-4: readers stop; each member gets N3 after what is queued, then drains.
        shared.stop_reading.cancel();
        shared.tracker.close();
        let drain = shared.config.limits.shutdown_drain;
        if tokio::time::timeout(drain, shared.tracker.wait())
            .await
            .is_err()
        {
            // Step 5: the deadline.
            shared.force_close.cancel();
            shared.tracker.wait().await;
        }
        sweeper.abort();
        if let Some(admin) = admin {
            // Step 6: the endpoint answered 503 through the drain; now it goes too.
            admin.abort();
        }
        tracing::info!("relay stopped");
        Ok(())
    }

    /// Jumps to the drain deadline: every remaining connection closes at once.
    pub fn close_now(&self) {
        self.stop.cancel();
        self.shared.force_close.cancel();
    }

    /// A snapshot of every counter and gauge of spec/relay.md §4.14, without the
    /// `summoner_relay_` prefix, plus `members` and `connections` for tests and tools.
    pub fn stats(&self) -> Vec<(String, u64)> {
        let mut out = self.shared.counters();
        out.extend(self.shared.gauges());
        out.push(("members".to_owned(), self.shared.registry.len() as u64));
        out.push((
            "connections".to_owned(),
            self.shared.admission.connections() as u64,
        ));
        out
    }

    /// Where the metrics endpoint listens, once bound (`None` when it is off).
    pub fn metrics_addr(&self) -> Option<SocketAddr> {
        *self
            .admin_addr
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
    }
}

/// The first address `host:port` resolves to.
fn resolve(host: &str, port: u16) -> Result<SocketAddr, RelayError> {
    (host, port)
        .to_socket_addrs()
        .and_then(|mut addrs| {
            addrs.next().ok_or_else(|| {
                std::io::Error::new(std::io::ErrorKind::NotFound, "no address found")
            })
        })
        .map_err(|source| RelayError::Bind {
            addr: format!("{host}:{port}"),
            source,
        })
}

fn load_tokens(config: &Config) -> Result<Vec<String>, RelayError> {
    let mut tokens = config.security.auth_tokens.clone();
    let Some(path) = &config.security.auth_token_file else {
        return Ok(tokens);
    };
    let issue = |message: String| {
        RelayError::Config(crate::config::ConfigErrors(vec![
            crate::config::ConfigIssue {
                path: "security.auth_token_file".to_owned(),
                message,
            },
        ]))
    };
    let text =
        std::fs::read_to_string(path).map_err(|e| issue(format!("cannot read {path}: {e}")))?;
    for (number, line) in text.lines().enumerate() {
        let token = line.trim();
        if token.is_empty() || token.starts_with('#') {
            continue;
        }
        if !crate::config::is_valid_token(token) {
            return Err(issue(format!(
                "line {}: a token must be 16 to 512 printable ASCII characters",
                number + 1
            )));
        }
        tokens.push(token.to_owned());
    }
    Ok(tokens)
}

/// Forgets expired bans and idle per-IP state every `quarantine_cleanup_interval_secs`.
async fn sweep_loop(shared: Arc<Shared>) {
    let mut ticker = tokio::time::interval(shared.config.limits.quarantine_cleanup_interval);
    loop {
        ticker.tick().await;
        shared.admission.sweep(std::time::Instant::now());
    }
}

//! Admission and rate limits: token buckets, the per-IP table, quarantine.
//!
//! Every critical section here is a few arithmetic operations on a std `Mutex` with no
//! await inside, so a std lock is the right tool (spec/relay.md §4.2, §4.7, §4.12).

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::{Duration, Instant};

use crate::config::Limits as LimitConfig;
use crate::metrics::RefuseReason;

/// Auth failures from one IP, within the cooldown, that quarantine it.
const QUARANTINE_AFTER_FAILURES: usize = 5;

/// A token bucket with continuous refill, starting full.
#[derive(Debug, Clone)]
pub struct TokenBucket {
    capacity: f64,
    per_second: f64,
    tokens: f64,
    updated: Instant,
}

impl TokenBucket {
    /// A full bucket of `capacity` tokens refilled at `per_minute / 60` tokens per second.
    pub fn new(per_minute: u32, capacity: u32, now: Instant) -> Self {
        Self {
            capacity: f64::from(capacity),
            per_second: f64::from(per_minute) / 60.0,
            tokens: f64::from(capacity),
            updated: now,
        }
    }

    fn refill(&mut self, now: Instant) {
        let elapsed = now.saturating_duration_since(self.updated).as_secs_f64();
        self.tokens = (self.tokens + elapsed * self.per_second).min(self.capacity);
        self.updated = now;
    }

    /// Whether one token is available at `now` (without taking it).
    pub fn has_token(&mut self, now: Instant) -> bool {
        self.refill(now);
        self.tokens >= 1.0
    }

    /// Takes one token; call only after [`TokenBucket::has_token`] said yes.
    pub fn take(&mut self) {
        self.tokens -= 1.0;
    }

    /// How long until one token is available.
    pub fn wait_time(&mut self, now: Instant) -> Duration {
        self.refill(now);
        let missing = (1.0 - self.tokens).max(0.0);
        Duration::from_secs_f64(missing / self.per_second)
    }

    /// Whether the bucket is full again (its per-IP entry may then be forgotten).
    pub fn is_full(&mut self, now: Instant) -> bool {
        self.refill(now);
        self.tokens >= self.capacity
    }
}

/// What the relay keeps per IP while it has connections, a ban, or a refilling bucket.
#[derive(Debug, Default)]
struct IpEntry {
    connections: usize,
    bucket: Option<TokenBucket>,
    auth_failures: Vec<Instant>,
    blocked_until: Option<Instant>,
}

/// Connection caps, per-IP state and quarantine, shared by the listener and the handlers.
#[derive(Debug)]
pub struct Admission {
    max_connections: usize,
    max_per_ip: Option<usize>,
    ip_rate: Option<(u32, u32)>,
    cooldown: Duration,
    /// Live connections, handshakes included.
    total: AtomicUsize,
    /// Per-IP entries; bounded by the connections plus IPs banned or refilling, which
    /// the periodic sweep forgets.
    by_ip: Mutex<HashMap<IpAddr, IpEntry>>,
}

/// A held connection slot; dropping it gives the slot back.
#[derive(Debug)]
pub struct Slot {
    admission: Arc<Admission>,
    ip: IpAddr,
}

impl Drop for Slot {
    fn drop(&mut self) {
        self.admission.total.fetch_sub(1, Ordering::AcqRel);
        let mut table = self.admission.table();
        if let Some(entry) = table.get_mut(&self.ip) {
            entry.connections = entry.connections.saturating_sub(1);
        }
    }
}

impl Admission {
    /// Admission rules from the `hyper_parameters` limits.
    pub fn new(limits: &LimitConfig, auth_cooldown: Duration) -> Self {
        let ip_rate = limits
            .ip_rate_limit_msgs_per_minute
            .map(|rate| (rate, limits.ip_rate_limit_burst.unwrap_or(rate)));
        Self {
            max_connections: limits.max_connections,
            max_per_ip: limits.max_connections_per_ip,
            ip_rate,
            cooldown: auth_cooldown,
            total: AtomicUsize::new(0),
            by_ip: Mutex::new(HashMap::new()),
        }
    }

    fn table(&self) -> MutexGuard<'_, HashMap<IpAddr, IpEntry>> {
        // A panic while holding this lock leaves plain counters behind; keep using them.
        self.by_ip.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Live connections.
    pub fn connections(&self) -> usize {
        self.total.load(Ordering::Acquire)
    }

    /// Admits a connection from `ip`, or says which rule refuses it (checks in spec order).
    pub fn admit(self: &Arc<Self>, ip: IpAddr, now: Instant) -> Result<Slot, RefuseReason> {
        let mut table = self.table();
        let entry = table.entry(ip).or_default();
        if entry.blocked_until.is_some_and(|until| until > now) {
            return Err(RefuseReason::Quarantined);
        }
        if self.total.load(Ordering::Acquire) >= self.max_connections {
            return Err(RefuseReason::MaxConnections);
        }
        if self.max_per_ip.is_some_and(|max| entry.connections >= max) {
            return Err(RefuseReason::MaxConnectionsPerIp);
        }
        entry.connections += 1;
        self.total.fetch_add(1, Ordering::AcqRel);
        Ok(Slot {
            admission: Arc::clone(self),
            ip,
        })
    }

    /// Whether a per-IP rate limit is configured.
    pub fn ip_rate_limited(&self) -> bool {
        self.ip_rate.is_some()
    }

    /// Whether the per-IP bucket (if configured) has a token for `ip`.
    pub fn ip_has_token(&self, ip: IpAddr, now: Instant) -> bool {
        let Some((rate, burst)) = self.ip_rate else {
            return true;
        };
        let mut table = self.table();
        let entry = table.entry(ip).or_default();
        entry
            .bucket
            .get_or_insert_with(|| TokenBucket::new(rate, burst, now))
            .has_token(now)
    }

    /// Takes the token [`Admission::ip_has_token`] found.
    pub fn ip_take(&self, ip: IpAddr) {
        if self.ip_rate.is_none() {
            return;
        }
        if let Some(bucket) = self.table().get_mut(&ip).and_then(|e| e.bucket.as_mut()) {
            bucket.take();
        }
    }

    /// How long until the per-IP bucket of `ip` has a token.
    pub fn ip_wait_time(&self, ip: IpAddr, now: Instant) -> Duration {
        self.table()
            .get_mut(&ip)
            .and_then(|e| e.bucket.as_mut())
            .map_or(Duration::ZERO, |bucket| bucket.wait_time(now))
    }

    /// Records an auth failure; the fifth within the cooldown quarantines the IP.
    pub fn auth_failed(&self, ip: IpAddr, now: Instant) {
        let mut table = self.table();
        let entry = table.entry(ip).or_default();
        let cooldown = self.cooldown;
        entry
            .auth_failures
            .retain(|at| now.saturating_duration_since(*at) < cooldown);
        entry.auth_failures.push(now);
        if entry.auth_failures.len() >= QUARANTINE_AFTER_FAILURES {
            entry.auth_failures.clear();
            entry.blocked_until = Some(now + cooldown);
        }
    }

    /// Forgets expired bans and the state of IPs with no connection and a full bucket.
    pub fn sweep(&self, now: Instant) {
        let cooldown = self.cooldown;
        self.table().retain(|_, entry| {
            if entry.blocked_until.is_some_and(|until| until <= now) {
                entry.blocked_until = None;
            }
            entry
                .auth_failures
                .retain(|at| now.saturating_duration_since(*at) < cooldown);
            let bucket_full = entry.bucket.as_mut().is_none_or(|b| b.is_full(now));
            entry.connections > 0
                || entry.blocked_until.is_some()
                || !entry.auth_failures.is_empty()
                || !bucket_full
        });
    }

    /// Number of per-IP entries kept (for tests of the sweep).
    pub fn tracked_ips(&self) -> usize {
        self.table().len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bucket_starts_full_and_refills_continuously() {
        let start = Instant::now();
        let mut bucket = TokenBucket::new(60, 5, start);
        for _ in 0..5 {
            assert!(bucket.has_token(start));
            bucket.take();
        }
        assert!(!bucket.has_token(start));
        assert_eq!(bucket.wait_time(start), Duration::from_secs(1));
        assert!(bucket.has_token(start + Duration::from_secs(1)));
    }

    #[test]
    fn bucket_never_admits_more_than_burst_plus_rate_times_time() {
        let start = Instant::now();
        let mut bucket = TokenBucket::new(600, 5, start);
        let mut admitted = 0;
        for step in 0..1000u64 {
            let now = start + Duration::from_millis(step);
            while bucket.has_token(now) {
                bucket.take();
                admitted += 1;
            }
        }
        // 5 burst + 10 per second over 0.999 s.
        assert!(admitted <= 5 + 10, "{admitted}");
    }

    fn limits(max_connections: usize, per_ip: Option<usize>) -> LimitConfig {
        let mut limits = crate::config::Config::default().limits;
        limits.max_connections = max_connections;
        limits.max_connections_per_ip = per_ip;
        limits
    }

    #[test]
    fn caps_total_and_per_ip_and_frees_slots_on_drop() {
        let admission = Arc::new(Admission::new(
            &limits(3, Some(2)),
            Duration::from_secs(300),
        ));
        let now = Instant::now();
        let a: IpAddr = [127, 0, 0, 1].into();
        let b: IpAddr = [127, 0, 0, 2].into();
        let first = admission.admit(a, now).expect("room");
        let _second = admission.admit(a, now).expect("room");
        assert_eq!(
            admission.admit(a, now).err(),
            Some(RefuseReason::MaxConnectionsPerIp)
        );
        let _third = admission.admit(b, now).expect("room");
        assert_eq!(
            admission.admit(b, now).err(),
            Some(RefuseReason::MaxConnections)
        );
        drop(first);
        assert!(admission.admit(b, now).is_ok());
    }

    #[test]
    fn quarantines_after_five_auth_failures_and_sweep_forgets_the_ban() {
        let cooldown = Duration::from_secs(300);
        let admission = Arc::new(Admission::new(&limits(10, None), cooldown));
        let now = Instant::now();
        let ip: IpAddr = [127, 0, 0, 1].into();
        for _ in 0..5 {
            assert!(admission.admit(ip, now).is_ok());
            admission.auth_failed(ip, now);
        }
        assert_eq!(
            admission.admit(ip, now).err(),
            Some(RefuseReason::Quarantined)
        );
        let later = now + cooldown;
        admission.sweep(later);
        assert_eq!(admission.tracked_ips(), 0);
        assert!(admission.admit(ip, later).is_ok());
    }
}

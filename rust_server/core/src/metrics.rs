//! Counters, kept per connection and summed when scraped (spec/relay.md §4.14).
//!
//! Each connection's counters are written almost only by its own two tasks, so the
//! atomic adds are uncontended; the relay-wide [`Metrics`] holds what closed
//! connections leave behind and the counters no single connection owns.

use std::sync::atomic::{AtomicU64, Ordering::Relaxed};

use crate::error::CloseReason;
use crate::notice::Notice;

/// Why a line was not delivered, as the `reason` label of `dropped_total`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DropReason {
    /// Over the line cap or the envelope ceiling.
    TooLong,
    /// Not valid UTF-8 under `invalid_utf8: "reject"`.
    InvalidUtf8,
    /// The rate limiter had no token.
    RateLimited,
    /// The recipient was shedding.
    Shed,
    /// A notice beyond the per-connection notice reserve.
    NoticeOverflow,
}

impl DropReason {
    /// Every reason, in label order.
    pub const ALL: [DropReason; 5] = [
        DropReason::TooLong,
        DropReason::InvalidUtf8,
        DropReason::RateLimited,
        DropReason::Shed,
        DropReason::NoticeOverflow,
    ];

    /// The metric label.
    pub const fn label(self) -> &'static str {
        match self {
            DropReason::TooLong => "too_long",
            DropReason::InvalidUtf8 => "invalid_utf8",
            DropReason::RateLimited => "rate_limited",
            DropReason::Shed => "shed",
            DropReason::NoticeOverflow => "notice_overflow",
        }
    }
}

/// Refusal at admission, as the `reason` label of `connections_refused_total`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RefuseReason {
    /// `max_connections` reached (N7).
    MaxConnections,
    /// `max_connections_per_ip` reached (N8).
    MaxConnectionsPerIp,
    /// The IP is quarantined (N12).
    Quarantined,
    /// The relay is shutting down (no notice).
    ShuttingDown,
}

impl RefuseReason {
    /// Every reason, in label order.
    pub const ALL: [RefuseReason; 4] = [
        RefuseReason::MaxConnections,
        RefuseReason::MaxConnectionsPerIp,
        RefuseReason::Quarantined,
        RefuseReason::ShuttingDown,
    ];

    /// The metric label.
    pub const fn label(self) -> &'static str {
        match self {
            RefuseReason::MaxConnections => "max_connections",
            RefuseReason::MaxConnectionsPerIp => "max_connections_per_ip",
            RefuseReason::Quarantined => "quarantined",
            RefuseReason::ShuttingDown => "shutting_down",
        }
    }
}

/// Upper bounds of the `queue_depth` histogram buckets, in lines (the last is `+Inf`).
pub const QUEUE_DEPTH_BUCKETS: [u64; 6] = [1, 8, 64, 512, 4096, 32768];

/// Traffic counters of one connection (or, summed, of the relay).
#[derive(Debug, Default)]
pub struct Counters {
    /// Complete inbound lines, oversize ones included.
    pub lines_received: AtomicU64,
    /// Lines fanned out.
    pub lines_relayed: AtomicU64,
    /// Envelopes written to this recipient.
    pub deliveries: AtomicU64,
    /// Bytes read from the socket.
    pub bytes_received: AtomicU64,
    /// Bytes written to the socket.
    pub bytes_sent: AtomicU64,
    /// Dropped lines, by [`DropReason`].
    pub dropped: [AtomicU64; 5],
    /// Notices queued, by [`Notice::index`].
    pub notices: [AtomicU64; 13],
    /// Rate-limited notices suppressed, by [`Notice::index`].
    pub notices_suppressed: [AtomicU64; 13],
    /// Writer batches by the queue depth seen at their start: one count per bucket of
    /// [`QUEUE_DEPTH_BUCKETS`], then `+Inf`.
    pub queue_depth_buckets: [AtomicU64; 7],
    /// Sum of the depths observed (the histogram's `_sum`).
    pub queue_depth_sum: AtomicU64,
}

impl Counters {
    /// Counts one dropped line.
    pub fn drop_line(&self, reason: DropReason) {
        self.dropped[reason as usize].fetch_add(1, Relaxed);
    }

    /// Records the queue depth a writer saw when it started a batch.
    pub fn observe_queue_depth(&self, depth: usize) {
        let depth = depth as u64;
        let bucket = QUEUE_DEPTH_BUCKETS
            .iter()
            .position(|&bound| depth <= bound)
            .unwrap_or(QUEUE_DEPTH_BUCKETS.len());
        self.queue_depth_buckets[bucket].fetch_add(1, Relaxed);
        self.queue_depth_sum.fetch_add(depth, Relaxed);
    }

    /// Adds every counter of `other` into `self` (a closing connection's final tally).
    pub fn absorb(&self, other: &Counters) {
        let pairs = [
            (&self.lines_received, &other.lines_received),
            (&self.lines_relayed, &other.lines_relayed),
            (&self.deliveries, &other.deliveries),
            (&self.bytes_received, &other.bytes_received),
            (&self.bytes_sent, &other.bytes_sent),
        ];
        for (mine, theirs) in pairs {
            mine.fetch_add(theirs.load(Relaxed), Relaxed);
        }
        for (mine, theirs) in self.dropped.iter().zip(&other.dropped) {
            mine.fetch_add(theirs.load(Relaxed), Relaxed);
        }
        for (mine, theirs) in self.notices.iter().zip(&other.notices) {
            mine.fetch_add(theirs.load(Relaxed), Relaxed);
        }
        let suppressed = self
            .notices_suppressed
            .iter()
            .zip(&other.notices_suppressed);
        for (mine, theirs) in suppressed {
            mine.fetch_add(theirs.load(Relaxed), Relaxed);
        }
        let depths = self
            .queue_depth_buckets
            .iter()
            .zip(&other.queue_depth_buckets);
        for (mine, theirs) in depths {
            mine.fetch_add(theirs.load(Relaxed), Relaxed);
        }
        self.queue_depth_sum
            .fetch_add(other.queue_depth_sum.load(Relaxed), Relaxed);
    }

    /// The `queue_depth` histogram as cumulative `(le, count)` buckets, then `(sum, count)`.
    pub fn queue_depth_histogram(&self) -> (Vec<(String, u64)>, u64, u64) {
        let mut cumulative = 0;
        let mut buckets = Vec::with_capacity(self.queue_depth_buckets.len());
        for (index, counter) in self.queue_depth_buckets.iter().enumerate() {
            cumulative += counter.load(Relaxed);
            let le = QUEUE_DEPTH_BUCKETS
                .get(index)
                .map_or_else(|| "+Inf".to_owned(), u64::to_string);
            buckets.push((le, cumulative));
        }
        (buckets, self.queue_depth_sum.load(Relaxed), cumulative)
    }

    /// Appends `(name, value)` pairs for every counter, with labels folded into the name.
    pub fn export(&self, out: &mut Vec<(String, u64)>) {
        let plain = [
            ("lines_received_total", &self.lines_received),
            ("lines_relayed_total", &self.lines_relayed),
            ("deliveries_total", &self.deliveries),
            ("bytes_received_total", &self.bytes_received),
            ("bytes_sent_total", &self.bytes_sent),
        ];
        for (name, counter) in plain {
            out.push((name.to_owned(), counter.load(Relaxed)));
        }
        for reason in DropReason::ALL {
            let value = self.dropped[reason as usize].load(Relaxed);
            out.push((
                format!("dropped_total{{reason=\"{}\"}}", reason.label()),
                value,
            ));
        }
        // One loop per family: Prometheus text wants each family's samples together.
        for notice in Notice::ALL {
            let sent = self.notices[notice.index()].load(Relaxed);
            out.push((format!("notices_total{{kind=\"{}\"}}", notice.kind()), sent));
        }
        for notice in Notice::ALL {
            let suppressed = self.notices_suppressed[notice.index()].load(Relaxed);
            out.push((
                format!("notices_suppressed_total{{kind=\"{}\"}}", notice.kind()),
                suppressed,
            ));
        }
    }
}

/// Relay-wide counters: admission, closes, and the tallies of connections that left.
#[derive(Debug, Default)]
pub struct Metrics {
    /// Counters of connections that have closed, plus relay-level ones.
    pub retired: Counters,
    /// Accepted sockets.
    pub connections_accepted: AtomicU64,
    /// Refused connections, by [`RefuseReason`].
    pub connections_refused: [AtomicU64; 4],
    /// Closed connections, by [`CloseReason::index`].
    pub connections_closed: [AtomicU64; 10],
}

impl Metrics {
    /// Counts one refused connection.
    pub fn refuse(&self, reason: RefuseReason) {
        self.connections_refused[reason as usize].fetch_add(1, Relaxed);
    }

    /// Records a closed connection and keeps its counters.
    pub fn retire(&self, reason: CloseReason, counters: &Counters) {
        self.connections_closed[reason.index()].fetch_add(1, Relaxed);
        self.retired.absorb(counters);
    }

    /// Appends the relay-level counters as `(name, value)` pairs.
    pub fn export(&self, out: &mut Vec<(String, u64)>) {
        out.push((
            "connections_accepted_total".to_owned(),
            self.connections_accepted.load(Relaxed),
        ));
        for reason in RefuseReason::ALL {
            let value = self.connections_refused[reason as usize].load(Relaxed);
            out.push((
                format!("connections_refused_total{{reason=\"{}\"}}", reason.label()),
                value,
            ));
        }
        for reason in CloseReason::ALL {
            let value = self.connections_closed[reason.index()].load(Relaxed);
            out.push((
                format!("connections_closed_total{{reason=\"{}\"}}", reason.label()),
                value,
            ));
        }
    }
}

//! What receivers count: unique, duplicated and reordered messages per sender, and latency.
//!
//! Latencies go into one histogram per generator thread (a receiver records a whole read
//! buffer under one uncontended lock), merged at the end. A per-receiver histogram would
//! cost ~200 KiB per client, too much at 1,000 clients.

use std::sync::{Arc, Mutex, PoisonError};
use std::time::Instant;

use hdrhistogram::Histogram;

/// Highest latency tracked exactly (ns); larger values are clamped to it.
const MAX_TRACKED_NS: u64 = 300_000_000_000;

type Shared = Arc<Mutex<Histogram<u64>>>;

static ALL: Mutex<Vec<Shared>> = Mutex::new(Vec::new());

thread_local! {
    static LOCAL: Shared = {
        let hist = Arc::new(Mutex::new(new_histogram()));
        ALL.lock().unwrap_or_else(PoisonError::into_inner).push(Arc::clone(&hist));
        hist
    };
}

fn new_histogram() -> Histogram<u64> {
    Histogram::new_with_bounds(1, MAX_TRACKED_NS, 3).expect("static histogram bounds are valid")
}

/// Records latencies (ns) into this thread's histogram.
pub fn record(latencies: &[u64]) {
    if latencies.is_empty() {
        return;
    }
    LOCAL.with(|hist| {
        let mut hist = hist.lock().unwrap_or_else(PoisonError::into_inner);
        for &ns in latencies {
            hist.saturating_record(ns.clamp(1, MAX_TRACKED_NS));
        }
    });
}

/// All threads' latencies so far, merged.
pub fn merged() -> Histogram<u64> {
    let mut out = new_histogram();
    for hist in ALL.lock().unwrap_or_else(PoisonError::into_inner).iter() {
        let hist = hist.lock().unwrap_or_else(PoisonError::into_inner);
        out.add(&*hist).expect("same bounds");
    }
    out
}

/// Latency percentiles in microseconds.
pub fn latency_json(hist: &Histogram<u64>) -> serde_json::Value {
    let us = |ns: u64| (ns as f64 / 1_000.0 * 10.0).round() / 10.0;
    serde_json::json!({
        "count": hist.len(),
        "p50": us(hist.value_at_quantile(0.50)),
        "p90": us(hist.value_at_quantile(0.90)),
        "p99": us(hist.value_at_quantile(0.99)),
        "p99_9": us(hist.value_at_quantile(0.999)),
        "max": us(hist.max()),
        "mean": us(hist.mean() as u64),
    })
}

/// One receiver's integrity tally.
#[derive(Debug)]
pub struct Tally {
    /// One bit per (sender, sequence number): seen or not.
    seen: Vec<Vec<u64>>,
    /// Highest sequence number seen per sender, plus one.
    next: Vec<u32>,
    /// Messages each sender sends; a higher sequence number is malformed.
    messages: u32,
    /// Messages this receiver should get.
    pub expected: u64,
    /// Distinct messages received.
    pub unique: u64,
    /// Messages received again.
    pub duplicated: u64,
    /// Messages that arrived after a later one from the same sender.
    pub reordered: u64,
    /// Messages whose header was unreadable or named an unknown sender.
    pub malformed: u64,
    /// Relay notices (`Warning:` lines, `-ERR`).
    pub notices: Vec<String>,
    /// When the last message arrived.
    pub last_at: Option<Instant>,
    /// Why the receiver stopped early, if it did.
    pub error: Option<String>,
}

impl Tally {
    /// A tally for `senders` senders of `messages` each, expecting `expected` in all.
    pub fn new(senders: usize, messages: u32, expected: u64) -> Self {
        let words = (messages as usize).div_ceil(64);
        Self {
            seen: vec![vec![0; words]; senders],
            next: vec![0; senders],
            messages,
            expected,
            unique: 0,
            duplicated: 0,
            reordered: 0,
            malformed: 0,
            notices: Vec::new(),
            last_at: None,
            error: None,
        }
    }

    /// Counts one message; returns whether it was new.
    pub fn count(&mut self, sender: u16, seq: u32) -> bool {
        let sender = usize::from(sender);
        let Some(bits) = self.seen.get_mut(sender).filter(|_| seq < self.messages) else {
            self.malformed += 1;
            return false;
        };
        let (word, bit) = (seq as usize / 64, seq % 64);
        let slot = &mut bits[word];
        if *slot & (1 << bit) != 0 {
            self.duplicated += 1;
            return false;
        }
        *slot |= 1 << bit;
        self.unique += 1;
        if seq < self.next[sender] {
            self.reordered += 1;
        } else {
            self.next[sender] = seq + 1;
        }
        true
    }

    /// Whether everything expected has arrived.
    pub fn complete(&self) -> bool {
        self.unique >= self.expected
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_duplicates_and_reordering() {
        let mut tally = Tally::new(2, 100, 4);
        assert!(tally.count(0, 0));
        assert!(tally.count(0, 2));
        assert!(tally.count(0, 1));
        assert!(!tally.count(0, 1));
        assert!(tally.count(1, 99));
        assert!(!tally.count(2, 0));
        assert!(!tally.count(1, 100));
        assert_eq!(
            (
                tally.unique,
                tally.duplicated,
                tally.reordered,
                tally.malformed
            ),
            (4, 1, 1, 2)
        );
        assert!(tally.complete());
    }
}

//! One client's outbound side: the bounded queue fan-out fills, and the writer that drains it.
//!
//! Fan-out never waits: [`Outbox::offer`] decides on the spot, under the slow-consumer
//! policy of spec/relay.md §4.6, whether a line is queued, shed, or ends the recipient.
//! Exactly one writer task owns the socket's write half and drains the queue in batches
//! with vectored writes, so a slow reader costs nobody else anything.

use std::collections::VecDeque;
use std::io::IoSlice;
use std::sync::atomic::Ordering::Relaxed;
use std::sync::{Mutex, MutexGuard, PoisonError};
use std::time::{Duration, Instant};

use bytes::{Buf, Bytes};
use tokio::io::{AsyncWrite, AsyncWriteExt};
use tokio::sync::Notify;
use tokio_util::sync::CancellationToken;

use crate::config::Limits;
use crate::error::CloseReason;
use crate::metrics::{Counters, DropReason};
use crate::notice::Notice;

/// Notices may exceed the queue bounds by this many, so a full queue can still be told why.
const NOTICE_RESERVE: usize = 16;
/// Lines per writer batch: the most slices one `writev` takes on Linux (IOV_MAX), so a
/// recipient that has fallen behind catches up with few syscalls. `BATCH_BYTES` bounds
/// the batch for long lines, and every write yields to the runtime when the socket is
/// full, so a large batch costs no fairness.
const BATCH_LINES: usize = 1024;
/// Minimum gap between two "lagging" log lines for one recipient (spec/relay.md §4.8).
const LAG_LOG_INTERVAL: Duration = Duration::from_secs(10);
/// Bytes per writer batch.
const BATCH_BYTES: usize = 256 * 1024;
/// Queue and batch capacity (in lines) a writer keeps when it goes idle; a burst's
/// larger allocations are released, so an idle client costs little (§4.15).
const IDLE_CAPACITY_LINES: usize = 64;

/// The queue bounds and slow-consumer thresholds, shared by every outbox of a relay.
#[derive(Debug, Clone)]
pub struct QueuePolicy {
    max_messages: usize,
    max_bytes: usize,
    throttle: Option<usize>,
    flow_control: Option<usize>,
    disconnect: Option<usize>,
    warning_interval: Duration,
}

impl QueuePolicy {
    /// The policy configured in `hyper_parameters`.
    pub fn new(limits: &Limits) -> Self {
        let bp = limits.backpressure;
        Self {
            max_messages: limits.max_queue_messages,
            max_bytes: limits.max_queue_bytes,
            throttle: bp.throttle_threshold,
            flow_control: bp.flow_control_threshold,
            disconnect: bp.disconnect_threshold,
            warning_interval: limits.warning_interval,
        }
    }
}

/// What [`Outbox::offer`] did with a line.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Offer {
    /// Queued for the writer.
    Queued,
    /// Dropped because the recipient is shedding (counted; N9 queued when due).
    Shed,
    /// The recipient became a slow consumer and is being disconnected.
    Disconnected,
    /// The recipient is closing; the line was not wanted.
    Closed,
}

/// What the writer takes next.
#[derive(Debug)]
enum Next {
    /// Write these.
    Batch,
    /// Everything queued was written and no more will come.
    Finished,
    /// The fan-out side marked this client a slow consumer.
    Doomed,
}

#[derive(Debug)]
struct Entry {
    line: Bytes,
    envelope: bool,
}

#[derive(Debug, Default)]
struct State {
    queue: VecDeque<Entry>,
    bytes: usize,
    notices_queued: usize,
    lagging: bool,
    shedding: bool,
    /// No more envelopes are accepted; the writer exits once the queue is empty.
    finished: bool,
    /// The fan-out side decided to disconnect this client as a slow consumer.
    doomed: bool,
    last_notice: [Option<Instant>; 13],
    /// When "lagging" was last logged for this recipient.
    lag_logged: Option<Instant>,
}

/// A client's bounded outbound queue.
#[derive(Debug)]
pub struct Outbox {
    /// Lines waiting for the writer, oldest first, with the policy flags. A std mutex: every
    /// critical section is a few pushes or pops, never an await.
    state: Mutex<State>,
    /// Wakes the writer when there is something to do.
    ready: Notify,
    /// Cancelled when fan-out decides this client is a slow consumer, so a writer stuck
    /// on a full socket stops at once.
    doom: CancellationToken,
    policy: QueuePolicy,
}

impl Outbox {
    /// An empty outbox under `policy`.
    pub fn new(policy: QueuePolicy) -> Self {
        Self {
            state: Mutex::new(State::default()),
            ready: Notify::new(),
            doom: CancellationToken::new(),
            policy,
        }
    }

    fn lock(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Offers one envelope for this recipient; never waits (spec/relay.md §4.6 table).
    pub fn offer(&self, line: &Bytes, counters: &Counters) -> Offer {
        let mut state = self.lock();
        if state.finished || state.doomed {
            return Offer::Closed;
        }
        let policy = &self.policy;
        let depth = state.queue.len();
        let full = depth >= policy.max_messages || state.bytes + line.len() > policy.max_bytes;
        if let Some(threshold) = policy.flow_control {
            if state.shedding && depth <= threshold / 2 {
                state.shedding = false;
            }
            if state.shedding || depth >= threshold || full {
                state.shedding = true;
                return self.shed(state, counters);
            }
        }
        if policy.disconnect.is_some_and(|t| depth >= t) || (full && policy.disconnect.is_some()) {
            state.doomed = true;
            state.queue.clear();
            state.bytes = 0;
            drop(state);
            self.doom.cancel();
            self.ready.notify_one();
            return Offer::Disconnected;
        }
        if full {
            return self.shed(state, counters);
        }
        state.bytes += line.len();
        state.queue.push_back(Entry {
            line: line.clone(),
            envelope: true,
        });
        if policy.throttle.is_some_and(|t| depth + 1 >= t) && !state.lagging {
            state.lagging = true;
            // One line per recipient per LAG_LOG_INTERVAL, however often the queue refills.
            let now = Instant::now();
            if state
                .lag_logged
                .is_none_or(|at| now.duration_since(at) >= LAG_LOG_INTERVAL)
            {
                state.lag_logged = Some(now);
                tracing::warn!(depth = depth + 1, "recipient is lagging");
            }
        }
        let was_empty = depth == 0;
        drop(state);
        if was_empty {
            self.ready.notify_one();
        }
        Offer::Queued
    }

    fn shed(&self, mut state: MutexGuard<'_, State>, counters: &Counters) -> Offer {
        counters.drop_line(DropReason::Shed);
        self.push_notice_locked(&mut state, Notice::Shedding, counters);
        drop(state);
        self.ready.notify_one();
        Offer::Shed
    }

    /// Queues a notice for this client, after everything already queued.
    ///
    /// Rate-limited kinds (N1, N5, N6, N9) go out at most once per `warning_interval`;
    /// returns whether the notice was queued.
    pub fn notice(&self, notice: Notice, counters: &Counters) -> bool {
        let mut state = self.lock();
        if state.doomed {
            return false;
        }
        let queued = self.push_notice_locked(&mut state, notice, counters);
        drop(state);
        self.ready.notify_one();
        queued
    }

    fn push_notice_locked(&self, state: &mut State, notice: Notice, counters: &Counters) -> bool {
        let now = Instant::now();
        let last = &mut state.last_notice[notice.index()];
        if notice.is_rate_limited()
            && last.is_some_and(|at| now.duration_since(at) < self.policy.warning_interval)
        {
            counters.notices_suppressed[notice.index()].fetch_add(1, Relaxed);
            return false;
        }
        if state.notices_queued >= NOTICE_RESERVE {
            counters.drop_line(DropReason::NoticeOverflow);
            return false;
        }
        *last = Some(now);
        state.notices_queued += 1;
        let line = notice.line();
        state.bytes += line.len();
        state.queue.push_back(Entry {
            line,
            envelope: false,
        });
        counters.notices[notice.index()].fetch_add(1, Relaxed);
        true
    }

    /// Stops accepting envelopes; the writer exits once what is queued is written.
    ///
    /// With `notice`, that notice is the last line queued (N3 at shutdown, N2, ...).
    pub fn finish(&self, notice: Option<Notice>, counters: &Counters) {
        let mut state = self.lock();
        if state.finished {
            return;
        }
        if let Some(notice) = notice.filter(|_| !state.doomed) {
            self.push_notice_locked(&mut state, notice, counters);
        }
        state.finished = true;
        drop(state);
        self.ready.notify_one();
    }

    /// Drops everything queued and stops accepting (the client left: nothing is owed to it).
    pub fn discard(&self) {
        let mut state = self.lock();
        state.queue.clear();
        state.bytes = 0;
        state.finished = true;
        drop(state);
        self.ready.notify_one();
    }

    /// Current depth in lines and bytes, and the lagging and shedding flags.
    pub fn depth(&self) -> (usize, usize, bool, bool) {
        let state = self.lock();
        (
            state.queue.len(),
            state.bytes,
            state.lagging,
            state.shedding,
        )
    }

    /// Takes the next batch into `batch`, waiting until there is one.
    async fn next(&self, batch: &mut Vec<Bytes>, envelopes: &mut u64, depth: &mut usize) -> Next {
        loop {
            {
                let mut state = self.lock();
                if state.doomed {
                    return Next::Doomed;
                }
                if !state.queue.is_empty() {
                    *depth = state.queue.len();
                    let mut size = 0;
                    batch.reserve(state.queue.len().min(BATCH_LINES));
                    while let Some(entry) = state.queue.front() {
                        if batch.len() >= BATCH_LINES
                            || (!batch.is_empty() && size + entry.line.len() > BATCH_BYTES)
                        {
                            break;
                        }
                        let Some(entry) = state.queue.pop_front() else {
                            break;
                        };
                        size += entry.line.len();
                        if entry.envelope {
                            *envelopes += 1;
                        } else {
                            state.notices_queued -= 1;
                        }
                        batch.push(entry.line);
                    }
                    state.bytes -= size;
                    if state.queue.is_empty() {
                        state.lagging = false;
                    }
                    return Next::Batch;
                }
                if state.finished {
                    return Next::Finished;
                }
                // Going idle: give back what a burst grew (spec/relay.md §4.15).
                if state.queue.capacity() > IDLE_CAPACITY_LINES {
                    state.queue = VecDeque::new();
                }
            }
            if batch.capacity() > IDLE_CAPACITY_LINES {
                *batch = Vec::new();
            }
            // notify_one stores a permit when no one waits, so a wake-up between the
            // check above and this await is not lost.
            self.ready.notified().await;
            // Woken by a first line: let the tasks already runnable (fan-out from busy
            // senders) run once before taking the batch, so a busy room is written in
            // batches rather than line by line. One scheduler round at most; on an idle
            // runtime this returns at once.
            tokio::task::yield_now().await;
        }
    }

    /// The writer: drains this outbox into `writer` until finished, doomed, or broken.
    ///
    /// Returns `None` after a clean finish, or the reason the connection must close.
    /// Dooming interrupts a write that is stuck on a full socket: a slow consumer is
    /// let go at once, not when its socket next drains or the write timeout fires.
    pub async fn write_loop<W: AsyncWrite + Unpin>(
        &self,
        writer: &mut W,
        write_timeout: Duration,
        counters: &Counters,
        on_progress: impl Fn(),
    ) -> Option<CloseReason> {
        let mut batch = Vec::new();
        loop {
            let (mut envelopes, mut depth) = (0, 0);
            match self.next(&mut batch, &mut envelopes, &mut depth).await {
                Next::Finished => return None,
                Next::Doomed => {
                    try_write_once(writer, Notice::SlowConsumer.text().as_bytes()).await;
                    return Some(CloseReason::SlowConsumer);
                }
                Next::Batch => counters.observe_queue_depth(depth),
            }
            let sent: usize = batch.iter().map(Bytes::len).sum();
            let mut cursor = Cursor::default();
            let written = tokio::select! {
                biased;
                () = self.doom.cancelled() => Err(CloseReason::SlowConsumer),
                written = write_batch(writer, &mut batch, &mut cursor, write_timeout, &on_progress) => written,
            };
            if let Err(reason) = written {
                // The reason line goes out only between lines: after half an envelope it
                // would corrupt both.
                if reason != CloseReason::IoError && !cursor.mid_line {
                    try_write_once(writer, Notice::SlowConsumer.text().as_bytes()).await;
                }
                return Some(reason);
            }
            counters.deliveries.fetch_add(envelopes, Relaxed);
            counters.bytes_sent.fetch_add(sent as u64, Relaxed);
        }
    }
}

/// How far a batch has been written.
#[derive(Debug, Default)]
struct Cursor {
    /// Lines of the batch written completely.
    first: usize,
    /// Whether the next line was written in part.
    mid_line: bool,
}

/// One write attempt that does not wait: polls the write once and gives up if it is pending.
async fn try_write_once<W: AsyncWrite + Unpin>(writer: &mut W, bytes: &[u8]) {
    // Timeout polls the inner future before looking at the deadline, so a zero
    // deadline means exactly one attempt.
    let _ = tokio::time::timeout(Duration::ZERO, writer.write(bytes)).await;
}

/// Writes the whole batch with vectored writes, resuming partial writes at the exact byte.
async fn write_batch<W: AsyncWrite + Unpin>(
    writer: &mut W,
    batch: &mut Vec<Bytes>,
    cursor: &mut Cursor,
    write_timeout: Duration,
    on_progress: &impl Fn(),
) -> Result<(), CloseReason> {
    while cursor.first < batch.len() {
        let slices: Vec<IoSlice<'_>> = batch[cursor.first..]
            .iter()
            .map(|b| IoSlice::new(b))
            .collect();
        let written =
            match tokio::time::timeout(write_timeout, writer.write_vectored(&slices)).await {
                Err(_) => return Err(CloseReason::WriteTimeout),
                Ok(Err(_)) | Ok(Ok(0)) => return Err(CloseReason::IoError),
                Ok(Ok(n)) => n,
            };
        on_progress();
        let mut left = written;
        while left > 0 {
            let head = &mut batch[cursor.first];
            if left >= head.len() {
                left -= head.len();
                cursor.first += 1;
                cursor.mid_line = false;
            } else {
                head.advance(left);
                cursor.mid_line = true;
                left = 0;
            }
        }
    }
    batch.clear();
    if writer.flush().await.is_err() {
        return Err(CloseReason::IoError);
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::Config;

    fn policy(edit: impl FnOnce(&mut Limits)) -> QueuePolicy {
        let mut limits = Config::default().limits;
        edit(&mut limits);
        QueuePolicy::new(&limits)
    }

    fn line(n: usize) -> Bytes {
        Bytes::from(format!("{n}\n"))
    }

    #[test]
    fn disconnects_a_full_recipient_by_default() {
        let outbox = Outbox::new(policy(|l| {
            l.max_queue_messages = 4;
            l.backpressure.throttle_threshold = Some(2);
            l.backpressure.disconnect_threshold = Some(4);
        }));
        let counters = Counters::default();
        for n in 0..4 {
            assert_eq!(outbox.offer(&line(n), &counters), Offer::Queued);
        }
        assert_eq!(outbox.offer(&line(4), &counters), Offer::Disconnected);
        assert_eq!(outbox.offer(&line(5), &counters), Offer::Closed);
        assert_eq!(outbox.depth().0, 0);
    }

    #[test]
    fn sheds_until_half_the_flow_control_threshold_and_sends_one_n9() {
        let outbox = Outbox::new(policy(|l| {
            l.max_queue_messages = 100;
            l.backpressure.throttle_threshold = Some(2);
            l.backpressure.flow_control_threshold = Some(4);
            l.backpressure.disconnect_threshold = Some(100);
        }));
        let counters = Counters::default();
        for n in 0..4 {
            assert_eq!(outbox.offer(&line(n), &counters), Offer::Queued);
        }
        assert_eq!(outbox.offer(&line(4), &counters), Offer::Shed);
        assert_eq!(outbox.offer(&line(5), &counters), Offer::Shed);
        assert_eq!(counters.notices[Notice::Shedding.index()].load(Relaxed), 1);
        assert_eq!(
            counters.notices_suppressed[Notice::Shedding.index()].load(Relaxed),
            1
        );
        assert_eq!(counters.dropped[DropReason::Shed as usize].load(Relaxed), 2);
        assert!(outbox.depth().3, "shedding");
    }

    #[tokio::test]
    async fn writer_drains_in_order_then_finishes() {
        let outbox = Outbox::new(policy(|_| {}));
        let counters = Counters::default();
        for n in 0..200 {
            outbox.offer(&line(n), &counters);
        }
        outbox.finish(Some(Notice::ShuttingDown), &counters);
        let mut sink = Vec::new();
        let reason = outbox
            .write_loop(&mut sink, Duration::from_secs(1), &counters, || {})
            .await;
        assert_eq!(reason, None);
        let expected: String =
            (0..200).map(|n| format!("{n}\n")).collect::<String>() + Notice::ShuttingDown.text();
        assert_eq!(String::from_utf8(sink).expect("utf-8"), expected);
        assert_eq!(counters.deliveries.load(Relaxed), 200);
    }
}

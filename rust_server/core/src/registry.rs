//! Membership and fan-out.
//!
//! The registry holds only handles (id, address, outbox, counters). A broadcast takes the
//! read lock, makes one non-blocking offer per recipient, and never awaits; join and leave
//! take the write lock for one map operation. No lock is ever held across I/O.

use std::collections::HashMap;
use std::sync::{Arc, PoisonError, RwLock};

use bytes::Bytes;

use crate::metrics::Counters;
use crate::notice::Notice;
use crate::outbox::{Offer, Outbox};

/// What the registry knows of one member.
#[derive(Debug)]
pub struct Member {
    /// Connection id, never reused.
    pub id: u64,
    /// Address string as written in envelopes (`remote_addr`).
    pub addr: Arc<str>,
    /// The real peer address, for operators (differs from `addr` when masking).
    pub peer: std::net::SocketAddr,
    /// Where fan-out puts this member's lines.
    pub outbox: Arc<Outbox>,
    /// This member's counters, summed on scrape.
    pub counters: Arc<Counters>,
    /// Milliseconds since the relay started, when it joined.
    pub joined_ms: u64,
}

/// The current members, keyed by connection id.
#[derive(Debug, Default)]
pub struct Registry {
    /// Read-mostly: every broadcast reads it, joins and leaves write it.
    members: RwLock<HashMap<u64, Arc<Member>>>,
}

impl Registry {
    /// Adds a member; from now on it receives relayed lines.
    pub fn join(&self, member: Arc<Member>) {
        self.write().insert(member.id, member);
    }

    /// Removes a member; no new envelope is queued for it after this returns.
    pub fn leave(&self, id: u64) -> Option<Arc<Member>> {
        self.write().remove(&id)
    }

    fn write(&self) -> std::sync::RwLockWriteGuard<'_, HashMap<u64, Arc<Member>>> {
        self.members.write().unwrap_or_else(PoisonError::into_inner)
    }

    fn read(&self) -> std::sync::RwLockReadGuard<'_, HashMap<u64, Arc<Member>>> {
        self.members.read().unwrap_or_else(PoisonError::into_inner)
    }

    /// Offers `envelope` to every member except `from`; returns how many queued it.
    pub fn broadcast(&self, from: u64, envelope: &Bytes) -> usize {
        let members = self.read();
        let mut queued = 0;
        for member in members.values() {
            if member.id == from {
                continue;
            }
            match member.outbox.offer(envelope, &member.counters) {
                Offer::Queued => queued += 1,
                Offer::Disconnected => {
                    tracing::warn!(conn = member.id, peer = %member.peer, "slow consumer disconnected");
                }
                Offer::Shed | Offer::Closed => {}
            }
        }
        queued
    }

    /// Members right now.
    pub fn len(&self) -> usize {
        self.read().len()
    }

    /// Whether there is no member.
    pub fn is_empty(&self) -> bool {
        self.read().is_empty()
    }

    /// A snapshot of the members (for scrapes and `/connz`; not on the hot path).
    pub fn snapshot(&self) -> Vec<Arc<Member>> {
        self.read().values().cloned().collect()
    }

    /// Queues `notice` as the last line of every member and stops their intake.
    pub fn finish_all(&self, notice: Notice) {
        for member in self.read().values() {
            member.outbox.finish(Some(notice), &member.counters);
        }
    }

    /// Sums over the members: queued lines and bytes, lagging and shedding members.
    pub fn queue_totals(&self) -> (usize, usize, usize, usize) {
        self.read()
            .values()
            .fold((0, 0, 0, 0), |(lines, bytes, lagging, shedding), member| {
                let (l, b, lag, shed) = member.outbox.depth();
                (
                    lines + l,
                    bytes + b,
                    lagging + usize::from(lag),
                    shedding + usize::from(shed),
                )
            })
    }
}

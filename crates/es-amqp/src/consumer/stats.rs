//! Counters of what a consumer did, for health endpoints, logs and tests.

use std::sync::atomic::{AtomicU64, Ordering};

/// Counters of what a consumer did since it was created.
#[derive(Debug, Default)]
pub struct ConsumerStats {
    pub(crate) handled: AtomicU64,
    pub(crate) retried: AtomicU64,
    pub(crate) dead_lettered: AtomicU64,
    pub(crate) parked: AtomicU64,
    pub(crate) reconnects: AtomicU64,
}

impl ConsumerStats {
    /// Messages handled and acknowledged.
    pub fn handled(&self) -> u64 {
        self.handled.load(Ordering::Relaxed)
    }
    /// Handler attempts that failed and were retried.
    pub fn retried(&self) -> u64 {
        self.retried.load(Ordering::Relaxed)
    }
    /// Messages sent to the dead-letter exchange.
    pub fn dead_lettered(&self) -> u64 {
        self.dead_lettered.load(Ordering::Relaxed)
    }
    /// Messages dead-lettered because the handler could not apply them yet
    /// ([`NotYet`](crate::NotYet)) after the last attempt: parked until they
    /// are moved back. Included in [`dead_lettered`](Self::dead_lettered).
    pub fn parked(&self) -> u64 {
        self.parked.load(Ordering::Relaxed)
    }
    /// Connections lost and re-opened.
    pub fn reconnects(&self) -> u64 {
        self.reconnects.load(Ordering::Relaxed)
    }
}

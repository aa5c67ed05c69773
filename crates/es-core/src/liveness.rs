//! Whether a worker with work in hand is getting it done.
//!
//! A worker can hold its lease while making no progress: its process frozen
//! between two lease heartbeats is caught by the lease, but a worker whose
//! *work* connection went silent (a half-open link to the projection
//! database while the lease's connection stays healthy) keeps its lease for
//! ever. The worker reports through a [`Liveness`] when it has work in hand,
//! when it made progress, and when it is idle (waiting for new events is not
//! a stall); whoever supervises it (es-lease's `Leader`, `/health`) reads how
//! long it has been stuck.

use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use tokio::time::Instant;

/// A worker's progress reports; clones share them.
///
/// ```
/// use std::time::Duration;
/// use es_core::Liveness;
///
/// let liveness = Liveness::new();
/// assert_eq!(liveness.stalled_for(), None); // idle: never stalled
/// liveness.busy();
/// assert!(liveness.stalled_for().is_some()); // work in hand, no progress yet
/// liveness.progressed(); // the clock starts again
/// assert!(liveness.stalled_for() < Some(Duration::from_secs(1)));
/// liveness.idle();
/// assert_eq!(liveness.stalled_for(), None);
/// ```
#[derive(Debug, Clone, Default)]
pub struct Liveness {
    /// `Some(t)`: work in hand, last progress (or the start of the work) at `t`.
    since: Arc<Mutex<Option<Instant>>>,
}

impl Liveness {
    /// An idle worker's liveness.
    pub fn new() -> Self {
        Self::default()
    }

    fn with<T>(&self, f: impl FnOnce(&mut Option<Instant>) -> T) -> T {
        // The state is one `Option<Instant>`: a panic elsewhere cannot leave
        // it half-written.
        let mut since = self.since.lock().unwrap_or_else(PoisonError::into_inner);
        f(&mut since)
    }

    /// The worker has work in hand: if it was idle, the clock starts now.
    pub fn busy(&self) {
        self.with(|since| {
            since.get_or_insert_with(Instant::now);
        });
    }

    /// The worker made progress (committed a batch, got a confirm): the
    /// clock starts again; it stays busy.
    pub fn progressed(&self) {
        self.with(|since| *since = Some(Instant::now()));
    }

    /// The worker has nothing to do (it waits for new work): it cannot be
    /// stalled.
    pub fn idle(&self) {
        self.with(|since| *since = None);
    }

    /// How long the worker has had work in hand without progress; `None`
    /// while idle.
    pub fn stalled_for(&self) -> Option<Duration> {
        self.with(|since| since.map(|since| since.elapsed()))
    }
}

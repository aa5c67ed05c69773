//! Snapshots: an aggregate's state saved at a version, so loading reads only
//! the tail of a long stream.
//!
//! A snapshot is an optimisation, never the source of truth: a snapshot that
//! cannot be read, or was written for another
//! [`SNAPSHOT_REVISION`](crate::Aggregate::SNAPSHOT_REVISION) of the
//! aggregate's state, is ignored, the stream is replayed from the start, and
//! the repository saves a fresh snapshot in its place.

use async_trait::async_trait;
use serde_json::Value;

use crate::{StoreError, StreamId};

/// A saved state of one stream's aggregate.
#[derive(Debug, Clone, PartialEq)]
pub struct Snapshot {
    /// The stream.
    pub stream_id: StreamId,
    /// The stream version the state includes.
    pub version: u64,
    /// The [`Aggregate::SNAPSHOT_REVISION`](crate::Aggregate::SNAPSHOT_REVISION)
    /// of the code that wrote `state` (stores return `1` for snapshots saved
    /// before revisions were kept).
    pub revision: u32,
    /// The serialized state.
    pub state: Value,
}

/// Where snapshots are kept.
#[async_trait]
pub trait SnapshotStore: Send + Sync {
    /// The latest snapshot of a stream, if any.
    async fn load_snapshot(&self, stream_id: &StreamId) -> Result<Option<Snapshot>, StoreError>;
    /// Saves (replaces) a stream's snapshot, revision included. An older
    /// version never replaces a newer one; one at the same version does
    /// (that is how a snapshot of another revision is replaced).
    async fn save_snapshot(&self, snapshot: Snapshot) -> Result<(), StoreError>;
}

/// When the repository takes a snapshot.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[non_exhaustive]
pub enum SnapshotPolicy {
    /// Never.
    #[default]
    Never,
    /// Each time the stream version crosses a multiple of `n`.
    EveryN(u64),
}

impl SnapshotPolicy {
    /// Whether an append that moved a stream from `before` to `after` should
    /// be followed by a snapshot.
    pub fn should_snapshot(self, before: u64, after: u64) -> bool {
        match self {
            SnapshotPolicy::Never => false,
            SnapshotPolicy::EveryN(0) => false,
            SnapshotPolicy::EveryN(n) => after / n > before / n,
        }
    }
}

//! Where a projection's rows and checkpoint live, committed together.

use async_trait::async_trait;

use crate::{Position, ProjectionError};

/// Where a projection's rows and checkpoint live, with its transaction type.
///
/// Nothing waits on itself: while the runner holds one of the store's
/// transactions it calls no other method of the store, and an
/// implementation's [`commit`](Self::commit) reads what it needs through the
/// transaction it is given, never through a second connection. So a store
/// whose pool has one connection (SQLite in memory, a PostgreSQL pool of
/// one) runs every path of the runner.
#[async_trait]
pub trait CheckpointStore: Send + Sync {
    /// The transaction a batch is applied in.
    type Transaction: Send;

    /// Starts a transaction.
    async fn begin(&self) -> Result<Self::Transaction, ProjectionError>;

    /// The projection's committed checkpoint ([`Position::START`] if none).
    async fn load_checkpoint(&self, projection: &str) -> Result<Position, ProjectionError>;

    /// Moves the checkpoint from `previous` to `checkpoint` in `tx` and
    /// commits: rows and checkpoint together.
    ///
    /// If the stored checkpoint is not `previous` (another runner got there
    /// first), roll back and return [`ProjectionError::CheckpointMoved`]: that
    /// compare-and-set is what makes two runners of one projection safe.
    async fn commit(
        &self,
        tx: Self::Transaction,
        projection: &str,
        previous: Position,
        checkpoint: Position,
    ) -> Result<(), ProjectionError>;
}

//! A database restored into another PostgreSQL cluster: the typed error
//! that names it. The crate documentation ("A restored database") explains
//! why it breaks the global log and how to repair it; `store::restore_check`
//! finds it.

use std::fmt;

/// What was found ahead of the cluster's transaction counter.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum AheadOfCluster {
    /// A stored event's transaction id (the commit key of its position).
    StoredEvent,
    /// The position a read started after: a subscriber's or projection's
    /// checkpoint.
    Checkpoint,
}

impl fmt::Display for AheadOfCluster {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            AheadOfCluster::StoredEvent => "a stored event",
            AheadOfCluster::Checkpoint => "the checkpoint read from",
        })
    }
}

/// The schema's transaction ids lie ahead of this PostgreSQL cluster's
/// transaction counter: the database was restored from another cluster. The
/// [crate documentation](crate#a-restored-database) explains why this breaks
/// the global log, and the repair (`pg_resetwal -e`).
///
/// Never transient: nothing changes until an operator repairs the cluster.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
#[error(
    "schema {schema}: {found_in} has transaction id {transaction_id}, but this PostgreSQL \
     cluster's next transaction id is {cluster_next}: the database was restored from another \
     cluster, and new events would be ordered before the stored ones. Repair: stop the server \
     and run `pg_resetwal -e {epoch} <data directory>` (see es_postgres's documentation, \
     \"A restored database\")",
    epoch = self.repair_epoch()
)]
pub struct RestoredDatabase {
    /// The event store's schema.
    pub schema: String,
    /// Where the id was found.
    pub found_in: AheadOfCluster,
    /// The id found: the highest stored transaction id, or the checkpoint's
    /// commit key.
    pub transaction_id: u64,
    /// The cluster's next transaction id
    /// (`pg_snapshot_xmax(pg_current_snapshot())`), which no stored commit
    /// key may pass.
    pub cluster_next: u64,
}

impl RestoredDatabase {
    /// The transaction id epoch to give `pg_resetwal -e`: the first whose ids
    /// all lie above [`transaction_id`](Self::transaction_id) (its epoch,
    /// the upper 32 bits, plus one).
    pub fn repair_epoch(&self) -> u64 {
        (self.transaction_id >> 32) + 1
    }

    /// The larger of the schema's highest stored commit key and a
    /// checkpoint, if it lies ahead of the cluster's next transaction id,
    /// which is impossible on a healthy cluster. (The larger, so that
    /// [`repair_epoch`](Self::repair_epoch) passes both.) A commit key may
    /// equal the next transaction id: an append from a transaction that
    /// took its id earlier stores the `xmax` of its statement's snapshot,
    /// and if no transaction id at or above it has completed since, that is
    /// still the cluster's next one (docs/adr/horizon-from-the-logs-writers.md).
    pub(crate) fn find(
        schema: &crate::SchemaName,
        highest_stored: Option<u64>,
        checkpoint: Option<u64>,
        cluster_next: u64,
    ) -> Option<RestoredDatabase> {
        let (transaction_id, found_in) = match (highest_stored, checkpoint) {
            (Some(stored), Some(checkpoint)) if checkpoint > stored => {
                (checkpoint, AheadOfCluster::Checkpoint)
            }
            (Some(stored), _) => (stored, AheadOfCluster::StoredEvent),
            (None, Some(checkpoint)) => (checkpoint, AheadOfCluster::Checkpoint),
            (None, None) => return None,
        };
        (transaction_id > cluster_next).then(|| RestoredDatabase {
            schema: schema.to_string(),
            found_in,
            transaction_id,
            cluster_next,
        })
    }
}

impl From<RestoredDatabase> for es_core::StoreError {
    fn from(restored: RestoredDatabase) -> Self {
        es_core::StoreError::NeedsRepair(Box::new(restored))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::SchemaName;

    fn find(stored: Option<u64>, checkpoint: Option<u64>, next: u64) -> Option<RestoredDatabase> {
        RestoredDatabase::find(&SchemaName::default(), stored, checkpoint, next)
    }

    #[test]
    fn only_ids_past_the_clusters_next_one_are_found() {
        assert_eq!(find(None, None, 10), None);
        assert_eq!(find(Some(9), Some(9), 10), None);
        // A commit key may equal the next id (an append from an older
        // transaction keys its events by its snapshot's xmax).
        assert_eq!(find(Some(10), Some(10), 10), None);
        let past = find(Some(11), None, 10).expect("past the next id");
        assert_eq!(
            (past.found_in, past.transaction_id, past.cluster_next),
            (AheadOfCluster::StoredEvent, 11, 10)
        );
        // The larger of the two is reported, the stored id on a tie, so the
        // repair epoch passes both.
        let checkpoint = find(Some(5), Some(1 << 33), 10).expect("checkpoint ahead");
        assert_eq!(checkpoint.found_in, AheadOfCluster::Checkpoint);
        assert_eq!(checkpoint.repair_epoch(), 3);
        let tie = find(Some(20), Some(20), 10).expect("both ahead");
        assert_eq!(tie.found_in, AheadOfCluster::StoredEvent);
        assert_eq!(tie.repair_epoch(), 1);
        assert!(tie.to_string().contains("pg_resetwal -e 1 "), "{tie}");
    }
}

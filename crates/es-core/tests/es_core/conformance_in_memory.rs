//! The conformance suite against the in-memory store.

use std::collections::HashMap;

use es_core::{
    async_trait, testing::conformance::CountingProjection, BoxError, InMemoryProjectionStore,
    InMemoryStore, Projection, RecordedEvent,
};
use uuid::Uuid;

type Counts = HashMap<Uuid, u64>;

/// Counts applications per event id in an in-memory read model.
#[derive(Clone)]
struct Counter(InMemoryProjectionStore<Counts>);

#[async_trait]
impl Projection<Counts> for Counter {
    fn name(&self) -> &str {
        "counter"
    }
    async fn apply(&self, tx: &mut Counts, event: &RecordedEvent) -> Result<(), BoxError> {
        *tx.entry(event.event_id).or_default() += 1;
        Ok(())
    }
    async fn reset(&self, tx: &mut Counts) -> Result<(), BoxError> {
        tx.clear();
        Ok(())
    }
}

#[async_trait]
impl CountingProjection<Counts> for Counter {
    async fn applied(&self) -> Counts {
        self.0.snapshot()
    }
}

es_core::conformance_tests!(
    store: async { InMemoryStore::new() },
    projection: |_store: InMemoryStore| async {
        let checkpoints = InMemoryProjectionStore::<Counts>::new();
        (checkpoints.clone(), Counter(checkpoints))
    },
);

/// The in-memory store has no pool; the runner's paths still complete.
#[test]
fn projection_runner_on_one_connection() {
    es_core::testing::run(async {
        let checkpoints = InMemoryProjectionStore::<Counts>::new();
        es_core::testing::conformance::projection_runner_on_one_connection(
            InMemoryStore::new(),
            checkpoints.clone(),
            Counter(checkpoints),
        )
        .await
    })
}

/// The in-memory checkpoint store refuses the names every backend refuses.
#[test]
fn projection_names_are_checked() {
    es_core::testing::run(async {
        let checkpoints = InMemoryProjectionStore::<Counts>::new();
        es_core::testing::conformance::projection_names_are_checked(&checkpoints).await
    })
}

es_core::dcb_conformance_tests!(store: async { InMemoryStore::new() });

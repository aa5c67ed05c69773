//! The whole es-core conformance suite against PostgreSQL, each test in a
//! schema of its own (dropped at the end).

use crate::common::{Counter, TestStore};

es_core::conformance_tests!(
    store: TestStore::new(),
    projection: |store: TestStore| async move {
        let checkpoints = store.store.checkpoints();
        (checkpoints.clone(), Counter::new(checkpoints).await)
    },
);

es_core::dcb_conformance_tests!(store: TestStore::new());

/// PostgreSQL's checkpoint store refuses NUL and over-long names up front,
/// as typed input errors, never as backend errors.
#[tokio::test]
async fn projection_names_are_checked() {
    let store = TestStore::new().await;
    es_core::testing::conformance::projection_names_are_checked(&store.store.checkpoints()).await;
}

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

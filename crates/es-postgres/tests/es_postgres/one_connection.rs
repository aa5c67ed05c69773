//! Nothing waits on itself, on PostgreSQL: every path of the projection
//! runner (catch-up, rebuild, racing runners, live following) completes with
//! the event store and the checkpoints sharing a pool of one connection
//! (`max_connections(1)`).

use es_core::testing::conformance::projection_runner_on_one_connection;

use crate::common::{Counter, TestStore};

#[test]
fn projection_runner_completes_on_a_pool_of_one_connection() {
    es_core::testing::run(async {
        let store = TestStore::with_pool_size(1).await;
        assert_eq!(store.store.pool().options().get_max_connections(), 1);
        let checkpoints = store.store.checkpoints();
        let counter = Counter::new(checkpoints.clone()).await;
        projection_runner_on_one_connection(store, checkpoints, counter).await;
    });
}

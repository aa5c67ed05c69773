//! What a lost race reports on PostgreSQL, beyond the conformance suite's
//! one-winner race at a stated version: the race to create a stream
//! (`NoStream`, which the append statement checks differently from
//! `Exact(n)`) and then one at a stated version; every loser's conflict names
//! the winner's version, and exactly the winners' events are stored.

use std::sync::Arc;

use crate::common::TestStore;
use es_core::{EventStore, ExpectedVersion, NewEvent, StoreError, StreamId};
use futures::TryStreamExt;
use tokio::sync::Barrier;
use uuid::Uuid;

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_lost_race_reports_the_winners_version_and_only_winners_are_stored() {
    const RACERS: usize = 32;
    const ROUNDS: u64 = 2;
    let store = TestStore::with_pool_size(12).await;
    let s = StreamId::new(format!("race-{}", Uuid::now_v7())).expect("stream id");
    let mut winners = Vec::new();
    for round in 0..ROUNDS {
        let barrier = Arc::new(Barrier::new(RACERS));
        let tasks: Vec<_> = (0..RACERS)
            .map(|racer| {
                let (store, s, barrier) = (store.clone(), s.clone(), barrier.clone());
                tokio::spawn(async move {
                    let event = NewEvent::raw(
                        "Raced",
                        serde_json::json!({ "round": round, "racer": racer }),
                    );
                    let id = event.event_id;
                    barrier.wait().await;
                    let expected = if round == 0 {
                        ExpectedVersion::NoStream
                    } else {
                        ExpectedVersion::Exact(round)
                    };
                    (id, store.append(&s, expected, vec![event]).await)
                })
            })
            .collect();
        let (mut won, mut conflicts) = (Vec::new(), 0);
        for task in tasks {
            match task.await.expect("racer panicked") {
                (id, Ok(outcome)) => {
                    assert_eq!(outcome.version, round + 1);
                    won.push(id);
                }
                (
                    _,
                    Err(StoreError::Conflict {
                        actual, expected, ..
                    }),
                ) => {
                    assert_eq!(
                        actual,
                        round + 1,
                        "the conflict reports the winner's version"
                    );
                    assert!(!expected.is_satisfied_by(actual));
                    conflicts += 1;
                }
                (_, Err(other)) => panic!("unexpected error in the race: {other}"),
            }
        }
        assert_eq!((won.len(), conflicts), (1, RACERS - 1), "round {round}");
        winners.extend(won);
    }
    let stored: Vec<_> = store
        .read_stream(&s, 1)
        .try_collect()
        .await
        .expect("read_stream");
    let versions: Vec<u64> = stored.iter().map(|e| e.version).collect();
    assert_eq!(
        versions,
        (1..=ROUNDS).collect::<Vec<_>>(),
        "no duplicate or missing versions"
    );
    let ids: Vec<Uuid> = stored.iter().map(|e| e.event_id).collect();
    assert_eq!(ids, winners, "exactly the winners' events are stored");
}

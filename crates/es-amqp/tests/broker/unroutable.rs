//! An unroutable publish (no queue bound for its key,
//! `mandatory`) is reported as an error, and the relay's checkpoint does not
//! pass it — not even after a restart.

use std::time::Duration;

use es_amqp::{RelayCheckpoint, RelayError, RoutingKey};
use es_core::{EventStore, InMemoryProjectionStore, Position};

use crate::harness::{append_events, within, Harness};

const TIMEOUT: Duration = Duration::from_secs(60);

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_unroutable_event_stops_the_relay_before_it() {
    let h = Harness::new("unroutable");
    let (ids, _) = append_events(&h.store, "order", 1, 20, 20).await;
    let unroutable = ids[12];

    // A queue bound to `ok.#` only; event 13 is routed to `nowhere`.
    h.declared_consumer(h.consumer_config().with_binding_keys(["ok.#"]), None, 0)
        .await;
    let checkpoints = InMemoryProjectionStore::<()>::new();
    let config = h
        .relay_config()
        .with_routing_key(RoutingKey::new(move |event| {
            if event.event_id == unroutable {
                "nowhere.at.all".to_owned()
            } else {
                "ok.event".to_owned()
            }
        }));
    let relay = h.relay_with(checkpoints.clone(), config);

    let log = h.store.read_all(Position::START, 100).await.expect("read");
    let position_of = |id| {
        log.iter()
            .find(|e| e.event_id == id)
            .expect("in log")
            .position
    };
    let before = log[11].position;
    assert_eq!(log[12].event_id, unroutable);

    // Several runs: each republishes from the checkpoint, and lapin hands the
    // returned message to an arbitrary confirm of a multiple ack, so the
    // relay must find the event by the returned message id every time.
    for run in 0..6 {
        let error = within(TIMEOUT, "the relay to fail", relay.run())
            .await
            .expect_err("an unroutable event stops the relay");
        match &error {
            RelayError::Unroutable {
                event_id,
                position,
                routing_key,
                reply_code,
                ..
            } => {
                assert_eq!(*event_id, unroutable);
                assert_eq!(*position, position_of(unroutable));
                assert_eq!(routing_key, "nowhere.at.all");
                assert_eq!(*reply_code, 312, "NO_ROUTE");
            }
            other => panic!("expected Unroutable, got {other}"),
        }
        assert!(!error.is_transient());
        let saved = checkpoints.load(relay.config().name()).await.expect("load");
        assert_eq!(
            saved, before,
            "run {run}: the checkpoint must stop right before the unroutable event"
        );
        assert_eq!(*relay.confirmed().borrow(), before);
    }
}

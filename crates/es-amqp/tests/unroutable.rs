//! Acceptance 5: an unroutable publish (no queue bound for its key,
//! `mandatory`) is reported as an error, and the relay's checkpoint does not
//! pass it — not even after a restart.

mod common;

use std::time::Duration;

use common::{append_events, within, ConsumerSide, Names};
use es_amqp::{Relay, RelayCheckpoint, RelayError, RoutingKey};
use es_core::{EventStore, InMemoryProjectionStore, InMemoryStore, Position};

const TIMEOUT: Duration = Duration::from_secs(60);

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_unroutable_event_stops_the_relay_before_it() {
    let names = Names::new("unroutable");
    let store = InMemoryStore::new();
    let (ids, _) = append_events(&store, "order", 1, 20, 20).await;
    let unroutable = ids[12];

    // A queue bound to `ok.#` only; event 13 is routed to `nowhere`.
    let side = ConsumerSide::new();
    let consumer = side.consumer(names.consumer_config().with_binding_keys(["ok.#"]), None);
    within(TIMEOUT, "the queue to be declared", consumer.declare())
        .await
        .expect("declare");
    let checkpoints = InMemoryProjectionStore::<()>::new();
    let config = names
        .relay_config()
        .with_routing_key(RoutingKey::new(move |event| {
            if event.event_id == unroutable {
                "nowhere.at.all".to_owned()
            } else {
                "ok.event".to_owned()
            }
        }));
    let relay = Relay::new(store.clone(), checkpoints.clone(), config);

    let log = store.read_all(Position::START, 100).await.expect("read");
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
        let saved = checkpoints.load(&relay.config().name).await.expect("load");
        assert_eq!(
            saved, before,
            "run {run}: the checkpoint must stop right before the unroutable event"
        );
        assert_eq!(*relay.confirmed().borrow(), before);
    }
}

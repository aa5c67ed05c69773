//! Inputs found by attacking the guarantees after they were fixed, kept as
//! tests: an idempotency key re-used with another command, a keyed retry
//! after its own snapshot, stream ids whose parts read back alike, payloads
//! JSON cannot carry (NaN, infinity, a newtype variant holding `None`),
//! upcaster steps at the edge of the version range.

use std::time::Duration;

use es_core::{
    testing::conformance::{Counter, CounterCommand, CounterEvent},
    ExecuteOptions, IdempotencyKey, InMemoryStore, Repository, SnapshotPolicy, SnapshotStore,
    StreamId, Upcasters,
};
use uuid::Uuid;

fn keyed(key: &str) -> ExecuteOptions {
    ExecuteOptions::new().idempotency_key(IdempotencyKey::new(key).unwrap())
}

/// A key already used answers with the first command's outcome (documented),
/// also through a cold repository that guesses the aggregate is new.
#[tokio::test]
async fn a_key_re_used_with_another_command_answers_with_the_first_through_a_cold_repository() {
    let store = InMemoryStore::new();
    let id = Uuid::now_v7();
    let first = Repository::<Counter, _>::new(store.clone());
    let original = first
        .execute_with_options(id, CounterCommand::Increment(5), keyed("k"))
        .await
        .unwrap();
    assert_eq!(original.state, 5);

    let cold = Repository::<Counter, _>::new(store.clone())
        .with_snapshots(store.clone(), SnapshotPolicy::EveryN(1));
    let again = cold
        .execute_with_options(id, CounterCommand::Increment(7), keyed("k"))
        .await
        .unwrap();
    let stream = Repository::<Counter, InMemoryStore>::stream_id(id).unwrap();
    let snapshot = store.load_snapshot(&stream).await.unwrap();
    // Another unkeyed command through the same repository.
    let next = cold
        .execute(id, CounterCommand::Increment(1))
        .await
        .unwrap();
    let truth = Repository::<Counter, _>::new(store.clone())
        .with_cache_capacity(0)
        .load(id)
        .await
        .unwrap();
    println!(
        "again: events {:?} state {} v{}; snapshot {:?}; next state {} (store says {} via snapshot)",
        again.events, again.state, again.version, snapshot, next.state, truth.state
    );
    let plain = Repository::<Counter, _>::new(store.clone()).with_cache_capacity(0);
    let replayed = plain.load(id).await.unwrap();
    println!("replayed without snapshots: {}", replayed.state);
    assert_eq!(again.events, vec![CounterEvent::Incremented { by: 5 }]);
    assert_eq!(again.state, 5);
    assert_eq!(
        next.state, replayed.state,
        "the state returned is what the stream folds to"
    );
}

/// Same via a warm cache at the version the key committed after.
#[tokio::test]
async fn a_key_re_used_with_another_command_answers_with_the_first_from_a_warm_cache() {
    let store = InMemoryStore::new();
    let id = Uuid::now_v7();
    let r1 = Repository::<Counter, _>::new(store.clone());
    r1.execute(id, CounterCommand::Increment(1)).await.unwrap();
    let warm = Repository::<Counter, _>::new(store.clone());
    warm.load(id).await.unwrap();
    r1.execute_with_options(id, CounterCommand::Increment(5), keyed("k"))
        .await
        .unwrap();
    let again = warm
        .execute_with_options(id, CounterCommand::Increment(7), keyed("k"))
        .await
        .unwrap();
    println!("warm again: {:?} state {}", again.events, again.state);
    assert_eq!(again.events, vec![CounterEvent::Incremented { by: 5 }]);
    assert_eq!(again.state, 6);
}

/// Parsing back: two distinct stream ids must not give the same
/// (category, aggregate id).
#[test]
fn category_and_aggregate_id_read_back_name_one_stream() {
    let a = StreamId::new("booking").unwrap();
    let b = StreamId::new("booking-booking").unwrap();
    println!(
        "{:?} -> ({}, {:?}); {:?} -> ({}, {:?})",
        a,
        a.category(),
        a.aggregate_id(),
        b,
        b.category(),
        b.aggregate_id()
    );
    assert_ne!(
        (a.category(), a.aggregate_id()),
        (b.category(), b.aggregate_id())
    );
}

/// Multi-byte ids right at and one byte over the limit.
#[test]
fn multi_byte_stream_ids_at_and_over_the_limit() {
    let at = format!("c-{}", "é".repeat(511)); // 2 + 1022 = 1024
    assert_eq!(at.len(), 1024);
    assert!(StreamId::new(at.clone()).is_ok());
    let over = format!("c-{}a", "é".repeat(511));
    assert!(StreamId::new(over).is_err());
    let via = StreamId::for_aggregate("c", "é".repeat(511)).unwrap();
    assert_eq!(via.as_str(), at);
    assert!(StreamId::for_aggregate("c", format!("{}a", "é".repeat(511))).is_err());
    // category of exactly 64 multibyte
    let cat = "€".repeat(21); // 63 bytes
    assert!(StreamId::for_aggregate(&format!("{cat}a"), "x").is_ok());
    assert!(StreamId::for_aggregate(&format!("{cat}ab"), "x").is_err());
}

/// An upcaster step from u32::MAX: upcasting must finish.
#[test]
fn an_upcaster_step_at_the_last_version_finishes() {
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let upcasters = Upcasters::new().register("T", u32::MAX, |v: serde_json::Value| v);
        let result = upcasters.upcast("T", u32::MAX, serde_json::json!({}));
        let _ = tx.send(format!("{result:?}"));
    });
    let got = rx.recv_timeout(Duration::from_secs(5));
    assert!(got.is_ok(), "upcast never returned (infinite loop)");
}

/// Upcasters registered out of order and from 0.
#[test]
fn upcasters_registered_out_of_order_from_zero_chain_and_gaps_fail() {
    let up = Upcasters::new()
        .register("T", 2, |v: serde_json::Value| serde_json::json!({"v3": v}))
        .register("T", 0, |v: serde_json::Value| serde_json::json!({"v1": v}))
        .register("T", 1, |v: serde_json::Value| serde_json::json!({"v2": v}));
    let out = up.upcast("T", 0, serde_json::json!(0)).unwrap();
    assert_eq!(out, serde_json::json!({"v3": {"v2": {"v1": 0}}}));
    // A gap: 0 -> 1, 2 -> 3; stored 0 stops at 1.
    let gap = Upcasters::new()
        .register("T", 2, |v: serde_json::Value| v)
        .register("T", 0, |v: serde_json::Value| v);
    let r = gap.upcast("T", 0, serde_json::json!(0));
    println!("{r:?}");
    assert!(r.is_err());
}

mod unreadable {
    use es_core::{Aggregate, DomainEvent, InMemoryStore, Repository};
    use serde::{Deserialize, Serialize};
    use uuid::Uuid;

    pub struct Gauge;
    #[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
    pub enum GaugeEvent {
        Measured { value: f64 },
        Cleared(Option<u32>),
    }
    impl DomainEvent for GaugeEvent {
        fn event_type(&self) -> &'static str {
            match self {
                GaugeEvent::Measured { .. } => "Measured",
                GaugeEvent::Cleared(_) => "Cleared",
            }
        }
    }
    #[derive(Debug, thiserror::Error)]
    #[error("never")]
    pub struct Never;
    impl Aggregate for Gauge {
        const TYPE: &'static str = "gauge";
        type State = u32;
        type Command = GaugeEvent;
        type Event = GaugeEvent;
        type Error = Never;
        fn handle(_: &u32, c: GaugeEvent) -> Result<Vec<GaugeEvent>, Never> {
            Ok(vec![c])
        }
        fn apply(s: u32, _: &GaugeEvent) -> u32 {
            s + 1
        }
    }

    async fn accepted_then_read(event: GaugeEvent) {
        let store = InMemoryStore::new();
        let repo = Repository::<Gauge, _>::new(store.clone());
        let id = Uuid::now_v7();
        let appended = repo.execute(id, event.clone()).await;
        let cold = Repository::<Gauge, _>::new(store).with_cache_capacity(0);
        let loaded = cold.load(id).await;
        println!(
            "{event:?}: execute {:?}; load {:?}",
            appended.as_ref().map(|e| e.version),
            loaded.as_ref().map(|l| l.version)
        );
        assert!(
            appended.is_err() || loaded.is_ok(),
            "an append was accepted that no load can read"
        );
    }

    #[tokio::test]
    async fn nan_is_refused_at_append_not_stored_unreadable() {
        accepted_then_read(GaugeEvent::Measured { value: f64::NAN }).await;
    }

    #[tokio::test]
    async fn infinity_is_refused_at_append_not_stored_unreadable() {
        accepted_then_read(GaugeEvent::Measured {
            value: f64::INFINITY,
        })
        .await;
    }

    #[tokio::test]
    async fn a_newtype_variant_holding_none_reads_back() {
        accepted_then_read(GaugeEvent::Cleared(None)).await;
    }
}

/// A keyed command whose own commit triggered a snapshot, re-sent through a
/// cold repository that loads (no guess) or via execute_at: the original
/// outcome, not a refusal or a conflict.
#[tokio::test]
async fn a_keyed_retry_after_its_own_snapshot_answers_with_the_original() {
    use es_core::testing::conformance::{Ticket, TicketCommand};
    let store = InMemoryStore::new();
    let id = Uuid::now_v7();
    let r = Repository::<Ticket, _>::new(store.clone())
        .with_snapshots(store.clone(), SnapshotPolicy::EveryN(1));
    let original = r
        .execute_with_options(id, TicketCommand::Open, keyed("open-1"))
        .await
        .unwrap();
    let cold = Repository::<Ticket, _>::new(store.clone())
        .with_snapshots(store.clone(), SnapshotPolicy::EveryN(1))
        .with_cache_capacity(0)
        .with_assume_new_on_miss(false);
    let again = cold
        .execute_with_options(id, TicketCommand::Open, keyed("open-1"))
        .await;
    println!("execute retry: {:?}", again.as_ref().map(|e| e.version));
    let at = cold
        .execute_with_options(id, TicketCommand::Open, keyed("open-1").expected_version(0))
        .await;
    println!("execute_at retry: {:?}", at.as_ref().map(|e| e.version));
    assert_eq!(again.map(|e| e.version).ok(), Some(original.version));
    assert_eq!(at.map(|e| e.version).ok(), Some(original.version));
}

/// The default routing key joins category and event type with `.`: neither
/// may hold `.`, `*` or `#`, so `shop.order-1`/`Placed` and `shop-1`/
/// `order.Placed` can never share `shop.order.Placed`. After the category's
/// `-`, an id may hold them.
#[test]
fn categories_and_event_types_that_would_blur_the_routing_key_are_refused() {
    use es_core::backend::validate_append;
    use es_core::{InputField, InvalidInput, NewEvent, StoreError};
    for id in ["shop.order-1", "a*-1", "a#-1", "shop.order"] {
        assert!(
            matches!(
                StreamId::new(id),
                Err(InvalidInput::ForbiddenCharacter {
                    field: InputField::Category,
                    ..
                })
            ),
            "{id:?}"
        );
    }
    assert!(StreamId::for_aggregate("shop.order", "1").is_err());
    let stream = StreamId::new("shop-1.2*#").expect("reserved characters after the '-'");
    for event_type in ["order.Placed", "*", "Placed#"] {
        let refused = validate_append(&stream, &[NewEvent::raw(event_type, serde_json::json!(1))]);
        assert!(
            matches!(
                refused,
                Err(StoreError::InvalidInput(InvalidInput::ForbiddenCharacter {
                    field: InputField::EventType,
                    ..
                }))
            ),
            "{event_type:?}: {refused:?}"
        );
    }
}

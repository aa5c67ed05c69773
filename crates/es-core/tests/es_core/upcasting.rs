//! Upcasters know the current schema version: a chain that does not reach it
//! exactly (a missing step, a payload from newer code) is a decode error
//! naming the gap, never a payload decoded in the wrong shape.

use chrono::Utc;
use es_core::{
    Aggregate, DecodeFailure, DomainEvent, EventStore, ExpectedVersion, InMemoryStore, NewEvent,
    Position, RecordedEvent, ReplayEvent, Repository, StoreError, StreamId, Upcasters,
};
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};
use uuid::Uuid;

/// A price at schema version 3: `{amount, currency}` (currency added in v3
/// with a default, so a v2 payload would decode as v3 without complaint).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
enum PriceEvent {
    PriceSet {
        amount: i64,
        #[serde(default)]
        currency: String,
    },
}

impl DomainEvent for PriceEvent {
    fn event_type(&self) -> &'static str {
        "PriceSet"
    }
    fn schema_version(&self) -> u32 {
        3
    }
}

#[derive(Deserialize)]
struct PriceV1 {
    cents: i64,
}

#[derive(Serialize, Deserialize)]
struct PriceV2 {
    amount: i64,
}

#[derive(Serialize)]
struct PriceV3 {
    amount: i64,
    currency: String,
}

fn one_to_two() -> Upcasters {
    Upcasters::new().register("PriceSet", 1, |v1: PriceV1| PriceV2 { amount: v1.cents })
}

fn stored(schema_version: u32, payload: Value) -> RecordedEvent {
    RecordedEvent {
        event_id: Uuid::now_v7(),
        stream_id: StreamId::new("price-1").expect("stream id"),
        version: 1,
        position: Position::from_sequence(1),
        event_type: "PriceSet".into(),
        schema_version,
        payload,
        metadata: Default::default(),
        recorded_at: Utc::now(),
    }
}

fn payloads() -> [(u32, Value); 3] {
    [
        (1, json!({ "cents": 5 })),
        (2, json!({ "amount": 5 })),
        (4, json!({ "amount": 5, "currency": "EUR", "tax": 1 })),
    ]
}

fn assert_gap(failure: &DecodeFailure, stored: u32, reached: u32, current: u32) {
    match failure {
        DecodeFailure::SchemaVersionGap {
            stored: s,
            reached: r,
            current: c,
        } => assert_eq!((*s, *r, *c), (stored, reached, current)),
        other => panic!("expected a schema version gap, got {other}"),
    }
}

#[test]
fn a_chain_short_of_the_current_version_or_a_newer_payload_is_a_gap() {
    let upcasters = one_to_two();
    // v1 reaches 2 (the 2→3 step is missing), v2 stays at 2, v4 is newer than 3.
    for ((version, payload), reached) in payloads().into_iter().zip([2, 2, 4]) {
        let error = stored(version, payload.clone())
            .decode_with::<PriceEvent>(&upcasters)
            .expect_err("must not decode");
        assert_eq!((error.version, error.schema_version), (1, version));
        assert_gap(&error.failure, version, reached, 3);
        let replayed = ReplayEvent::from(stored(version, payload.clone()));
        let error = replayed
            .decode_with::<PriceEvent>(&StreamId::new("price-1").expect("id"), &upcasters)
            .expect_err("must not decode");
        assert_gap(&error.failure, version, reached, 3);
        let error = stored(version, payload)
            .decode::<PriceEvent>()
            .expect_err("without upcasters either");
        assert!(matches!(
            error.failure,
            DecodeFailure::SchemaVersionGap { .. } | DecodeFailure::Payload(_)
        ));
    }
}

#[test]
fn the_gap_is_named_in_the_message() {
    let error = stored(1, json!({ "cents": 5 }))
        .decode_with::<PriceEvent>(&one_to_two())
        .expect_err("a missing step");
    let message = error.to_string();
    for part in [
        "PriceSet",
        "from schema version 2 to 3",
        "stored version 1",
        "current version 3",
    ] {
        assert!(message.contains(part), "{message:?} lacks {part:?}");
    }
    let error = stored(4, json!({ "amount": 5 }))
        .decode_with::<PriceEvent>(&one_to_two())
        .expect_err("newer");
    let message = error.to_string();
    assert!(
        message.contains("schema version 4 is newer than the current version 3"),
        "{message}"
    );
}

#[test]
fn a_declared_current_version_names_the_gap_before_decoding() {
    let upcasters = one_to_two().current_version("PriceSet", 3);
    for ((version, payload), reached) in payloads().into_iter().zip([2, 2, 4]) {
        let failure = upcasters
            .upcast("PriceSet", version, payload)
            .expect_err("the chain does not reach 3");
        assert_gap(&failure, version, reached, 3);
    }
    // Undecodable as v3 anyway: the declared version still names the gap.
    let error = stored(1, json!({ "cents": "five" }))
        .decode_with::<PriceEvent>(&Upcasters::new().current_version("PriceSet", 3))
        .expect_err("no step from 1");
    assert_gap(&error.failure, 1, 1, 3);
}

#[test]
fn a_complete_chain_decodes_every_older_version_and_stops_at_the_current_one() {
    let upcasters = one_to_two().register("PriceSet", 2, |v2: PriceV2| PriceV3 {
        amount: v2.amount,
        currency: "EUR".into(),
    });
    let expected = PriceEvent::PriceSet {
        amount: 5,
        currency: "EUR".into(),
    };
    for (version, payload) in [
        (1, json!({ "cents": 5 })),
        (2, json!({ "amount": 5 })),
        (3, json!({ "amount": 5, "currency": "EUR" })),
    ] {
        assert_eq!(
            stored(version, payload)
                .decode_with::<PriceEvent>(&upcasters)
                .expect("decodes"),
            expected
        );
    }
    let error = stored(4, json!({ "amount": 5, "currency": "EUR" }))
        .decode_with::<PriceEvent>(&upcasters)
        .expect_err("v4 is newer than the code");
    assert_gap(&error.failure, 4, 4, 3);
    // A step registered past the declared current version is not applied.
    let past = upcasters
        .clone()
        .register("PriceSet", 3, |v3: Value| v3)
        .current_version("PriceSet", 3);
    assert_eq!(
        stored(2, json!({ "amount": 5 }))
            .decode_with::<PriceEvent>(&past)
            .expect("decodes"),
        expected
    );
}

/// The aggregate the repository loads prices into.
struct Price;

#[derive(Debug, thiserror::Error)]
#[error("never")]
struct Never;

impl Aggregate for Price {
    const TYPE: &'static str = "price";
    type State = i64;
    type Command = i64;
    type Event = PriceEvent;
    type Error = Never;
    fn handle(_: &i64, amount: i64) -> Result<Vec<PriceEvent>, Never> {
        Ok(vec![PriceEvent::PriceSet {
            amount,
            currency: "EUR".into(),
        }])
    }
    fn apply(_: i64, event: &PriceEvent) -> i64 {
        let PriceEvent::PriceSet { amount, .. } = event;
        *amount
    }
}

#[tokio::test]
async fn the_repository_refuses_to_load_across_a_gap() {
    let store = InMemoryStore::new();
    let repo = Repository::<Price, _>::new(store.clone()).with_upcasters(one_to_two());
    for (version, payload) in payloads() {
        let id = Uuid::now_v7();
        let stream = Repository::<Price, InMemoryStore>::stream_id(id).expect("stream id");
        let mut event = NewEvent::raw("PriceSet", payload);
        event.schema_version = version;
        store
            .append(&stream, ExpectedVersion::NoStream, vec![event])
            .await
            .expect("append");
        match repo.load(id).await {
            Err(StoreError::Decode(error)) => {
                assert_eq!(error.stream_id, stream);
                assert!(matches!(
                    error.failure,
                    DecodeFailure::SchemaVersionGap { current: 3, .. }
                ));
            }
            other => panic!("v{version} must not load, got {:?}", other.map(|l| l.state)),
        }
    }
    // Events this code writes are at the current version and load.
    let id = Uuid::now_v7();
    repo.execute(id, 7).await.expect("execute");
    assert_eq!(repo.load(id).await.expect("load").state, 7);
}

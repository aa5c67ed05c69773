//! Stored data that no longer decodes is a clear error; upcasters bring old
//! schema versions up to date.

use serde::{Deserialize, Serialize};
use serde_json::json;
use uuid::Uuid;

use crate::{
    DecodeFailure, EventStore, ExecuteError, ExpectedVersion, NewEvent, Repository, StoreError,
    Upcasters,
};

use super::{counter::*, support::*};

/// Bad stored data is a clear error naming stream, version and event
/// type; upcasters turn an old schema version into the current one on read,
/// and a schema version they cannot bring to exactly the current one is a
/// [`DecodeFailure::SchemaVersionGap`].
pub async fn bad_stored_data_is_a_clear_error<S: EventStore + Clone + 'static>(store: S) {
    // An old v1 payload, upcast to v2 on read.
    let id = Uuid::now_v7();
    let s = Repository::<Counter, S>::stream_id(id).expect("valid stream id");
    let mut old = NewEvent::raw("Incremented", json!({ "amount": 5 }));
    old.schema_version = 1;
    store
        .append(&s, ExpectedVersion::NoStream, vec![old])
        .await
        .expect("append v1");
    let upcasters = Upcasters::new().register("Incremented", 1, |v1: IncrementedV1| {
        IncrementedV2 { by: v1.amount }
    });
    let repo = Repository::<Counter, S>::new(store.clone()).with_upcasters(upcasters.clone());
    let loaded = repo.load(id).await.expect("load with upcaster");
    assert_eq!((loaded.state, loaded.version), (5, 1));
    let stored = read_stream(&store, &s).await;
    assert_eq!(
        stored[0]
            .decode_with::<CounterEvent>(&upcasters)
            .expect("decode"),
        CounterEvent::Incremented { by: 5 }
    );

    // Without the upcaster the same payload does not decode: a clear error.
    let plain = Repository::<Counter, S>::new(store.clone());
    match plain.load(id).await {
        Err(StoreError::Decode(error)) => {
            assert_eq!(error.stream_id, s);
            assert_eq!(error.version, 1);
            assert_eq!(error.event_type, "Incremented");
            let message = error.to_string();
            assert!(
                message.contains(s.as_str()) && message.contains("Incremented"),
                "{message}"
            );
            assert!(matches!(error.failure, DecodeFailure::Payload(_)));
        }
        other => panic!(
            "expected a decode error, got {:?}",
            other.map(|l| l.version)
        ),
    }

    // A payload that no longer decodes, and a type nobody knows.
    let id = Uuid::now_v7();
    let s = Repository::<Counter, S>::stream_id(id).expect("valid stream id");
    store
        .append(
            &s,
            ExpectedVersion::NoStream,
            vec![
                current_schema(NewEvent::raw("Incremented", json!({ "by": 1 }))),
                current_schema(NewEvent::raw(
                    "Incremented",
                    json!({ "by": "not a number" }),
                )),
            ],
        )
        .await
        .expect("append");
    match repo.execute(id, CounterCommand::Increment(1)).await {
        Err(ExecuteError::Store(StoreError::Decode(error))) => {
            assert_eq!(
                (error.version, error.event_type.as_str()),
                (2, "Incremented")
            );
        }
        other => panic!(
            "expected a decode error, got {:?}",
            other.map(|e| e.version)
        ),
    }
    assert_eq!(
        store.stream_version(&s).await.expect("version"),
        2,
        "nothing appended"
    );
    // A payload at a schema version the upcasters do not bring to the
    // current one decodes as nothing, even when its shape would fit: written
    // by newer code (v3, current is v2), or one step short (v1, no upcaster).
    for (stored, reached) in [(3, 3), (1, 1)] {
        let id = Uuid::now_v7();
        let s = Repository::<Counter, S>::stream_id(id).expect("valid stream id");
        let mut event = NewEvent::raw("Incremented", json!({ "by": 1 }));
        event.schema_version = stored;
        store
            .append(&s, ExpectedVersion::NoStream, vec![event])
            .await
            .expect("append");
        match plain.load(id).await {
            Err(StoreError::Decode(error)) => {
                assert_eq!((error.version, error.schema_version), (1, stored));
                match &error.failure {
                    DecodeFailure::SchemaVersionGap {
                        stored: from,
                        reached: to,
                        current,
                    } => assert_eq!((*from, *to, *current), (stored, reached, 2)),
                    other => panic!("expected a schema version gap, got {other}"),
                }
            }
            other => panic!(
                "a v{stored} payload must not decode as v2, got {:?}",
                other.map(|l| l.state)
            ),
        }
    }

    let unknown = NewEvent::raw("Exploded", json!({}));
    let s = stream("unknown-type");
    store
        .append(&s, ExpectedVersion::NoStream, vec![unknown])
        .await
        .expect("append");
    let stored = read_stream(&store, &s).await;
    let error = stored[0]
        .decode::<CounterEvent>()
        .expect_err("an unknown type must not decode");
    assert!(error.to_string().contains("Exploded"), "{error}");
}

pub(super) fn current_schema(mut event: NewEvent) -> NewEvent {
    event.schema_version = 2;
    event
}

#[derive(Deserialize)]
pub(super) struct IncrementedV1 {
    pub(super) amount: i64,
}

#[derive(Serialize)]
pub(super) struct IncrementedV2 {
    pub(super) by: i64,
}

//! The shared rules every backend calls: the input limits, the exact re-send
//! rule of idempotent appends, and the checkpoint compare-and-set.

use es_core::backend::{check_checkpoint, limits, previous_append, validate_append, RecordedId};
use es_core::{
    InputField, InvalidInput, Metadata, NewEvent, Position, ProjectionError, StoreError, StreamId,
};
use serde_json::{json, Value};
use uuid::Uuid;

fn stream() -> StreamId {
    StreamId::new("door-1").unwrap()
}

fn refused(events: &[NewEvent]) -> InvalidInput {
    match validate_append(&stream(), events) {
        Err(StoreError::InvalidInput(invalid)) => invalid,
        other => panic!("expected invalid input, got {other:?}"),
    }
}

/// `depth` nested arrays around a number.
fn nested(depth: usize) -> Value {
    (0..depth).fold(json!(1), |inner, _| json!([inner]))
}

#[test]
fn each_limit_is_refused_with_the_field_and_the_limit() {
    let ok = || NewEvent::raw("Opened", json!({"by": "ada"}));
    assert!(validate_append(&stream(), &[ok(), ok()]).is_ok());

    let mut long_type = ok();
    long_type.event_type = "t".repeat(limits::MAX_EVENT_TYPE_BYTES + 1);
    assert_eq!(
        refused(&[long_type]),
        InvalidInput::TooLong {
            field: InputField::EventType,
            len: limits::MAX_EVENT_TYPE_BYTES + 1,
            max: limits::MAX_EVENT_TYPE_BYTES
        }
    );
    let mut empty_type = ok();
    empty_type.event_type.clear();
    assert_eq!(
        refused(&[empty_type]),
        InvalidInput::Empty {
            field: InputField::EventType
        }
    );
    let mut huge_schema = ok();
    huge_schema.schema_version = limits::MAX_SCHEMA_VERSION + 1;
    assert!(matches!(
        refused(&[huge_schema]),
        InvalidInput::TooLarge {
            field: InputField::SchemaVersion,
            ..
        }
    ));

    let deep = NewEvent::raw("Opened", nested(limits::MAX_JSON_DEPTH + 1));
    assert_eq!(
        refused(&[deep]),
        InvalidInput::TooDeep {
            field: InputField::Payload,
            depth: limits::MAX_JSON_DEPTH + 1,
            max: limits::MAX_JSON_DEPTH
        }
    );
    assert!(validate_append(
        &stream(),
        &[NewEvent::raw("Opened", nested(limits::MAX_JSON_DEPTH))]
    )
    .is_ok());

    let big = NewEvent::raw("Opened", json!("x".repeat(limits::MAX_PAYLOAD_BYTES)));
    let invalid = refused(&[big]);
    assert!(matches!(
        invalid,
        InvalidInput::TooLong { field: InputField::Payload, max: limits::MAX_PAYLOAD_BYTES, len } if len > limits::MAX_PAYLOAD_BYTES
    ));
    assert!(
        invalid
            .to_string()
            .contains(&limits::MAX_PAYLOAD_BYTES.to_string()),
        "{invalid}"
    );

    for payload in [json!({"a": "x\0y"}), json!({"x\0y": 1}), json!(["\0"])] {
        assert_eq!(
            refused(&[NewEvent::raw("Opened", payload)]),
            InvalidInput::Nul {
                field: InputField::Payload
            }
        );
    }
    let nul_meta = Metadata::default()
        .with_extra(&json!({"who": "a\0"}))
        .unwrap();
    assert_eq!(
        refused(&[ok().with_metadata(nul_meta)]),
        InvalidInput::Nul {
            field: InputField::Metadata
        }
    );
    let big_meta = Metadata::default()
        .with_extra(&json!("m".repeat(limits::MAX_METADATA_BYTES)))
        .unwrap();
    assert!(matches!(
        refused(&[ok().with_metadata(big_meta)]),
        InvalidInput::TooLong {
            field: InputField::Metadata,
            max: limits::MAX_METADATA_BYTES,
            ..
        }
    ));
    // The metadata object itself is one level: its extra value may nest one less.
    let deep_meta = Metadata::default()
        .with_extra(&nested(limits::MAX_JSON_DEPTH))
        .unwrap();
    assert!(matches!(
        refused(&[ok().with_metadata(deep_meta)]),
        InvalidInput::TooDeep {
            field: InputField::Metadata,
            ..
        }
    ));

    let twice = ok();
    assert_eq!(
        refused(&[twice.clone(), twice.clone()]),
        InvalidInput::DuplicateEventIdInBatch {
            event_id: twice.event_id
        }
    );
}

#[test]
fn stream_ids_obey_the_limits() {
    assert_eq!(
        StreamId::new(""),
        Err(InvalidInput::Empty {
            field: InputField::StreamId
        })
    );
    assert_eq!(
        StreamId::new("a\0b"),
        Err(InvalidInput::Nul {
            field: InputField::StreamId
        })
    );
    let at_limit = format!("s-{}", "é".repeat((limits::MAX_STREAM_ID_BYTES - 2) / 2));
    assert_eq!(
        StreamId::new(at_limit.as_str()).unwrap().as_str().len(),
        limits::MAX_STREAM_ID_BYTES
    );
    assert!(matches!(
        StreamId::new(format!("{at_limit}x")),
        Err(InvalidInput::TooLong {
            field: InputField::StreamId,
            ..
        })
    ));
    assert!(matches!(
        StreamId::new("c".repeat(limits::MAX_CATEGORY_BYTES + 1)),
        Err(InvalidInput::TooLong {
            field: InputField::Category,
            ..
        })
    ));
    // Deserialising goes through the same check.
    assert!(serde_json::from_value::<StreamId>(json!("a\u{0}b")).is_err());
}

#[test]
fn only_errors_a_retry_can_cure_are_transient() {
    assert!(StoreError::backend("connection reset").is_transient());
    assert!(StoreError::TransactionTooOld {
        stream_id: stream(),
        transaction: 7,
        last_write: 9
    }
    .is_transient());
    assert!(!StoreError::NeedsRepair("restored into another cluster".into()).is_transient());
    assert!(!StoreError::from(InvalidInput::Nul {
        field: InputField::Payload
    })
    .is_transient());
    assert!(!StoreError::DuplicateEventId {
        event_id: Uuid::now_v7(),
        existing_stream: stream(),
        existing_version: 1
    }
    .is_transient());
}

fn row(event_id: Uuid, stream_id: &StreamId, version: u64) -> RecordedId {
    RecordedId {
        event_id,
        stream_id: stream_id.clone(),
        version,
        position: Position::new(7, version + 100),
    }
}

#[test]
fn an_exact_resend_returns_the_earlier_outcome_and_anything_else_clashes() {
    let (s, other) = (stream(), StreamId::new("door-2").unwrap());
    let ids = [Uuid::now_v7(), Uuid::now_v7(), Uuid::now_v7()];
    assert_eq!(previous_append(&s, &ids, Vec::new()).unwrap(), None);

    // Rows in any order: the outcome follows batch order.
    let found = vec![row(ids[2], &s, 5), row(ids[0], &s, 3), row(ids[1], &s, 4)];
    let outcome = previous_append(&s, &ids, found).unwrap().unwrap();
    assert_eq!(outcome.version, 5);
    assert_eq!(outcome.first_position, Some(Position::new(7, 103)));
    assert_eq!(outcome.last_position, Some(Position::new(7, 105)));

    let clash = |found: Vec<RecordedId>| match previous_append(&s, &ids, found) {
        Err(StoreError::DuplicateEventId {
            event_id,
            existing_stream,
            existing_version,
        }) => (event_id, existing_stream, existing_version),
        other => panic!("expected a duplicate id, got {other:?}"),
    };
    // Only part of the batch recorded.
    assert_eq!(clash(vec![row(ids[1], &s, 4)]), (ids[1], s.clone(), 4));
    // Recorded in another stream: that one is named.
    let elsewhere = vec![
        row(ids[0], &s, 3),
        row(ids[1], &other, 4),
        row(ids[2], &s, 5),
    ];
    assert_eq!(clash(elsewhere), (ids[1], other.clone(), 4));
    // Not at consecutive versions.
    let gap = vec![row(ids[0], &s, 3), row(ids[1], &s, 5), row(ids[2], &s, 6)];
    assert_eq!(clash(gap).0, ids[0]);
    // Consecutive, but in another order than the batch.
    let swapped = vec![row(ids[0], &s, 4), row(ids[1], &s, 3), row(ids[2], &s, 5)];
    assert_eq!(clash(swapped).0, ids[0]);
}

#[test]
fn a_checkpoint_moves_only_from_where_it_is() {
    let at = Position::from_sequence(4);
    assert!(check_checkpoint("tally", at, at).is_ok());
    match check_checkpoint("tally", at, Position::from_sequence(9)) {
        Err(ProjectionError::CheckpointMoved {
            projection,
            expected,
            actual,
        }) => {
            assert_eq!(
                (projection.as_str(), expected, actual),
                ("tally", at, Position::from_sequence(9))
            );
        }
        other => panic!("expected a moved checkpoint, got {other:?}"),
    }
}

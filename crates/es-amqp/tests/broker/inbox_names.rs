//! Every idempotency store refuses the same consumer names, up front.
//!
//! The consumer name keys the processed-event rows next to a stream id: on
//! PostgreSQL a NUL or an index row over 2,704 bytes failed as a backend
//! error (retried, then dead-lettered) while SQLite and memory took the
//! same name. Now the in-memory, SQLite and PostgreSQL stores all run
//! es-core's `check_consumer_name` and answer with the same typed error.
//! No broker is needed.

use es_amqp::{IdempotencyStore, InMemoryIdempotencyStore, SqliteIdempotencyStore};
use es_core::backend::limits::MAX_NAME_BYTES;
use es_core::{InvalidInput, Metadata, Position, RecordedEvent, StreamId};

use crate::inbox_postgres::PostgresSchema;

fn event(stream: &str) -> RecordedEvent {
    RecordedEvent {
        event_id: uuid::Uuid::now_v7(),
        stream_id: StreamId::new(stream).expect("id"),
        version: 1,
        position: Position::from_sequence(1),
        event_type: "Happened".into(),
        schema_version: 1,
        payload: serde_json::Value::Null,
        metadata: Metadata::default(),
        recorded_at: chrono::Utc::now(),
    }
}

/// Text that does not compress (the b-tree limit is on the stored row).
fn random_text(bytes: usize) -> String {
    let mut seed = 11u64;
    (0..bytes)
        .map(|_| {
            seed = seed
                .wrapping_mul(6_364_136_223_846_793_005)
                .wrapping_add(1_442_695_040_888_963_407);
            char::from(b'!' + ((seed >> 33) % 90) as u8)
        })
        .collect()
}

/// Records `event` under `consumer` and rolls back: whether the name was
/// refused as invalid input.
async fn refused<S: IdempotencyStore>(store: &S, consumer: &str, event: &RecordedEvent) -> bool {
    let mut tx = store.begin().await.expect("begin");
    let recorded = store.record(&mut tx, consumer, event).await;
    let _ = store.rollback(tx).await;
    match recorded {
        Ok(_) => false,
        Err(error) => {
            assert!(
                error.downcast_ref::<InvalidInput>().is_some(),
                "a {}-byte name failed, but not as invalid input: {error}",
                consumer.len()
            );
            true
        }
    }
}

#[tokio::test]
async fn every_store_refuses_the_same_consumer_names() {
    let pg = PostgresSchema::create().await;
    pg.store.migrate().await.expect("migrate PostgreSQL");
    let pool = sqlx::sqlite::SqlitePoolOptions::new()
        .max_connections(1)
        .connect("sqlite::memory:")
        .await
        .expect("SQLite in memory");
    let sqlite = SqliteIdempotencyStore::new(pool);
    sqlite.migrate().await.expect("migrate SQLite");
    let memory = InMemoryIdempotencyStore::<()>::new();
    // The longest stream id with the longest name must still fit the index.
    let stream = format!("c-{}", random_text(1_000).replace('-', "_"));
    let event = event(&stream);
    let longest = random_text(MAX_NAME_BYTES);
    let cases = [
        (String::new(), true),
        ("a\0b".to_owned(), true),
        (random_text(MAX_NAME_BYTES + 1), true),
        (random_text(2_000), true),
        (longest, false),
        ("parking".to_owned(), false),
    ];
    for (name, refuse) in &cases {
        let answers = [
            refused(&pg.store, name, &event).await,
            refused(&sqlite, name, &event).await,
            refused(&memory, name, &event).await,
        ];
        assert_eq!(
            answers,
            [*refuse; 3],
            "PostgreSQL, SQLite and memory on a {}-byte name",
            name.len()
        );
    }
    pg.drop_schema().await;
}

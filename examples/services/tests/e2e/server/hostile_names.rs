//! Hostile identifiers and values. Schema names with
//! quotes, semicolons or unicode are refused with a clear error; exchange,
//! queue and relay names with them work (AMQP names are opaque strings and
//! the relay's name is a bound SQL parameter); stream ids, event types and
//! payloads full of SQL metacharacters travel PostgreSQL -> relay ->
//! RabbitMQ -> consumer and arrive verbatim, exactly once.

use std::{
    sync::{Arc, Mutex},
    time::{Duration, Instant},
};

use crate::support::{
    booking_plan::runtime,
    exactly_once::{report, Tally},
    server::{admin_url, amqp_url},
};
use es_amqp::{
    lapin::{
        options::{ExchangeDeleteOptions, QueueDeleteOptions},
        Connection, ConnectionProperties,
    },
    Consumer, ConsumerConfig, Handler, Relay, RelayConfig,
};
use es_core::{
    async_trait, BoxError, EventStore, ExpectedVersion, NewEvent, RecordedEvent, StreamId,
};
use es_postgres::{PostgresConfig, PostgresError, PostgresStore};
use sqlx::Connection as _;
use uuid::Uuid;

const HOSTILE: &str = "it's \"quoted\"; DROP TABLE es_events; -- $$ \\ % _ ünïcödé 流 🦀 \u{202e}";

#[test]
fn hostile_schema_names_are_refused_clearly() {
    let _servers = crate::support::server::servers_in_use();
    for bad in [
        "es\"; DROP SCHEMA public CASCADE; --",
        "x'y",
        "a;b",
        "ünïcödé",
        "流",
        "es\u{0}",
        "Es",
    ] {
        match PostgresConfig::new(admin_url()).with_schema(bad) {
            Err(PostgresError::InvalidSchema(error)) => {
                let message = error.to_string();
                assert!(message.contains("schema name"), "{bad:?}: {message}");
            }
            other => panic!("{bad:?} was not refused: {other:?}"),
        }
    }
}

/// Records every delivery.
#[derive(Clone, Default)]
struct Collect(Arc<Mutex<Vec<RecordedEvent>>>);

#[async_trait]
impl Handler for Collect {
    async fn handle(&self, event: &RecordedEvent) -> Result<(), BoxError> {
        self.0.lock().expect("lock").push(event.clone());
        Ok(())
    }
}

#[test]
fn hostile_values_and_broker_names_round_trip_end_to_end() {
    let _servers = crate::support::server::servers_in_use();
    let suffix = Uuid::new_v4().simple().to_string()[..12].to_owned();
    let schema = format!("es_torture_hostile_{suffix}");
    let exchange = format!("torture.{HOSTILE}.{suffix}");
    let queue = format!("torture.{HOSTILE}.q.{suffix}");
    let rt = runtime();
    let result = rt.block_on(async {
        let store = PostgresStore::connect_with(
            PostgresConfig::new(admin_url())
                .with_schema(schema.as_str())
                .expect("a valid schema"),
        )
        .await
        .expect("PostgreSQL must be running (DATABASE_URL)");
        store.migrate().await.expect("migrate");

        let collected = Collect::default();
        let consumer = Consumer::new(
            ConsumerConfig::builder(amqp_url(), &exchange, &queue)
                .build()
                .expect("hostile AMQP names are valid"),
            collected.clone(),
        );
        consumer.declare().await.expect("declare a hostile queue name");
        let relay = Relay::new(
            store.clone(),
            store.checkpoints(),
            RelayConfig::builder(amqp_url(), format!("relay {HOSTILE} {suffix}"), &exchange)
                .build()
                .expect("a hostile relay name is valid"),
        );

        let mut sent = Vec::new();
        for (n, category) in ["it's", "a\"b", "x;y", "ünï流🦀", "dollar$$"].iter().enumerate() {
            let stream =
                StreamId::new(format!("{category}-{HOSTILE}-{n}")).expect("a hostile stream id");
            for version in 0..3u64 {
                let event = NewEvent::raw(
                    format!("Type {HOSTILE} {version}"),
                    serde_json::json!({ "text": HOSTILE, "nested": { HOSTILE: [HOSTILE, version] } }),
                );
                store
                    .append(&stream, ExpectedVersion::Exact(version), vec![event.clone()])
                    .await
                    .expect("append");
                sent.push((stream.clone(), version + 1, event));
            }
        }
        // Stored verbatim. The global log shows a commit once no older
        // writer of this log is still running (the gap-safe horizon), so
        // read until all are in.
        let deadline = Instant::now() + Duration::from_secs(30);
        let stored = loop {
            let stored = store.read_all(es_core::Position::START, 100).await.expect("read");
            if stored.len() >= sent.len() || Instant::now() > deadline {
                break stored;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        };
        assert_eq!(stored.len(), sent.len());
        for (event, (stream, version, new)) in stored.iter().zip(&sent) {
            assert_eq!(&event.stream_id, stream);
            assert_eq!(event.version, *version);
            assert_eq!(event.event_type, new.event_type);
            assert_eq!(event.payload, new.payload);
        }

        // Through the broker, verbatim and once each.
        let received = {
            let relaying = relay.run();
            let consuming = consumer.run();
            let waiting = async {
                let deadline = Instant::now() + Duration::from_secs(30);
                while collected.0.lock().expect("lock").len() < sent.len()
                    && Instant::now() < deadline
                {
                    tokio::time::sleep(Duration::from_millis(50)).await;
                }
                // Anything extra (a duplicate) would arrive right behind.
                tokio::time::sleep(Duration::from_millis(300)).await;
            };
            tokio::select! {
                error = relaying => panic!("the relay stopped: {error:?}"),
                error = consuming => panic!("the consumer stopped: {error:?}"),
                () = waiting => {}
            }
            collected.0.lock().expect("lock").clone()
        };
        let mut duplicates = 0u64;
        let mut seen = std::collections::HashSet::new();
        for event in &received {
            if !seen.insert(event.event_id) {
                duplicates += 1;
            }
        }
        for event in &received {
            let original = stored
                .iter()
                .find(|e| e.event_id == event.event_id)
                .expect("a received event was stored");
            assert_eq!(event.stream_id, original.stream_id);
            assert_eq!(event.version, original.version);
            assert_eq!(event.event_type, original.event_type);
            assert_eq!(event.payload, original.payload);
        }
        let tally = Tally {
            applied: received.len() as u64,
            duplicates,
            lost: (sent.len() - seen.len()) as u64,
            out_of_order: 0,
        };
        report("hostile values", sent.len() as u64, "consumer", tally);
        tally
    });

    // Clean up whatever happened above.
    rt.block_on(async {
        if let Ok(mut conn) = sqlx::PgConnection::connect(&admin_url()).await {
            let _ = sqlx::query(sqlx::AssertSqlSafe(format!(
                "DROP SCHEMA IF EXISTS {schema} CASCADE"
            )))
            .execute(&mut conn)
            .await;
        }
        if let Ok(connection) =
            Connection::connect(&amqp_url(), ConnectionProperties::default()).await
        {
            if let Ok(channel) = connection.create_channel().await {
                for q in [queue.clone(), format!("{queue}.dlq")] {
                    let _ = channel
                        .queue_delete(q.as_str().into(), QueueDeleteOptions::default())
                        .await;
                }
                for x in [exchange.clone(), format!("{queue}.dlx")] {
                    let _ = channel
                        .exchange_delete(x.as_str().into(), ExchangeDeleteOptions::default())
                        .await;
                }
            }
            let _ = connection.close(200, "cleanup".into()).await;
        }
    });
    assert_eq!(result.lost, 0, "{result:?}");
    assert_eq!(result.duplicates, 0, "{result:?}");
}

//! An event its handler cannot apply yet — an earlier event of its stream is
//! missing — is never recorded as processed: the consumer retries it in
//! place, then parks it in the dead-letter queue with what it waits for, the
//! events behind it (the missing one among them) keep flowing, and moved
//! back in per-stream order it is applied in order. The same for the
//! in-memory, SQLite and PostgreSQL inbox stores.

use std::{
    sync::atomic::{AtomicBool, Ordering},
    time::Duration,
};

use es_amqp::{
    lapin::{
        options::{BasicAckOptions, BasicGetOptions},
        types::FieldTable,
        Channel,
    },
    wire, Backoff, Consumer, ConsumerConfigBuilder, IdempotentHandler, InMemoryIdempotencyStore,
    NotYet, TransactionalHandler,
};
use es_core::{
    async_trait, BoxError, EventStore, ExpectedVersion, InMemoryStore, NewEvent, RecordedEvent,
    StreamId,
};
use futures::TryStreamExt;
use uuid::Uuid;

use crate::{
    harness::{
        confirming_channel, publish_routed, spawn_consumer, within, Applied, Apply, Harness,
    },
    inbox_postgres::{self, PostgresSchema},
    inbox_scenario::AppliedTable,
    inbox_sqlite::{self, SqliteDatabase},
};

const TIMEOUT: Duration = Duration::from_secs(120);

/// The inbox's consumer name in these tests.
const CONSUMER: &str = "not-yet";

/// Applies each stream's events strictly in version order through `inner`
/// (refusing an early one with [`NotYet`]), and fails on `poison` while
/// `broken`.
struct InOrder<H> {
    inner: H,
    poison: Option<Uuid>,
    broken: AtomicBool,
}

impl<H> InOrder<H> {
    fn new(inner: H, poison: Option<Uuid>) -> Self {
        Self {
            inner,
            poison,
            broken: AtomicBool::new(poison.is_some()),
        }
    }
}

#[async_trait]
impl<Tx: Send, H: TransactionalHandler<Tx>> TransactionalHandler<Tx> for InOrder<H> {
    async fn apply(
        &self,
        tx: &mut Tx,
        event: &RecordedEvent,
        previous_version: Option<u64>,
    ) -> Result<(), BoxError> {
        if Some(event.event_id) == self.poison && self.broken.load(Ordering::SeqCst) {
            return Err(format!("poison event {}", event.event_id).into());
        }
        NotYet::check_next(event, previous_version)?;
        self.inner.apply(tx, event, previous_version).await
    }
}

/// Appends `count` events to a new stream `{name}-{uuid}` of `store`, and
/// returns them (version 1 first).
async fn stream(store: &InMemoryStore, name: &str, count: usize) -> Vec<RecordedEvent> {
    let stream = StreamId::new(format!("{name}-{}", Uuid::new_v4().simple())).expect("stream id");
    let events = (0..count)
        .map(|i| NewEvent::raw("Happened", serde_json::json!({ "i": i })))
        .collect();
    store
        .append(&stream, ExpectedVersion::NoStream, events)
        .await
        .expect("append");
    store
        .read_stream(&stream, 1)
        .try_collect()
        .await
        .expect("read the stream")
}

/// Publishes `events` to the test's exchange, in this order, as the relay
/// would publish them.
async fn publish(h: &Harness, channel: &Channel, events: &[&RecordedEvent]) {
    for event in events {
        let (body, properties) = wire::encode(event).expect("encode");
        publish_routed(
            channel,
            &h.names.exchange,
            &format!("{}.{}", event.stream_id.category(), event.event_type),
            &body,
            properties,
        )
        .await;
    }
}

/// Waits (bounded) until `done` holds, looking every 20 ms.
async fn until(what: &str, done: impl Fn() -> bool) {
    within(TIMEOUT, what, async {
        while !done() {
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    })
    .await;
}

/// A dead letter: the event it carries and its failure headers.
struct DeadLetter {
    event: RecordedEvent,
    failure: String,
    attempts: Option<u64>,
}

/// Takes every message of the test's dead-letter queue and moves it back
/// to the test's queue the way `es dead-letters redrive` does: sorted by
/// stream and version, without the `x-es-*` failure headers, each removed
/// from the dead-letter queue only after the broker confirmed its copy.
/// Returns what it moved, in that order.
async fn move_back(h: &Harness, channel: &Channel) -> Vec<DeadLetter> {
    let dlq = format!("{}.dlq", h.names.queue);
    let mut taken = Vec::new();
    while let Some(message) = channel
        .basic_get(dlq.as_str().into(), BasicGetOptions { no_ack: false })
        .await
        .expect("basic.get")
    {
        taken.push(message.delivery);
    }
    let mut moved = Vec::with_capacity(taken.len());
    let mut letters: Vec<_> = taken
        .into_iter()
        .map(|delivery| {
            let event = wire::decode(&delivery.properties, &delivery.data).expect("decodes");
            (event, delivery)
        })
        .collect();
    letters.sort_by(|(a, _), (b, _)| (&a.stream_id, a.version).cmp(&(&b.stream_id, b.version)));
    for (event, delivery) in letters {
        let mut headers = delivery.properties.headers().clone().unwrap_or_default();
        let failure = wire::header_str(&headers, wire::HEADER_FAILURE)
            .expect("a text failure")
            .unwrap_or_default();
        let attempts = wire::header_u64(&headers, wire::HEADER_ATTEMPTS).expect("attempts");
        let mut kept = headers.inner().clone();
        kept.retain(|name, _| !name.as_str().starts_with("x-es-"));
        headers = FieldTable::from(kept);
        publish_routed(
            channel,
            "",
            &h.names.queue,
            &delivery.data,
            delivery.properties.clone().with_headers(headers),
        )
        .await;
        delivery
            .acker
            .ack(BasicAckOptions::default())
            .await
            .expect("ack the dead letter");
        moved.push(DeadLetter {
            event,
            failure,
            attempts,
        });
    }
    moved
}

/// A consumer of the test's queue, applying through `InOrder(apply)` into
/// `store`, with 3 attempts 10–50 ms apart; its queue declared.
async fn declared<S, H>(
    h: &Harness,
    store: S,
    apply: InOrder<H>,
) -> Consumer<IdempotentHandler<S, InOrder<H>>>
where
    S: AppliedTable,
    H: TransactionalHandler<S::Transaction> + 'static,
{
    let config: ConsumerConfigBuilder = h.consumer_config().with_retries(
        3,
        Backoff::new(Duration::from_millis(10), Duration::from_millis(50)).expect("backoff"),
    );
    let consumer = Consumer::new(
        config.build().expect("config"),
        IdempotentHandler::new(CONSUMER, store, apply).expect("a valid consumer name"),
    );
    consumer.declare().await.expect("declare");
    consumer
}

/// The scenario, with `store` and its handler `apply`. Four streams arrive
/// out of order:
///
/// * `a`: v2, v1, then v1 again — v2 waits for v1;
/// * `b`: v1, v3, v2 — v3 waits for v2;
/// * `c`: v1 (failing until fixed), v2, v3 — a dead letter, then events
///   waiting for it;
/// * `d`: v3, v1, v2 — v3 waits for v1 and v2.
///
/// Whatever waits is parked, never recorded; once `c`'s v1 is fixed the
/// dead letters are moved back in per-stream order and every event is
/// applied, once, in order. Duplicates of applied events change nothing.
async fn parked_until_in_order<S, H>(h: &Harness, store: S, apply: H)
where
    S: AppliedTable,
    H: TransactionalHandler<S::Transaction> + 'static,
{
    store.create_tables().await.expect("create the tables");
    let a = stream(&h.store, "a", 2).await;
    let b = stream(&h.store, "b", 3).await;
    let c = stream(&h.store, "c", 3).await;
    let d = stream(&h.store, "d", 3).await;
    let consumer = declared(h, store.clone(), InOrder::new(apply, Some(c[0].event_id))).await;
    let (connection, channel) = confirming_channel().await;
    publish(
        h,
        &channel,
        &[
            &a[1], &d[2], &c[0], &a[0], &b[0], &d[0], &b[2], &c[1], &b[1], &d[1], &c[2], &a[0],
        ],
    )
    .await;
    let _consumer_task = spawn_consumer(&consumer);
    let stats = consumer.stats();
    until("the first pass", || {
        stats.handled() + stats.dead_lettered() == 12
    })
    .await;

    // Applied: a1, b1, b2, d1, d2 (a1's copy is a duplicate). Parked, not
    // recorded: a2, b3, c2, c3, d3. Dead-lettered as failed: c1.
    let (rows, twice, out_of_order) = store.applied_counts().await.expect("count");
    assert_eq!((rows, twice, out_of_order), (5, 0, 0));
    assert_eq!(
        store.processed(CONSUMER).await.expect("count"),
        5,
        "an event was recorded as processed without being applied"
    );
    assert_eq!(
        (stats.handled(), stats.dead_lettered(), stats.parked()),
        (6, 6, 5)
    );
    assert_eq!(stats.retried(), 12, "2 retries in place for each of the 6");

    consumer
        .handler()
        .inner()
        .broken
        .store(false, Ordering::SeqCst);
    let moved = move_back(h, &channel).await;
    let order: Vec<_> = moved
        .iter()
        .map(|m| (m.event.stream_id.clone(), m.event.version))
        .collect();
    let expected: Vec<_> = [(&a, 2), (&b, 3), (&c, 1), (&c, 2), (&c, 3), (&d, 3)]
        .into_iter()
        .map(|(s, v)| (s[0].stream_id.clone(), v))
        .collect();
    assert_eq!(order, expected, "the dead letters, in per-stream order");
    for letter in &moved {
        assert_eq!(letter.attempts, Some(3), "{}", letter.failure);
        let waits_for = match (
            letter.event.stream_id == b[0].stream_id,
            letter.event.version,
        ) {
            (_, 1) => {
                assert!(
                    letter.failure.contains("poison event"),
                    "{}",
                    letter.failure
                );
                continue;
            }
            (true, 3) => 2,
            _ => 1,
        };
        let event = &letter.event;
        for part in [
            format!("version {} of stream {}", event.version, event.stream_id),
            format!("waits for version {waits_for} of its stream"),
            event.event_id.to_string(),
            "parked after 3 attempts".to_owned(),
        ] {
            assert!(
                letter.failure.contains(&part),
                "{part:?} in {}",
                letter.failure
            );
        }
    }

    until("the moved-back events", || stats.handled() == 12).await;
    // Copies of applied events, including one that was parked: duplicates.
    publish(h, &channel, &[&a[0], &a[1], &b[1]]).await;
    until("the duplicates", || stats.handled() == 15).await;
    let (rows, twice, out_of_order) = store.applied_counts().await.expect("count");
    assert_eq!((rows, twice, out_of_order), (11, 0, 0));
    assert_eq!(store.processed(CONSUMER).await.expect("count"), 11);
    assert_eq!(
        (stats.dead_lettered(), stats.parked()),
        (6, 5),
        "nothing parked or dead-lettered the second time"
    );
    assert!(
        move_back(h, &channel).await.is_empty(),
        "the dead-letter queue is empty"
    );
    let _ = connection.close(200, "done".into()).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn in_memory_inbox_parks_what_cannot_be_applied_yet_and_applies_it_in_order() {
    let h = Harness::new("not-yet-memory");
    let store = InMemoryIdempotencyStore::<Applied>::new();
    parked_until_in_order(&h, store, Apply::default()).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sqlite_inbox_parks_what_cannot_be_applied_yet_and_applies_it_in_order() {
    let h = Harness::new("not-yet-sqlite");
    let database = SqliteDatabase::open(&h).await;
    parked_until_in_order(&h, database.store.clone(), inbox_sqlite::ApplyRow).await;
    database.remove().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_inbox_parks_what_cannot_be_applied_yet_and_applies_it_in_order() {
    let h = Harness::new("not-yet-postgres");
    let schema = PostgresSchema::create().await;
    parked_until_in_order(&h, schema.store.clone(), inbox_postgres::ApplyRow).await;
    schema.drop_schema().await;
}

/// An event that waits for one another instance of the consumer is applying
/// (same inbox, same consumer name) is retried in place and applied as soon
/// as that commits: not parked, and the event behind it does not overtake it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_event_waiting_in_place_is_applied_once_what_it_waits_for_was() {
    let h = Harness::new("not-yet-in-place");
    let store = InMemoryIdempotencyStore::<Applied>::new();
    let events = stream(&h.store, "a", 3).await;
    let config = h.consumer_config().with_retries(
        1_000,
        Backoff::new(Duration::from_millis(10), Duration::from_millis(20)).expect("backoff"),
    );
    let consumer = Consumer::new(
        config.build().expect("config"),
        IdempotentHandler::new(
            CONSUMER,
            store.clone(),
            InOrder::new(Apply::default(), None),
        )
        .expect("a valid consumer name"),
    );
    consumer.declare().await.expect("declare");
    let (connection, channel) = confirming_channel().await;
    publish(&h, &channel, &[&events[1], &events[2]]).await;
    let _consumer_task = spawn_consumer(&consumer);
    let stats = consumer.stats();
    until("a retry in place", || stats.retried() > 0).await;
    assert_eq!(store.processed(CONSUMER).await.expect("count"), 0);

    // The other instance applies version 1.
    let other = IdempotentHandler::new(
        CONSUMER,
        store.clone(),
        InOrder::new(Apply::default(), None),
    )
    .expect("a valid consumer name");
    es_amqp::Handler::handle(&other, &events[0])
        .await
        .expect("the other instance applies version 1");
    until("both events", || stats.handled() == 2).await;
    let (rows, twice, out_of_order) = store.applied_counts().await.expect("count");
    assert_eq!((rows, twice, out_of_order), (3, 0, 0));
    assert_eq!((stats.dead_lettered(), stats.parked()), (0, 0));
    let _ = connection.close(200, "done".into()).await;
}

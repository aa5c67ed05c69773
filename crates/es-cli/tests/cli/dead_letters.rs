//! `dead-letters list|show|redrive|purge` on messages es-amqp's real
//! consumer dead-lettered.

use std::{
    collections::{HashMap, HashSet},
    sync::{Arc, Mutex},
    time::Duration,
};

use es_amqp::{
    lapin::{
        options::{BasicPublishOptions, ConfirmSelectOptions},
        types::{AMQPValue, LongString},
        BasicProperties, Connection, ConnectionProperties,
    },
    wire, Backoff, Consumer, ConsumerConfig, Handler, Relay, RelayConfig,
};
use es_core::{async_trait, BoxError, EventStore, Metadata, Position, RecordedEvent, StreamId};
use uuid::Uuid;

use crate::support::{
    amqp_url, append, assert_one_error_line, es, es_json, es_ok, unique, BrokerNames, PgSchema,
};

/// Counts applications per event and their order; fails the events in
/// `broken` (the "cause" an operator fixes before a redrive).
#[derive(Default)]
struct Counting {
    applied: Mutex<HashMap<Uuid, usize>>,
    order: Mutex<Vec<(String, u64)>>,
    broken: Mutex<HashSet<Uuid>>,
}

#[async_trait]
impl Handler for Counting {
    async fn handle(&self, event: &RecordedEvent) -> Result<(), BoxError> {
        if self.broken.lock().unwrap().contains(&event.event_id) {
            return Err(format!("poison event {} refused", event.event_id).into());
        }
        *self
            .applied
            .lock()
            .unwrap()
            .entry(event.event_id)
            .or_default() += 1;
        self.order
            .lock()
            .unwrap()
            .push((event.stream_id.to_string(), event.version));
        Ok(())
    }
}

impl Counting {
    fn applied(&self, id: Uuid) -> usize {
        self.applied.lock().unwrap().get(&id).copied().unwrap_or(0)
    }
}

/// Waits (at most a minute) until `done` holds, checking every 50 ms.
async fn until(what: &str, mut done: impl FnMut() -> bool) {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(60);
    while !done() {
        assert!(
            tokio::time::Instant::now() < deadline,
            "timed out waiting for {what}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// A dead letter as es-amqp's consumer writes it, published straight into the DLQ.
async fn publish_dead_letter(dlq: &str, failed_queue: &str, stream: &str, version: u64) -> Uuid {
    let event = RecordedEvent {
        event_id: Uuid::now_v7(),
        stream_id: StreamId::new(stream).unwrap(),
        version,
        position: Position::new(version, version),
        event_type: "Moved".into(),
        schema_version: 1,
        payload: serde_json::json!({"stream": stream, "version": version}),
        metadata: Metadata::default(),
        recorded_at: chrono::Utc::now(),
    };
    let (body, properties) = wire::encode(&event).expect("encode");
    let mut headers = properties.headers().clone().unwrap_or_default();
    let text = |s: &str| AMQPValue::LongString(LongString::from(s));
    headers.insert(wire::HEADER_FAILURE.into(), text("made by the test"));
    headers.insert(wire::HEADER_FAILED_QUEUE.into(), text(failed_queue));
    publish(dlq, &body, properties.with_headers(headers)).await;
    event.event_id
}

async fn publish(queue: &str, body: &[u8], properties: BasicProperties) {
    let connection = Connection::connect(&amqp_url(), ConnectionProperties::default())
        .await
        .expect("connect");
    let channel = connection.create_channel().await.expect("channel");
    channel
        .confirm_select(ConfirmSelectOptions::default())
        .await
        .expect("confirms");
    let confirmation = channel
        .basic_publish(
            "".into(),
            queue.into(),
            BasicPublishOptions {
                mandatory: true,
                immediate: false,
            },
            body,
            properties,
        )
        .await
        .expect("publish")
        .await
        .expect("confirm");
    assert!(confirmation.is_ack() && confirmation.take_message().is_none());
    let _ = connection.close(200, "done".into()).await;
}

/// The ids of `stream`'s events, in version order.
async fn event_ids(pg: &PgSchema, stream: &str) -> Vec<Uuid> {
    use futures::TryStreamExt;
    let stream = StreamId::new(stream).unwrap();
    let events: Vec<RecordedEvent> = pg
        .store
        .read_stream(&stream, 1)
        .try_collect()
        .await
        .unwrap();
    events.into_iter().map(|e| e.event_id).collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_poisoned_event_is_listed_then_redriven_once_the_cause_is_fixed() {
    let pg = PgSchema::new().await;
    let names = BrokerNames::new("dlq");
    let (exchange, queue, dlq) = (&names.exchange, &names.queue, &names.dead_letter_queue);
    let handler = Arc::new(Counting::default());
    let config = ConsumerConfig::builder(amqp_url(), exchange, queue)
        .with_retries(
            2,
            Backoff::new(Duration::from_millis(10), Duration::from_millis(20)).expect("backoff"),
        )
        .build()
        .expect("consumer config");
    let consumer = Consumer::new(config, handler.clone());
    consumer
        .declare()
        .await
        .expect("RabbitMQ must be running for these tests");

    append(&pg.store, "order-a", &["Placed", "Paid", "Shipped"]).await;
    let ids = event_ids(&pg, "order-a").await;
    let poison = ids[1];
    handler.broken.lock().unwrap().insert(poison);
    let relay = Relay::new(
        pg.store.clone(),
        pg.store.checkpoints(),
        RelayConfig::builder(amqp_url(), unique("relay"), exchange)
            .build()
            .expect("relay config"),
    );
    let relay_task = tokio::spawn(async move { relay.run().await });
    let consumer_task = tokio::spawn({
        let consumer = consumer.clone();
        async move { consumer.run().await }
    });
    until("two events handled and one dead-lettered", || {
        consumer.stats().handled() == 2 && consumer.stats().dead_lettered() == 1
    })
    .await;

    let url = amqp_url();
    let broker = |more: &[&str]| -> Vec<String> {
        ["--amqp-url", url.as_str(), "dead-letters"]
            .iter()
            .map(|s| s.to_string())
            .chain(more.iter().map(|s| s.to_string()))
            .chain(["--queue".to_owned(), queue.clone()])
            .collect()
    };
    let run = |args: Vec<String>| async move {
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        es_ok(&args).await
    };
    let run_json = |args: Vec<String>| async move {
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        es_json(&args).await
    };

    // list: the poison event with its reason, and nothing lost by looking.
    let human = run(broker(&["list"])).await;
    assert!(
        human.contains(&poison.to_string()) && human.contains("poison event"),
        "{human}"
    );
    for _ in 0..2 {
        let listed = run_json(broker(&["list"])).await;
        assert_eq!(listed["message_count"], 1, "{listed}");
        let message = &listed["messages"][0];
        assert_eq!(message["message_id"], poison.to_string());
        assert_eq!(message["stream_id"], "order-a");
        assert_eq!(message["version"], 2);
        assert_eq!(message["event_type"], "Paid");
        assert_eq!(message["attempts"], 2);
        assert!(
            message["reason"].as_str().unwrap().contains("poison event"),
            "{message}"
        );
    }

    // show: headers and body.
    let poison_id = poison.to_string();
    let shown = run_json(broker(&["show", &poison_id])).await;
    assert!(shown["headers"][wire::HEADER_FAILURE]
        .as_str()
        .unwrap()
        .contains("poison"));
    assert_eq!(
        shown["body"],
        serde_json::json!({"n": 1, "stream": "order-a"})
    );
    assert_eq!(
        shown["dead_letter"]["redrive_target"],
        serde_json::json!({"queue": queue})
    );
    let missing = es(&broker(&["show", "no-such-id"])
        .iter()
        .map(String::as_str)
        .collect::<Vec<_>>())
    .await;
    let line = assert_one_error_line(&missing, 1);
    assert!(line.contains("no-such-id"), "{line}");

    // redrive --dry-run moves nothing.
    let dry = run_json(broker(&["redrive", "--dry-run"])).await;
    assert_eq!(dry["dry_run"], true);
    assert_eq!(dry["moved"].as_array().unwrap().len(), 1);
    assert_eq!(run_json(broker(&["list"])).await["message_count"], 1);
    assert_eq!(handler.applied(poison), 0);

    // Fix the cause, redrive: applied exactly once, the queue is empty.
    handler.broken.lock().unwrap().clear();
    let redriven = run_json(broker(&["redrive"])).await;
    assert_eq!(redriven["moved"][0]["message_id"], poison.to_string());
    until("the redriven event is applied", || {
        handler.applied(poison) == 1
    })
    .await;
    assert_eq!(run_json(broker(&["list"])).await["message_count"], 0);
    for id in &ids {
        assert_eq!(handler.applied(*id), 1, "event {id}");
    }

    // Redrive goes per stream in version order, --limit at a time.
    let b2 = publish_dead_letter(dlq, queue, "order-b", 2).await;
    let c1 = publish_dead_letter(dlq, queue, "order-c", 1).await;
    let b1 = publish_dead_letter(dlq, queue, "order-b", 1).await;
    // Listing takes nothing away and keeps the queue's order (a quorum queue).
    for _ in 0..2 {
        let listed = run_json(broker(&["list"])).await;
        let ids: Vec<_> = listed["messages"]
            .as_array()
            .unwrap()
            .iter()
            .map(|m| m["message_id"].clone())
            .collect();
        assert_eq!(ids, [b2.to_string(), c1.to_string(), b1.to_string()]);
    }
    let before = handler.order.lock().unwrap().len();
    let first = run_json(broker(&["redrive", "--limit", "2"])).await;
    let moved: Vec<_> = first["moved"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["message_id"].clone())
        .collect();
    assert_eq!(moved, [b1.to_string(), b2.to_string()]);
    let rest = run_json(broker(&["list"])).await;
    assert_eq!(rest["messages"][0]["message_id"], c1.to_string());
    run_json(broker(&["redrive"])).await;
    until("the three are applied", || {
        [b1, b2, c1].iter().all(|id| handler.applied(*id) == 1)
    })
    .await;
    let applied: Vec<_> = handler.order.lock().unwrap()[before..].to_vec();
    assert_eq!(
        applied,
        [
            ("order-b".to_owned(), 1),
            ("order-b".to_owned(), 2),
            ("order-c".to_owned(), 1)
        ]
    );

    // purge needs --yes.
    publish(dlq, b"{not json", BasicProperties::default()).await;
    let refused = es(&broker(&["purge"])
        .iter()
        .map(String::as_str)
        .collect::<Vec<_>>())
    .await;
    let line = assert_one_error_line(&refused, 1);
    assert!(line.contains("--yes"), "{line}");
    assert_eq!(run_json(broker(&["list"])).await["message_count"], 1);
    let purged = run_json(broker(&["purge", "--yes"])).await;
    assert_eq!(purged["purged"], 1);
    assert_eq!(run_json(broker(&["list"])).await["message_count"], 0);

    relay_task.abort();
    consumer_task.abort();
    let _ = (relay_task.await, consumer_task.await);
}

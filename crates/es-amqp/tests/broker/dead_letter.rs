//! A poison message — an event the handler always fails on,
//! and a body that does not decode — ends up in the dead-letter queue after
//! the configured number of attempts, with the failure in its headers, while
//! the messages behind it are still processed.

use std::time::Duration;

use es_amqp::{
    lapin::{options::BasicGetOptions, BasicProperties},
    wire, Backoff,
};

use crate::harness::{
    append_events, confirming_channel, publish_routed, spawn_consumer, spawn_relay, within, Harness,
};

const TIMEOUT: Duration = Duration::from_secs(120);

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn poison_messages_are_dead_lettered_while_the_rest_keep_flowing() {
    let harness = Harness::new("poison");
    let names = &harness.names;
    let (first_ids, first_last) = append_events(&harness.store, "order", 5, 100, 5).await;
    let poison = first_ids[40];

    let config = harness.consumer_config().with_retries(
        3,
        Backoff::new(Duration::from_millis(10), Duration::from_millis(50)).expect("backoff"),
    );
    let consumer = harness
        .declared_consumer(config, Some(poison), u32::MAX)
        .await;
    let relay = harness.relay();
    let _relay_task = spawn_relay(&relay);
    within(TIMEOUT, "the relay", relay.wait_for_confirmed(first_last)).await;

    // An undecodable message between the first and the second batch of events.
    let (connection, channel) = confirming_channel().await;
    publish_routed(
        &channel,
        &names.exchange,
        "garbage.Happened",
        b"{this is not json",
        BasicProperties::default(),
    )
    .await;
    // And a message with an event id and a JSON body whose version header is text.
    let (_, properties) = wire::encode(&harness.store_event(0).await).expect("encodes");
    let mut headers = properties.headers().clone().expect("headers");
    headers.insert(
        wire::HEADER_VERSION.into(),
        es_amqp::lapin::types::AMQPValue::LongString("seven".into()),
    );
    let bad_header_id = uuid::Uuid::now_v7();
    publish_routed(
        &channel,
        &names.exchange,
        "garbage.Happened",
        b"{}",
        properties
            .with_headers(headers)
            .with_message_id(bad_header_id.to_string().into()),
    )
    .await;
    let (second_ids, second_last) = append_events(&harness.store, "later", 5, 100, 5).await;
    within(TIMEOUT, "the relay", relay.wait_for_confirmed(second_last)).await;

    let _consumer_task = spawn_consumer(&consumer);
    let expected: Vec<_> = first_ids
        .iter()
        .chain(&second_ids)
        .copied()
        .filter(|id| *id != poison)
        .collect();
    harness.side.wait_for(expected.len(), TIMEOUT).await;
    harness.side.assert_exactly_once(&expected);
    // The three poison messages came before the last events, and the
    // consumer handles in order: they are dead-lettered by now.
    assert_eq!(consumer.stats().dead_lettered(), 3);
    assert_eq!(consumer.stats().retried(), 2, "3 attempts = 2 retries");

    let dlq = format!("{}.dlq", names.queue);
    let mut dead = Vec::new();
    for _ in 0..3 {
        let message = channel
            .basic_get(dlq.as_str().into(), BasicGetOptions { no_ack: true })
            .await
            .expect("basic.get")
            .expect("a dead letter");
        dead.push(message.delivery);
    }
    assert!(channel
        .basic_get(dlq.as_str().into(), BasicGetOptions { no_ack: true })
        .await
        .expect("basic.get")
        .is_none());

    let headers =
        |d: &es_amqp::lapin::message::Delivery| d.properties.headers().clone().expect("headers");
    let event = dead
        .iter()
        .find(|d| {
            d.properties
                .message_id()
                .as_ref()
                .map(|m| m.as_str().to_owned())
                == Some(poison.to_string())
        })
        .expect("the poison event is in the DLQ");
    let h = headers(event);
    let failure = wire::header_str(&h, wire::HEADER_FAILURE)
        .expect("str")
        .expect("failure");
    assert!(failure.contains("poison event"), "{failure}");
    assert_eq!(
        wire::header_u64(&h, wire::HEADER_ATTEMPTS).expect("int"),
        Some(3)
    );
    assert_eq!(
        wire::header_str(&h, wire::HEADER_FAILED_QUEUE)
            .expect("str")
            .as_deref(),
        Some(names.queue.as_str())
    );
    // The dead letter is still a complete event message.
    let decoded = wire::decode(&event.properties, &event.data).expect("still decodes");
    assert_eq!(decoded.event_id, poison);

    let garbage = dead
        .iter()
        .find(|d| d.data == b"{this is not json")
        .expect("the garbage is in the DLQ");
    let h = headers(garbage);
    let failure = wire::header_str(&h, wire::HEADER_FAILURE)
        .expect("str")
        .expect("failure");
    assert!(failure.contains("message_id"), "{failure}");
    assert!(
        failure.contains("garbage.Happened"),
        "the failure names the message: {failure}"
    );
    assert_eq!(
        wire::header_u64(&h, wire::HEADER_ATTEMPTS).expect("int"),
        Some(0)
    );

    let bad_header = dead
        .iter()
        .find(|d| {
            d.properties.message_id().as_ref().map(|m| m.to_string())
                == Some(bad_header_id.to_string())
        })
        .expect("the message with a text version is in the DLQ");
    let h = headers(bad_header);
    let failure = wire::header_str(&h, wire::HEADER_FAILURE)
        .expect("str")
        .expect("failure");
    assert!(failure.contains(wire::HEADER_VERSION), "{failure}");
    assert!(
        failure.contains(&bad_header_id.to_string()),
        "the failure names the message: {failure}"
    );

    let _ = connection.close(200, "done".into()).await;
}

/// A message that arrived just under the broker's frame size cannot carry
/// the failure headers on top of its own: it is dead-lettered without its
/// original headers (and says so), rather than failing to publish forever.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_dead_letter_too_large_for_a_frame_leaves_the_original_headers_out() {
    let harness = Harness::new("dead-letter-frame");
    let consumer = harness.consumer().await;
    let (connection, channel) = confirming_channel().await;
    let frame_max = connection.configuration().frame_max() as usize;
    // Flags (2), table length (4), name (1 + 7), type (1), length (4), and
    // the frame's own 20 bytes: 50 bytes short of the frame size.
    let padding = "p".repeat(frame_max - 39 - 50);
    let mut headers = es_amqp::lapin::types::FieldTable::default();
    headers.insert(
        "padding".into(),
        es_amqp::lapin::types::AMQPValue::LongString(padding.as_str().into()),
    );
    publish_routed(
        &channel,
        &harness.names.exchange,
        "big.Happened",
        b"{\"still\": \"here\"}",
        BasicProperties::default().with_headers(headers),
    )
    .await;

    let _consumer_task = spawn_consumer(&consumer);
    let dlq = format!("{}.dlq", harness.names.queue);
    let dead = within(TIMEOUT, "the dead letter", async {
        loop {
            if let Some(message) = channel
                .basic_get(dlq.as_str().into(), BasicGetOptions { no_ack: true })
                .await
                .expect("basic.get")
            {
                break message.delivery;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    })
    .await;
    let h = dead.properties.headers().clone().expect("headers");
    assert!(
        h.inner().get("padding").is_none(),
        "the original headers are left out"
    );
    assert_eq!(
        h.inner().get(wire::HEADER_HEADERS_DROPPED),
        Some(&es_amqp::lapin::types::AMQPValue::Boolean(true))
    );
    let failure = wire::header_str(&h, wire::HEADER_FAILURE)
        .expect("str")
        .expect("failure");
    assert!(failure.contains("big.Happened"), "{failure}");
    assert_eq!(dead.data, b"{\"still\": \"here\"}");
    // The counter moves after the acknowledgement, which follows the
    // confirmed dead letter: it may lag the message in the queue a moment.
    within(TIMEOUT, "the dead letter to be counted", async {
        while consumer.stats().dead_lettered() == 0 {
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    })
    .await;
    assert_eq!(consumer.stats().dead_lettered(), 1);
    let _ = connection.close(200, "done".into()).await;
}

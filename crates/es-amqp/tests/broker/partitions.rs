//! Consumer groups against the real broker: 1,000 events over 50 streams
//! split over 4 partitions and 2 consumers (each on its own connections, as
//! two processes would be), handled exactly once and in stream order — also
//! when one consumer stops mid-run and its partitions move to the other —
//! and a group grown from 2 to 4 partitions that receives nothing twice.

use std::{sync::atomic::Ordering, time::Duration};

use es_amqp::{
    lapin::{
        options::{BasicPublishOptions, ConfirmSelectOptions, QueueDeclareOptions},
        types::FieldTable,
        BasicProperties, Connection, ConnectionProperties,
    },
    wire::{self, HEADER_PARTITION_SLOT},
    ConsumerGroup, ConsumerGroupConfig,
};

use crate::harness::{
    amqp_url, append_events, confirmed_everything, spawn, spawn_relay, within, Harness, Task,
    Tracked, LONG_WAIT,
};

const STREAMS: usize = 50;
const EVENTS: usize = 1_000;

/// Process `instance` of `instances` of a group of `partitions` partitions,
/// its partitions declared.
async fn group(
    h: &Harness,
    partitions: u16,
    instance: u16,
    instances: u16,
) -> ConsumerGroup<Tracked> {
    let config = ConsumerGroupConfig::builder(
        h.consumer_config()
            .with_prefetch(20)
            .build()
            .expect("valid consumer config"),
    )
    .with_partitions(partitions)
    .with_instance(instance, instances)
    .with_standby_delay(Duration::from_secs(1))
    .build()
    .expect("valid group config");
    let group = ConsumerGroup::new(config, h.side.flaky_handler(None, 0));
    within(
        Duration::from_secs(60),
        "the partitions to be declared",
        group.declare(),
    )
    .await
    .expect("declare the partitions");
    group
}

/// Deliveries the group's handler got so far, duplicates included.
fn calls(group: &ConsumerGroup<Tracked>) -> u64 {
    group.handler().calls.load(Ordering::SeqCst)
}

fn run(group: &ConsumerGroup<Tracked>) -> Task<()> {
    let group = group.clone();
    spawn(async move {
        group.run().await.expect("the group runs");
    })
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn four_partitions_over_two_consumers_handle_each_event_once_in_stream_order() {
    let h = Harness::new("partitions");
    let (first, second) = (group(&h, 4, 0, 2).await, group(&h, 4, 1, 2).await);
    let relay = h.relay();
    let (ids, last) = append_events(&h.store, "order", STREAMS, EVENTS, 5).await;
    let _consumers = (run(&first), run(&second));
    let _relay = spawn_relay(&relay);

    confirmed_everything(&relay, last).await;
    h.side.assert_all_applied(&ids).await;
    let (a, b) = (calls(&first), calls(&second));
    eprintln!("deliveries: first consumer {a}, second {b}");
    assert!(
        a > 0 && b > 0,
        "both consumers are active on some partitions"
    );
    assert_eq!(a + b, EVENTS as u64, "no message was delivered twice");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_stopped_consumer_s_partitions_move_to_the_other_without_loss_or_reordering() {
    let h = Harness::new("partitions-failover");
    let (first, second) = (group(&h, 4, 0, 2).await, group(&h, 4, 1, 2).await);
    let relay = h.relay();
    let (ids, last) = append_events(&h.store, "order", STREAMS, EVENTS, 5).await;
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let stopping = {
        let first = first.clone();
        spawn(async move {
            first
                .run_until(async {
                    // A dropped sender stops the group too.
                    let _ = stopped.await;
                })
                .await
                .expect("the group runs until it is stopped");
        })
    };
    let _survivor = run(&second);
    let _relay = spawn_relay(&relay);

    h.side.wait_for(EVENTS / 4, LONG_WAIT).await;
    assert!(
        stop.send(()).is_ok(),
        "the first consumer stopped by itself"
    );
    // `run_until` returns once every partition task of the group has
    // stopped: no handler call of it runs after this.
    within(
        Duration::from_secs(30),
        "the first consumer to stop",
        stopping.join(),
    )
    .await;
    let (applied, by_first) = (*h.side.progress.borrow(), first.stats().handled());
    eprintln!("first consumer stopped at {applied} applied ({by_first} by it)");
    assert!(applied < EVENTS, "everything was applied before the stop");
    assert!(
        by_first > 0,
        "the first consumer was active before it stopped"
    );

    confirmed_everything(&relay, last).await;
    h.side.assert_all_applied(&ids).await;
    assert_eq!(
        first.stats().handled(),
        by_first,
        "a stopped consumer handles nothing"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn growing_from_two_to_four_partitions_moves_slots_without_duplicates() {
    let h = Harness::new("partitions-grow");
    drop(group(&h, 2, 0, 1).await);
    let grown = group(&h, 4, 0, 1).await;
    let relay = h.relay();
    let (ids, last) = append_events(&h.store, "order", STREAMS, EVENTS, 5).await;
    let _consumer = run(&grown);
    let _relay = spawn_relay(&relay);

    confirmed_everything(&relay, last).await;
    h.side.assert_all_applied(&ids).await;
    assert_eq!(
        calls(&grown),
        EVENTS as u64,
        "partitions 0 and 1 still received the slots they gave up"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_message_without_a_slot_goes_to_partition_zero() {
    let h = Harness::new("partitions-unslotted");
    let grouped = group(&h, 4, 0, 1).await;
    let event = {
        append_events(&h.store, "order", 1, 1, 1).await;
        h.store_event(0).await
    };
    let (body, properties) = wire::encode(&event).expect("encode");
    let mut headers = properties.headers().clone().unwrap_or_default();
    assert!(headers.inner().contains_key(HEADER_PARTITION_SLOT));
    let mut inner = headers.inner().clone();
    inner.remove(HEADER_PARTITION_SLOT);
    headers = inner.into();
    let properties: BasicProperties = properties.with_headers(headers);

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
            h.names.exchange.as_str().into(),
            "order.Happened".into(),
            BasicPublishOptions::default(),
            &body,
            properties,
        )
        .await
        .expect("publish")
        .await
        .expect("published");
    assert!(confirmation.is_ack(), "the broker took the message");
    let partition_zero = channel
        .queue_declare(
            format!("{}.p0", h.names.queue).as_str().into(),
            QueueDeclareOptions {
                passive: true,
                ..QueueDeclareOptions::default()
            },
            FieldTable::default(),
        )
        .await
        .expect("partition 0 exists");
    assert_eq!(partition_zero.message_count(), 1);
    let _ = connection.close(200, "published".into()).await;

    let _consumer = run(&grouped);
    h.side.assert_all_applied(&[event.event_id]).await;
}

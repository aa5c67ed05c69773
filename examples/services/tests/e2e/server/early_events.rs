//! A booking's events reaching Parking out of order, as after a dead letter
//! is moved back: `BookingReserved` (v2) before `BookingCreated` (v1), then
//! v2 again. Parking must not record v2 as done before it could apply it:
//! it parks it in the dead-letter queue, applies v1, applies v2 when it comes
//! again, and the slot ends `reserved`.

use es_amqp::{
    lapin::{
        options::{BasicGetOptions, BasicPublishOptions, ConfirmSelectOptions},
        Channel, Connection, ConnectionProperties,
    },
    wire,
};
use es_core::{EventStore, RecordedEvent, StreamId};
use es_example_services::parking::booking_follower::BOOKING_FOLLOWER;
use futures::TryStreamExt;

use crate::support::{
    booking_plan::runtime,
    exactly_once::{event_store, parking_pool},
    field,
    server::{amqp_url, eventually, free_port, ServerEnv},
    slot_details,
};

/// Publishes `event` to Booking's exchange as Booking's relay would, and
/// waits for the broker's confirm.
async fn publish(env: &ServerEnv, channel: &Channel, event: &RecordedEvent) {
    let (body, properties) = wire::encode(event).expect("encode");
    let confirmation = channel
        .basic_publish(
            env.exchange.as_str().into(),
            format!("booking.{}", event.event_type).as_str().into(),
            BasicPublishOptions {
                mandatory: true,
                immediate: false,
            },
            &body,
            properties,
        )
        .await
        .expect("publish")
        .await
        .expect("confirm");
    assert!(confirmation.is_ack(), "{confirmation:?}");
    assert_eq!(confirmation.take_message(), None, "unroutable");
}

/// Creates a slot named `name` with Parking's CLI; returns its uuid.
fn slot(env: &ServerEnv, name: &str) -> String {
    field(
        &env.cli("parking", &["create_parking_slot", name]).ok(),
        "uuid",
    )
}

#[test]
fn a_reservation_before_its_booking_is_parked_not_skipped_and_the_slot_ends_reserved() {
    let env = ServerEnv::new();
    let _parking = env.serve("parking", free_port());
    let slot_1 = slot(&env, "Slot 1");
    let slot_2 = slot(&env, "Slot 2");
    // Booking's CLI records the events; no `booking serve` runs, so nothing
    // relays them: the test publishes them itself, in the order it chooses.
    let booking = env
        .cli("booking", &["create_booking_request", &slot_1])
        .ok();
    assert_eq!(
        env.cli("booking", &["reserve_booking", &booking]).ok(),
        booking
    );
    let later = env
        .cli("booking", &["create_booking_request", &slot_2])
        .ok();
    let stream = StreamId::new(format!("booking-{booking}")).expect("stream id");

    let rt = runtime();
    let reserved = rt.block_on(async {
        let store = event_store(&env).await;
        let events: Vec<RecordedEvent> = store
            .read_stream(&stream, 1)
            .try_collect()
            .await
            .expect("read the booking");
        let later = StreamId::new(format!("booking-{later}")).expect("stream id");
        let marker: Vec<RecordedEvent> = store
            .read_stream(&later, 1)
            .try_collect()
            .await
            .expect("read the later booking");
        let (created, reserved) = (&events[0], &events[1]);
        assert_eq!(
            (created.event_type.as_str(), reserved.event_type.as_str()),
            ("BookingCreated", "BookingReserved")
        );
        let connection = Connection::connect(&amqp_url(), ConnectionProperties::default())
            .await
            .expect("RabbitMQ");
        let channel = connection.create_channel().await.expect("channel");
        channel
            .confirm_select(ConfirmSelectOptions::default())
            .await
            .expect("confirms");
        // v2, v1, v2; then another booking's creation, which Parking
        // handles only after the three before it (one queue, in order).
        for event in [reserved, created, reserved, &marker[0]] {
            publish(&env, &channel, event).await;
        }
        let _ = connection.close(200, "done".into()).await;
        reserved.clone()
    });

    eventually("Parking to handle the later booking", || {
        let shown = env.cli("parking", &["parking_slot_details", &slot_2]).ok();
        (shown == slot_details(&slot_2, "Slot 2", "blocked")).then_some(())
    });
    assert_eq!(
        env.cli("parking", &["parking_slot_details", &slot_1]).ok(),
        slot_details(&slot_1, "Slot 1", "reserved"),
        "the reservation that came before its booking was lost"
    );

    rt.block_on(async {
        // Recorded as processed: exactly the two events applied, once each;
        // nothing skipped.
        let pool = parking_pool(&env).await;
        let processed: Vec<i64> = sqlx::query_scalar(
            "SELECT version FROM es_amqp_processed WHERE consumer = ?1 AND stream_id = ?2 \
             ORDER BY version",
        )
        .bind(BOOKING_FOLLOWER)
        .bind(stream.as_str())
        .fetch_all(&pool)
        .await
        .expect("processed events");
        assert_eq!(processed, vec![1, 2]);
        let skipped: Vec<(String, String)> =
            sqlx::query_as("SELECT stream_id, reason FROM parking_skipped_events")
                .fetch_all(&pool)
                .await
                .expect("skipped events");
        assert!(skipped.is_empty(), "{skipped:?}");
        pool.close().await;

        // The first v2 waits in the dead-letter queue, saying what for.
        let connection = Connection::connect(&amqp_url(), ConnectionProperties::default())
            .await
            .expect("RabbitMQ");
        let channel = connection.create_channel().await.expect("channel");
        let dlq = format!("{}.dlq", env.queue);
        let mut dead = Vec::new();
        while let Some(message) = channel
            .basic_get(dlq.as_str().into(), BasicGetOptions { no_ack: true })
            .await
            .expect("basic.get")
        {
            dead.push(message.delivery);
        }
        let _ = connection.close(200, "done".into()).await;
        assert_eq!(dead.len(), 1, "one parked message");
        assert_eq!(
            dead[0]
                .properties
                .message_id()
                .as_ref()
                .map(|id| id.to_string()),
            Some(reserved.event_id.to_string())
        );
        let headers = dead[0].properties.headers().clone().expect("headers");
        let failure = wire::header_str(&headers, wire::HEADER_FAILURE)
            .expect("a text failure")
            .expect("a failure");
        assert!(
            failure.contains(&format!("version 2 of stream {stream}"))
                && failure.contains("waits for version 1"),
            "{failure}"
        );
    });
}

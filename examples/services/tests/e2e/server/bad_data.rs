//! Bad data amid good. Booking's log holds an event
//! whose payload no longer decodes and an event of a type nobody knows;
//! Parking's queue receives a message whose body is not JSON and one
//! missing a header. Each yields a clear error (logged, or recorded in
//! Parking's skipped events) or a dead-lettered message, and every good
//! booking around them still lands, exactly once.

use std::time::{Duration, Instant};

use crate::support::{
    booking_plan::{append_plan, event_count},
    exactly_once::{converge, parking_pool, prepare, report},
    server::{amqp_url, free_port, ServerEnv},
};
use es_amqp::{
    lapin::{
        options::{BasicGetOptions, BasicPublishOptions},
        types::{AMQPValue, FieldTable},
        Connection, ConnectionProperties,
    },
    wire,
};
use es_core::{EventStore, ExpectedVersion, NewEvent, StreamId};
use futures::StreamExt;
use uuid::Uuid;

#[test]
fn bad_events_and_messages_are_reported_and_the_rest_goes_through() {
    let env = ServerEnv::new();
    let prepared = prepare(&env, 60);
    let (rt, plan, store) = (&prepared.rt, &prepared.plan, &prepared.store);
    let parking = env.serve("parking", free_port());
    let booking = env.serve("booking", free_port());

    let undecodable = StreamId::new(format!("booking-{}", Uuid::new_v4())).expect("stream");
    let unknown = StreamId::new(format!("booking-{}", Uuid::new_v4())).expect("stream");
    let (half, rest) = plan.split_at(plan.len() / 2);
    let bad_event = rt.block_on(async {
        append_plan(store, half).await;
        store
            .append(
                &undecodable,
                ExpectedVersion::NoStream,
                vec![NewEvent::raw(
                    "BookingCreated",
                    serde_json::json!({ "parking_slot_ref_no": 42 }),
                )],
            )
            .await
            .expect("append an undecodable event");
        store
            .append(
                &unknown,
                ExpectedVersion::NoStream,
                vec![NewEvent::raw("BookingTeleported", serde_json::json!({}))],
            )
            .await
            .expect("append an unknown event type");
        let bad_event = store
            .read_stream(&undecodable, 1)
            .next()
            .await
            .expect("the event")
            .expect("read");

        // Two broken messages straight onto Booking's exchange.
        let connection = Connection::connect(&amqp_url(), ConnectionProperties::default())
            .await
            .expect("RabbitMQ");
        let channel = connection.create_channel().await.expect("channel");
        let mut not_json = bad_event.clone();
        not_json.event_id = Uuid::new_v4();
        let (_, properties) = wire::encode(&not_json).expect("encode");
        channel
            .basic_publish(
                env.exchange.as_str().into(),
                "booking.status_changed".into(),
                BasicPublishOptions::default(),
                b"{not json at all",
                properties,
            )
            .await
            .expect("publish")
            .await
            .expect("confirm");
        let mut headerless = bad_event.clone();
        headerless.event_id = Uuid::new_v4();
        let (body, properties) = wire::encode(&headerless).expect("encode");
        let mut headers = FieldTable::default();
        for (key, value) in &properties.headers().clone().unwrap_or_default() {
            if key.as_str() != wire::HEADER_STREAM_ID {
                headers.insert(key.clone(), value.clone());
            }
        }
        channel
            .basic_publish(
                env.exchange.as_str().into(),
                "booking.status_changed".into(),
                BasicPublishOptions::default(),
                &body,
                properties.with_headers(headers),
            )
            .await
            .expect("publish")
            .await
            .expect("confirm");
        let _ = connection.close(200, "done".into()).await;

        append_plan(store, rest).await;
        bad_event
    });

    // Every good booking lands exactly once on both ends.
    let sent = event_count(plan);
    let (projector, parking_end) = rt.block_on(converge(&env, plan, Duration::from_secs(90)));
    report("bad data", sent, "projector", projector);
    report("bad data", sent, "parking (good events)", parking_end);
    assert_eq!((projector.applied, projector.duplicates), (sent, 0));

    // Parking recorded the two bad events with their reasons.
    let skipped: Vec<(String, String)> = rt.block_on(async {
        let pool = parking_pool(&env).await;
        let rows = sqlx::query_as("SELECT stream_id, reason FROM parking_skipped_events")
            .fetch_all(&pool)
            .await
            .expect("skipped events");
        pool.close().await;
        rows
    });
    eprintln!("Parking skipped: {skipped:?}");
    assert_eq!(skipped.len(), 2, "{skipped:?}");
    let reason_of = |stream: &StreamId| {
        skipped
            .iter()
            .find(|(s, _)| s == stream.as_str())
            .map(|(_, reason)| reason.clone())
            .unwrap_or_else(|| panic!("{stream} was not recorded as skipped: {skipped:?}"))
    };
    assert!(reason_of(&undecodable).contains("BookingCreated"));
    assert!(reason_of(&unknown).contains("BookingTeleported"));
    // Parking processed the bad events (skipping them) plus the good ones.
    assert_eq!(parking_end.applied, sent + 2, "{parking_end:?}");
    assert_eq!(parking_end.duplicates, 0, "{parking_end:?}");

    // The two broken messages are dead-lettered with the reason.
    let dead = rt.block_on(async {
        let connection = Connection::connect(&amqp_url(), ConnectionProperties::default())
            .await
            .expect("RabbitMQ");
        let channel = connection.create_channel().await.expect("channel");
        let dlq = format!("{}.dlq", env.queue);
        let mut dead = Vec::new();
        let deadline = Instant::now() + Duration::from_secs(30);
        while dead.len() < 2 && Instant::now() < deadline {
            match channel
                .basic_get(dlq.as_str().into(), BasicGetOptions { no_ack: true })
                .await
                .expect("basic.get")
            {
                Some(message) => {
                    let failure = message
                        .delivery
                        .properties
                        .headers()
                        .as_ref()
                        .and_then(|h| h.inner().get(wire::HEADER_FAILURE).cloned());
                    let failure = match failure {
                        Some(AMQPValue::LongString(s)) => s.to_string(),
                        other => format!("{other:?}"),
                    };
                    dead.push(failure);
                }
                None => tokio::time::sleep(Duration::from_millis(200)).await,
            }
        }
        let _ = connection.close(200, "done".into()).await;
        dead
    });
    eprintln!("dead-lettered: {dead:?}");
    assert_eq!(dead.len(), 2, "{dead:?}");
    assert!(
        dead.iter()
            .any(|f| f.contains("JSON") || f.contains("json") || f.contains("body")),
        "{dead:?}"
    );
    assert!(
        dead.iter().any(|f| f.contains(wire::HEADER_STREAM_ID)),
        "{dead:?}"
    );
    report(
        "bad data",
        4,
        "bad: 2 skipped with reason, 2 dead-lettered",
        crate::support::exactly_once::Tally {
            applied: (skipped.len() + dead.len()) as u64,
            duplicates: 0,
            lost: 4 - (skipped.len() + dead.len()) as u64,
            out_of_order: 0,
        },
    );

    // The projector reported the bad events instead of stopping.
    let log = booking.log();
    assert!(log.contains(&bad_event.stream_id.to_string()), "{log}");
    assert!(booking.health().is_some(), "booking serve died: {log}");
    assert!(
        parking.health().is_some(),
        "parking serve died: {}",
        parking.log()
    );
}

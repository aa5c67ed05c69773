//! Connection settings that make progress impossible are refused when the
//! configuration is built, or stop the relay or consumer with a typed
//! error; never an endless reconnect.
//!
//! Before, a consumer whose URL set `frame_max=8192` met an event with
//! 65,906 bytes of headers, closed its connection (`FRAME-ERROR: frame too
//! large`), reconnected and got the same message again: 21 reconnects in
//! 90 s, nothing behind it handled, nothing dead-lettered.

use std::time::Duration;

use es_amqp::{
    lapin::types::{AMQPValue, LongString},
    wire, ConfigError, ConsumerConfig, ConsumerError, RelayConfig, MIN_FRAME_MAX,
};
use es_core::{EventStore, Position};

use crate::harness::{
    amqp_url, append_events, confirming_channel, publish_routed, spawn_consumer, within, Harness,
};

const TIMEOUT: Duration = Duration::from_secs(60);

fn with_query(query: &str) -> String {
    format!("{}?{query}", amqp_url())
}

#[test]
fn a_frame_or_channel_limit_no_event_could_pass_is_refused_when_built() {
    let too_small = |field, value, min| ConfigError::TooSmall { field, value, min };
    let min_frame = u64::from(MIN_FRAME_MAX);
    // The fault's own input: a consumer asking for 8 KiB frames.
    assert_eq!(
        ConsumerConfig::builder(with_query("frame_max=8192"), "x", "q")
            .build()
            .map(drop),
        Err(too_small("frame_max", 8_192, min_frame))
    );
    assert_eq!(
        RelayConfig::builder(with_query("frame_max=8192"), "relay", "x")
            .build()
            .map(drop),
        Err(too_small("frame_max", 8_192, min_frame))
    );
    // At the minimum, at RabbitMQ's default and "no limit" it works.
    for frame_max in [MIN_FRAME_MAX, 131_072, 0] {
        let url = with_query(&format!("frame_max={frame_max}"));
        assert!(ConsumerConfig::builder(url.as_str(), "x", "q")
            .build()
            .is_ok());
        assert!(RelayConfig::builder(url.as_str(), "r", "x").build().is_ok());
    }
    // A consumer needs two channels (consume, dead-letter), a relay one.
    assert_eq!(
        ConsumerConfig::builder(with_query("channel_max=1"), "x", "q")
            .build()
            .map(drop),
        Err(too_small("channel_max", 1, 2))
    );
    assert!(
        ConsumerConfig::builder(with_query("channel_max=2"), "x", "q")
            .build()
            .is_ok()
    );
    assert!(RelayConfig::builder(with_query("channel_max=1"), "r", "x")
        .build()
        .is_ok());
    // A prefetch of 0 (no limit in AMQP, unbounded memory here) and a
    // heartbeat out of AMQP's range never reach the broker either.
    assert_eq!(
        ConsumerConfig::builder(amqp_url(), "x", "q")
            .with_prefetch(0)
            .build()
            .map(drop),
        Err(too_small("prefetch", 0, 1))
    );
    assert!(matches!(
        ConsumerConfig::builder(with_query("heartbeat=70000"), "x", "q").build(),
        Err(ConfigError::InvalidUrl { .. })
    ));
}

/// A consumer working at the smallest frame, then a message whose headers
/// exceed it (published with larger headers than es-core's limits allow,
/// say by a relay of events written before the limits, on a connection
/// with a larger `frame_max`): the consumer stops with
/// [`ConsumerError::FrameTooLarge`] instead of reconnecting for ever; the
/// message stays at the head of the queue, and a consumer with a larger
/// frame handles it and everything behind it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn headers_over_the_consumer_frame_stop_it_rather_than_loop() {
    let h = Harness::new("frame-too-large");
    let small = h
        .declared_consumer(
            ConsumerConfig::builder(
                with_query(&format!("frame_max={MIN_FRAME_MAX}")),
                &h.names.exchange,
                &h.names.queue,
            ),
            None,
            0,
        )
        .await;
    let (ids, _) = append_events(&h.store, "order", 1, 3, 1).await;
    let events = h.store.read_all(Position::START, 10).await.expect("read");
    let (_connection, channel) = confirming_channel().await;
    for (n, event) in events.iter().enumerate() {
        let (body, mut properties) = wire::encode(event).expect("encodes");
        if n == 1 {
            // Headers no event within the limits has, still within the
            // 131,072 bytes of the publisher's frame.
            let mut headers = properties.headers().clone().unwrap_or_default();
            headers.insert(
                "x-legacy".into(),
                AMQPValue::LongString(LongString::from("l".repeat(100_000))),
            );
            properties = properties.with_headers(headers);
        }
        publish_routed(
            &channel,
            &h.names.exchange,
            "order.Happened",
            &body,
            properties,
        )
        .await;
    }

    let running = spawn_consumer(&small);
    let stopped = within(TIMEOUT, "the consumer to stop", running.join()).await;
    match stopped {
        Err(ConsumerError::FrameTooLarge { frame_max, reason }) => {
            assert_eq!(frame_max, MIN_FRAME_MAX);
            assert!(reason.contains("frame too large"), "{reason}");
        }
        other => panic!("expected FrameTooLarge, got {other:?}"),
    }
    assert_eq!(small.stats().reconnects(), 0, "no reconnect loop");
    h.side.wait_for(1, TIMEOUT).await;
    h.side.assert_exactly_once(&ids[..1]);

    // The message waited at the head of the queue: nothing is lost.
    let large = h.consumer().await;
    let _running = spawn_consumer(&large);
    h.side.assert_all_applied(&ids).await;
}

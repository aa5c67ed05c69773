//! `booking serve`'s operations endpoints: `/metrics` shows the projector's
//! lag rise while it cannot commit and return to 0 after it caught up;
//! `/ready` answers 503 naming the database while PostgreSQL is unreachable
//! and 200 after, while `/health` (liveness) answers throughout.
//! `parking serve`'s: `/metrics` counts the consumer's handled events as
//! bookings arrive and shows its partition subscription; `/ready` answers
//! 503 naming the broker and the consumer group while RabbitMQ is
//! unreachable, and 200 after.

use crate::support::{
    field,
    server::{eventually, free_port, ServerEnv, Service},
};

/// The value of the sample of `name` in a Prometheus text rendering.
fn sample(metrics: &str, name: &str) -> Option<f64> {
    metrics
        .lines()
        .filter(|line| line.starts_with(name))
        .find_map(|line| line.rsplit(' ').next()?.parse().ok())
}

fn projection_lag(service: &Service) -> Option<f64> {
    let (status, body) = service.get("/metrics")?;
    assert_eq!(status, 200, "GET /metrics: {body}");
    sample(&body, "es_projection_lag_events")
}

#[test]
fn metrics_show_projection_lag_rise_under_load_and_return_to_zero() {
    let mut env = ServerEnv::new();
    let direct_projector_url = env.projector_url.clone();
    let proxy = env.projector_through_proxy();
    let booking = env.serve("booking", free_port());
    // The CLI writes on its own connections, straight to the databases.
    env.projector_url = direct_projector_url;
    eventually("a projection lag of 0 at start", || {
        projection_lag(&booking).filter(|lag| *lag == 0.0)
    });

    // The projector's database stops answering: appends pile up behind it.
    proxy.hold(true);
    for _ in 0..5 {
        env.cli(
            "booking",
            &["create_booking_request", &uuid::Uuid::new_v4().to_string()],
        )
        .ok();
    }
    let behind = eventually("the projection lag to show the 5 new events", || {
        projection_lag(&booking).filter(|lag| *lag >= 5.0)
    });
    assert_eq!(behind, 5.0);
    let (_, metrics) = booking.get("/metrics").expect("GET /metrics");
    assert!(
        sample(&metrics, "es_projection_lag_seconds").is_some_and(|seconds| seconds >= 0.0),
        "{metrics}"
    );

    proxy.hold(false);
    eventually("the projection lag to return to 0 after catch-up", || {
        projection_lag(&booking).filter(|lag| *lag == 0.0)
    });
    let (_, metrics) = booking.get("/metrics").expect("GET /metrics");
    // (The CLI's own catch-up may have applied them: the relay counts.)
    assert!(
        sample(&metrics, "es_relay_published_total").is_some_and(|published| published >= 5.0),
        "the relay's publishes are counted: {metrics}"
    );
    assert!(
        sample(&metrics, "es_appends_total").is_none(),
        "serve itself appends nothing: {metrics}"
    );
}

#[test]
fn ready_answers_503_while_postgres_is_unreachable_and_200_after() {
    let mut env = ServerEnv::new();
    let proxy = env.postgres_through_proxy();
    let booking = env.serve("booking", free_port());
    eventually("/ready to answer 200", || {
        booking.get("/ready").filter(|(status, _)| *status == 200)
    });

    proxy.refuse_new(true);
    proxy.cut_all();
    let (_, body) = eventually("/ready to answer 503", || {
        booking.get("/ready").filter(|(status, _)| *status == 503)
    });
    let answer: serde_json::Value = serde_json::from_str(&body).expect("JSON");
    assert_eq!(answer["status"], "not ready", "{answer}");
    assert_eq!(answer["checks"]["event_store"]["ok"], false, "{answer}");
    assert!(
        answer["checks"]["event_store"]["reason"].is_string(),
        "the failed check says why: {answer}"
    );
    assert_eq!(answer["checks"]["broker"]["ok"], true, "{answer}");
    assert!(booking.health().is_some(), "/health is liveness only");

    proxy.refuse_new(false);
    let (_, body) = eventually("/ready to answer 200 again", || {
        booking.get("/ready").filter(|(status, _)| *status == 200)
    });
    let answer: serde_json::Value = serde_json::from_str(&body).expect("JSON");
    assert_eq!(answer["status"], "ready", "{answer}");
}

/// The value of the sample of `name` whose labels include `label`.
fn labelled(metrics: &str, name: &str, label: &str) -> Option<f64> {
    metrics
        .lines()
        .filter(|line| line.starts_with(&format!("{name}{{")) && line.contains(label))
        .find_map(|line| line.rsplit(' ').next()?.parse().ok())
}

#[test]
fn parking_metrics_count_handled_bookings_and_show_its_subscription() {
    let env = ServerEnv::new();
    let parking = env.serve("parking", free_port());
    let _booking = env.serve("booking", free_port());
    let queue = format!("queue=\"{}\"", env.queue);
    let handled = || {
        let (status, body) = parking.get("/metrics")?;
        assert_eq!(status, 200, "GET /metrics: {body}");
        Some(labelled(&body, "es_consumer_handled_total", &queue).unwrap_or(0.0))
    };
    let (_, metrics) = eventually("parking's subscription on /metrics", || {
        parking
            .get("/metrics")
            .filter(|(_, body)| labelled(body, "es_consumer_subscribed", &queue) == Some(1.0))
    });
    assert!(metrics.contains("role=\"preferred\""), "{metrics}");
    assert_eq!(handled(), Some(0.0), "nothing handled yet: {metrics}");

    let slot = field(
        &env.cli("parking", &["create_parking_slot", "Slot 1"]).ok(),
        "uuid",
    );
    let id = env.cli("booking", &["create_booking_request", &slot]).ok();
    eventually("the booking's event to be counted", || {
        handled().filter(|n| *n == 1.0)
    });
    env.cli("booking", &["reserve_booking", &id]).ok();
    env.cli("booking", &["complete_booking", &id]).ok();
    eventually("all three events to be counted", || {
        handled().filter(|n| *n == 3.0)
    });
    let (_, metrics) = parking.get("/metrics").expect("GET /metrics");
    assert!(
        labelled(&metrics, "es_consumer_dead_lettered_total", &queue).is_none(),
        "nothing dead-lettered: {metrics}"
    );
}

#[test]
fn parking_ready_answers_503_while_rabbitmq_is_unreachable_and_200_after() {
    let mut env = ServerEnv::new();
    let proxy = env.rabbitmq_through_proxy();
    let parking = env.serve("parking", free_port());
    let (_, body) = eventually("parking /ready to answer 200", || {
        parking.get("/ready").filter(|(status, _)| *status == 200)
    });
    let answer: serde_json::Value = serde_json::from_str(&body).expect("JSON");
    assert_eq!(answer["service"], "parking", "{answer}");
    assert_eq!(answer["checks"]["consumer_group"]["ok"], true, "{answer}");

    proxy.refuse_new(true);
    proxy.cut_all();
    let (_, body) = eventually("parking /ready to answer 503", || {
        parking.get("/ready").filter(|(status, _)| *status == 503)
    });
    let answer: serde_json::Value = serde_json::from_str(&body).expect("JSON");
    assert_eq!(answer["status"], "not ready", "{answer}");
    assert_eq!(answer["checks"]["broker"]["ok"], false, "{answer}");
    assert!(
        answer["checks"]["broker"]["reason"].is_string(),
        "the failed check says why: {answer}"
    );
    assert_eq!(answer["checks"]["parking_database"]["ok"], true, "{answer}");
    let (_, body) = eventually("the consumer group to report its lost subscription", || {
        parking
            .get("/ready")
            .filter(|(_, body)| body.contains("not consuming"))
    });
    assert!(body.contains(&env.queue), "names the queue: {body}");
    assert!(parking.health().is_some(), "/health is liveness only");

    proxy.refuse_new(false);
    let (_, body) = eventually("parking /ready to answer 200 again", || {
        parking.get("/ready").filter(|(status, _)| *status == 200)
    });
    let answer: serde_json::Value = serde_json::from_str(&body).expect("JSON");
    assert_eq!(answer["status"], "ready", "{answer}");
}

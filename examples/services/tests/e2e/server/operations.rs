//! `booking serve`'s operations endpoints: `/metrics` shows the projector's
//! lag rise while it cannot commit and return to 0 after it caught up;
//! `/ready` answers 503 naming the database while PostgreSQL is unreachable
//! and 200 after, while `/health` (liveness) answers throughout.

use crate::support::server::{eventually, free_port, ServerEnv, Service};

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

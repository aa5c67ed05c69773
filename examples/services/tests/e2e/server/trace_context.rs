//! One trace from an HTTP command to the events: `booking serve`'s
//! `POST /bookings` joins the caller's `traceparent` (same trace id, a new
//! parent id for the command's own step) and records it in the events'
//! metadata, which is what the relay copies into the AMQP `traceparent`
//! header; a malformed header starts a new trace instead of failing the
//! command. The consumer's side is tested in es-amqp's broker tests.

use es_core::{EventStore, TraceContext};
use es_postgres::{PostgresConfig, PostgresStore};
use futures::TryStreamExt;

use crate::support::{
    booking_plan::runtime,
    server::{free_port, ServerEnv},
};

const CALLER: &str = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01";

/// The trace contexts recorded with booking `id`'s events, in order.
fn recorded_traces(env: &ServerEnv, id: &str) -> Vec<Option<TraceContext>> {
    runtime().block_on(async {
        let store = PostgresStore::connect_with(PostgresConfig::new(env.event_store_url.clone()))
            .await
            .expect("event store");
        let stream = es_core::StreamId::new(format!("booking-{id}")).expect("stream id");
        let events: Vec<_> = store
            .read_stream(&stream, 1)
            .try_collect()
            .await
            .expect("read the booking's events");
        events
            .into_iter()
            .map(|event| event.metadata.trace_context)
            .collect()
    })
}

fn answer(response: Option<(u16, String)>, expected: u16) -> serde_json::Value {
    let (status, body) = response.expect("booking serve answers");
    assert_eq!(status, expected, "{body}");
    serde_json::from_str(&body).expect("JSON")
}

#[test]
fn http_commands_record_the_callers_trace_in_their_events() {
    let env = ServerEnv::new();
    let booking = env.serve("booking", free_port());
    let caller = TraceContext::parse(CALLER).expect("valid");
    let slot = uuid::Uuid::new_v4().to_string();

    let created = answer(
        booking.post(
            "/bookings",
            &[("traceparent", CALLER)],
            &format!(r#"{{"parking_slot_ref_no":"{slot}"}}"#),
        ),
        201,
    );
    let id = created["id"].as_str().expect("an id").to_owned();
    let ours: TraceContext = created["traceparent"]
        .as_str()
        .expect("the command's traceparent")
        .parse()
        .expect("a valid traceparent");
    assert_eq!(
        ours.trace_id(),
        caller.trace_id(),
        "joins the caller's trace"
    );
    assert_ne!(ours.parent_id(), caller.parent_id(), "as its own step");
    assert_eq!(recorded_traces(&env, &id), vec![Some(ours)]);

    // A malformed header: the command runs, in a trace of its own.
    let reserved = answer(
        booking.post(
            &format!("/bookings/{id}/reserve"),
            &[(
                "traceparent",
                "00-00000000000000000000000000000000-00f067aa0ba902b7-01",
            )],
            "",
        ),
        200,
    );
    let fresh: TraceContext = reserved["traceparent"]
        .as_str()
        .expect("traceparent")
        .parse()
        .expect("a valid traceparent");
    assert_ne!(fresh.trace_id(), caller.trace_id());
    assert_eq!(recorded_traces(&env, &id), vec![Some(ours), Some(fresh)]);

    // A refused transition is a 409 and writes nothing.
    let refused = answer(
        booking.post(&format!("/bookings/{id}/reserve"), &[], ""),
        409,
    );
    assert!(refused["detail"].is_string(), "{refused}");
    assert_eq!(recorded_traces(&env, &id).len(), 2);
}

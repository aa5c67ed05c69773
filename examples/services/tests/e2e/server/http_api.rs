//! One HTTP style for both services, over real HTTP against `booking serve`
//! and `parking serve`: every error is an RFC 9457 problem
//! (`application/problem+json` with `type`, `title`, `status`, `detail`),
//! whether a handler refused the request (unknown ids 404, refused
//! transitions 409, bad bodies 422) or the framework did (an id that is not
//! a UUID, a wrong method with its `Allow` header, an unknown route, a body
//! without a JSON content type); and the read endpoints answer what the
//! commands wrote.

use crate::support::{
    field,
    server::{free_port, Answer, ServerEnv, Service},
};

/// Sends `method path` and checks the answer is a problem with `status`
/// whose detail contains `detail`; returns the answer.
fn problem(
    service: &Service,
    method: &str,
    path: &str,
    headers: &[(&str, &str)],
    body: &str,
    status: u16,
    detail: &str,
) -> Answer {
    let answer = service
        .send(method, path, headers, body)
        .unwrap_or_else(|| panic!("{method} {path}: no answer"));
    assert_eq!(answer.status, status, "{method} {path}: {answer:?}");
    assert_eq!(
        answer.header("content-type"),
        Some("application/problem+json"),
        "{method} {path}: {answer:?}"
    );
    let body: serde_json::Value = serde_json::from_str(&answer.body)
        .unwrap_or_else(|error| panic!("{method} {path}: not JSON ({error}): {answer:?}"));
    assert_eq!(body["type"], "about:blank", "{body}");
    assert_eq!(body["status"], status, "{body}");
    assert!(
        body["title"].as_str().is_some_and(|t| !t.is_empty()),
        "{body}"
    );
    let shown = body["detail"].as_str().unwrap_or_default();
    assert!(
        shown.contains(detail),
        "{method} {path}: detail {shown:?} lacks {detail:?}"
    );
    answer
}

/// `GET path` answering 200 with JSON.
fn json(service: &Service, path: &str) -> serde_json::Value {
    let (status, body) = service.get(path).expect("an answer");
    assert_eq!(status, 200, "GET {path}: {body}");
    serde_json::from_str(&body).expect("JSON")
}

const JSON: (&str, &str) = ("Content-Type", "application/json");

#[test]
fn booking_serve_answers_every_error_as_a_problem_and_serves_its_reads() {
    let env = ServerEnv::new();
    let booking = env.serve("booking", free_port());
    let unknown = uuid::Uuid::new_v4();

    // Unknown ids: 404, for reads and commands alike.
    for (method, path) in [
        ("GET", format!("/bookings/{unknown}")),
        ("GET", format!("/bookings/{unknown}/events")),
        ("POST", format!("/bookings/{unknown}/reserve")),
        ("POST", format!("/bookings/{unknown}/complete")),
    ] {
        problem(
            &booking,
            method,
            &path,
            &[JSON],
            "",
            404,
            &unknown.to_string(),
        );
    }
    // Ids that are not UUIDs: the framework's 400, as a problem.
    problem(
        &booking,
        "GET",
        "/bookings/not-a-uuid",
        &[],
        "",
        400,
        "UUID",
    );
    problem(
        &booking,
        "POST",
        "/bookings/42/reserve",
        &[],
        "",
        400,
        "UUID",
    );
    // Bad bodies: 422 for JSON that is not a booking request or not JSON;
    // 415 without a JSON content type.
    problem(
        &booking,
        "POST",
        "/bookings",
        &[JSON],
        r#"{"slot":"x"}"#,
        422,
        "parking_slot_ref_no",
    );
    problem(
        &booking,
        "POST",
        "/bookings",
        &[JSON],
        r#"{"parking_slot_ref_no":"not-a-uuid"}"#,
        422,
        "parking_slot_ref_no",
    );
    problem(
        &booking,
        "POST",
        "/bookings",
        &[JSON],
        "{not json",
        422,
        "JSON",
    );
    problem(
        &booking,
        "POST",
        "/bookings",
        &[],
        r#"{"parking_slot_ref_no":"x"}"#,
        415,
        "Content-Type",
    );
    // Wrong methods keep their Allow header; unknown routes are 404.
    let wrong = problem(&booking, "DELETE", "/bookings", &[], "", 405, "not allowed");
    let allow = wrong.header("allow").unwrap_or_default().to_owned();
    assert!(allow.contains("GET") && allow.contains("POST"), "{wrong:?}");
    problem(&booking, "PUT", "/bookings/x/reserve", &[], "", 405, "PUT");
    problem(
        &booking,
        "GET",
        "/no/such/route",
        &[],
        "",
        404,
        "/no/such/route",
    );
    problem(&booking, "GET", "/slots", &[], "", 404, "/slots");

    // The reads show what the commands wrote.
    let slot = uuid::Uuid::new_v4().to_string();
    let (status, created) = booking
        .post(
            "/bookings",
            &[],
            &format!(r#"{{"parking_slot_ref_no":"{slot}"}}"#),
        )
        .expect("POST /bookings answers");
    assert_eq!(status, 201, "{created}");
    let created: serde_json::Value = serde_json::from_str(&created).expect("JSON");
    let id = created["id"].as_str().expect("an id").to_owned();
    assert_eq!(
        json(&booking, &format!("/bookings/{id}")),
        serde_json::json!({"id": id, "status": "created", "parking_slot_ref_no": slot,
                           "read_model_behind": null})
    );
    let list = json(&booking, "/bookings");
    assert_eq!(
        list,
        serde_json::json!({
            "bookings": [{"id": id, "status": "created", "parking_slot_ref_no": slot}],
            "read_model_behind": null,
        })
    );
    // A refused transition is 409 and names why.
    problem(
        &booking,
        "POST",
        &format!("/bookings/{id}/complete"),
        &[JSON],
        "",
        409,
        "only a reserved booking can be completed",
    );
    let (status, body) = booking
        .post(&format!("/bookings/{id}/reserve"), &[], "")
        .expect("reserve answers");
    assert_eq!(status, 200, "{body}");
    let events = json(&booking, &format!("/bookings/{id}/events"));
    assert_eq!(
        events,
        serde_json::json!([
            {"version": 1, "type": "BookingCreated", "parking_slot_ref_no": slot, "status": "created"},
            {"version": 2, "type": "BookingReserved", "status": "reserved"},
        ])
    );
}

#[test]
fn parking_serve_answers_every_error_as_a_problem_and_serves_its_slots() {
    let env = ServerEnv::new();
    let parking = env.serve("parking", free_port());
    let unknown = uuid::Uuid::new_v4();

    problem(
        &parking,
        "GET",
        &format!("/slots/{unknown}"),
        &[],
        "",
        404,
        &unknown.to_string(),
    );
    problem(&parking, "GET", "/slots/slot-1", &[], "", 400, "UUID");
    let wrong = problem(
        &parking,
        "POST",
        "/slots",
        &[JSON],
        "{}",
        405,
        "not allowed",
    );
    assert!(
        wrong
            .header("allow")
            .is_some_and(|allow| allow.contains("GET")),
        "{wrong:?}"
    );
    problem(&parking, "GET", "/bookings", &[], "", 404, "/bookings");

    assert_eq!(json(&parking, "/slots"), serde_json::json!([]));
    let created = env.cli("parking", &["create_parking_slot", "Slot 1"]).ok();
    let slot = field(&created, "uuid");
    let expected = serde_json::json!({"id": slot, "name": "Slot 1", "status": "available"});
    assert_eq!(json(&parking, &format!("/slots/{slot}")), expected);
    assert_eq!(json(&parking, "/slots"), serde_json::json!([expected]));
}

//! Booking's commands over HTTP on `booking serve`, so a caller's W3C
//! `traceparent` header reaches the events: each command joins the caller's
//! trace when the header is valid (else starts a new one, see
//! [`trace::for_command`]), and the context travels with its events through
//! the relay to Parking's consumer.
//!
//! | request | body | answer |
//! | --- | --- | --- |
//! | `POST /bookings` | `{"parking_slot_ref_no": "<uuid>"}` | 201 `{"id", "traceparent"}` |
//! | `POST /bookings/{id}/reserve` | – | 200 `{"id", "traceparent"}` |
//! | `POST /bookings/{id}/complete` | – | 200 `{"id", "traceparent"}` |
//!
//! A refused transition or a conflict is 409, an unknown booking 404, an
//! unusable id 400, a failing store 503; the body is `{"error": "…"}`.

use std::sync::Arc;

use axum::{
    extract::{Path, State},
    http::{HeaderMap, StatusCode},
    response::{IntoResponse, Response},
    routing::post,
    Json, Router,
};
use es_core::TraceContext;
use es_postgres::{PostgresCheckpoints, PostgresStore};
use serde_json::json;
use uuid::Uuid;

use super::service::{BookingService, BookingServiceError};
use crate::common::trace;

/// The service the routes execute commands on.
pub type SharedService = Arc<BookingService<PostgresStore, PostgresCheckpoints>>;

/// The body of `POST /bookings`.
#[derive(Debug, serde::Deserialize)]
struct CreateBooking {
    parking_slot_ref_no: Uuid,
}

/// The command routes of `booking serve`.
pub fn routes(service: SharedService) -> Router {
    Router::new()
        .route("/bookings", post(create))
        .route("/bookings/{id}/reserve", post(reserve))
        .route("/bookings/{id}/complete", post(complete))
        .with_state(service)
}

/// The trace of a command called with `headers`.
fn trace_of(headers: &HeaderMap) -> TraceContext {
    trace::for_command(
        headers
            .get("traceparent")
            .and_then(|value| value.to_str().ok()),
    )
}

/// The answer to a command in `trace` that ended with `result` (the
/// booking's id), `status` on success.
fn answer(
    result: Result<Uuid, BookingServiceError>,
    status: StatusCode,
    trace: TraceContext,
) -> Response {
    let error = match result {
        Ok(id) => {
            let body = json!({ "id": id, "traceparent": trace.to_string() });
            return (status, Json(body)).into_response();
        }
        Err(error) => error,
    };
    let status = match &error {
        BookingServiceError::Refused { .. }
        | BookingServiceError::Conflict { .. }
        | BookingServiceError::SlotTaken { .. } => StatusCode::CONFLICT,
        BookingServiceError::NotFound(_) => StatusCode::NOT_FOUND,
        BookingServiceError::InvalidId(_) => StatusCode::BAD_REQUEST,
        _ => StatusCode::SERVICE_UNAVAILABLE,
    };
    (status, Json(json!({ "error": error.to_string() }))).into_response()
}

async fn create(
    State(service): State<SharedService>,
    headers: HeaderMap,
    Json(body): Json<CreateBooking>,
) -> Response {
    let trace = trace_of(&headers);
    let result = service.create(body.parking_slot_ref_no, trace).await;
    answer(result, StatusCode::CREATED, trace)
}

async fn reserve(
    State(service): State<SharedService>,
    Path(id): Path<Uuid>,
    headers: HeaderMap,
) -> Response {
    let trace = trace_of(&headers);
    let result = service.reserve(id, trace).await.map(|()| id);
    answer(result, StatusCode::OK, trace)
}

async fn complete(
    State(service): State<SharedService>,
    Path(id): Path<Uuid>,
    headers: HeaderMap,
) -> Response {
    let trace = trace_of(&headers);
    let result = service.complete(id, trace).await.map(|()| id);
    answer(result, StatusCode::OK, trace)
}

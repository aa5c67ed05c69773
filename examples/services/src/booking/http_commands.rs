//! Booking's commands over HTTP on `booking serve`, so a caller's W3C
//! `traceparent` header reaches the events: each command joins the caller's
//! trace when the header is valid (else starts a new one, see
//! [`trace::for_command`]), and the context travels with its events through
//! the relay to Parking's consumer.
//!
//! | request | body | answer |
//! | --- | --- | --- |
//! | `POST /bookings` | `{"parking_slot_ref_no": "<uuid>"}` | 201 `{"id", "traceparent", "read_model_behind"}` |
//! | `POST /bookings/{id}/reserve` | – | 200 `{"id", "traceparent", "read_model_behind"}` |
//! | `POST /bookings/{id}/complete` | – | 200 `{"id", "traceparent", "read_model_behind"}` |
//! | `GET /bookings/{id}` | – | 200 `{"id", "domain_uuid", "status", "parking_slot_ref_no", "read_model_behind"}` |
//!
//! `read_model_behind` is `null` when the booking read model showed
//! everything committed, else `{"events", "reason"}` ([`ReadModelLag`](super::read_model_lag::ReadModelLag)): a
//! command whose events are stored succeeded even if the read model could
//! not confirm them in time, and a query that could not show everything
//! committed says so. A refused transition or a conflict is 409, an unknown
//! booking 404, an unusable id 400, a failing store 503; the body is
//! `{"error": "…"}`.

use std::sync::Arc;

use axum::{
    extract::{Path, State},
    http::{HeaderMap, StatusCode},
    response::{IntoResponse, Response},
    routing::{get, post},
    Json, Router,
};
use es_core::TraceContext;
use es_postgres::{PostgresCheckpoints, PostgresStore};
use serde_json::json;
use uuid::Uuid;

use super::{
    read_model_lag::Answered,
    service::{BookingService, BookingServiceError},
};
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
        .route("/bookings/{id}", get(details))
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
    result: Result<Answered<Uuid>, BookingServiceError>,
    status: StatusCode,
    trace: TraceContext,
) -> Response {
    match result {
        Ok(answered) => {
            let body = json!({
                "id": answered.value,
                "traceparent": trace.to_string(),
                "read_model_behind": answered.behind,
            });
            (status, Json(body)).into_response()
        }
        Err(error) => failure(error),
    }
}

/// The status and `{"error": …}` body of a failed command or query.
fn failure(error: BookingServiceError) -> Response {
    let status = match &error {
        BookingServiceError::Refused { .. } | BookingServiceError::Conflict { .. } => {
            StatusCode::CONFLICT
        }
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
    let result = service
        .reserve(id, trace)
        .await
        .map(|answered| answered.map(|()| id));
    answer(result, StatusCode::OK, trace)
}

async fn complete(
    State(service): State<SharedService>,
    Path(id): Path<Uuid>,
    headers: HeaderMap,
) -> Response {
    let trace = trace_of(&headers);
    let result = service
        .complete(id, trace)
        .await
        .map(|answered| answered.map(|()| id));
    answer(result, StatusCode::OK, trace)
}

async fn details(State(service): State<SharedService>, Path(id): Path<Uuid>) -> Response {
    match service.details(id).await {
        Ok(Answered { value: row, behind }) => {
            let body = json!({
                "id": row.id,
                "domain_uuid": row.domain_uuid,
                "status": row.status,
                "parking_slot_ref_no": row.parking_slot_ref_no,
                "read_model_behind": behind,
            });
            (StatusCode::OK, Json(body)).into_response()
        }
        Err(error) => failure(error),
    }
}

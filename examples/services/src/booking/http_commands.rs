//! Booking's HTTP API on `booking serve`: the commands, so a caller's W3C
//! `traceparent` header reaches the events (each command joins the caller's
//! trace when the header is valid, else starts a new one, see
//! [`trace::for_command`]; the context travels with its events through the
//! relay to Parking's consumer), and the reads beside them
//! ([`http_queries`]).
//!
//! | request | body | answer |
//! | --- | --- | --- |
//! | `POST /bookings` | `{"parking_slot_ref_no": "<uuid>"}` | 201 `{"id", "traceparent", "read_model_behind"}` |
//! | `POST /bookings/{id}/reserve` | – | 200 `{"id", "traceparent", "read_model_behind"}` |
//! | `POST /bookings/{id}/complete` | – | 200 `{"id", "traceparent", "read_model_behind"}` |
//! | `GET /bookings` | – | 200 `{"bookings": [{"id", "status", "parking_slot_ref_no"}], "read_model_behind"}` |
//! | `GET /bookings/{id}` | – | 200 `{"id", "status", "parking_slot_ref_no", "read_model_behind"}` |
//! | `GET /bookings/{id}/events` | – | 200 `[{"version", "type", "status", …}]` |
//!
//! `read_model_behind` is `null` when the booking read model showed
//! everything committed, else `{"events", "reason"}`
//! ([`ReadModelLag`](super::read_model_lag::ReadModelLag)): a command whose
//! events are stored succeeded even if the read model could not confirm them
//! in time, and a query that could not show everything committed says so.
//!
//! Errors are problem details ([`Problem`]): an unknown booking is 404 (a
//! command on it too), a refused transition or a conflict 409, a body that
//! is not `{"parking_slot_ref_no": "<uuid>"}` 422 (415 without a JSON
//! content type), an id that is not a UUID 400, a failing store 503.

use std::sync::Arc;

use axum::{
    extract::{rejection::JsonRejection, Path, State},
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
    aggregate::BookingError,
    http_queries,
    read_model_lag::Answered,
    service::{BookingService, BookingServiceError},
};
use crate::common::{problem::Problem, trace};

/// The service the routes execute commands on.
pub type SharedService = Arc<BookingService<PostgresStore, PostgresCheckpoints>>;

/// The body of `POST /bookings`.
#[derive(Debug, serde::Deserialize)]
struct CreateBooking {
    parking_slot_ref_no: Uuid,
}

/// The command and read routes of `booking serve`.
pub fn routes(service: SharedService) -> Router {
    Router::new()
        .route("/bookings", post(create).get(http_queries::list))
        .route("/bookings/{id}", get(http_queries::details))
        .route("/bookings/{id}/events", get(http_queries::events))
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
        Err(error) => problem(&error).into_response(),
    }
}

/// The problem a failed command or query answers: 404 for a booking that
/// does not exist (also when a command was refused for that reason), 409
/// for a refused transition or a conflict, 400 for an unusable id, 503 when
/// a store failed.
pub fn problem(error: &BookingServiceError) -> Problem {
    let status = match error {
        BookingServiceError::NotFound(_)
        | BookingServiceError::Refused {
            reason: BookingError::NotFound,
            ..
        } => StatusCode::NOT_FOUND,
        BookingServiceError::Refused { .. }
        | BookingServiceError::Conflict { .. }
        | BookingServiceError::SlotTaken { .. } => StatusCode::CONFLICT,
        BookingServiceError::InvalidId(_) => StatusCode::BAD_REQUEST,
        _ => StatusCode::SERVICE_UNAVAILABLE,
    };
    Problem::new(status, error.to_string())
}

async fn create(
    State(service): State<SharedService>,
    headers: HeaderMap,
    body: Result<Json<CreateBooking>, JsonRejection>,
) -> Response {
    let body = match body {
        Ok(Json(body)) => body,
        Err(rejection) => return Problem::bad_body(&rejection).into_response(),
    };
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

//! Booking's reads over HTTP on `booking serve` (routed with the commands in
//! [`http_commands`](super::http_commands)): the projection's bookings and
//! one booking's history from the event store, as JSON. Like the CLI's
//! queries they first catch the projection up, so a read right after a
//! command sees it, or says how far behind it is (`read_model_behind`).

use axum::{
    extract::{Path, State},
    response::{IntoResponse, Response},
    Json,
};
use es_core::DomainEvent;
use serde_json::{json, Map, Value};
use uuid::Uuid;

use super::{
    history::properties_set,
    http_commands::{problem, SharedService},
    read_model_lag::Answered,
    views::BookingRow,
};

/// A booking as the read endpoints show it: `id` is the booking's id (as
/// `POST /bookings` answered it).
fn booking_json(row: &BookingRow) -> Value {
    json!({
        "id": row.domain_uuid,
        "status": row.status,
        "parking_slot_ref_no": row.parking_slot_ref_no,
    })
}

/// `GET /bookings`: `{"bookings": [...], "read_model_behind"}`, every
/// booking oldest first; `read_model_behind` is `null` when the projection
/// showed everything committed, else how far behind it was.
pub async fn list(State(service): State<SharedService>) -> Response {
    match service.list().await {
        Ok(Answered {
            value: rows,
            behind,
        }) => Json(json!({
            "bookings": rows.iter().map(booking_json).collect::<Vec<_>>(),
            "read_model_behind": behind,
        }))
        .into_response(),
        Err(error) => problem(&error).into_response(),
    }
}

/// `GET /bookings/{id}`: one booking (with `read_model_behind`, as for the
/// list), 404 if the projection has none.
pub async fn details(State(service): State<SharedService>, Path(id): Path<Uuid>) -> Response {
    match service.details(id).await {
        Ok(Answered { value: row, behind }) => {
            let mut body = booking_json(&row);
            body["read_model_behind"] = json!(behind);
            Json(body).into_response()
        }
        Err(error) => problem(&error).into_response(),
    }
}

/// `GET /bookings/{id}/events`: the booking's events in order, each with
/// its version, type and the properties it set; 404 if it has none.
pub async fn events(State(service): State<SharedService>, Path(id): Path<Uuid>) -> Response {
    match service.history(id).await {
        Ok(events) => {
            let events: Vec<Value> = events
                .iter()
                .map(|(version, event)| {
                    let mut fields = Map::new();
                    fields.insert("version".into(), json!(version));
                    fields.insert("type".into(), json!(event.event_type()));
                    for (key, value) in properties_set(event) {
                        fields.insert(key.into(), json!(value));
                    }
                    Value::Object(fields)
                })
                .collect();
            Json(events).into_response()
        }
        Err(error) => problem(&error).into_response(),
    }
}

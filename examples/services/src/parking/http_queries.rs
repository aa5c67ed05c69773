//! Parking's reads over HTTP on `parking serve`: its slots, as JSON.
//!
//! | request | answer |
//! | --- | --- |
//! | `GET /slots` | 200 `[{"id", "name", "status"}]`, oldest first |
//! | `GET /slots/{id}` | 200 `{"id", "name", "status"}`; 404 for an unknown slot |
//!
//! Errors are problem details ([`Problem`]): 400 for an id that is not a
//! UUID, 503 when Parking's database fails.

use axum::{
    extract::{Path, State},
    http::StatusCode,
    response::{IntoResponse, Response},
    routing::get,
    Json, Router,
};
use serde_json::{json, Value};
use sqlx::SqlitePool;
use uuid::Uuid;

use super::{db, slot::ParkingSlot};
use crate::common::problem::Problem;

/// The read routes of `parking serve`, on Parking's database `pool`.
pub fn routes(pool: SqlitePool) -> Router {
    Router::new()
        .route("/slots", get(list))
        .route("/slots/{id}", get(details))
        .with_state(pool)
}

fn slot_json(slot: &ParkingSlot) -> Value {
    json!({ "id": slot.uuid, "name": slot.name, "status": slot.status.as_str() })
}

fn database_problem(error: &sqlx::Error) -> Problem {
    Problem::new(
        StatusCode::SERVICE_UNAVAILABLE,
        format!("parking database: {error}"),
    )
}

async fn list(State(pool): State<SqlitePool>) -> Response {
    match db::slots(&pool).await {
        Ok(slots) => Json(slots.iter().map(slot_json).collect::<Vec<_>>()).into_response(),
        Err(error) => database_problem(&error).into_response(),
    }
}

async fn details(State(pool): State<SqlitePool>, Path(id): Path<Uuid>) -> Response {
    let found = match pool.acquire().await {
        Ok(mut conn) => db::slot(&mut conn, id).await,
        Err(error) => Err(error),
    };
    match found {
        Ok(Some(slot)) => Json(slot_json(&slot)).into_response(),
        Ok(None) => {
            Problem::new(StatusCode::NOT_FOUND, format!("no parking slot {id}")).into_response()
        }
        Err(error) => database_problem(&error).into_response(),
    }
}

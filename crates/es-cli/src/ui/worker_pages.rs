//! The workers' pages of `es ui`: the projections and the relay, each
//! checkpoint with its lag (events, seconds) and the holder of its lease,
//! as `es projections` and `es relay status` show them; both refresh every
//! five seconds.

use axum::{
    extract::State,
    response::{IntoResponse, Response},
};
use maud::html;

use super::{
    layout::{failed, page},
    State as Ui,
};
use crate::{
    backend::model::StoredIn,
    commands::lag::{head_line, holder_cell, CheckpointLag},
    error::CliError,
    output,
};

/// Seconds between two refreshes.
const REFRESH: u32 = 5;

/// `GET /projections`: every checkpoint, wherever it is kept.
pub async fn projections(State(ui): State<Ui>) -> Response {
    lag_page(&ui, "Projections", "/projections", |_| true).await
}

/// `GET /relay`: the checkpoints kept beside the log (the relay's).
pub async fn relay(State(ui): State<Ui>) -> Response {
    lag_page(&ui, "Relay", "/relay", |lag| lag.stored_in == StoredIn::Log).await
}

async fn lag_page(
    ui: &super::Ui,
    title: &str,
    here: &str,
    shown: impl Fn(&CheckpointLag) -> bool,
) -> Response {
    let measured = async {
        let head = ui.backend.head().await?;
        let lags = CheckpointLag::measure_all(&ui.backend, ui.backend.checkpoints().await?).await?;
        Ok::<_, CliError>((head, lags))
    };
    let (head, lags) = match measured.await {
        Ok(measured) => measured,
        Err(error) => return failed(here, &error),
    };
    let lags: Vec<_> = lags.into_iter().filter(|lag| shown(lag)).collect();
    let body = html! {
        p.note { (head_line(head.as_ref())) "; refreshed every " (REFRESH) " s." }
        @if lags.is_empty() {
            p { "No checkpoint here. A projection keeping its checkpoint in a database "
                "of its own shows once `es ui` is given it (--checkpoints)." }
        } @else {
            table {
                tr {
                    th { "NAME" } th { "STORED IN" } th { "CHECKPOINT" } th { "LAG (EVENTS)" }
                    th { "LAG (SECONDS)" } th { "HOLDER" }
                }
                @for lag in &lags {
                    tr {
                        td { (lag.name) }
                        td { (stored_in(lag.stored_in)) }
                        td { (lag.position) }
                        td.num { (lag.events_behind) }
                        td.num { (output::seconds(lag.seconds_behind)) }
                        td { (holder_cell(lag)) }
                    }
                }
            }
        }
    };
    page(title, here, Some(REFRESH), body).into_response()
}

fn stored_in(stored_in: StoredIn) -> &'static str {
    match stored_in {
        StoredIn::Log => "log database",
        StoredIn::Checkpoints => "checkpoint database",
    }
}

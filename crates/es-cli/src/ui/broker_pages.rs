//! The broker's pages of `es ui`: a consumer's queues (single, partitions,
//! dead letters) with their warnings, its dead letters, one dead letter in
//! full, and the redrive, which changes something: it needs `es ui
//! --allow-writes`, and it runs only from its confirmation form (a POST with
//! `confirm=yes`), never from a link.

use axum::{
    extract::{Path, State},
    http::StatusCode,
    response::{IntoResponse, Response},
    Form,
};
use es_amqp::lapin::Connection;
use maud::{html, Markup};

use super::{
    layout::{encode, error_page, failed, page},
    State as Ui,
};
use crate::{
    broker::{self, DeadLetterQueue, TakenMessage},
    commands::{dead_letters::redrive::redrive as move_back, queues::role},
    error::CliError,
    output,
};

/// The consumer's queue, when both it and the broker were given.
fn consumer_queue(ui: &super::Ui) -> Option<&str> {
    ui.global.amqp_url.as_ref()?;
    ui.queue.as_deref()
}

/// The page saying how to give the consumer's queue and the broker.
fn not_configured(here: &str) -> Response {
    page(
        "Not configured",
        here,
        None,
        html! { p { "Start es ui with --amqp-url (or AMQP_URL) and --queue (or PARKING_QUEUE) to see a consumer's queues." } },
    )
    .into_response()
}

/// Runs `work` on a connection to the broker, closing it after.
async fn with_broker<T>(
    ui: &super::Ui,
    work: impl AsyncFnOnce(&Connection) -> Result<T, CliError>,
) -> Result<T, CliError> {
    let connection = broker::connect(&ui.global).await?;
    let result = work(&connection).await;
    broker::close(&connection).await;
    result
}

/// Runs `work` on the consumer's dead-letter queue; every message it took
/// and did not move goes back, in order, before the connection closes.
async fn with_dead_letters<T>(
    ui: &super::Ui,
    queue: &str,
    work: impl AsyncFnOnce(&Connection, &mut DeadLetterQueue) -> Result<T, CliError>,
) -> Result<T, CliError> {
    let name = format!("{queue}.dlq");
    with_broker(ui, async |connection| {
        let mut dead_letters = DeadLetterQueue::open(connection, &name).await?;
        let result = work(connection, &mut dead_letters).await;
        let returned = dead_letters.return_all().await;
        result.and_then(|value| returned.map(|()| value))
    })
    .await
}

/// `GET /queues`: the consumer's queues, messages, consumers, warnings.
pub async fn queues(State(ui): State<Ui>) -> Response {
    let here = "/queues";
    let Some(queue) = consumer_queue(&ui) else {
        return not_configured(here);
    };
    let found = match with_broker(&ui, async |c| broker::survey(c, queue).await).await {
        Ok(found) => found,
        Err(error) => return failed(here, &error),
    };
    let body = html! {
        p.note { "Consumer queue " code { (queue) } ", its partitions " code { (queue) ".pN" }
            " and dead letters " code { (queue) ".dlq" } "; refreshed every 5 s." }
        @if found.is_empty() {
            p { "None of them exists." }
        } @else {
            table {
                tr { th { "QUEUE" } th { "ROLE" } th { "MESSAGES" } th { "CONSUMERS" } }
                @for q in &found {
                    tr {
                        td { (q.name) } td { (role(q)) }
                        td.num { (q.messages) } td.num { (q.consumers) }
                    }
                }
            }
            @for q in &found {
                @if let Some(warning) = &q.warning {
                    p.warn { strong { (q.name) } ": " (warning) }
                }
            }
        }
    };
    page("Queues", here, Some(5), body).into_response()
}

/// `GET /dead-letters`: the consumer's dead letters, nothing moved.
pub async fn dead_letters(State(ui): State<Ui>) -> Response {
    let here = "/dead-letters";
    let Some(queue) = consumer_queue(&ui) else {
        return not_configured(here);
    };
    let taken = with_dead_letters(&ui, queue, async |_, dlq| dlq.take(None).await).await;
    let taken = match taken {
        Ok(taken) => taken,
        Err(error) => return failed(here, &error),
    };
    let body = html! {
        p.note { "The messages of " code { (queue) ".dlq" } ", in queue order; reading moves nothing." }
        @if taken.is_empty() {
            p { "No dead letter." }
        } @else {
            (dead_letter_table(&taken))
            p { a href="/dead-letters-redrive" { "Redrive them…" } " (asks to confirm first)" }
        }
    };
    page("Dead letters", here, None, body).into_response()
}

fn dead_letter_table(taken: &[TakenMessage]) -> Markup {
    html! {
        table {
            tr {
                th { "MESSAGE ID" } th { "STREAM" } th { "VERSION" } th { "TYPE" }
                th { "REASON" } th { "ATTEMPTS" } th { "GOES BACK TO" }
            }
            @for message in taken {
                @let d = &message.dead_letter;
                tr {
                    td { @if let Some(id) = &d.message_id {
                        a href={ "/dead-letters/" (encode(id)) } { code { (id) } }
                    } @else { "-" } }
                    td { (output::or_dash(d.stream_id.as_deref())) }
                    td.num { (output::or_dash(d.version)) }
                    td { (output::or_dash(d.event_type.as_deref())) }
                    td { (output::or_dash(d.reason.as_deref())) }
                    td.num { (output::or_dash(d.attempts)) }
                    td { (output::or_dash(d.redrive_target.as_ref())) }
                }
            }
        }
    }
}

/// `GET /dead-letters/{id}`: one dead letter with its headers and body.
pub async fn dead_letter(State(ui): State<Ui>, Path(id): Path<String>) -> Response {
    let here = "/dead-letters";
    let Some(queue) = consumer_queue(&ui) else {
        return not_configured(here);
    };
    let found = with_dead_letters(&ui, queue, async |_, dlq| {
        let taken = dlq.take(None).await?;
        taken
            .into_iter()
            .find(|m| m.dead_letter.message_id.as_deref() == Some(id.as_str()))
            .ok_or_else(|| CliError::DeadLetterNotFound {
                id: id.clone(),
                queue: dlq.name().to_owned(),
            })
    })
    .await;
    let message = match found {
        Ok(message) => message,
        Err(error) => return failed(here, &error),
    };
    let pretty = |value: &serde_json::Value| {
        serde_json::to_string_pretty(value).unwrap_or_else(|_| value.to_string())
    };
    let delivery = &message.delivery;
    let body = html! {
        (dead_letter_table(std::slice::from_ref(&message)))
        h2 { "Headers" } pre { (pretty(&broker::headers(&delivery.properties))) }
        h2 { "Properties" } pre { (pretty(&broker::properties(&delivery.properties))) }
        h2 { "Body" } pre { (pretty(&broker::body(&delivery.data))) }
        p { a href="/dead-letters" { "← all dead letters" } }
    };
    page(&format!("Dead letter {id}"), here, None, body).into_response()
}

/// `GET /dead-letters-redrive`: what a redrive would move, and the form
/// that confirms it (only with --allow-writes).
pub async fn confirm_redrive(State(ui): State<Ui>) -> Response {
    let here = "/dead-letters";
    let Some(queue) = consumer_queue(&ui) else {
        return not_configured(here);
    };
    let plan = with_dead_letters(&ui, queue, async |c, dlq| {
        move_back(c, dlq, None, true).await
    })
    .await;
    let plan = match plan {
        Ok(plan) => plan,
        Err(error) => return failed(here, &error),
    };
    let body = html! {
        p { "A redrive moves " (plan.moved.len()) " message(s) of " code { (plan.queue) }
            " back to where they failed, per stream in version order; "
            (plan.skipped.len()) " without a target stay." }
        table {
            tr { th { "MESSAGE ID" } th { "STREAM" } th { "VERSION" } th { "TO" } }
            @for m in &plan.moved {
                tr {
                    td { code { (output::or_dash(m.message_id.as_deref())) } }
                    td { (output::or_dash(m.stream_id.as_deref())) }
                    td.num { (output::or_dash(m.version)) }
                    td { (output::or_dash(m.target.as_ref())) }
                }
            }
        }
        @if ui.allow_writes {
            form method="post" action="/dead-letters-redrive" {
                label { input type="checkbox" name="confirm" value="yes"; " I confirm: move these messages back" }
                " " button type="submit" { "Redrive" }
            }
        } @else {
            p.warn { "Read-only: start es ui with --allow-writes to redrive from here "
                "(or run `es dead-letters redrive --queue " (queue) "`)." }
        }
    };
    page("Redrive dead letters", here, None, body).into_response()
}

/// The redrive form.
#[derive(Debug, serde::Deserialize)]
pub struct RedriveForm {
    /// `yes` when the box was ticked.
    confirm: Option<String>,
}

/// `POST /dead-letters-redrive`: moves the dead letters back, if writes are
/// allowed and the form confirmed it.
pub async fn redrive(State(ui): State<Ui>, Form(form): Form<RedriveForm>) -> Response {
    let here = "/dead-letters";
    if !ui.allow_writes {
        return error_page(
            StatusCode::FORBIDDEN,
            here,
            "es ui is read-only: start it with --allow-writes to redrive",
        );
    }
    if form.confirm.as_deref() != Some("yes") {
        return error_page(
            StatusCode::BAD_REQUEST,
            here,
            "not confirmed: tick the confirmation box to redrive",
        );
    }
    let Some(queue) = consumer_queue(&ui) else {
        return not_configured(here);
    };
    let done = with_dead_letters(&ui, queue, async |c, dlq| {
        move_back(c, dlq, None, false).await
    })
    .await;
    match done {
        Ok(report) => page(
            "Redrive done",
            here,
            None,
            html! {
                p { "Moved " (report.moved.len()) " message(s) of " code { (report.queue) }
                    " back; " (report.skipped.len()) " without a target stayed." }
                p { a href="/dead-letters" { "← dead letters" } }
            },
        )
        .into_response(),
        Err(error) => failed(here, &error),
    }
}

//! The log's pages of `es ui`: the streams (search by id prefix, a page at a
//! time), one stream's history with its metadata and trace ids, and the
//! tail, which refreshes itself every two seconds.

use axum::{
    extract::{Path, Query, State},
    http::StatusCode,
    response::{IntoResponse, Response},
};
use es_core::{EventStore, Position, RecordedEvent, StreamId};
use futures::{StreamExt, TryStreamExt};
use maud::{html, Markup};

use super::{
    layout::{encode, error_page, failed, page},
    State as Ui,
};
use crate::{backend::model::StreamFilter, error::CliError, output, position_arg};

/// Streams per page.
const PAGE: u32 = 50;
/// Events of one stream shown at most.
const STREAM_EVENTS: usize = 1000;
/// Events the tail shows at most.
const TAIL_EVENTS: usize = 200;
/// Seconds between two refreshes of the tail.
const TAIL_REFRESH: u32 = 2;

/// The query of the streams page.
#[derive(Debug, serde::Deserialize)]
pub struct StreamsQuery {
    /// Only streams whose id starts with this.
    q: Option<String>,
    /// Only streams after this id (the previous page's last).
    after: Option<String>,
}

/// `GET /streams`: a page of streams, by id.
pub async fn streams(State(ui): State<Ui>, Query(query): Query<StreamsQuery>) -> Response {
    let prefix = query.q.filter(|q| !q.is_empty());
    let filter = StreamFilter {
        category: None,
        prefix: prefix.clone(),
        after: query.after.clone(),
        limit: PAGE,
    };
    let found = match ui.backend.streams(&filter).await {
        Ok(found) => found,
        Err(error) => return failed("/streams", &error),
    };
    let next = (found.len() == PAGE as usize)
        .then(|| found.last().map(|s| s.stream_id.clone()))
        .flatten();
    let body = html! {
        form method="get" action="/streams" {
            input type="search" name="q" placeholder="stream id starts with…" value=[prefix.as_deref()];
            " " button type="submit" { "Search" }
        }
        @if found.is_empty() {
            p.note { "No stream" @if let Some(p) = &prefix { " starts with " code { (p) } } "." }
        } @else {
            table {
                tr { th { "STREAM" } th { "VERSION" } th { "LAST WRITE" } }
                @for stream in &found {
                    tr {
                        td { a href=(stream_link(&stream.stream_id)) { (stream.stream_id) } }
                        td.num { (stream.version) }
                        td { (output::time(&stream.last_write)) }
                    }
                }
            }
        }
        @if let Some(after) = next {
            p { a href=(next_page_link(prefix.as_deref(), &after)) { "Next page →" } }
        }
    };
    page("Streams", "/streams", None, body).into_response()
}

/// `GET /streams/{id}`: the stream's events with their metadata.
pub async fn stream(State(ui): State<Ui>, Path(id): Path<String>) -> Response {
    let here = "/streams";
    let stream_id = match StreamId::new(id) {
        Ok(id) => id,
        Err(error) => return failed(here, &CliError::StreamId(error)),
    };
    let read = async {
        let version = ui.backend.stream_version(&stream_id).await?;
        if version == 0 {
            let similar = ui
                .backend
                .streams_ending_with(stream_id.as_str(), 5)
                .await?;
            return Err(CliError::StreamNotFound {
                stream: stream_id.clone(),
                similar,
            });
        }
        let events: Vec<RecordedEvent> = ui
            .backend
            .read_stream(&stream_id, 1)
            .take(STREAM_EVENTS)
            .try_collect()
            .await?;
        Ok((version, events))
    };
    let (version, events) = match read.await {
        Ok(read) => read,
        Err(error) => return failed(here, &error),
    };
    let body = html! {
        p { "Version " (version) "; " (events.len()) " event(s) shown." }
        (events_table(&events, false))
    };
    page(stream_id.as_str(), here, None, body).into_response()
}

/// The query of the tail page.
#[derive(Debug, serde::Deserialize)]
pub struct TailQuery {
    /// Show the events after this position (`COMMIT/SEQUENCE`; default: the start).
    from: Option<String>,
}

/// `GET /tail`: the events after a position, refreshed every two seconds.
pub async fn tail(State(ui): State<Ui>, Query(query): Query<TailQuery>) -> Response {
    let here = "/tail";
    let from = match query.from.as_deref().filter(|f| !f.is_empty()) {
        None => Position::START,
        Some(text) => match position_arg::parse_position(text) {
            Ok(position) => position,
            Err(reason) => return error_page(StatusCode::BAD_REQUEST, here, &reason),
        },
    };
    let mut events = match ui.backend.read_all(from, TAIL_EVENTS).await {
        Ok(events) => events,
        Err(error) => return failed(here, &CliError::Store(error)),
    };
    // The newest first: a live tail is read from the top.
    events.reverse();
    let body = html! {
        p.note {
            "The events after " code { (from) } " (at most " (TAIL_EVENTS) ", newest first); "
            "this page refreshes every " (TAIL_REFRESH) " s. "
            @if let Some(last) = events.first() {
                a href={ "/tail?from=" (last.position) } { "Only what comes after the newest" }
            }
        }
        form method="get" action="/tail" {
            input name="from" placeholder="COMMIT/SEQUENCE" value=(from);
            " " button type="submit" { "Follow from there" }
        }
        @if events.is_empty() {
            p { "Nothing yet: new events appear here as they are recorded." }
        } @else {
            (events_table(&events, true))
        }
    };
    page("Tail", here, Some(TAIL_REFRESH), body).into_response()
}

/// The events table of the stream and tail pages (`with_stream`: a column
/// naming each event's stream).
fn events_table(events: &[RecordedEvent], with_stream: bool) -> Markup {
    html! {
        table {
            tr {
                @if with_stream { th { "STREAM" } }
                th { "VERSION" } th { "POSITION" } th { "TYPE" } th { "RECORDED AT" }
                th { "EVENT ID" } th { "TRACE ID" } th { "METADATA" } th { "PAYLOAD" }
            }
            @for event in events {
                tr {
                    @if with_stream {
                        td { a href=(stream_link(event.stream_id.as_str())) { (event.stream_id) } }
                    }
                    td.num { (event.version) }
                    td { (event.position) }
                    td { (event.event_type) " (v" (event.schema_version) ")" }
                    td { (output::time(&event.recorded_at)) }
                    td { code { (event.event_id) } }
                    td { code { (output::or_dash(event.metadata.trace_context.as_ref().map(|t| t.trace_id_hex()))) } }
                    td { code { (crate::commands::events::metadata_line(event)) } }
                    td { code { (output::shorten(&event.payload.to_string(), 200)) } }
                }
            }
        }
    }
}

/// The link to stream `id`'s page.
fn stream_link(id: &str) -> String {
    format!("/streams/{}", encode(id))
}

/// The link to the page of streams after `after` (starting with `prefix`).
fn next_page_link(prefix: Option<&str>, after: &str) -> String {
    let mut link = format!("/streams?after={}", encode(after));
    if let Some(prefix) = prefix {
        link.push_str(&format!("&q={}", encode(prefix)));
    }
    link
}

//! The frame every page of `es ui` shares: title, navigation, a little CSS,
//! and the error page. Pages are plain HTML; a page that follows something
//! live refreshes itself with `<meta http-equiv="refresh">`.

use axum::{
    http::{StatusCode, Uri},
    response::{Html, IntoResponse, Response},
};
use maud::{html, Markup, DOCTYPE};
use percent_encoding::{utf8_percent_encode, AsciiSet, CONTROLS};

use crate::error::CliError;

/// What a path segment or query value of a link must not carry as is.
const UNSAFE: &AsciiSet = &CONTROLS
    .add(b' ')
    .add(b'"')
    .add(b'#')
    .add(b'%')
    .add(b'&')
    .add(b'+')
    .add(b'/')
    .add(b'<')
    .add(b'=')
    .add(b'>')
    .add(b'?')
    .add(b'`')
    .add(b'{')
    .add(b'}');

/// `text` as one path segment or query value of a link.
pub fn encode(text: &str) -> String {
    utf8_percent_encode(text, UNSAFE).to_string()
}

/// The pages of the navigation bar: path and label.
const NAV: [(&str, &str); 6] = [
    ("/streams", "Streams"),
    ("/tail", "Tail"),
    ("/projections", "Projections"),
    ("/relay", "Relay"),
    ("/queues", "Queues"),
    ("/dead-letters", "Dead letters"),
];

const CSS: &str = "\
body{font-family:system-ui,sans-serif;margin:0;color:#1d232a}\
nav{background:#1d3557;padding:.6em 1em}nav a{color:#f1faee;margin-right:1.2em;text-decoration:none}\
nav a.here{font-weight:bold;text-decoration:underline}\
main{padding:1em}table{border-collapse:collapse;margin:.6em 0}\
th,td{border:1px solid #c8ced6;padding:.25em .6em;text-align:left;vertical-align:top;font-size:.9em}\
th{background:#eef1f5}td.num{text-align:right}code,pre{font-family:ui-monospace,monospace;font-size:.85em}\
pre{background:#f6f8fa;padding:.6em;overflow:auto}.warn{background:#fff3cd;padding:.4em .6em;margin:.3em 0}\
.error{background:#f8d7da;padding:.6em}.note{color:#57606a}";

/// A page titled `title`, with `here` marked in the navigation; refreshed
/// every `refresh` seconds when given.
pub fn page(title: &str, here: &str, refresh: Option<u32>, body: Markup) -> Html<String> {
    let markup = html! {
        (DOCTYPE)
        html lang="en" {
            head {
                meta charset="utf-8";
                @if let Some(seconds) = refresh {
                    meta http-equiv="refresh" content=(seconds);
                }
                title { (title) " · es ui" }
                style { (maud::PreEscaped(CSS)) }
            }
            body {
                nav {
                    @for (path, label) in NAV {
                        a href=(path) class=[(path == here).then_some("here")] { (label) }
                    }
                }
                main {
                    h1 { (title) }
                    (body)
                }
            }
        }
    };
    Html(markup.into_string())
}

/// The page for an error: 404 for what does not exist, 403 for a write that
/// is not allowed, 400 for a bad request, 502 for a store or broker that
/// failed.
pub fn error_page(status: StatusCode, here: &str, message: &str) -> Response {
    let body = html! { p.error { (message) } };
    let title = status.canonical_reason().unwrap_or("Error");
    (status, page(title, here, None, body)).into_response()
}

/// The page for a failed command of `es`.
pub fn failed(here: &str, error: &CliError) -> Response {
    let status = match error {
        CliError::StreamNotFound { .. }
        | CliError::DeadLetterNotFound { .. }
        | CliError::QueueNotFound { .. } => StatusCode::NOT_FOUND,
        CliError::Usage(_) | CliError::StreamId(_) => StatusCode::BAD_REQUEST,
        _ => StatusCode::BAD_GATEWAY,
    };
    error_page(
        status,
        here,
        &crate::redact::Redactor::from_process().redact(&error.one_line()),
    )
}

/// Any path the explorer has no page for.
pub async fn not_found(uri: Uri) -> Response {
    error_page(
        StatusCode::NOT_FOUND,
        "",
        &format!("no page at {}", uri.path()),
    )
}

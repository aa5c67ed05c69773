//! The one shape of every HTTP error both services answer: RFC 9457 problem
//! details (`application/problem+json`), so a client parses one body whatever
//! failed: a refused command, an unknown id, or a request the framework
//! turned away (bad JSON, a bad path, a wrong method, an unknown route, a
//! missing content type).
//!
//! Handlers answer [`Problem`]s themselves; [`everywhere`] wraps a whole
//! router so that axum's own rejections (plain text, or an empty body) and
//! requests to unknown routes come out in the same shape, with their status
//! kept. A JSON error body is left alone: `/ready`'s 503 is a readiness
//! report, not a failure of the request.
//!
//! ```json
//! {"type": "about:blank", "title": "Not Found", "status": 404,
//!  "detail": "no booking 0b5e…"}
//! ```

use axum::{
    body::to_bytes,
    extract::rejection::JsonRejection,
    http::{header, HeaderValue, Method, StatusCode, Uri},
    middleware::map_response,
    response::{IntoResponse, Response},
    Router,
};
use serde_json::json;

/// The media type of a problem body.
pub const PROBLEM_JSON: &str = "application/problem+json";

/// The most of a framework error's text body that becomes the problem's
/// `detail` (axum's rejection texts are a line or two).
const MAX_DETAIL_BYTES: usize = 16 * 1024;

/// An HTTP error in RFC 9457 shape: `type` is `about:blank` (the status says
/// what kind of error it is), `title` the status's reason phrase, `detail`
/// what went wrong with this request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Problem {
    /// The HTTP status.
    pub status: StatusCode,
    /// What went wrong, for a person.
    pub detail: String,
}

impl Problem {
    /// A problem with `status` and `detail`.
    pub fn new(status: StatusCode, detail: impl Into<String>) -> Self {
        Self {
            status,
            detail: detail.into(),
        }
    }

    /// The answer to a JSON body axum could not use: 415 without a JSON
    /// content type, 422 for anything else (not JSON, or not the expected
    /// fields), naming what was wrong.
    pub fn bad_body(rejection: &JsonRejection) -> Self {
        let status = match rejection {
            JsonRejection::MissingJsonContentType(_) => StatusCode::UNSUPPORTED_MEDIA_TYPE,
            _ => StatusCode::UNPROCESSABLE_ENTITY,
        };
        Self::new(status, rejection.body_text())
    }
}

impl IntoResponse for Problem {
    fn into_response(self) -> Response {
        let body = json!({
            "type": "about:blank",
            "title": self.status.canonical_reason().unwrap_or("Error"),
            "status": self.status.as_u16(),
            "detail": self.detail,
        });
        (
            self.status,
            [(header::CONTENT_TYPE, HeaderValue::from_static(PROBLEM_JSON))],
            body.to_string(),
        )
            .into_response()
    }
}

/// `router` (with all its routes) with every error answer as a
/// [`Problem`]: unknown routes answer 404, a wrong method 405 (axum adds the
/// `Allow` header), and the framework's plain-text or empty error answers
/// (400 for a bad path, 415, 422, …) are rewritten with their status, their
/// text as the detail.
pub fn everywhere(router: Router) -> Router {
    router
        .method_not_allowed_fallback(wrong_method)
        .fallback(unknown_route)
        .layer(map_response(as_problem))
}

async fn wrong_method(method: Method, uri: Uri) -> Problem {
    Problem::new(
        StatusCode::METHOD_NOT_ALLOWED,
        format!(
            "{method} is not allowed on {} (the Allow header lists what is)",
            uri.path()
        ),
    )
}

async fn unknown_route(method: Method, uri: Uri) -> Problem {
    Problem::new(
        StatusCode::NOT_FOUND,
        format!("no route for {method} {}", uri.path()),
    )
}

/// Rewrites an error answer that is not JSON already as a [`Problem`].
async fn as_problem(response: Response) -> Response {
    let status = response.status();
    let json = response
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|value| value.to_str().ok())
        .is_some_and(|value| value.starts_with("application/") && value.contains("json"));
    if !(status.is_client_error() || status.is_server_error()) || json {
        return response;
    }
    let (parts, body) = response.into_parts();
    let text = to_bytes(body, MAX_DETAIL_BYTES)
        .await
        .map(|bytes| String::from_utf8_lossy(&bytes).trim().to_owned())
        .unwrap_or_default();
    let detail = if text.is_empty() {
        status
            .canonical_reason()
            .unwrap_or("request failed")
            .to_owned()
    } else {
        text
    };
    let mut problem = Problem::new(status, detail).into_response();
    // Whatever else the answer said (`Allow`, `Retry-After`) still holds.
    for (name, value) in &parts.headers {
        if name != header::CONTENT_TYPE && name != header::CONTENT_LENGTH {
            problem.headers_mut().insert(name.clone(), value.clone());
        }
    }
    problem
}

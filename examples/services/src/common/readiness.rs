//! `GET /ready` for the `serve` commands: is this instance fit to take work?
//!
//! `/health` answers whether the process runs (liveness); `/ready` whether
//! its dependencies answer and it keeps up: each check (a database ping, the
//! broker, lag under its threshold) passes or names why not. 200 with every
//! check when all pass, 503 with the same JSON when one fails.

use std::{future::Future, time::Duration};

use axum::{http::StatusCode, routing::get, Json, Router};
use es_telemetry::Lag;
use serde_json::{json, Value};

/// How long one check may take before it counts as failed.
pub const CHECK_TIMEOUT: Duration = Duration::from_secs(2);

/// The lag above which a `serve` command reports itself not ready.
#[derive(Debug, Clone, Copy, clap::Args)]
pub struct ReadinessArgs {
    /// Not ready while a follower (projector, relay) is more events behind.
    #[arg(long, env = "READY_MAX_LAG_EVENTS", default_value_t = 10_000)]
    pub ready_max_lag_events: u64,
    /// Not ready while a follower's oldest unapplied event is older (seconds).
    #[arg(long, env = "READY_MAX_LAG_SECONDS", default_value_t = 60.0)]
    pub ready_max_lag_seconds: f64,
}

/// The outcome of one readiness check.
#[derive(Debug, Clone)]
pub struct Check {
    /// What was checked (`event_store`, `broker`, `projection_lag`, …).
    pub name: &'static str,
    /// `Err` with the reason when the check failed.
    pub outcome: Result<(), String>,
}

impl Check {
    /// Runs `probe` as the check `name`, failing it after [`CHECK_TIMEOUT`].
    pub async fn run<E: std::fmt::Display>(
        name: &'static str,
        probe: impl Future<Output = Result<(), E>>,
    ) -> Self {
        let outcome = match tokio::time::timeout(CHECK_TIMEOUT, probe).await {
            Ok(Ok(())) => Ok(()),
            Ok(Err(error)) => Err(error.to_string()),
            Err(_) => Err(format!("no answer within {CHECK_TIMEOUT:?}")),
        };
        Self { name, outcome }
    }

    /// The check `name` of a measured `lag` against the `limits`.
    pub fn lag(name: &'static str, lag: Result<Lag, String>, limits: &ReadinessArgs) -> Self {
        let outcome = lag.and_then(|lag| {
            if lag.events > limits.ready_max_lag_events {
                Err(format!(
                    "{} events behind, over the limit of {}",
                    lag.events, limits.ready_max_lag_events
                ))
            } else if lag.seconds > limits.ready_max_lag_seconds {
                Err(format!(
                    "{:.1} s behind, over the limit of {} s",
                    lag.seconds, limits.ready_max_lag_seconds
                ))
            } else {
                Ok(())
            }
        });
        Self { name, outcome }
    }
}

/// The answer to `GET /ready` for `checks`: 200 when all passed, else 503;
/// the body lists every check and, for a failed one, its reason.
pub fn answer(service: &str, checks: &[Check]) -> (StatusCode, Json<Value>) {
    let ready = checks.iter().all(|check| check.outcome.is_ok());
    let details: serde_json::Map<String, Value> = checks
        .iter()
        .map(|check| {
            let value = match &check.outcome {
                Ok(()) => json!({ "ok": true }),
                Err(reason) => json!({ "ok": false, "reason": reason }),
            };
            (check.name.to_owned(), value)
        })
        .collect();
    let status = if ready {
        StatusCode::OK
    } else {
        StatusCode::SERVICE_UNAVAILABLE
    };
    let body = json!({
        "status": if ready { "ready" } else { "not ready" },
        "service": service,
        "checks": details,
    });
    (status, Json(body))
}

/// The `GET /ready` route of `service`, running `checks` on every request.
pub fn routes<F, Fut>(service: &'static str, checks: F) -> Router
where
    F: Fn() -> Fut + Clone + Send + Sync + 'static,
    Fut: Future<Output = Vec<Check>> + Send,
{
    Router::new().route(
        "/ready",
        get(move || {
            let checks = checks.clone();
            async move { answer(service, &checks().await) }
        }),
    )
}

/// Runs `work`, failing it after [`CHECK_TIMEOUT`] (for measurements that
/// feed both a gauge and a check).
pub async fn within_timeout<T>(work: impl Future<Output = Result<T, String>>) -> Result<T, String> {
    tokio::time::timeout(CHECK_TIMEOUT, work)
        .await
        .unwrap_or_else(|_| Err(format!("no answer within {CHECK_TIMEOUT:?}")))
}

/// Whether the broker at `url` accepts a connection (opened and closed).
pub async fn ping_broker(url: &str) -> Result<(), es_amqp::lapin::Error> {
    let connection =
        es_amqp::lapin::Connection::connect(url, es_amqp::lapin::ConnectionProperties::default())
            .await?;
    let _ = connection.close(200, "readiness probe".into()).await;
    Ok(())
}

//! `GET /health` for the `serve` commands, on axum.
//!
//! The listener is bound before the service reports itself started, so a
//! port in use is a clear start-up error rather than a silent failure, and a
//! successful answer means the service's workers are running. Workers that
//! run under a lease (one instance at a time) report their role, and a
//! worker stuck with work in hand makes the answer 503.

use std::net::{Ipv4Addr, SocketAddr};

use axum::{http::StatusCode, routing::get, Json, Router};
use tokio::net::TcpListener;

use super::worker_status::WorkerStatus;
#[cfg(doc)]
use es_lease::Role;

/// The health endpoint could not listen.
#[derive(Debug, thiserror::Error)]
#[error("cannot listen for /health on {address}: {source}")]
pub struct HealthError {
    /// The address.
    pub address: SocketAddr,
    /// What the OS said.
    #[source]
    pub source: std::io::Error,
}

/// Binds `0.0.0.0:port` for the health endpoint of `service`.
pub async fn bind(port: u16) -> Result<TcpListener, HealthError> {
    let address = SocketAddr::from((Ipv4Addr::UNSPECIFIED, port));
    TcpListener::bind(address)
        .await
        .map_err(|source| HealthError { address, source })
}

/// Answers `GET /health` (can this process work?) with
/// `{"status":"ok","service":…,"workers":{name: role},"stuck":{name: reason}}`:
/// each worker's current [`Role`] (`leader`, `standby`, `deposed` or
/// `stopped`), and 503 with `"status":"stuck"` while a worker leads but has
/// had work in hand without progress past its stall timeout, or sits out
/// after being deposed for that (see [`WorkerStatus::check`]). The `routes`
/// (`/ready`, `/metrics`) are served beside it, every error answer as a
/// problem ([`super::problem`]), until the task is dropped.
pub async fn serve(
    listener: TcpListener,
    service: &'static str,
    workers: Vec<WorkerStatus>,
    routes: Router,
) -> std::io::Result<()> {
    serve_listing(listener, service, workers, Vec::new, routes).await
}

/// [`serve`] for a process of a consumer group: beside its `workers`,
/// `/health` lists each partition queue `partitions` names with this
/// process's role on it (`preferred`, `standby`, or `unsubscribed` while it
/// holds no subscription to it).
pub async fn serve_with_partitions<P>(
    listener: TcpListener,
    service: &'static str,
    workers: Vec<WorkerStatus>,
    partitions: P,
    routes: Router,
) -> std::io::Result<()>
where
    P: Fn() -> Vec<(String, &'static str)> + Clone + Send + Sync + 'static,
{
    serve_listing(listener, service, workers, partitions, routes).await
}

async fn serve_listing<P>(
    listener: TcpListener,
    service: &'static str,
    workers: Vec<WorkerStatus>,
    partitions: P,
    routes: Router,
) -> std::io::Result<()>
where
    P: Fn() -> Vec<(String, &'static str)> + Clone + Send + Sync + 'static,
{
    let app = Router::new()
        .route(
            "/health",
            get(move || {
                let answer = answer(service, &workers, partitions());
                async move { answer }
            }),
        )
        .merge(routes);
    axum::serve(listener, super::problem::everywhere(app)).await
}

/// The answer to `GET /health` for `workers` and `partitions`.
fn answer(
    service: &str,
    workers: &[WorkerStatus],
    partitions: Vec<(String, &'static str)>,
) -> (StatusCode, Json<serde_json::Value>) {
    let roles: serde_json::Map<String, serde_json::Value> = workers
        .iter()
        .map(|worker| (worker.name.to_owned(), worker.role().into()))
        .chain(
            partitions
                .into_iter()
                .map(|(queue, role)| (queue, role.into())),
        )
        .collect();
    let stuck: serde_json::Map<String, serde_json::Value> = workers
        .iter()
        .filter_map(|worker| Some((worker.name.to_owned(), worker.check().err()?.into())))
        .collect();
    let status = if stuck.is_empty() {
        StatusCode::OK
    } else {
        StatusCode::SERVICE_UNAVAILABLE
    };
    let body = serde_json::json!({
        "status": if stuck.is_empty() { "ok" } else { "stuck" },
        "service": service,
        "workers": roles,
        "stuck": stuck,
    });
    (status, Json(body))
}

//! `GET /health` for the `serve` commands, on axum.
//!
//! The listener is bound before the service reports itself started, so a
//! port in use is a clear start-up error rather than a silent failure, and a
//! successful answer means the service's workers are running. Workers that
//! run under a lease (one instance at a time) report their role.

use std::net::{Ipv4Addr, SocketAddr};

use axum::{routing::get, Json, Router};
use es_lease::Role;
use tokio::{net::TcpListener, sync::watch};

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

/// One worker's role for `/health`: its lease name and its role channel.
pub type WorkerRole = (&'static str, watch::Receiver<Role>);

/// Answers `GET /health` (liveness) with
/// `{"status":"ok","service":…,"workers":{name: role}}` (each worker's current
/// [`Role`]: `leader`, `standby` or `stopped`), and the `routes` beside it
/// (`/ready`, `/metrics`), every error answer as a problem
/// ([`super::problem`]), until the task is dropped.
pub async fn serve(
    listener: TcpListener,
    service: &'static str,
    workers: Vec<WorkerRole>,
    routes: Router,
) -> std::io::Result<()> {
    let app = Router::new()
        .route(
            "/health",
            get(move || {
                let roles: serde_json::Map<String, serde_json::Value> = workers
                    .iter()
                    .map(|(name, role)| ((*name).to_owned(), role.borrow().as_str().into()))
                    .collect();
                async move {
                    Json(
                        serde_json::json!({ "status": "ok", "service": service, "workers": roles }),
                    )
                }
            }),
        )
        .merge(routes);
    axum::serve(listener, super::problem::everywhere(app)).await
}

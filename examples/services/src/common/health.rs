//! `GET /health` for the `serve` commands, on axum.
//!
//! The listener is bound before the service reports itself started, so a
//! port in use is a clear start-up error rather than a silent failure, and a
//! successful answer means the service's workers are running.

use std::net::{Ipv4Addr, SocketAddr};

use axum::{routing::get, Json, Router};
use tokio::net::TcpListener;

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

/// Answers `GET /health` with `{"status":"ok","service":…}` (liveness), and
/// the `routes` beside it (`/ready`, `/metrics`), until the task is dropped.
pub async fn serve(
    listener: TcpListener,
    service: &'static str,
    routes: Router,
) -> std::io::Result<()> {
    let app =
        Router::new()
            .route(
                "/health",
                get(move || async move {
                    Json(serde_json::json!({ "status": "ok", "service": service }))
                }),
            )
            .merge(routes);
    axum::serve(listener, app).await
}

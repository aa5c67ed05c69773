//! `GET /metrics` for the `serve` commands: the es-* crates' metrics (names
//! in `es_telemetry::metrics`) in Prometheus text format, rendered into the
//! service's own axum server rather than a second listener.

use std::sync::OnceLock;

use axum::{routing::get, Router};
use metrics_exporter_prometheus::{PrometheusBuilder, PrometheusHandle};

/// The process's Prometheus recorder, installed on first use.
static HANDLE: OnceLock<Option<PrometheusHandle>> = OnceLock::new();

/// Installs the Prometheus recorder (once per process) and returns its
/// handle, or `None` if another recorder was installed first.
pub fn install() -> Option<PrometheusHandle> {
    HANDLE
        .get_or_init(|| match PrometheusBuilder::new().install_recorder() {
            Ok(handle) => Some(handle),
            Err(error) => {
                tracing::warn!(%error, "cannot install the Prometheus recorder: /metrics stays empty");
                None
            }
        })
        .clone()
}

/// The `GET /metrics` route. `sample` runs before each rendering, so gauges
/// that are measured rather than pushed (lag) are fresh in every scrape.
pub fn routes<F, Fut>(sample: F) -> Router
where
    F: Fn() -> Fut + Clone + Send + Sync + 'static,
    Fut: std::future::Future<Output = ()> + Send,
{
    let handle = install();
    Router::new().route(
        "/metrics",
        get(move || {
            let handle = handle.clone();
            let sample = sample.clone();
            async move {
                sample().await;
                handle.map(|handle| handle.render()).unwrap_or_default()
            }
        }),
    )
}

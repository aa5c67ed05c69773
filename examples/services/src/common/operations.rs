//! The operations endpoints of every `serve` command beside `/health`:
//! `GET /metrics` (sampled on each scrape) and `GET /ready` (checked on each
//! request), wired once for any service that says how to sample and what to
//! check through a [`Probe`].

use std::future::Future;

use axum::Router;

use super::{
    metrics_endpoint,
    readiness::{self, Check},
};

/// What a service measures for `/metrics` and checks for `/ready`.
pub trait Probe: Clone + Send + Sync + 'static {
    /// Records the gauges that are measured rather than pushed (lag, the
    /// consumer's subscriptions), so every scrape shows them fresh.
    fn sample(&self) -> impl Future<Output = ()> + Send;

    /// Runs the readiness checks.
    fn checks(&self) -> impl Future<Output = Vec<Check>> + Send;
}

/// The `/metrics` and `/ready` routes of `service`, driven by `probe`.
pub fn routes<P: Probe>(service: &'static str, probe: P) -> Router {
    let sampled = probe.clone();
    metrics_endpoint::routes(move || {
        let probe = sampled.clone();
        async move { probe.sample().await }
    })
    .merge(readiness::routes(service, move || {
        let probe = probe.clone();
        async move { probe.checks().await }
    }))
}

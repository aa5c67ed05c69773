//! What `booking serve` shows operators beside `/health`: `GET /metrics`
//! (with the projector's and the relay's lag sampled on each scrape) and
//! `GET /ready` (both databases, the broker, and lag under its limits).

use axum::Router;
use es_core::{Position, Projection};
use es_postgres::{sqlx, PostgresCheckpoints, PostgresStore, PostgresTransaction};
use es_telemetry::{metrics, Lag};
use tokio::sync::watch;

use super::{serve::RELAY_NAME, service::BookingService};
use crate::common::{
    operations,
    readiness::{self, within_timeout, Check, ReadinessArgs},
};

/// What the operations endpoints look at.
#[derive(Clone)]
struct Probe {
    store: PostgresStore,
    checkpoints: PostgresCheckpoints,
    projection: String,
    projection_progress: watch::Receiver<Position>,
    relay_saved: watch::Receiver<Position>,
    amqp_url: String,
    limits: ReadinessArgs,
}

/// The `/metrics` and `/ready` routes of `booking serve`.
pub fn routes(
    service: &BookingService<PostgresStore, PostgresCheckpoints>,
    store: &PostgresStore,
    relay_saved: watch::Receiver<Position>,
    amqp_url: &str,
    limits: ReadinessArgs,
) -> Router {
    let probe = Probe {
        store: store.clone(),
        checkpoints: service.projector().checkpoints().clone(),
        projection: Projection::<PostgresTransaction>::name(service.projector().projection())
            .to_owned(),
        projection_progress: service.projector().progress(),
        relay_saved,
        amqp_url: amqp_url.to_owned(),
        limits,
    };
    operations::routes("booking", probe)
}

impl Probe {
    /// The projector's lag: the log after the checkpoint this instance's
    /// projector last committed (so a stalled projector database still
    /// shows as lag).
    async fn projection_lag(&self) -> Result<Lag, String> {
        self.lag_after(&self.projection_progress).await
    }

    /// The relay's lag (after its last saved checkpoint).
    async fn relay_lag(&self) -> Result<Lag, String> {
        self.lag_after(&self.relay_saved).await
    }

    async fn lag_after(&self, checkpoint: &watch::Receiver<Position>) -> Result<Lag, String> {
        let checkpoint = *checkpoint.borrow();
        within_timeout(async {
            self.store
                .lag_after(checkpoint)
                .await
                .map_err(|error| error.to_string())
        })
        .await
    }
}

impl operations::Probe for Probe {
    /// Measures the lag gauges and the horizon's age (skipping what does
    /// not answer: the scrape still shows the counters).
    async fn sample(&self) {
        if let Ok(lag) = self.projection_lag().await {
            metrics::projection_lag(&self.projection, lag);
        }
        if let Ok(lag) = self.relay_lag().await {
            metrics::relay_lag(RELAY_NAME, lag);
        }
        // Records its own gauge.
        let _ = within_timeout(async {
            self.store
                .horizon_age()
                .await
                .map_err(|error| error.to_string())
        })
        .await;
    }

    async fn checks(&self) -> Vec<Check> {
        vec![
            Check::run("event_store", self.store.ping()).await,
            Check::run("projector_database", async {
                sqlx::query("SELECT 1")
                    .execute(self.checkpoints.pool())
                    .await
                    .map(|_| ())
            })
            .await,
            Check::run("broker", readiness::ping_broker(&self.amqp_url)).await,
            Check::lag("projection_lag", self.projection_lag().await, &self.limits),
            Check::lag("relay_lag", self.relay_lag().await, &self.limits),
        ]
    }
}

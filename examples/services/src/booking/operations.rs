//! What `booking serve` shows operators beside `/health`: `GET /metrics`
//! (with the projector's and the relay's lag sampled on each scrape) and
//! `GET /ready` (both databases, the broker, lag under its limits, and no
//! worker stuck). Lag is measured from the shared checkpoints, so a healthy
//! standby is ready and shows the leader's lag.

use axum::Router;
use es_core::{CheckpointStore, Position, Projection};
use es_postgres::{sqlx, PostgresCheckpoints, PostgresStore, PostgresTransaction};
use es_telemetry::{metrics, Lag};
use tokio::sync::watch;

use super::{serve::RELAY_NAME, service::BookingService};
use crate::common::{
    operations,
    readiness::{self, within_timeout, Check, ReadinessArgs},
    worker_status::{self, WorkerStatus},
};

/// What the operations endpoints look at.
#[derive(Clone)]
struct Probe {
    store: PostgresStore,
    checkpoints: PostgresCheckpoints,
    projection: String,
    projection_progress: watch::Receiver<Position>,
    relay_saved: watch::Receiver<Position>,
    relay_checkpoints: PostgresCheckpoints,
    workers: Vec<WorkerStatus>,
    amqp_url: String,
    limits: ReadinessArgs,
}

/// The `/metrics` and `/ready` routes of `booking serve`.
pub fn routes(
    service: &BookingService<PostgresStore, PostgresCheckpoints>,
    store: &PostgresStore,
    relay_saved: watch::Receiver<Position>,
    workers: Vec<WorkerStatus>,
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
        relay_checkpoints: store.checkpoints(),
        workers,
        amqp_url: amqp_url.to_owned(),
        limits,
    };
    operations::routes("booking", probe)
}

impl Probe {
    /// The projector's lag: the log after the shared checkpoint (the one
    /// in the projector database, which whichever instance leads moves), so
    /// a standby reports the leader's lag, not its own never-advanced
    /// position. A projector database that does not answer fails the
    /// measurement.
    async fn projection_lag(&self) -> Result<Lag, String> {
        self.lag_after(
            &self.checkpoints,
            &self.projection,
            &self.projection_progress,
        )
        .await
    }

    /// The relay's lag, after its shared checkpoint in the event store
    /// database.
    async fn relay_lag(&self) -> Result<Lag, String> {
        self.lag_after(&self.relay_checkpoints, RELAY_NAME, &self.relay_saved)
            .await
    }

    /// The log after the checkpoint `name` stored in `checkpoints`, or the
    /// one this instance saw committed if that is further. When the stored
    /// one cannot be read within the check timeout (its database does not
    /// answer: a readiness check names that), the lag is measured from what
    /// this instance saw, as a lower bound of the truth's position.
    async fn lag_after(
        &self,
        checkpoints: &PostgresCheckpoints,
        name: &str,
        seen: &watch::Receiver<Position>,
    ) -> Result<Lag, String> {
        let seen = *seen.borrow();
        let shared = within_timeout(async {
            checkpoints
                .load_checkpoint(name)
                .await
                .map_err(|error| error.to_string())
        })
        .await;
        let from = match shared {
            Ok(shared) => shared.max(seen),
            Err(error) => {
                tracing::debug!(checkpoint = name, %error, "cannot read the shared checkpoint; lag from this instance's");
                seen
            }
        };
        within_timeout(async {
            self.store
                .lag_after(from)
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
            Check {
                name: "workers",
                outcome: worker_status::check_all(&self.workers),
            },
        ]
    }
}

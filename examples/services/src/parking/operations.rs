//! What `parking serve` shows operators beside `/health`: `GET /metrics`
//! (the consumer's counters from es-amqp, and this process's subscription to
//! each partition, sampled on each scrape) and `GET /ready` (Parking's
//! SQLite database, the broker, the consumer group holding its preferred
//! partitions, and a handler that is not stuck).

use axum::Router;
use es_amqp::{ConsumerGroup, Handler};
use es_telemetry::metrics;

use crate::common::{
    operations,
    readiness::{self, Check},
    worker_status::{self, WorkerStatus},
};

/// What the operations endpoints look at.
struct Probe<H> {
    pool: sqlx::SqlitePool,
    group: ConsumerGroup<H>,
    workers: Vec<WorkerStatus>,
    amqp_url: String,
}

impl<H> Clone for Probe<H> {
    fn clone(&self) -> Self {
        Self {
            pool: self.pool.clone(),
            group: self.group.clone(),
            workers: self.workers.clone(),
            amqp_url: self.amqp_url.clone(),
        }
    }
}

/// The `/metrics` and `/ready` routes of `parking serve`, for the consumer
/// `group` writing to `pool`'s database.
pub fn routes<H: Handler + 'static>(
    pool: sqlx::SqlitePool,
    group: &ConsumerGroup<H>,
    workers: Vec<WorkerStatus>,
    amqp_url: &str,
) -> Router {
    operations::routes(
        "parking",
        Probe {
            pool,
            group: group.clone(),
            workers,
            amqp_url: amqp_url.to_owned(),
        },
    )
}

impl<H: Handler + 'static> Probe<H> {
    /// Whether every partition this process prefers has a subscription.
    fn consumer_group(&self) -> Result<(), String> {
        let missing: Vec<String> = self
            .group
            .partition_states()
            .into_iter()
            .filter(|state| state.preferred && !state.subscribed)
            .map(|state| state.queue)
            .collect();
        if missing.is_empty() {
            Ok(())
        } else {
            Err(format!("not consuming {}", missing.join(", ")))
        }
    }
}

impl<H: Handler + 'static> operations::Probe for Probe<H> {
    async fn sample(&self) {
        for state in self.group.partition_states() {
            metrics::consumer_subscribed(&state.queue, state.role(), state.subscribed);
        }
    }

    async fn checks(&self) -> Vec<Check> {
        vec![
            Check::run("parking_database", async {
                sqlx::query("SELECT 1")
                    .execute(&self.pool)
                    .await
                    .map(|_| ())
            })
            .await,
            Check::run("broker", readiness::ping_broker(&self.amqp_url)).await,
            Check {
                name: "consumer_group",
                outcome: self.consumer_group(),
            },
            Check {
                name: "workers",
                outcome: worker_status::check_all(&self.workers),
            },
        ]
    }
}

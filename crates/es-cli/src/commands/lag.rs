//! How far a checkpoint is behind the head of the log, and who works on it.
//!
//! Projections and relays keep their checkpoints in the same table, and
//! both `es projections` and `es relay status` report the same two numbers:
//! the events after the checkpoint, and how long the first of them has
//! waited (now minus its `recorded_at`; none when caught up), with the
//! holder of the lease named after the checkpoint (the instance running that
//! worker), if any.

use chrono::{DateTime, Utc};
use es_core::Position;
use es_lease::LeaseHolder;
use serde::Serialize;

use crate::{
    backend::{
        model::{Checkpoint, StoredIn},
        Backend,
    },
    error::CliError,
    output,
};

/// A checkpoint and its lag.
#[derive(Debug, Clone, Serialize)]
pub struct CheckpointLag {
    /// The projection or relay name.
    pub name: String,
    /// Its checkpoint: the last event it processed.
    pub position: Position,
    /// Which database keeps it: beside the log, or the checkpoint database.
    pub stored_in: StoredIn,
    /// Events after the checkpoint.
    pub events_behind: u64,
    /// Seconds the first unprocessed event has waited (`None` when caught up).
    pub seconds_behind: Option<f64>,
    /// When the first unprocessed event was recorded.
    pub first_unprocessed_at: Option<DateTime<Utc>>,
    /// Who holds the lease named after the checkpoint (`None`: nobody).
    pub holder: Option<LeaseHolder>,
}

impl CheckpointLag {
    /// Measures `checkpoint` against the store's log.
    pub async fn measure(backend: &Backend, checkpoint: Checkpoint) -> Result<Self, CliError> {
        let backlog = backend.backlog(checkpoint.position).await?;
        let holder = backend.lease_holder(&checkpoint.name).await?;
        Ok(Self {
            name: checkpoint.name,
            position: checkpoint.position,
            stored_in: checkpoint.stored_in,
            events_behind: backlog.events,
            seconds_behind: backlog.oldest_recorded_at.as_ref().map(output::age_seconds),
            first_unprocessed_at: backlog.oldest_recorded_at,
            holder,
        })
    }

    /// Measures each of `checkpoints`.
    pub async fn measure_all(
        backend: &Backend,
        checkpoints: Vec<Checkpoint>,
    ) -> Result<Vec<Self>, CliError> {
        let mut lags = Vec::with_capacity(checkpoints.len());
        for checkpoint in checkpoints {
            lags.push(Self::measure(backend, checkpoint).await?);
        }
        Ok(lags)
    }
}

/// The holder column of both lag reports: the holder and its session or
/// expiry, `-` when nobody holds the lease.
pub fn holder_cell(lag: &CheckpointLag) -> String {
    output::or_dash(lag.holder.as_ref())
}

/// The "head of the log" line both lag reports print.
pub fn head_line(head: Option<&crate::backend::model::Head>) -> String {
    match head {
        Some(head) => format!(
            "head of the log: {} (recorded {})",
            head.position,
            output::time(&head.recorded_at)
        ),
        None => "head of the log: the log is empty".to_owned(),
    }
}

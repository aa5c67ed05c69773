//! `es projections`: every checkpoint and how far behind it is.
//!
//! Lag is counted in events (how many lie after the checkpoint) and in
//! seconds (how long the first of them has waited). The lease holder column
//! is there for the leases being built elsewhere; until then it shows `-`.

use clap::Args;
use serde::Serialize;

use crate::{
    backend::{model::Head, Backend},
    commands::lag::{head_line, CheckpointLag},
    error::CliError,
    output::{self, Printer, Report},
};

/// Flags of `es projections` (none yet).
#[derive(Debug, Args)]
pub struct ProjectionsArgs {}

/// One projection's row.
#[derive(Debug, Serialize)]
pub struct ProjectionRow {
    /// Its checkpoint and lag.
    #[serde(flatten)]
    pub lag: CheckpointLag,
    /// Who holds its lease (not tracked yet: always `None`).
    pub lease_holder: Option<String>,
}

/// What `es projections` prints.
#[derive(Debug, Serialize)]
pub struct ProjectionsReport {
    /// The last event of the log.
    pub head: Option<Head>,
    /// Every checkpoint, by name.
    pub projections: Vec<ProjectionRow>,
}

impl Report for ProjectionsReport {
    fn human(&self) -> String {
        let rows = self.projections.iter().map(|p| {
            [
                p.lag.name.clone(),
                p.lag.position.to_string(),
                p.lag.events_behind.to_string(),
                output::seconds(p.lag.seconds_behind),
                output::or_dash(p.lease_holder.as_deref()),
            ]
        });
        let table = output::table(
            &[
                "NAME",
                "CHECKPOINT",
                "LAG (EVENTS)",
                "LAG (SECONDS)",
                "LEASE HOLDER",
            ],
            rows,
        );
        format!("{table}\n{}", head_line(self.head.as_ref()))
    }
}

/// Runs `es projections`.
pub async fn run(_: ProjectionsArgs, backend: &Backend, printer: Printer) -> Result<(), CliError> {
    let head = backend.head().await?;
    let lags = CheckpointLag::measure_all(backend, backend.checkpoints().await?).await?;
    printer.print(&ProjectionsReport {
        head,
        projections: lags
            .into_iter()
            .map(|lag| ProjectionRow {
                lag,
                lease_holder: None,
            })
            .collect(),
    })
}

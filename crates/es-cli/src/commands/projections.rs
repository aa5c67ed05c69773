//! `es projections`: every checkpoint and how far behind it is.
//!
//! Lag is counted in events (how many lie after the checkpoint) and in
//! seconds (how long the first of them has waited), and who holds the lease
//! named after it: the instance running that projection (`-`: nobody, so
//! no instance is applying events to it right now).

use clap::Args;
use serde::Serialize;

use crate::{
    backend::{model::Head, Backend},
    commands::lag::{head_line, holder_cell, CheckpointLag},
    error::CliError,
    output::{self, Printer, Report},
};

/// Flags of `es projections` (none yet).
#[derive(Debug, Args)]
pub struct ProjectionsArgs {}

/// What `es projections` prints.
#[derive(Debug, Serialize)]
pub struct ProjectionsReport {
    /// The last event of the log.
    pub head: Option<Head>,
    /// Every checkpoint, by name, with its lag and lease holder.
    pub projections: Vec<CheckpointLag>,
}

impl Report for ProjectionsReport {
    fn human(&self) -> String {
        let rows = self.projections.iter().map(|p| {
            [
                p.name.clone(),
                p.position.to_string(),
                p.events_behind.to_string(),
                output::seconds(p.seconds_behind),
                holder_cell(p),
            ]
        });
        let table = output::table(
            &[
                "NAME",
                "CHECKPOINT",
                "LAG (EVENTS)",
                "LAG (SECONDS)",
                "HOLDER",
            ],
            rows,
        );
        format!("{table}\n{}", head_line(self.head.as_ref()))
    }
}

/// Runs `es projections`.
pub async fn run(_: ProjectionsArgs, backend: &Backend, printer: Printer) -> Result<(), CliError> {
    let head = backend.head().await?;
    let projections = CheckpointLag::measure_all(backend, backend.checkpoints().await?).await?;
    printer.print(&ProjectionsReport { head, projections })
}

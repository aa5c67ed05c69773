//! `es projection watch NAME`: follows a checkpoint's catch-up from outside.
//!
//! A projection catching up after downtime, or rebuilt after `es projection
//! reset`, runs in some service; an operator wants to see it move and know
//! when it will be done without access to that service's terminal. This
//! command looks at the checkpoint and the log every `--interval`: events
//! done since it started watching, events still after the checkpoint, the
//! rate and the time left (computed by es-core's `CatchUpMeter`), drawn as a
//! bar on a terminal or as a line every `--log-every` otherwise (es-progress,
//! on stderr). It exits 0 once the checkpoint has reached the head of the
//! log, or on Ctrl-C, printing the last look as one line on stdout. With
//! `--json` it prints one JSON line per look instead.

use std::time::{Duration, Instant};

use clap::Args;
use es_core::projection::{CatchUpMeter, CatchUpProgress};
use es_core::Position;
use es_progress::ProgressView;
use serde::Serialize;

use crate::{
    backend::Backend,
    cli::parse_seconds,
    error::CliError,
    output::{Printer, Report},
};

/// Flags of `es projection watch`.
#[derive(Debug, Args)]
pub struct ProjectionWatchArgs {
    /// The checkpoint to follow (`es projections` lists them).
    pub name: String,
    /// Seconds between two looks at the checkpoint.
    #[arg(long, default_value = "1", value_parser = parse_seconds)]
    pub interval: Duration,
    /// Seconds between two progress lines when stderr is not a terminal.
    #[arg(long, default_value = "5", value_parser = parse_seconds)]
    pub log_every: Duration,
}

/// One look at the checkpoint.
#[derive(Debug, Serialize)]
pub struct WatchSample {
    /// The checkpoint's name.
    pub name: String,
    /// Where the checkpoint is.
    pub position: Position,
    /// Events it moved past since watching started.
    pub done: u64,
    /// Events still after it.
    pub remaining: u64,
    /// Events per second since watching started (`None` before any moved).
    pub events_per_second: Option<f64>,
    /// Seconds left at that rate (`None` while unknown).
    pub seconds_left: Option<f64>,
    /// Whether the checkpoint has reached the head of the log.
    pub caught_up: bool,
    #[serde(skip)]
    progress: CatchUpProgress,
}

impl WatchSample {
    fn new(name: &str, progress: CatchUpProgress) -> Self {
        Self {
            name: name.to_owned(),
            position: progress.position,
            done: progress.done,
            remaining: progress.remaining().unwrap_or(0),
            events_per_second: progress.rate(),
            seconds_left: progress.time_left().map(|left| left.as_secs_f64()),
            caught_up: progress.caught_up,
            progress,
        }
    }
}

impl Report for WatchSample {
    fn human(&self) -> String {
        es_progress::line(&self.name, &self.progress)
    }
}

/// Runs `es projection watch`.
pub async fn run(
    args: ProjectionWatchArgs,
    backend: &Backend,
    printer: Printer,
) -> Result<(), CliError> {
    let start = backend.checkpoint(&args.name).await?.position;
    let behind_at_start = backend.backlog(start).await?.events;
    let mut meter = CatchUpMeter::start(start, Some(behind_at_start), Instant::now());
    let mut view =
        (!printer.is_json()).then(|| ProgressView::for_stderr(&args.name, args.log_every));
    let ctrl_c = tokio::signal::ctrl_c();
    tokio::pin!(ctrl_c);
    loop {
        let position = backend.checkpoint(&args.name).await?.position;
        let remaining = backend.backlog(position).await?.events;
        // Events between the start and the checkpoint, counted now: appends
        // since the start count as remaining, not as done.
        let done = backend
            .backlog(start)
            .await?
            .events
            .saturating_sub(remaining);
        meter.observe(done, remaining, position);
        let sample = WatchSample::new(&args.name, meter.progress(Instant::now()));
        let caught_up = sample.caught_up;
        match &mut view {
            Some(view) if caught_up => {
                view.finish(&sample.progress);
                return printer.item(&sample);
            }
            Some(view) => view.show(&sample.progress),
            None => printer.item(&sample)?,
        }
        if caught_up {
            return Ok(());
        }
        tokio::select! {
            signal = &mut ctrl_c => {
                signal.map_err(CliError::Signal)?;
                if let Some(view) = &mut view {
                    view.finish(&sample.progress);
                    printer.item(&sample)?;
                }
                return Ok(());
            }
            () = tokio::time::sleep(args.interval) => {}
        }
    }
}

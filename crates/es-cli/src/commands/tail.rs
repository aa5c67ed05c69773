//! `es tail`: follow the global log live.
//!
//! An es-core `Subscription` over the store: history first, then live events
//! as they commit, through the same gap-safe read the projections use (so
//! `tail` shows events in exactly the order a projection gets them). Runs
//! until Ctrl-C or `--count` matching events.

use std::time::Duration;

use clap::Args;
use es_core::{Position, RecordedEvent, Subscription};
use serde::Serialize;

use crate::{
    backend::Backend,
    commands::events::metadata_line,
    error::CliError,
    output::{self, Printer, Report},
    position_arg::parse_position,
};

/// How often the subscription looks for new events when no notification
/// arrives (SQLite cannot notify other processes).
const POLL_INTERVAL: Duration = Duration::from_millis(250);

/// Flags of `es tail`.
#[derive(Debug, Args)]
pub struct TailArgs {
    /// Start after this position (COMMIT/SEQUENCE, or start). Default: start.
    #[arg(long, value_parser = parse_position, conflicts_with = "from_end")]
    pub from: Option<Position>,
    /// Show only events appended from now on.
    #[arg(long)]
    pub from_end: bool,
    /// Only events of this category (the part of the stream id before the first '-').
    #[arg(long)]
    pub category: Option<String>,
    /// Only events of this type.
    #[arg(long = "type")]
    pub event_type: Option<String>,
    /// Stop after this many matching events.
    #[arg(long, value_parser = clap::value_parser!(u64).range(1..))]
    pub count: Option<u64>,
}

/// One line of `es tail`.
#[derive(Debug, Serialize)]
#[serde(transparent)]
pub struct TailLine<'a>(&'a RecordedEvent);

impl Report for TailLine<'_> {
    fn human(&self) -> String {
        let e = self.0;
        format!(
            "{}  {}  {} v{}  {}  {}  {}",
            e.position,
            output::time(&e.recorded_at),
            e.stream_id,
            e.version,
            e.event_type,
            output::shorten(&e.payload.to_string(), 120),
            metadata_line(e)
        )
    }
}

impl TailArgs {
    fn matches(&self, event: &RecordedEvent) -> bool {
        self.category
            .as_deref()
            .is_none_or(|c| event.stream_id.category() == c)
            && self
                .event_type
                .as_deref()
                .is_none_or(|t| event.event_type == t)
    }
}

/// Runs `es tail`.
pub async fn run(args: TailArgs, backend: Backend, printer: Printer) -> Result<(), CliError> {
    let start = if args.from_end {
        backend
            .head()
            .await?
            .map_or(Position::START, |h| h.position)
    } else {
        args.from.unwrap_or(Position::START)
    };
    let mut subscription = Subscription::new(backend, start).with_poll_interval(POLL_INTERVAL);
    let ctrl_c = tokio::signal::ctrl_c();
    tokio::pin!(ctrl_c);
    let mut shown = 0u64;
    while args.count.is_none_or(|count| shown < count) {
        let event = tokio::select! {
            signal = &mut ctrl_c => return signal.map_err(CliError::Signal),
            event = subscription.next() => event?,
        };
        if args.matches(&event) {
            printer.item(&TailLine(&event))?;
            shown += 1;
        }
    }
    Ok(())
}

//! `es events STREAM`: one stream's history, with metadata.
//!
//! Read through es-core's `EventStore::read_stream`, so what `es` shows is
//! exactly what a repository or projection would receive.

use clap::Args;
use es_core::{EventStore, RecordedEvent, StreamId};
use futures::{StreamExt, TryStreamExt};
use serde::Serialize;

use crate::{
    backend::Backend,
    error::CliError,
    output::{self, Printer, Report},
};

/// Flags of `es events`.
#[derive(Debug, Args)]
pub struct EventsArgs {
    /// The stream id.
    pub stream: String,
    /// First version to show (versions start at 1).
    #[arg(long, default_value_t = 1)]
    pub from: u64,
    /// At most this many events.
    #[arg(long, default_value_t = 1000, value_parser = clap::value_parser!(u64).range(1..))]
    pub limit: u64,
}

/// What `es events` prints.
#[derive(Debug, Serialize)]
pub struct EventsReport {
    /// The stream.
    pub stream_id: StreamId,
    /// Its current version.
    pub version: u64,
    /// The events shown, in version order.
    pub events: Vec<RecordedEvent>,
}

/// The metadata of `event` on one line: trace, correlation, causation,
/// extra (`-` when there is none).
pub fn metadata_line(event: &RecordedEvent) -> String {
    let meta = &event.metadata;
    let mut parts = Vec::new();
    if let Some(trace) = &meta.trace_context {
        parts.push(format!("traceparent={trace}"));
    }
    if let Some(id) = meta.correlation_id {
        parts.push(format!("correlation={id}"));
    }
    if let Some(id) = meta.causation_id {
        parts.push(format!("causation={id}"));
    }
    if let Some(extra) = &meta.extra {
        parts.push(format!("extra={extra}"));
    }
    if parts.is_empty() {
        "-".to_owned()
    } else {
        parts.join(" ")
    }
}

impl Report for EventsReport {
    fn human(&self) -> String {
        let rows = self.events.iter().map(|e| {
            [
                e.version.to_string(),
                e.position.to_string(),
                format!("{} (v{})", e.event_type, e.schema_version),
                output::time(&e.recorded_at),
                e.event_id.to_string(),
                metadata_line(e),
                e.payload.to_string(),
            ]
        });
        let mut text = output::table(
            &[
                "VERSION",
                "POSITION",
                "TYPE",
                "RECORDED AT",
                "EVENT ID",
                "METADATA",
                "PAYLOAD",
            ],
            rows,
        );
        text.push_str(&format!(
            "\nstream {} is at version {}; {} event(s) shown",
            self.stream_id,
            self.version,
            self.events.len()
        ));
        text
    }
}

/// Runs `es events`.
pub async fn run(args: EventsArgs, backend: &Backend, printer: Printer) -> Result<(), CliError> {
    let stream_id = StreamId::new(args.stream)?;
    let version = backend.stream_version(&stream_id).await?;
    if version == 0 {
        let similar = backend.streams_ending_with(stream_id.as_str(), 5).await?;
        return Err(CliError::StreamNotFound {
            stream: stream_id,
            similar,
        });
    }
    let limit = usize::try_from(args.limit).unwrap_or(usize::MAX);
    let events: Vec<RecordedEvent> = backend
        .read_stream(&stream_id, args.from)
        .take(limit)
        .try_collect()
        .await?;
    printer.print(&EventsReport {
        stream_id,
        version,
        events,
    })
}

//! `es streams`: which streams exist, how long, last written when.
//!
//! Paged with a keyset on the stream id (`--after` the last id of the
//! previous page), so paging through millions of streams never re-reads
//! earlier pages.

use clap::Args;
use serde::Serialize;

use crate::{
    backend::{
        model::{StreamFilter, StreamSummary},
        Backend,
    },
    error::CliError,
    output::{self, Printer, Report},
};

/// The largest page `--limit` accepts.
const MAX_PAGE: u32 = 10_000;

/// Flags of `es streams`.
#[derive(Debug, Args)]
pub struct StreamsArgs {
    /// Only streams of this category (the part of the id before the first '-').
    #[arg(long)]
    pub category: Option<String>,
    /// Only streams whose id starts with this.
    #[arg(long)]
    pub prefix: Option<String>,
    /// At most this many streams (1 to 10000).
    #[arg(long, default_value_t = 100, value_parser = clap::value_parser!(u32).range(1..=i64::from(MAX_PAGE)))]
    pub limit: u32,
    /// Start after this stream id (the last one of the previous page).
    #[arg(long)]
    pub after: Option<String>,
}

/// What `es streams` prints.
#[derive(Debug, Serialize)]
pub struct StreamsReport {
    /// The page, in stream id order.
    pub streams: Vec<StreamSummary>,
    /// Pass this as `--after` for the next page (`None` on the last page).
    pub next_after: Option<String>,
}

impl Report for StreamsReport {
    fn human(&self) -> String {
        let rows = self.streams.iter().map(|s| {
            [
                s.stream_id.clone(),
                s.version.to_string(),
                output::time(&s.last_write),
            ]
        });
        let mut text = output::table(&["STREAM", "VERSION", "LAST WRITE"], rows);
        match &self.next_after {
            Some(after) => text.push_str(&format!("\nmore: --after {after:?}")),
            None => text.push_str(&format!("\n{} stream(s)", self.streams.len())),
        }
        text
    }
}

/// Runs `es streams`.
pub async fn run(args: StreamsArgs, backend: &Backend, printer: Printer) -> Result<(), CliError> {
    let filter = StreamFilter {
        category: args.category,
        prefix: args.prefix,
        after: args.after,
        limit: args.limit,
    };
    let streams = backend.streams(&filter).await?;
    let full_page = streams.len() >= args.limit as usize;
    let next_after = full_page
        .then(|| streams.last().map(|s| s.stream_id.clone()))
        .flatten();
    printer.print(&StreamsReport {
        streams,
        next_after,
    })
}

//! How results are printed: human tables or JSON, in one place.
//!
//! Every command builds a report value that is both `Serialize` (the `--json`
//! document) and [`Report`] (the human view); this module decides which to
//! print and how tables, times and durations look, so all commands agree.

use std::io::Write;

use chrono::{DateTime, SecondsFormat, Utc};
use comfy_table::{presets, ContentArrangement, Table};
use serde::Serialize;

use crate::error::CliError;

/// A command's result: printable for people and serialisable for scripts.
pub trait Report: Serialize {
    /// The text a person reads (tables and summary lines, no trailing newline needed).
    fn human(&self) -> String;
}

/// Prints reports in the format the user chose.
#[derive(Debug, Clone, Copy)]
pub struct Printer {
    json: bool,
}

impl Printer {
    /// Human output, or JSON when `json`.
    pub fn new(json: bool) -> Self {
        Self { json }
    }

    /// Whether the user asked for JSON.
    pub fn is_json(&self) -> bool {
        self.json
    }

    /// Prints `report` as one document: pretty JSON or the human view.
    pub fn print(&self, report: &impl Report) -> Result<(), CliError> {
        self.write(report, true)
    }

    /// Prints one item of a stream of results (`tail`): a JSON line or a
    /// line of text.
    pub fn item(&self, item: &impl Report) -> Result<(), CliError> {
        self.write(item, false)
    }

    fn write(&self, report: &impl Report, pretty: bool) -> Result<(), CliError> {
        let text = match (self.json, pretty) {
            (false, _) => report.human(),
            (true, true) => serde_json::to_string_pretty(report)?,
            (true, false) => serde_json::to_string(report)?,
        };
        write_line(&text)
    }
}

/// Prints one line on stdout (a message outside any report, such as the
/// address `es ui` listens on).
pub fn say(text: &str) -> Result<(), CliError> {
    write_line(text)
}

fn write_line(text: &str) -> Result<(), CliError> {
    let mut out = std::io::stdout().lock();
    writeln!(out, "{}", text.trim_end())
        .and_then(|()| out.flush())
        .map_err(CliError::Output)
}

/// A table with `header` and `rows`, in the style every command uses.
pub fn table<R>(header: &[&str], rows: impl IntoIterator<Item = R>) -> String
where
    R: IntoIterator<Item = String>,
{
    let mut table = Table::new();
    table
        .load_preset(presets::UTF8_FULL_CONDENSED)
        .set_content_arrangement(ContentArrangement::Dynamic)
        .set_header(header.iter().copied());
    for row in rows {
        table.add_row(row);
    }
    table.to_string()
}

/// A time as people read it: `2026-11-29T15:50:14.123Z`.
pub fn time(at: &DateTime<Utc>) -> String {
    at.to_rfc3339_opts(SecondsFormat::Millis, true)
}

/// A lag in seconds, or `-` when there is none to speak of.
pub fn seconds(value: Option<f64>) -> String {
    value.map_or_else(|| "-".to_owned(), |s| format!("{s:.1}s"))
}

/// `value`, or `-` when absent.
pub fn or_dash(value: Option<impl ToString>) -> String {
    value.map_or_else(|| "-".to_owned(), |v| v.to_string())
}

/// Seconds from `at` until now (never negative: clocks of two machines differ).
pub fn age_seconds(at: &DateTime<Utc>) -> f64 {
    let micros = (Utc::now() - *at).num_microseconds().unwrap_or(i64::MAX);
    (micros.max(0) as f64) / 1_000_000.0
}

/// `text` cut to at most `max` characters, marked with `…` when cut.
pub fn shorten(text: &str, max: usize) -> String {
    let flat = text.split_whitespace().collect::<Vec<_>>().join(" ");
    if flat.chars().count() <= max {
        flat
    } else {
        let mut cut: String = flat.chars().take(max.saturating_sub(1)).collect();
        cut.push('…');
        cut
    }
}

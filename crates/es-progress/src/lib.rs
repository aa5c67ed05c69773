//! Shows catch-up progress to a person: a progress bar on a terminal, a log
//! line every few seconds otherwise.
//!
//! es-core computes the numbers ([`CatchUpProgress`]: done, total, rate,
//! time left) and carries no UI dependency; `es` (es-cli) and the example
//! services both render them, the same way, through this crate. A
//! [`ProgressView`] decides once whether stderr is a terminal
//! ([`std::io::IsTerminal`]): if so it draws an indicatif bar there,
//! otherwise it writes [`line()`]s to stderr, at most one per interval (and
//! always the last). [`follow_while`] renders a runner's `watch` of progress
//! while the work runs; [`follow`] renders it for as long as the runner
//! lives (a service that catches up at each start), for example into its
//! log through [`ProgressView::log_with`].
//!
//! ```
//! use std::time::{Duration, Instant};
//! use es_core::{projection::CatchUpMeter, Position};
//!
//! let start = Instant::now();
//! let mut meter = CatchUpMeter::start(Position::START, Some(1_000), start);
//! meter.advance(250, Position::new(0, 250));
//! let line = es_progress::line("bookings", &meter.progress(start + Duration::from_secs(5)));
//! assert_eq!(line, "bookings: 250/1000 events (25.0%), 50 events/s, 15s left");
//! ```
//!
//! Layout: `format` (the text of one progress line and of a duration) and
//! `view` (the terminal bar or the log lines, and following a runner).

mod format;
mod view;

pub use es_core::projection::CatchUpProgress;
pub use format::{duration, line};
pub use view::{follow, follow_while, ProgressView, DEFAULT_LINE_INTERVAL};

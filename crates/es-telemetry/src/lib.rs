//! # es-telemetry: what a running `es-*` service tells its operators
//!
//! Event sourcing lives in `es-core`; this crate holds what operators and
//! their tools see of it, with no event-sourcing logic of its own:
//!
//! * [`metrics`]: every metric's name, unit and labels, in one table, and a
//!   one-line helper per measurement (the `metrics` feature records them
//!   through the [`metrics`](https://docs.rs/metrics) facade; off, they
//!   compile to nothing).
//! * [`Lag`]: how far a follower of the global log (a projection, the relay)
//!   is behind, the figure behind the lag gauges and readiness checks.
//! * [`TraceContext`] (`trace_context.rs`): the W3C `traceparent` an event
//!   carries in its metadata, so a consumer's span joins the command's trace.
//! * [`redact_url`] and [`url_passwords`] (`redact.rs`): passwords out of
//!   logs, errors and `Debug` output.
//!
//! It depends on no other `es-*` crate, so every one of them can use it.

#![warn(missing_docs)]

mod lag;
pub mod metrics;
mod redact;
mod trace_context;

pub use lag::Lag;
pub use redact::{redact_url, url_passwords};
pub use trace_context::{TraceContext, TraceContextError};

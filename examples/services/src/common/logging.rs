//! Log lines (warnings such as a skipped booking event, and what `serve`
//! does) go to stderr, so stdout carries only a command's output.
//! `RUST_LOG` changes the level (default: `warn`, and `info` for `serve`).
//! By default lapin's own log lines are left out (es-amqp reports the same
//! failures, such as reconnecting or an unroutable event, in one readable
//! line each), and so are sqlx's notices below `warn`.

use std::io::IsTerminal;

use tracing_subscriber::EnvFilter;

/// Sends `tracing` events at `default_level` and above to stderr.
pub fn init(default_level: &str) {
    let filter = EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| EnvFilter::new(format!("{default_level},lapin=off,sqlx=warn")));
    // Fails only if a subscriber is already set (the demo sets it once).
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_ansi(std::io::stderr().is_terminal())
        .with_target(false)
        .try_init();
}

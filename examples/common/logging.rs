//! Log lines (warnings such as a skipped booking event, and what `serve`
//! does) go to stderr, so stdout carries only a command's output.
//! `RUST_LOG` changes the level (default: `warn`, and `info` for `serve`).

use tracing_subscriber::EnvFilter;

/// Sends `tracing` events at `default_level` and above to stderr.
pub fn init(default_level: &str) {
    let filter =
        EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new(default_level));
    // Fails only if a subscriber is already set (the demo sets it once).
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_target(false)
        .try_init();
}

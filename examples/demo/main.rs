//! `cargo run --example demo`: the seed's whole workflow in one go, embedded.
//!
//! Runs the Booking and Parking commands in order, exactly as the CLIs would
//! run them, against SQLite files in a fresh directory, and prints each
//! command with its output. `--data-dir DIR` keeps the files in DIR. The code
//! is the `es-example-services` library (examples/services).

#[tokio::main]
async fn main() -> std::process::ExitCode {
    es_example_services::demo::main().await
}

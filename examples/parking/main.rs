//! `cargo run --example parking -- <command>`: the Parking service's CLI.
//!
//! Run `cargo run --example parking -- --help` for the commands, and
//! `cargo run --example demo` for the whole workflow in one go. The code is
//! the `es-example-services` library (examples/services).

#[tokio::main]
async fn main() -> std::process::ExitCode {
    es_example_services::common::service_main::main::<es_example_services::parking::cli::Cli>()
        .await
}

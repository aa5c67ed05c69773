//! The Booking service's CLI (`booking --help` lists its commands).

#[tokio::main]
async fn main() -> std::process::ExitCode {
    es_example_services::common::service_main::main::<es_example_services::booking::cli::Cli>()
        .await
}

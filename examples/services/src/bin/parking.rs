//! The Parking service's CLI (`parking --help` lists its commands).

#[tokio::main]
async fn main() -> std::process::ExitCode {
    es_example_services::common::service_main::main::<es_example_services::parking::cli::Cli>()
        .await
}

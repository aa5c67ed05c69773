//! The whole Booking/Parking workflow, embedded, in one run.

#[tokio::main]
async fn main() -> std::process::ExitCode {
    es_example_services::demo::main().await
}

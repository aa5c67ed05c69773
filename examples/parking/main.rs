//! `cargo run --example parking -- <command>`: the Parking service's CLI.
//!
//! Run `cargo run --example parking -- --help` for the commands, and
//! `cargo run --example demo` for the whole workflow in one go.

#[path = "app.rs"]
mod app;

use std::process::ExitCode;

use app::cli_exit;

#[tokio::main]
async fn main() -> ExitCode {
    let cli = match cli_exit::parse_args::<app::Cli>() {
        Ok(cli) => cli,
        Err(code) => return code,
    };
    let serving = matches!(cli.command, app::Command::Serve(_));
    app::logging::init(if serving { "info" } else { "warn" });
    match app::run(cli).await {
        Ok(output) => {
            if !output.is_empty() {
                println!("{output}");
            }
            ExitCode::SUCCESS
        }
        Err(error) => cli_exit::report_failure(&error),
    }
}

//! The `main` of both service CLIs, written once: parse the command line,
//! set up logging (`info` for `serve`, `warn` otherwise), run the command,
//! print its output, and end with the exit code [`cli_exit`] defines.

use std::{future::Future, process::ExitCode};

use clap::Parser;

use super::{cli_exit, logging};

/// A service's command line, as [`main`] runs it.
pub trait ServiceCli: Parser {
    /// Why a command failed.
    type Error: std::error::Error;

    /// Whether this is the long-running `serve` command.
    fn serves(&self) -> bool;

    /// Runs the command and returns what it prints.
    fn run(self) -> impl Future<Output = Result<String, Self::Error>>;
}

/// Runs the CLI `C` on the process's arguments and returns its exit code.
pub async fn main<C: ServiceCli>() -> ExitCode {
    let cli = match cli_exit::parse_args::<C>() {
        Ok(cli) => cli,
        Err(code) => return code,
    };
    logging::init(if cli.serves() { "info" } else { "warn" });
    match cli.run().await {
        Ok(output) => {
            if !output.is_empty() {
                println!("{output}");
            }
            ExitCode::SUCCESS
        }
        Err(error) => cli_exit::report_failure(&error),
    }
}

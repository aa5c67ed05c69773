//! `es`: the operator's view into an es-* event store and its RabbitMQ side.
//!
//! Operators cannot otherwise see what is in the store, how far behind each
//! projection and the relay are, why the gap-safe reader is held back, or
//! what waits in a dead-letter queue. This binary answers those questions
//! with human tables by default and `--json` for scripts. Every failure ends
//! as one `error: ...` line on stderr (passwords redacted), exit code 2 for a
//! wrong command line and 1 for anything else.
//!
//! Layout: `cli` (the clap command line), `commands/` (one file per
//! command), `backend/` (the store a URL names: PostgreSQL or SQLite, each
//! with its own SQL, and the reads both share), `broker/` (dead-letter
//! queues on RabbitMQ), `output` (tables and `--json`), `position_arg`
//! (parsing `COMMIT:SEQUENCE`), `redact` (passwords out of every line
//! printed), `ui` (`es ui`: the same views in a browser) and `error`
//! (`CliError` and the exit codes).

mod backend;
mod broker;
mod cli;
mod commands;
mod error;
mod output;
mod position_arg;
mod redact;
mod ui;

use std::process::ExitCode;

use clap::{error::ErrorKind, Parser};

use crate::{cli::Cli, error::CliError, redact::Redactor};

fn main() -> ExitCode {
    let redactor = Redactor::from_process();
    install_panic_hook(redactor.clone());
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(error) => return command_line_error(&error, &redactor),
    };
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime,
        Err(source) => return report(&CliError::Runtime(source), &redactor),
    };
    let result = runtime.block_on(commands::run(cli));
    // Background tasks (listeners, broker heartbeats) must not keep us alive.
    runtime.shutdown_background();
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => report(&error, &redactor),
    }
}

/// Help and version go out as clap prints them; anything else is a wrong
/// command line: its first line (clap's `error: ...`), exit code 2.
fn command_line_error(error: &clap::Error, redactor: &Redactor) -> ExitCode {
    match error.kind() {
        ErrorKind::DisplayHelp
        | ErrorKind::DisplayVersion
        | ErrorKind::DisplayHelpOnMissingArgumentOrSubcommand => error.exit(),
        _ => {
            let rendered = error.render().to_string();
            let first = rendered
                .lines()
                .next()
                .unwrap_or("error: invalid command line");
            eprintln!("{}", redactor.redact(first.trim_end()));
            ExitCode::from(2)
        }
    }
}

fn report(error: &CliError, redactor: &Redactor) -> ExitCode {
    if error.is_closed_output() {
        // `es ... | head`: the reader has what it wanted.
        return ExitCode::SUCCESS;
    }
    eprintln!("error: {}", redactor.redact(&error.one_line()));
    ExitCode::from(error.exit_code())
}

/// A bug must still end as one redacted line, not a backtrace.
fn install_panic_hook(redactor: Redactor) {
    std::panic::set_hook(Box::new(move |info| {
        let text = info.to_string().replace('\n', " ");
        eprintln!(
            "error: internal error (a bug in es): {}",
            redactor.redact(&text)
        );
    }));
}

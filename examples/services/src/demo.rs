//! `cargo run --example demo`: the seed's whole workflow in one go, embedded.
//!
//! Runs the Booking and Parking commands in order, exactly as the CLIs would
//! run them (`booking …`, `parking …`), against SQLite files in a fresh
//! directory, and prints each command with its output. No server needed.
//! `--data-dir DIR` keeps the files in DIR so that you can go on with
//! `cargo run --example booking -- --data-dir DIR …` afterwards.

use std::{
    path::{Path, PathBuf},
    process::ExitCode,
};

use clap::Parser;

use crate::{
    booking::cli as booking_cli,
    common::{cli_exit, logging},
    parking::cli as parking_cli,
};

/// Runs the seed's Booking/Parking workflow, embedded, and prints each step.
#[derive(Debug, Parser)]
#[command(name = "demo")]
struct DemoArgs {
    /// Keep the SQLite files in this directory (default: a temporary one, removed afterwards).
    #[arg(long)]
    data_dir: Option<PathBuf>,
}

/// A step failed; the message says which and why.
#[derive(Debug, thiserror::Error)]
enum DemoError {
    #[error("cannot create a temporary directory: {0}")]
    TempDir(#[source] std::io::Error),
    #[error("`{command}` is not a valid command line: {source}")]
    Usage {
        command: String,
        #[source]
        source: clap::Error,
    },
    #[error("`{command}` failed: {message}")]
    Failed { command: String, message: String },
    #[error("`{command}` printed no {what}")]
    Output { command: String, what: &'static str },
}

/// Runs the demo on the process's arguments and returns its exit code.
pub async fn main() -> ExitCode {
    logging::init("warn");
    let args = match DemoArgs::try_parse() {
        Ok(args) => args,
        Err(error) => return cli_exit::report_usage(error),
    };
    let result = match &args.data_dir {
        Some(dir) => demo(dir).await,
        None => match tempfile::tempdir() {
            Ok(dir) => demo(dir.path()).await,
            Err(error) => Err(DemoError::TempDir(error)),
        },
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => cli_exit::report_failure(&error),
    }
}

async fn demo(dir: &Path) -> Result<(), DemoError> {
    println!(
        "Event-sourcing demo: Booking and Parking, embedded (SQLite files in {})",
        dir.display()
    );

    step("1. Create a parking slot on the Parking service.");
    let slot_details = parking(dir, &["create_parking_slot", "Slot 1"]).await?;
    let slot = field(&slot_details, "uuid").ok_or(DemoError::Output {
        command: "parking create_parking_slot".into(),
        what: "uuid",
    })?;

    step("2. Request a booking of the slot on the Booking service (records BookingCreated).");
    let id = booking(dir, &["create_booking_request", &slot]).await?;
    booking(dir, &["get_booking_events", &id]).await?;
    booking(dir, &["get_booking_details", &id]).await?;
    step("   Parking followed the event: the slot is blocked.");
    parking(dir, &["parking_slot_details", &slot]).await?;

    step("3. Reserve the booking (records BookingReserved).");
    booking(dir, &["reserve_booking", &id]).await?;
    booking(dir, &["get_booking_events", &id]).await?;
    booking(dir, &["get_booking_details", &id]).await?;
    parking(dir, &["parking_slot_details", &slot]).await?;

    step("   The booking is a state machine: a second reservation is refused.");
    refused(dir, &["reserve_booking", &id]).await?;

    step("4. Complete the booking (records BookingCompleted).");
    booking(dir, &["complete_booking", &id]).await?;

    step("5. The booking's current state, from the projection.");
    booking(dir, &["get_booking_details", &id]).await?;

    step("6. Its history, from the event store: only BookingCreated carries the slot.");
    booking(dir, &["get_booking_events", &id]).await?;

    step("7. The slot stays reserved.");
    parking(dir, &["parking_slot_details", &slot]).await?;
    Ok(())
}

fn step(title: &str) {
    println!("\n{title}\n");
}

/// Runs `booking <args>` in embedded mode on `dir`, prints and returns its output.
async fn booking(dir: &Path, args: &[&str]) -> Result<String, DemoError> {
    let command = show("booking", args);
    let cli = embedded_booking(dir, args, &command)?;
    let output = booking_cli::run(cli)
        .await
        .map_err(|error| failed(command, &error))?;
    println!("{output}");
    Ok(output)
}

/// Runs `parking <args>` in embedded mode on `dir`, prints and returns its output.
async fn parking(dir: &Path, args: &[&str]) -> Result<String, DemoError> {
    let command = show("parking", args);
    let mut cli = parse(
        parking_cli::Cli::try_parse_from(cli_args("parking", dir, args)),
        &command,
    )?;
    cli.stores.parking_database_url = None;
    let output = parking_cli::run(cli)
        .await
        .map_err(|error| failed(command, &error))?;
    println!("{output}");
    Ok(output)
}

/// Runs a booking command that must be refused, and prints the refusal.
async fn refused(dir: &Path, args: &[&str]) -> Result<(), DemoError> {
    let command = show("booking", args);
    let cli = embedded_booking(dir, args, &command)?;
    match booking_cli::run(cli).await {
        Err(error) => {
            println!("error: {error}");
            Ok(())
        }
        Ok(output) => Err(DemoError::Failed {
            command,
            message: format!("it was accepted ({output}) but should have been refused"),
        }),
    }
}

/// `booking <args>` parsed as the CLI would, in embedded mode on `dir`
/// whatever the environment says.
fn embedded_booking(
    dir: &Path,
    args: &[&str],
    command: &str,
) -> Result<booking_cli::Cli, DemoError> {
    let mut cli = parse(
        booking_cli::Cli::try_parse_from(cli_args("booking", dir, args)),
        command,
    )?;
    cli.stores.event_store_url = None;
    cli.stores.projector_url = None;
    Ok(cli)
}

fn parse<C>(parsed: Result<C, clap::Error>, command: &str) -> Result<C, DemoError> {
    parsed.map_err(|source| DemoError::Usage {
        command: command.to_owned(),
        source,
    })
}

fn failed(command: String, error: &dyn std::error::Error) -> DemoError {
    DemoError::Failed {
        command,
        message: error.to_string(),
    }
}

fn cli_args<'a>(program: &'a str, dir: &'a Path, args: &'a [&'a str]) -> Vec<std::ffi::OsString> {
    let mut all: Vec<std::ffi::OsString> = vec![program.into(), "--data-dir".into(), dir.into()];
    all.extend(args.iter().map(Into::into));
    all
}

/// The command line as a user would type it.
fn show(program: &str, args: &[&str]) -> String {
    let quoted: Vec<String> = args
        .iter()
        .map(|arg| {
            if arg.contains(' ') {
                format!("'{arg}'")
            } else {
                (*arg).to_owned()
            }
        })
        .collect();
    let command = format!("{program} {}", quoted.join(" "));
    println!("$ {command}");
    command
}

/// The value of `key` in aligned `key: value` output.
fn field(output: &str, key: &str) -> Option<String> {
    output.lines().find_map(|line| {
        let (k, v) = line.split_once(':')?;
        (k == key).then(|| v.trim().to_owned())
    })
}

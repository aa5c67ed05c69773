//! How both CLIs end: output on stdout, or one `error: …` line on stderr and
//! a non-zero exit code. Never a panic message or a backtrace.
//!
//! Exit codes: `0` success, `1` the command failed (refused, not found,
//! unreachable store), `2` the command line is wrong (clap's convention).

use std::process::ExitCode;

use clap::{
    error::{ContextKind, ContextValue, ErrorKind},
    Parser,
};

/// The command failed.
pub const FAILURE: u8 = 1;
/// The command line is wrong.
pub const USAGE: u8 = 2;

/// Parses the command line; on a usage error prints one line to stderr and
/// returns the exit code. `--help` and `--version` print as usual and exit 0.
pub fn parse_args<C: Parser>() -> Result<C, ExitCode> {
    C::try_parse().map_err(report_usage)
}

/// Turns a clap error into one line on stderr (help and version are printed
/// as they are) and the exit code.
pub fn report_usage(mut error: clap::Error) -> ExitCode {
    one_suggestion_per_command(&mut error);
    match error.kind() {
        ErrorKind::DisplayHelp
        | ErrorKind::DisplayVersion
        | ErrorKind::DisplayHelpOnMissingArgumentOrSubcommand => {
            // Printing help can only fail if stdout is gone; nothing to add then.
            let _ = error.print();
            if error.kind() == ErrorKind::DisplayHelpOnMissingArgumentOrSubcommand {
                ExitCode::from(USAGE)
            } else {
                ExitCode::SUCCESS
            }
        }
        _ => {
            eprintln!("{}", one_line(&error.render().to_string()));
            ExitCode::from(USAGE)
        }
    }
}

/// Every command answers to its seed name and a kebab-case alias
/// (`create_booking_request`, `create-booking-request`); clap suggests both
/// for a mistyped command. Keeps one per command: the seed's name.
fn one_suggestion_per_command(error: &mut clap::Error) {
    let Some(ContextValue::Strings(suggestions)) = error.get(ContextKind::SuggestedSubcommand)
    else {
        return;
    };
    let mut kept: Vec<String> = Vec::new();
    for suggestion in suggestions {
        let seed_name = suggestion.replace('-', "_");
        let name = if suggestions.contains(&seed_name) {
            seed_name
        } else {
            suggestion.clone()
        };
        if !kept.contains(&name) {
            kept.push(name);
        }
    }
    error.insert(
        ContextKind::SuggestedSubcommand,
        ContextValue::Strings(kept),
    );
}

/// clap's message without the usage block, folded onto one line.
fn one_line(rendered: &str) -> String {
    let mut parts = Vec::new();
    for line in rendered.lines() {
        let line = line.trim();
        if line.starts_with("Usage:") || line.starts_with("For more information") {
            break;
        }
        if !line.is_empty() {
            parts.push(line);
        }
    }
    let mut text = parts.join(" ");
    if !text.contains("--help") {
        text.push_str(" (see --help)");
    }
    text
}

/// Prints `error: <error>` on stderr and returns the failure exit code.
pub fn report_failure(error: &dyn std::error::Error) -> ExitCode {
    eprintln!("error: {error}");
    ExitCode::from(FAILURE)
}

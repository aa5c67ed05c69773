//! One module per subcommand, and the dispatch from the parsed command line.
//!
//! Each subcommand module owns its flags (a clap `Args` struct), its report
//! (what `--json` prints) and its `run`.

pub mod dead_letters;
pub mod events;
pub mod horizon;
pub mod lag;
pub mod projection_reset;
pub mod projection_watch;
pub mod projections;
pub mod queues;
pub mod relay_status;
pub mod streams;
pub mod tail;

use crate::{
    backend::Backend,
    cli::{Cli, Command, ProjectionCommand, RelayCommand},
    error::CliError,
    output::Printer,
};

/// Runs the parsed command.
pub async fn run(cli: Cli) -> Result<(), CliError> {
    let printer = Printer::new(cli.global.json);
    if let Command::Ui(args) = cli.command {
        return crate::ui::run(args, cli.global).await;
    }
    let global = &cli.global;
    match cli.command {
        Command::Ui(_) => Ok(()),
        Command::DeadLetters(command) => dead_letters::run(command, global, printer).await,
        Command::Queues(args) => queues::run(args, global, printer).await,
        Command::Streams(args) => {
            streams::run(args, &Backend::connect(global).await?, printer).await
        }
        Command::Events(args) => events::run(args, &Backend::connect(global).await?, printer).await,
        Command::Tail(args) => tail::run(args, Backend::connect(global).await?, printer).await,
        Command::Projections(args) => {
            projections::run(args, &Backend::connect(global).await?, printer).await
        }
        Command::Projection(ProjectionCommand::Reset(args)) => {
            projection_reset::run(args, &Backend::connect(global).await?, printer).await
        }
        Command::Projection(ProjectionCommand::Watch(args)) => {
            projection_watch::run(args, &Backend::connect(global).await?, printer).await
        }
        Command::Relay(RelayCommand::Status(args)) => {
            relay_status::run(args, &Backend::connect(global).await?, printer).await
        }
        Command::Horizon(args) => {
            horizon::run(args, &Backend::connect(global).await?, printer).await
        }
    }
}

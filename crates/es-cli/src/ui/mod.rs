//! `es ui`: the same views as the commands, in a browser.
//!
//! A small axum server renders HTML on the server (maud; no JavaScript, no
//! build step): the streams with search and paging, one stream's history
//! with metadata and trace ids, the live tail (the page refreshes itself),
//! the projections and the relay with their lag and lease holders, a
//! consumer's queues and partitions, and its dead letters with show and
//! redrive. It reads only, unless started with `--allow-writes`; even then a
//! redrive asks for an explicit confirmation first. It listens on
//! 127.0.0.1 unless told otherwise: it has no login.
//!
//! Pages: [`log_pages`] (streams, a stream, the tail), [`worker_pages`]
//! (projections, relay), [`broker_pages`] (queues, dead letters);
//! [`layout`] is the frame they share.

mod broker_pages;
mod layout;
mod log_pages;
mod worker_pages;

use std::{net::SocketAddr, sync::Arc};

use axum::{response::Redirect, routing::get, Router};
use clap::Args;

use crate::{backend::Backend, cli::GlobalArgs, error::CliError};

/// Flags of `es ui`.
#[derive(Debug, Args)]
pub struct UiArgs {
    /// Where to listen (no login: keep it on localhost or behind your proxy).
    #[arg(long, default_value = "127.0.0.1:8080")]
    pub listen: SocketAddr,
    /// The consumer's queue, for the queues and dead-letter pages (with --amqp-url).
    #[arg(long, env = "PARKING_QUEUE")]
    pub queue: Option<String>,
    /// Allow the pages that change something (dead-letter redrive; each asks to confirm).
    #[arg(long)]
    pub allow_writes: bool,
}

/// What every page handler reads.
pub struct Ui {
    backend: Backend,
    global: GlobalArgs,
    queue: Option<String>,
    allow_writes: bool,
}

/// The shared state of the handlers.
pub type State = Arc<Ui>;

/// The routes of the explorer.
pub fn router(ui: State) -> Router {
    Router::new()
        .route("/", get(|| async { Redirect::to("/streams") }))
        .route("/streams", get(log_pages::streams))
        .route("/streams/{id}", get(log_pages::stream))
        .route("/tail", get(log_pages::tail))
        .route("/projections", get(worker_pages::projections))
        .route("/relay", get(worker_pages::relay))
        .route("/queues", get(broker_pages::queues))
        .route("/dead-letters", get(broker_pages::dead_letters))
        .route("/dead-letters/{id}", get(broker_pages::dead_letter))
        .route(
            "/dead-letters-redrive",
            get(broker_pages::confirm_redrive).post(broker_pages::redrive),
        )
        .fallback(layout::not_found)
        .with_state(ui)
}

/// Runs `es ui` until Ctrl-C: prints the address it listens on, then serves.
pub async fn run(args: UiArgs, global: GlobalArgs) -> Result<(), CliError> {
    let backend = Backend::connect(&global).await?;
    let listener = tokio::net::TcpListener::bind(args.listen)
        .await
        .map_err(|source| CliError::Listen {
            address: args.listen,
            source,
        })?;
    let address = listener.local_addr().map_err(|source| CliError::Listen {
        address: args.listen,
        source,
    })?;
    let mode = if args.allow_writes {
        "writes allowed, each confirmed"
    } else {
        "read-only"
    };
    crate::output::say(&format!(
        "es ui: http://{address}/ ({mode}); Ctrl-C stops it"
    ))?;
    let ui = Arc::new(Ui {
        backend,
        global,
        queue: args.queue,
        allow_writes: args.allow_writes,
    });
    axum::serve(listener, router(ui))
        .with_graceful_shutdown(async {
            let _ = tokio::signal::ctrl_c().await;
        })
        .await
        .map_err(|source| CliError::Listen { address, source })
}

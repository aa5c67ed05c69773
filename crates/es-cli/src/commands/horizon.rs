//! `es horizon`: why the PostgreSQL gap-safe reader is held back.
//!
//! es-postgres hands out only events below the horizon of the log's own
//! writers: the oldest running transaction that holds a writer's lock on
//! this store's `es_events` (or the cluster's next transaction id). This
//! shows that horizon, how many of this store's committed events wait
//! behind it, and the sessions with open transactions, oldest first, marking
//! those that write the log and the one holding the horizon, so an operator
//! can find (and end) it. Transactions that do not write the log are listed
//! for context; they hold nothing back.

use clap::Args;

use crate::{
    backend::{Backend, Horizon},
    error::CliError,
    output::{self, Printer, Report},
};

/// Flags of `es horizon` (none yet).
#[derive(Debug, Args)]
pub struct HorizonArgs {}

impl Report for Horizon {
    fn human(&self) -> String {
        let rows = self.transactions.iter().map(|t| {
            [
                output::or_dash(t.datname.as_deref()),
                t.pid.to_string(),
                output::seconds(t.age_seconds),
                output::or_dash(t.state.as_deref()),
                output::or_dash(t.backend_xid),
                output::or_dash(t.backend_xmin),
                if t.writes_log { "yes" } else { "" }.to_owned(),
                if t.holds_horizon { "yes" } else { "" }.to_owned(),
                output::or_dash(t.xact_start.as_ref().map(output::time)),
                output::or_dash(t.query_start.as_ref().map(output::time)),
                output::or_dash(t.query.as_deref().map(|q| output::shorten(q, 80))),
            ]
        });
        let table = output::table(
            &[
                "DATABASE",
                "PID",
                "AGE",
                "STATE",
                "XID",
                "XMIN",
                "WRITES LOG",
                "HOLDS",
                "XACT START",
                "QUERY START",
                "QUERY",
            ],
            rows,
        );
        let summary = format!(
            "log horizon: {} ({} committed event(s) of this store held back)",
            self.horizon, self.held_back_events
        );
        if self.transactions.is_empty() {
            format!("{summary}\nno other session holds a transaction id or a snapshot")
        } else {
            format!("{summary}\n{table}")
        }
    }
}

/// Runs `es horizon`.
pub async fn run(_: HorizonArgs, backend: &Backend, printer: Printer) -> Result<(), CliError> {
    let Some(postgres) = backend.postgres() else {
        return Err(CliError::NeedsPostgres {
            command: "horizon",
            store: backend.kind(),
        });
    };
    printer.print(&postgres.horizon().await?)
}

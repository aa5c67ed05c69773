//! Everything that can go wrong in `es`, as one typed enum.
//!
//! Each variant names what was wrong (the stream, the projection, the queue,
//! the limit); [`CliError::one_line`] flattens the error and its sources into
//! the single line `main` prints, and [`CliError::exit_code`] tells a wrong
//! command line (2) from a failure (1).

use std::{error::Error as _, time::Duration};

use es_core::{InvalidInput, StoreError, StreamId};
use es_postgres::PostgresError;

/// Why a command failed.
#[derive(Debug, thiserror::Error)]
pub enum CliError {
    /// The command line was understood by clap but is still not usable.
    #[error("{0}")]
    Usage(String),
    /// The store URL is neither `postgres://...` nor `sqlite:...`.
    #[error("bad store URL {url}: {reason}")]
    StoreUrl {
        /// The URL, password redacted.
        url: String,
        /// What is wrong with it.
        reason: String,
    },
    /// Connecting to PostgreSQL failed.
    #[error(transparent)]
    Postgres(#[from] PostgresError),
    /// Opening the SQLite database failed.
    #[error("cannot open SQLite database {location}: {source}")]
    Sqlite {
        /// The file.
        location: String,
        /// What SQLite said.
        #[source]
        source: sqlx::Error,
    },
    /// The database has no event store where we looked.
    #[error("no event store in {location}: table {table} does not exist")]
    NoEventStore {
        /// The database (and schema).
        location: String,
        /// The missing table.
        table: String,
    },
    /// The checkpoint database (`--checkpoints`) has no checkpoint table.
    #[error("no checkpoints in {location}: table {table} does not exist (is --checkpoints the projector's database?)")]
    NoCheckpoints {
        /// The database (and schema).
        location: String,
        /// The missing table.
        table: String,
    },
    /// A query failed.
    #[error("cannot {what}: {source}")]
    Query {
        /// What the query was for.
        what: &'static str,
        /// What the database said.
        #[source]
        source: sqlx::Error,
    },
    /// The event store failed.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// A stream id was refused.
    #[error("bad stream id: {0}")]
    StreamId(#[from] InvalidInput),
    /// The stream has no events.
    #[error(
        "stream {stream} not found (it has no events){}",
        did_you_mean(similar)
    )]
    StreamNotFound {
        /// The stream asked for.
        stream: StreamId,
        /// Streams whose id ends with `-{stream}` (an id given without its
        /// category, such as a booking's uuid for `booking-<uuid>`).
        similar: Vec<String>,
    },
    /// No checkpoint of that name exists.
    #[error("no checkpoint named {name:?} (known: {known})")]
    UnknownCheckpoint {
        /// The name asked for.
        name: String,
        /// The names that exist, comma-separated (or "none").
        known: String,
    },
    /// The command works on PostgreSQL only.
    #[error("`es {command}` needs a PostgreSQL store (postgres://...), not {store}")]
    NeedsPostgres {
        /// The command.
        command: &'static str,
        /// The kind of store given.
        store: &'static str,
    },
    /// Connecting or talking to the broker failed.
    #[error("RabbitMQ: cannot {what}: {source}")]
    Broker {
        /// What was being done.
        what: String,
        /// What lapin said.
        #[source]
        source: es_amqp::lapin::Error,
    },
    /// The dead-letter queue does not exist.
    #[error("queue {queue:?} does not exist on the broker (is --queue the consumer's queue?)")]
    QueueNotFound {
        /// The queue.
        queue: String,
    },
    /// No dead letter has that message id.
    #[error("no message with id {id:?} in {queue:?}")]
    DeadLetterNotFound {
        /// The id asked for.
        id: String,
        /// The queue searched.
        queue: String,
    },
    /// A redrive stopped part-way.
    #[error("redrive stopped after {moved} message(s): message {message_id} to {target}: {reason} (it and the rest stay in the dead-letter queue)")]
    Redrive {
        /// Messages moved before the failure.
        moved: usize,
        /// The message that failed.
        message_id: String,
        /// Where it was sent.
        target: String,
        /// What the broker said.
        reason: String,
    },
    /// Purging without `--yes`.
    #[error("purge would delete {count} message(s) from {queue:?} for good; run again with --yes")]
    PurgeNotConfirmed {
        /// The queue.
        queue: String,
        /// Its message count.
        count: u32,
    },
    /// Something did not answer in time.
    #[error("timed out after {}s: {what}", after.as_secs_f64())]
    Timeout {
        /// What was being done.
        what: String,
        /// How long we waited.
        after: Duration,
    },
    /// A lease store could not say who holds a lease.
    #[error("cannot look up the holder of lease {name:?}: {source}")]
    Lease {
        /// The lease (checkpoint) name.
        name: String,
        /// What the lease store said.
        #[source]
        source: es_lease::LeaseError,
    },
    /// `es ui` could not listen, or its server failed.
    #[error("es ui cannot listen on {address}: {source}")]
    Listen {
        /// The address.
        address: std::net::SocketAddr,
        /// What the OS said.
        #[source]
        source: std::io::Error,
    },
    /// A value could not be encoded as JSON.
    #[error("cannot encode JSON output: {0}")]
    Json(#[from] serde_json::Error),
    /// Writing to stdout failed.
    #[error("cannot write output: {0}")]
    Output(#[source] std::io::Error),
    /// Waiting for Ctrl-C failed.
    #[error("cannot listen for Ctrl-C: {0}")]
    Signal(#[source] std::io::Error),
    /// The async runtime could not start.
    #[error("cannot start the async runtime: {0}")]
    Runtime(#[source] std::io::Error),
}

impl CliError {
    /// 2 for a wrong command line (as clap does), 1 otherwise.
    pub fn exit_code(&self) -> u8 {
        match self {
            CliError::Usage(_)
            | CliError::StoreUrl { .. }
            | CliError::StreamId(_)
            | CliError::Postgres(PostgresError::InvalidSchema(_)) => 2,
            _ => 1,
        }
    }

    /// Whether stdout was closed by its reader (`es ... | head`).
    pub fn is_closed_output(&self) -> bool {
        matches!(self, CliError::Output(e) if e.kind() == std::io::ErrorKind::BrokenPipe)
    }

    /// The error and its sources on one line, each cause once, without
    /// the PostgreSQL server's own source line (` at line 948`: a place in
    /// PostgreSQL's C code, which sqlx appends and which tells an operator
    /// nothing).
    pub fn one_line(&self) -> String {
        let mut line = self.to_string();
        let mut server_lines = Vec::new();
        let mut source = self.source();
        while let Some(cause) = source {
            server_lines.extend(server_source_line(cause));
            let text = cause.to_string();
            if !line.contains(&text) {
                line.push_str(": ");
                line.push_str(&text);
            }
            source = cause.source();
        }
        for server_line in server_lines {
            line = line.replace(&format!(" at line {server_line}"), "");
        }
        line.split_whitespace().collect::<Vec<_>>().join(" ")
    }

    /// A failed query.
    pub fn query(what: &'static str) -> impl FnOnce(sqlx::Error) -> CliError {
        move |source| CliError::Query { what, source }
    }

    /// A failed lease-store read of lease `name`.
    pub fn lease(name: &str) -> impl FnOnce(es_lease::LeaseError) -> CliError {
        let name = name.to_owned();
        move |source| CliError::Lease { name, source }
    }

    /// A failed broker operation.
    pub fn broker(what: impl Into<String>) -> impl FnOnce(es_amqp::lapin::Error) -> CliError {
        let what = what.into();
        move |source| CliError::Broker { what, source }
    }
}

/// `; did you mean booking-<uuid>?` for the streams `similar` names.
fn did_you_mean(similar: &[String]) -> String {
    if similar.is_empty() {
        String::new()
    } else {
        format!("; did you mean {}?", similar.join(" or "))
    }
}

/// The PostgreSQL server's source line a database error of `cause` carries.
fn server_source_line(cause: &(dyn std::error::Error + 'static)) -> Option<usize> {
    use sqlx::postgres::PgDatabaseError;
    if let Some(error) = cause.downcast_ref::<PgDatabaseError>() {
        return error.line();
    }
    match cause.downcast_ref::<sqlx::Error>()? {
        sqlx::Error::Database(error) => error.try_downcast_ref::<PgDatabaseError>()?.line(),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_line_names_each_cause_once_on_a_single_line() {
        let error = CliError::Query {
            what: "list streams",
            source: sqlx::Error::Protocol("bad\nreply".into()),
        };
        let line = error.one_line();
        assert!(!line.contains('\n'), "{line}");
        assert!(line.starts_with("cannot list streams: "), "{line}");
        assert_eq!(line.matches("bad reply").count(), 1, "{line}");
    }

    #[test]
    fn wrong_command_lines_exit_2_and_failures_1() {
        assert_eq!(CliError::Usage("no store".into()).exit_code(), 2);
        assert_eq!(
            CliError::StreamId(InvalidInput::Empty {
                field: es_core::InputField::StreamId
            })
            .exit_code(),
            2
        );
        let missing = CliError::StreamNotFound {
            stream: StreamId::new("s-1").unwrap(),
            similar: Vec::new(),
        };
        assert_eq!(missing.exit_code(), 1);
        let closed = CliError::Output(std::io::ErrorKind::BrokenPipe.into());
        assert!(closed.is_closed_output());
        assert!(!missing.is_closed_output());
    }
}

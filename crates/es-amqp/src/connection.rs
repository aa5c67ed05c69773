//! Opening connections to the broker.
//!
//! One place that names connections (so they can be told apart in the
//! broker's management tools, and closed selectively in tests), bounds the
//! handshake, and applies the crate's defaults. `amqps://` works with the
//! `rustls` feature (the default: the platform's roots, or the PEM file
//! `SSL_CERT_FILE` names) or the `native-tls` feature; without either, only
//! `amqp://` connects.
//!
//! # Why the handshake is bounded
//!
//! lapin 4 can wait forever for the AMQP handshake when the TCP connection
//! is reset in the middle of it (seen here in about 3% of connections cut
//! 2–6 ms after they opened), and a link that stops carrying bytes before
//! the heartbeat is negotiated is never noticed either. Without a bound, a
//! relay or consumer reconnecting through a flaky network could hang in
//! `connect` for good; with it, the attempt fails and the usual reconnect
//! backoff takes over.

use std::time::Duration;

use lapin::{Connection, ConnectionProperties};

/// The default bound on opening a connection: TCP connect, TLS and the AMQP
/// handshake together. RabbitMQ gives a client 10 s from accepting the
/// socket to the end of the handshake (its `handshake_timeout`); twice that
/// leaves room for a slow TLS handshake on a loaded machine.
pub const DEFAULT_CONNECT_TIMEOUT: Duration = Duration::from_secs(20);

/// A wait on the broker that ran out of time: what was awaited, and how
/// long. Each error type of the crate turns it into its `TimedOut` variant.
#[derive(Debug, Clone, Copy)]
pub(crate) struct TimedOut {
    /// What was awaited, e.g. `"connect"` or `"publish"`.
    pub(crate) operation: &'static str,
    /// How long.
    pub(crate) after: Duration,
}

/// Waits at most `after` for `request`; on time-out the error names
/// `operation`. Every wait on the broker goes through here (see the module
/// docs for why).
pub(crate) async fn bounded<T, E: From<TimedOut>>(
    operation: &'static str,
    after: Duration,
    request: impl std::future::Future<Output = Result<T, E>>,
) -> Result<T, E> {
    tokio::time::timeout(after, request)
        .await
        .map_err(|_| E::from(TimedOut { operation, after }))?
}

/// Connects to `uri`, naming the connection `name`, giving up after
/// `timeout`.
pub(crate) async fn connect<E: From<lapin::Error> + From<TimedOut>>(
    uri: lapin::uri::AMQPUri,
    name: &str,
    timeout: Duration,
) -> Result<Connection, E> {
    let properties = ConnectionProperties::default().with_connection_name(name.into());
    bounded("connect", timeout, async {
        Ok(Connection::connect_uri(uri, properties).await?)
    })
    .await
}

/// How long a polite close may wait for the broker's answer.
const CLOSE_TIMEOUT: Duration = Duration::from_secs(5);

/// Closes `connection` politely, ignoring failures (it may already be dead),
/// and never waits more than [`CLOSE_TIMEOUT`] for the broker's answer.
pub(crate) async fn close(connection: &Connection) {
    if connection.status().connected() {
        let _ = tokio::time::timeout(CLOSE_TIMEOUT, connection.close(200, "bye".into())).await;
    }
}

impl From<TimedOut> for crate::ConsumerError {
    fn from(TimedOut { operation, after }: TimedOut) -> Self {
        Self::TimedOut { operation, after }
    }
}

impl From<TimedOut> for crate::RelayError {
    fn from(TimedOut { operation, after }: TimedOut) -> Self {
        Self::TimedOut { operation, after }
    }
}

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

/// Why a connection could not be opened.
#[derive(Debug)]
pub(crate) enum ConnectFailure {
    /// The broker or the network refused or broke the connection.
    Amqp(lapin::Error),
    /// The handshake did not finish within the bound.
    TimedOut(Duration),
}

/// Connects to `url`, naming the connection `name`, giving up after
/// `timeout`.
pub(crate) async fn connect(
    url: &str,
    name: &str,
    timeout: Duration,
) -> Result<Connection, ConnectFailure> {
    let properties = ConnectionProperties::default().with_connection_name(name.into());
    match tokio::time::timeout(timeout, Connection::connect(url, properties)).await {
        Ok(Ok(connection)) => Ok(connection),
        Ok(Err(error)) => Err(ConnectFailure::Amqp(error)),
        Err(_) => Err(ConnectFailure::TimedOut(timeout)),
    }
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

/// Both the consumer's and the relay's errors take a failed connect the
/// same way: a lost connection, or a timeout naming `"connect"`.
macro_rules! from_connect_failure {
    ($error:ty) => {
        impl From<ConnectFailure> for $error {
            fn from(failure: ConnectFailure) -> Self {
                match failure {
                    ConnectFailure::Amqp(error) => Self::Amqp(error),
                    ConnectFailure::TimedOut(after) => Self::TimedOut {
                        operation: "connect",
                        after,
                    },
                }
            }
        }
    };
}

from_connect_failure!(crate::ConsumerError);
from_connect_failure!(crate::RelayError);

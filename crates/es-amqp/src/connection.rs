//! Opening connections to the broker.
//!
//! One place that names connections (so they can be told apart in the
//! broker's management tools, and closed selectively in tests) and applies
//! the crate's defaults. `amqps://` works with the `rustls` feature (the
//! default: the platform's roots, or the PEM file `SSL_CERT_FILE` names) or
//! the `native-tls` feature; without either, only `amqp://` connects.

use lapin::{Connection, ConnectionProperties};

/// Connects to `url`, naming the connection `name`.
pub(crate) async fn connect(url: &str, name: &str) -> Result<Connection, lapin::Error> {
    let properties = ConnectionProperties::default().with_connection_name(name.into());
    Connection::connect(url, properties).await
}

/// How long a polite close may wait for the broker's answer.
const CLOSE_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(5);

/// Closes `connection` politely, ignoring failures (it may already be dead),
/// and never waits more than [`CLOSE_TIMEOUT`] for the broker's answer.
pub(crate) async fn close(connection: &Connection) {
    if connection.status().connected() {
        let _ = tokio::time::timeout(CLOSE_TIMEOUT, connection.close(200, "bye".into())).await;
    }
}

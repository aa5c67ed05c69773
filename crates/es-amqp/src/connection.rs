//! Opening connections to the broker.
//!
//! One place that names connections (so they can be told apart in the
//! broker's management tools, and closed selectively in tests) and applies
//! the crate's defaults. This crate builds lapin without TLS; an application
//! that needs `amqps://` adds `lapin = { version = "4", features = ["rustls"] }`
//! to its own dependencies (Cargo unifies the features).

use lapin::{Connection, ConnectionProperties};

/// Connects to `url`, naming the connection `name`.
pub(crate) async fn connect(url: &str, name: &str) -> Result<Connection, lapin::Error> {
    let properties = ConnectionProperties::default().with_connection_name(name.into());
    Connection::connect(url, properties).await
}

/// Closes `connection` politely, ignoring failures (it may already be dead).
pub(crate) async fn close(connection: &Connection) {
    if connection.status().connected() {
        let _ = connection.close(200, "bye".into()).await;
    }
}

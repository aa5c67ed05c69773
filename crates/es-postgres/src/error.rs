//! Errors of connecting to PostgreSQL and preparing a schema.
//!
//! Event store operations report [`es_core::StoreError`] and projection
//! operations [`es_core::ProjectionError`]; this type covers what happens
//! before: parsing settings, connecting and migrating. No variant ever carries
//! a password: URLs are redacted and driver messages are scrubbed.

use crate::{InvalidSchemaName, RestoredDatabase};

/// Connecting to PostgreSQL or preparing the schema failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum PostgresError {
    /// The schema name was refused (it is put into SQL, so it is validated).
    #[error(transparent)]
    InvalidSchema(#[from] InvalidSchemaName),
    /// The connection URL could not be parsed.
    #[error("invalid PostgreSQL URL {url}: {reason}")]
    InvalidUrl {
        /// The URL, password redacted.
        url: String,
        /// What was wrong with it.
        reason: String,
    },
    /// The server could not be reached or refused the connection.
    #[error("cannot connect to PostgreSQL at {url}: {reason}")]
    Connect {
        /// The URL, password redacted.
        url: String,
        /// What the driver said.
        reason: String,
    },
    /// Applying the embedded migrations failed.
    #[error("cannot migrate schema {schema}: {source}")]
    Migrate {
        /// The schema being migrated.
        schema: String,
        /// What the database said.
        #[source]
        source: sqlx::Error,
    },
    /// The schema's stored transaction ids lie ahead of this cluster's: the
    /// database was restored from another cluster and needs the repair
    /// [`RestoredDatabase`] describes before the store can be used.
    #[error(transparent)]
    RestoredDatabase(#[from] RestoredDatabase),
}

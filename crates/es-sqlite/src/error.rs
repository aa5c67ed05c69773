//! Errors of opening and preparing a SQLite database.
//!
//! Event store operations report [`es_core::StoreError`]; this type covers
//! what happens before: opening the file and applying the embedded migrations.

/// Opening or migrating a SQLite database failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum SqliteError {
    /// The database could not be opened (bad path, permissions, not a database).
    #[error("cannot open SQLite database {location}: {source}")]
    Open {
        /// The path or URL that was opened.
        location: String,
        /// What SQLite said.
        #[source]
        source: sqlx::Error,
    },
    /// The embedded migrations could not be applied.
    #[error("cannot apply the event store migrations to {location}: {source}")]
    Migrate {
        /// The path or URL that was migrated.
        location: String,
        /// What went wrong.
        #[source]
        source: sqlx::migrate::MigrateError,
    },
}

//! Opening SQLite databases the way an event store needs them.
//!
//! WAL journal (readers never block the writer), `synchronous = NORMAL` (a
//! commit survives a process crash; only a power loss can drop the last
//! commits), a busy timeout so that writers in other processes queue instead
//! of failing, and the embedded migrations applied on open. An in-memory
//! database lives in a single connection that the pool never closes.

use std::{path::Path, str::FromStr, time::Duration};

use sqlx::{
    sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions, SqliteSynchronous},
    SqlitePool,
};

use crate::SqliteError;

/// How long a writer waits for another process's write lock.
pub const BUSY_TIMEOUT: Duration = Duration::from_secs(30);

static MIGRATOR: sqlx::migrate::Migrator = sqlx::migrate!("./migrations");

/// Opens (creating if needed) the database file at `path` and migrates it.
pub async fn open_file(path: &Path) -> Result<SqlitePool, SqliteError> {
    let location = path.display().to_string();
    let options = SqliteConnectOptions::new()
        .filename(path)
        .create_if_missing(true);
    open(options, &location, 4).await
}

/// Opens a database from a URL such as `sqlite:data/events.db` or `sqlite::memory:`.
pub async fn open_url(url: &str) -> Result<SqlitePool, SqliteError> {
    let options = SqliteConnectOptions::from_str(url)
        .map_err(|source| SqliteError::Open {
            location: url.to_owned(),
            source,
        })?
        .create_if_missing(true);
    let in_memory = url.contains(":memory:") || url.contains("mode=memory");
    open(options, url, if in_memory { 1 } else { 4 }).await
}

/// A private in-memory database.
pub async fn open_in_memory() -> Result<SqlitePool, SqliteError> {
    open_url("sqlite::memory:").await
}

async fn open(
    options: SqliteConnectOptions,
    location: &str,
    max_connections: u32,
) -> Result<SqlitePool, SqliteError> {
    let options = options
        .journal_mode(SqliteJournalMode::Wal)
        .synchronous(SqliteSynchronous::Normal)
        .busy_timeout(BUSY_TIMEOUT);
    let pool = SqlitePoolOptions::new()
        .max_connections(max_connections)
        .min_connections(1)
        // An in-memory database dies with its last connection: never close it.
        .idle_timeout(None)
        .max_lifetime(None)
        .connect_with(options)
        .await
        .map_err(|source| SqliteError::Open {
            location: location.to_owned(),
            source,
        })?;
    migrate_at(&pool, location).await?;
    Ok(pool)
}

/// Applies the embedded migrations (event, snapshot and checkpoint tables) to
/// a pool you opened yourself. Opening through this crate does it for you.
pub async fn migrate(pool: &SqlitePool) -> Result<(), SqliteError> {
    migrate_at(pool, "the given pool").await
}

async fn migrate_at(pool: &SqlitePool, location: &str) -> Result<(), SqliteError> {
    MIGRATOR
        .run(pool)
        .await
        .map_err(|source| SqliteError::Migrate {
            location: location.to_owned(),
            source,
        })
}

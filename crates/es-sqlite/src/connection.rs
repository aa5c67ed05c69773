//! Opening SQLite databases the way an event store needs them.
//!
//! WAL journal (readers never block the writer), `synchronous = NORMAL` (a
//! commit survives a process crash; only a power loss can drop the last
//! commits), a busy timeout so that writers in other processes queue instead
//! of failing, and es-sqlite's migrations applied on open (see
//! [`migrations`](crate::migrations)). An in-memory database lives in a
//! single connection that the pool never closes.
//!
//! Several processes may open one new file at the same moment. First-time
//! setup is serialised: the switch to WAL happens once, on one connection,
//! before the pool hands out any other; SQLite cannot wait for the
//! exclusive lock that switch needs (the busy timeout does not apply to it),
//! so a switch refused as busy is tried again until [`BUSY_TIMEOUT`] has
//! passed. The migrations then run under SQLite's write lock, which the busy
//! timeout does wait for.

use std::{
    path::Path,
    str::FromStr,
    time::{Duration, Instant},
};

use sqlx::{
    sqlite::{SqliteConnectOptions, SqlitePoolOptions, SqliteSynchronous},
    SqliteConnection, SqlitePool,
};

use crate::{migrations, SqliteError};

/// How long a writer waits for another process's write lock.
pub const BUSY_TIMEOUT: Duration = Duration::from_secs(30);

/// The first pause before trying a busy setup step again; doubled each time
/// up to [`MAX_RETRY_PAUSE`].
const FIRST_RETRY_PAUSE: Duration = Duration::from_millis(2);
/// The longest pause between two tries of a busy setup step.
const MAX_RETRY_PAUSE: Duration = Duration::from_millis(100);

/// Opens (creating if needed) the database file at `path` and migrates it.
pub async fn open_file(path: &Path) -> Result<SqlitePool, SqliteError> {
    let location = path.display().to_string();
    let options = SqliteConnectOptions::new()
        .filename(path)
        .create_if_missing(true);
    open(options, &location, Storage::File).await
}

/// Opens a database from a URL such as `sqlite:data/events.db` or `sqlite::memory:`.
pub async fn open_url(url: &str) -> Result<SqlitePool, SqliteError> {
    let options = SqliteConnectOptions::from_str(url)
        .map_err(|source| SqliteError::Open {
            location: url.to_owned(),
            source,
        })?
        .create_if_missing(true);
    let storage = if url.contains(":memory:") || url.contains("mode=memory") {
        Storage::Memory
    } else {
        Storage::File
    };
    open(options, url, storage).await
}

/// A private in-memory database.
pub async fn open_in_memory() -> Result<SqlitePool, SqliteError> {
    open_url("sqlite::memory:").await
}

/// Where a database lives, which decides its pool and journal.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Storage {
    /// A file: WAL, four connections.
    File,
    /// Memory: one connection (the database dies with it), no WAL.
    Memory,
}

async fn open(
    options: SqliteConnectOptions,
    location: &str,
    storage: Storage,
) -> Result<SqlitePool, SqliteError> {
    let open_error = |source| SqliteError::Open {
        location: location.to_owned(),
        source,
    };
    // No `journal_mode` here: every connection would try to switch, and two
    // switching a new file at once fail (see `use_wal`).
    let options = options
        .synchronous(SqliteSynchronous::Normal)
        .busy_timeout(BUSY_TIMEOUT);
    let pool = SqlitePoolOptions::new()
        .max_connections(match storage {
            Storage::File => 4,
            Storage::Memory => 1,
        })
        .min_connections(1)
        // An in-memory database dies with its last connection: never close it.
        .idle_timeout(None)
        .max_lifetime(None)
        .connect_with(options)
        .await
        .map_err(open_error)?;
    let mut conn = pool.acquire().await.map_err(open_error)?;
    if storage == Storage::File {
        use_wal(&mut conn, location).await.map_err(open_error)?;
    }
    migrate_on(&mut conn, location).await?;
    drop(conn);
    Ok(pool)
}

/// Switches the database to WAL (it stays so: the mode is kept in the file).
///
/// Switching needs an exclusive lock that SQLite does not wait for, so
/// while another process holds a lock (opening the same new file) the
/// switch is tried again after a pause, until [`BUSY_TIMEOUT`].
async fn use_wal(conn: &mut SqliteConnection, location: &str) -> Result<(), sqlx::Error> {
    let mode: String = retry_while_busy(conn, |conn| {
        Box::pin(async move {
            sqlx::query_scalar("PRAGMA journal_mode = WAL")
                .fetch_one(conn)
                .await
        })
    })
    .await?;
    if !mode.eq_ignore_ascii_case("wal") {
        tracing::warn!(
            location,
            mode,
            "SQLite kept its journal mode instead of WAL"
        );
    }
    Ok(())
}

/// Applies es-sqlite's migrations (event, snapshot and checkpoint tables) to
/// a pool you opened yourself. Opening through this crate does it for you.
/// Safe to run from several processes at once.
pub async fn migrate(pool: &SqlitePool) -> Result<(), SqliteError> {
    let location = "the given pool";
    let mut conn = pool.acquire().await.map_err(|source| SqliteError::Open {
        location: location.to_owned(),
        source,
    })?;
    migrate_on(&mut conn, location).await
}

async fn migrate_on(conn: &mut SqliteConnection, location: &str) -> Result<(), SqliteError> {
    retry_while_busy(conn, |conn| Box::pin(migrations::run(conn)))
        .await
        .map_err(|source| SqliteError::Migrate {
            location: location.to_owned(),
            source,
        })
}

/// Runs `step` on `conn`, again after a growing pause while it fails
/// because the database is busy, until [`BUSY_TIMEOUT`] has passed.
async fn retry_while_busy<T, E: BusyError>(
    conn: &mut SqliteConnection,
    mut step: impl for<'c> FnMut(
        &'c mut SqliteConnection,
    ) -> futures::future::BoxFuture<'c, Result<T, E>>,
) -> Result<T, E> {
    let deadline = Instant::now() + BUSY_TIMEOUT;
    let mut pause = FIRST_RETRY_PAUSE;
    loop {
        match step(conn).await {
            Err(error) if error.is_busy() && Instant::now() + pause < deadline => {
                tokio::time::sleep(pause).await;
                pause = (pause * 2).min(MAX_RETRY_PAUSE);
            }
            outcome => return outcome,
        }
    }
}

/// Errors that can say "the database is busy" (`SQLITE_BUSY` or
/// `SQLITE_LOCKED`, with any extended code).
trait BusyError {
    fn is_busy(&self) -> bool;
}

impl BusyError for sqlx::Error {
    fn is_busy(&self) -> bool {
        const SQLITE_BUSY: i32 = 5;
        const SQLITE_LOCKED: i32 = 6;
        match self {
            sqlx::Error::Database(error) => error
                .code()
                .and_then(|code| code.parse::<i32>().ok())
                .is_some_and(|code| matches!(code & 0xff, SQLITE_BUSY | SQLITE_LOCKED)),
            _ => false,
        }
    }
}

impl BusyError for sqlx::migrate::MigrateError {
    fn is_busy(&self) -> bool {
        match self {
            sqlx::migrate::MigrateError::Execute(error)
            | sqlx::migrate::MigrateError::ExecuteMigration(error, _) => error.is_busy(),
            _ => false,
        }
    }
}

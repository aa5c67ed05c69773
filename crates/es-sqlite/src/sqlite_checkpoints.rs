//! Projection checkpoints in SQLite, committed with the projection's rows.
//!
//! A projection applies a batch inside a [`SqliteTransaction`] (started with
//! `BEGIN IMMEDIATE`, so two runners never interleave their writes) and the
//! runner commits the new checkpoint in that same transaction. The checkpoint
//! only moves if it still holds the value the batch started from, which makes
//! a second runner of the same projection (another process, a CLI) harmless.

use std::path::Path;

use async_trait::async_trait;
use es_core::backend::check_checkpoint;
use es_core::{CheckpointStore, Position, ProjectionError};
use sqlx::{Row, Sqlite, SqlitePool};

use crate::{connection, SqliteError};

/// The transaction a SQLite projection writes its rows in.
pub type SqliteTransaction = sqlx::Transaction<'static, Sqlite>;

/// Checkpoints of projections whose rows live in a SQLite database.
#[derive(Clone)]
pub struct SqliteCheckpoints {
    pool: SqlitePool,
}

impl std::fmt::Debug for SqliteCheckpoints {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SqliteCheckpoints").finish_non_exhaustive()
    }
}

impl SqliteCheckpoints {
    /// Opens (creating if needed) a projection database file and migrates it.
    pub async fn open(path: impl AsRef<Path>) -> Result<Self, SqliteError> {
        Ok(Self::from_pool(connection::open_file(path.as_ref()).await?))
    }

    /// Opens a projection database by URL (`sqlite:path` or `sqlite::memory:`).
    pub async fn connect(url: &str) -> Result<Self, SqliteError> {
        Ok(Self::from_pool(connection::open_url(url).await?))
    }

    /// Wraps a pool whose database already has the migrations applied.
    pub fn from_pool(pool: SqlitePool) -> Self {
        Self { pool }
    }

    /// The connection pool, for queries on the projection's tables.
    pub fn pool(&self) -> &SqlitePool {
        &self.pool
    }
}

fn backend(error: sqlx::Error) -> ProjectionError {
    ProjectionError::backend(error)
}

async fn stored(
    conn: &mut sqlx::SqliteConnection,
    projection: &str,
) -> Result<Position, ProjectionError> {
    let row = sqlx::query("SELECT commit_key, sequence FROM es_checkpoints WHERE projection = ?")
        .bind(projection)
        .fetch_optional(&mut *conn)
        .await
        .map_err(backend)?;
    Ok(match row {
        None => Position::START,
        Some(row) => {
            let commit: i64 = row.try_get(0).map_err(backend)?;
            let sequence: i64 = row.try_get(1).map_err(backend)?;
            Position::new(commit as u64, sequence as u64)
        }
    })
}

#[async_trait]
impl CheckpointStore for SqliteCheckpoints {
    type Transaction = SqliteTransaction;

    async fn begin(&self) -> Result<SqliteTransaction, ProjectionError> {
        self.pool
            .begin_with("BEGIN IMMEDIATE")
            .await
            .map_err(backend)
    }

    async fn load_checkpoint(&self, projection: &str) -> Result<Position, ProjectionError> {
        es_core::backend::check_projection_name(projection)?;
        let mut conn = self.pool.acquire().await.map_err(backend)?;
        stored(&mut conn, projection).await
    }

    async fn commit(
        &self,
        mut tx: SqliteTransaction,
        projection: &str,
        previous: Position,
        checkpoint: Position,
    ) -> Result<(), ProjectionError> {
        es_core::backend::check_projection_name(projection)?;
        let actual = stored(&mut tx, projection).await?;
        check_checkpoint(projection, previous, actual)?;
        sqlx::query(
            "INSERT INTO es_checkpoints (projection, commit_key, sequence) VALUES (?, ?, ?) \
             ON CONFLICT (projection) DO UPDATE SET commit_key = excluded.commit_key, \
             sequence = excluded.sequence",
        )
        .bind(projection)
        .bind(checkpoint.commit as i64)
        .bind(checkpoint.sequence as i64)
        .execute(&mut *tx)
        .await
        .map_err(backend)?;
        tx.commit().await.map_err(backend)
    }
}

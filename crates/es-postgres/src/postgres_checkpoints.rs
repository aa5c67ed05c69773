//! Projection checkpoints in PostgreSQL, committed with the projection's rows.
//!
//! A projection applies a batch inside a [`PostgresTransaction`] on the
//! projection's own pool, which may point at another database or server than
//! the event store: exactly-once holds because the checkpoint lives with the
//! rows, not with the events. The runner then moves the checkpoint in that
//! same transaction with a compare-and-set (`UPDATE … WHERE` the checkpoint is
//! still the one the batch started from); if another runner got there first,
//! zero rows change, the batch is rolled back and the runner gets
//! [`ProjectionError::CheckpointMoved`].

use std::sync::Arc;

use async_trait::async_trait;
use es_core::backend::check_checkpoint;
use es_core::{CheckpointStore, Position, ProjectionError};
use sqlx::{PgConnection, PgPool, Postgres, Row};

use crate::{
    migrations, statements::CheckpointStatements, PostgresConfig, PostgresError, SchemaName,
};

/// The transaction a PostgreSQL projection writes its rows in.
pub type PostgresTransaction = sqlx::Transaction<'static, Postgres>;

/// Checkpoints of projections whose rows live in a PostgreSQL database.
///
/// Cheap to clone. Call [`migrate`](Self::migrate) once before first use
/// (a [`PostgresStore`](crate::PostgresStore)'s own migration includes the
/// checkpoint table, so `store.checkpoints()` needs no extra step).
#[derive(Clone)]
pub struct PostgresCheckpoints {
    pool: PgPool,
    schema: SchemaName,
    sql: Arc<CheckpointStatements>,
}

impl std::fmt::Debug for PostgresCheckpoints {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PostgresCheckpoints")
            .field("schema", &self.schema.as_str())
            .finish_non_exhaustive()
    }
}

impl PostgresCheckpoints {
    /// Connects to the projection database at `url` (schema `es`).
    pub async fn connect(url: &str) -> Result<Self, PostgresError> {
        Self::connect_with(PostgresConfig::new(url)).await
    }

    /// Connects to the projection database with `config`.
    pub async fn connect_with(config: PostgresConfig) -> Result<Self, PostgresError> {
        let pool = config.connect_pool().await?;
        Ok(Self::from_pool(pool, config.schema().clone()))
    }

    /// Wraps any pool (the projection's database); checkpoints live in `schema`.
    pub fn from_pool(pool: PgPool, schema: SchemaName) -> Self {
        Self {
            sql: Arc::new(CheckpointStatements::new(&schema)),
            pool,
            schema,
        }
    }

    /// Creates the schema and the checkpoint table if needed. Idempotent.
    pub async fn migrate(&self) -> Result<(), PostgresError> {
        migrations::run(&self.pool, &self.schema, &[migrations::CHECKPOINTS]).await
    }

    /// The projection database's pool, for queries on the projection's tables.
    pub fn pool(&self) -> &PgPool {
        &self.pool
    }

    /// The schema of the checkpoint table.
    pub fn schema(&self) -> &SchemaName {
        &self.schema
    }

    async fn stored(
        &self,
        conn: &mut PgConnection,
        projection: &str,
    ) -> Result<Position, ProjectionError> {
        let row = sqlx::query(self.sql.load.clone())
            .bind(projection)
            .fetch_optional(&mut *conn)
            .await
            .map_err(ProjectionError::backend)?;
        Ok(match row {
            None => Position::START,
            Some(row) => {
                let commit: i64 = row.try_get(0).map_err(ProjectionError::backend)?;
                let sequence: i64 = row.try_get(1).map_err(ProjectionError::backend)?;
                Position::new(commit as u64, sequence as u64)
            }
        })
    }
}

fn to_i64(value: u64) -> Result<i64, ProjectionError> {
    i64::try_from(value)
        .map_err(|_| ProjectionError::backend(format!("position part {value} exceeds i64")))
}

#[async_trait]
impl CheckpointStore for PostgresCheckpoints {
    type Transaction = PostgresTransaction;

    async fn begin(&self) -> Result<PostgresTransaction, ProjectionError> {
        self.pool.begin().await.map_err(ProjectionError::backend)
    }

    async fn load_checkpoint(&self, projection: &str) -> Result<Position, ProjectionError> {
        es_core::backend::check_projection_name(projection)?;
        let mut conn = self
            .pool
            .acquire()
            .await
            .map_err(ProjectionError::backend)?;
        self.stored(&mut conn, projection).await
    }

    async fn commit(
        &self,
        mut tx: PostgresTransaction,
        projection: &str,
        previous: Position,
        checkpoint: Position,
    ) -> Result<(), ProjectionError> {
        es_core::backend::check_projection_name(projection)?;
        let moved = sqlx::query(self.sql.compare_and_set.clone())
            .bind(projection)
            .bind(to_i64(previous.commit)?)
            .bind(to_i64(previous.sequence)?)
            .bind(to_i64(checkpoint.commit)?)
            .bind(to_i64(checkpoint.sequence)?)
            .execute(&mut *tx)
            .await
            .map_err(ProjectionError::backend)?
            .rows_affected();
        let moved = if moved == 0 && previous == Position::START {
            // The first checkpoint of this projection: insert it, unless a
            // concurrent runner inserted one first.
            sqlx::query(self.sql.insert_first.clone())
                .bind(projection)
                .bind(to_i64(checkpoint.commit)?)
                .bind(to_i64(checkpoint.sequence)?)
                .execute(&mut *tx)
                .await
                .map_err(ProjectionError::backend)?
                .rows_affected()
        } else {
            moved
        };
        if moved == 0 {
            let actual = self.stored(&mut tx, projection).await?;
            tx.rollback().await.map_err(ProjectionError::backend)?;
            check_checkpoint(projection, previous, actual)?;
            // The row holds `previous` again by now, yet the update matched
            // nothing: another runner moved it in between. Transient.
            return Err(ProjectionError::backend(format!(
                "the checkpoint of {projection} changed during the commit; try again"
            )));
        }
        tx.commit().await.map_err(ProjectionError::backend)
    }
}

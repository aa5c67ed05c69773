//! The embedded, per-schema migration runner.
//!
//! `sqlx::migrate!` records applied migrations in one `_sqlx_migrations` table
//! on the search path, which does not fit several event stores (schemas) in
//! one database. This runner is tiny instead: each schema has its own
//! `es_migrations (component, version)` table, and a run holds a
//! transaction-scoped advisory lock keyed by the schema name, so concurrent
//! runs (several service instances starting at once) apply each step exactly
//! once. Running it again is a no-op.

use sqlx::{AssertSqlSafe, Connection, Executor, PgConnection, PgPool};

use crate::{PostgresError, SchemaName};

/// One embedded migration step.
struct Migration {
    version: i32,
    sql: &'static str,
}

/// A named set of migrations, applied in version order.
pub(crate) struct Component {
    name: &'static str,
    steps: &'static [Migration],
}

/// The event store: events and snapshots.
pub(crate) const EVENT_STORE: Component = Component {
    name: "event_store",
    steps: &[
        Migration {
            version: 1,
            sql: include_str!("../migrations/event_store/0001_events.sql"),
        },
        Migration {
            version: 2,
            sql: include_str!("../migrations/event_store/0002_drop_streams.sql"),
        },
        Migration {
            version: 3,
            sql: include_str!("../migrations/event_store/0003_json_text.sql"),
        },
        Migration {
            version: 4,
            sql: include_str!("../migrations/event_store/0004_snapshot_revision.sql"),
        },
        Migration {
            version: 5,
            sql: include_str!("../migrations/event_store/0005_commit_tickets.sql"),
        },
        Migration {
            version: 6,
            sql: include_str!("../migrations/event_store/0006_tags.sql"),
        },
    ],
};

/// Projection checkpoints.
pub(crate) const CHECKPOINTS: Component = Component {
    name: "checkpoints",
    steps: &[Migration {
        version: 1,
        sql: include_str!("../migrations/checkpoints/0001_checkpoints.sql"),
    }],
};

/// The first key of the advisory lock (the second is the schema name's hash):
/// "es" in ASCII, so our locks do not collide with an application's.
const LOCK_CLASS: i32 = 0x6573;

/// Applies the missing steps of `components` to `schema`, creating it if needed.
pub(crate) async fn run(
    pool: &PgPool,
    schema: &SchemaName,
    components: &[Component],
) -> Result<(), PostgresError> {
    let fail = |source| PostgresError::Migrate {
        schema: schema.to_string(),
        source,
    };
    let mut conn = pool.acquire().await.map_err(fail)?;
    let mut tx = conn.begin().await.map_err(fail)?;
    // A migration may wait for another instance's run and rewrite tables:
    // no lock or statement limit of the session applies to it.
    script(
        &mut tx,
        "SET LOCAL lock_timeout = 0; SET LOCAL statement_timeout = 0",
    )
    .await
    .map_err(fail)?;
    sqlx::query("SELECT pg_advisory_xact_lock($1, hashtext($2))")
        .bind(LOCK_CLASS)
        .bind(schema.as_str())
        .execute(&mut *tx)
        .await
        .map_err(fail)?;
    let q = schema.quoted();
    let bootstrap = format!(
        "CREATE SCHEMA IF NOT EXISTS {q}; \
         CREATE TABLE IF NOT EXISTS {q}.es_migrations ( \
             component  text        NOT NULL, \
             version    integer     NOT NULL, \
             applied_at timestamptz NOT NULL DEFAULT now(), \
             PRIMARY KEY (component, version))"
    );
    script(&mut tx, &bootstrap).await.map_err(fail)?;
    for component in components {
        let applied: Option<i32> = sqlx::query_scalar(AssertSqlSafe(format!(
            "SELECT max(version) FROM {q}.es_migrations WHERE component = $1"
        )))
        .bind(component.name)
        .fetch_one(&mut *tx)
        .await
        .map_err(fail)?;
        let applied = applied.unwrap_or(0);
        for step in component.steps.iter().filter(|s| s.version > applied) {
            let sql = step.sql.replace("{schema}", &q);
            script(&mut tx, &sql).await.map_err(fail)?;
            sqlx::query(AssertSqlSafe(format!(
                "INSERT INTO {q}.es_migrations (component, version) VALUES ($1, $2)"
            )))
            .bind(component.name)
            .bind(step.version)
            .execute(&mut *tx)
            .await
            .map_err(fail)?;
            tracing::info!(schema = %schema, component = component.name, version = step.version, "applied migration");
        }
    }
    tx.commit().await.map_err(fail)
}

/// Runs a multi-statement script (simple query protocol, no parameters): the
/// crate's own migration text with only the validated, quoted schema name in it.
async fn script(conn: &mut PgConnection, sql: &str) -> Result<(), sqlx::Error> {
    conn.execute(AssertSqlSafe(sql)).await.map(|_| ())
}

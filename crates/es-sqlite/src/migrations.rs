//! es-sqlite's migrations: applied once per database, whoever opens it first.
//!
//! The SQL files of `migrations/` are embedded with sqlx's `migrate!` (a new
//! file there is a new migration, applied in version order) and recorded in
//! a table of es-sqlite's own, [`TABLE`] (`es_sqlite_migrations`), not in
//! sqlx's default `_sqlx_migrations`: an application's own sqlx migrations on
//! the same file keep that table to themselves, whichever runs first.
//!
//! Several processes may open one new file at once, and sqlx's SQLite
//! migrator takes no lock: each would find nothing applied, and all but one
//! fail (a UNIQUE error on the recorded version, or `database is locked`).
//! Here the whole run, reading what is applied included, is one
//! `BEGIN IMMEDIATE` transaction: SQLite's write lock serialises the runs (the
//! busy timeout makes the others queue), and each later run finds everything
//! applied. A run that fails leaves nothing behind.
//!
//! Files migrated before [`TABLE`] existed recorded es-sqlite's migrations in
//! `_sqlx_migrations`. A run moves the records there that it recognises (the
//! version *and* checksum of an embedded migration) into [`TABLE`], and drops
//! `_sqlx_migrations` when nothing else is left in it, so such a file opens as
//! before and its application may then use sqlx's default table itself.

use std::collections::HashMap;

use sqlx::{
    migrate::{Migrate, MigrateError, Migrator},
    AssertSqlSafe, Connection, SqliteConnection,
};

/// The table recording which of es-sqlite's migrations a database has.
pub(crate) const TABLE: &str = "es_sqlite_migrations";

/// sqlx's default table, where es-sqlite recorded its migrations before.
const LEGACY_TABLE: &str = "_sqlx_migrations";

/// The migrations of `migrations/`, as sqlx embeds them.
static EMBEDDED: Migrator = sqlx::migrate!("./migrations");

/// Applies the missing migrations on `conn`, in one `BEGIN IMMEDIATE`
/// transaction (waiting for other writers up to the connection's busy
/// timeout), after adopting records of an older es-sqlite.
pub(crate) async fn run(conn: &mut SqliteConnection) -> Result<(), MigrateError> {
    let mut tx = conn.begin_with("BEGIN IMMEDIATE").await?;
    adopt_legacy_records(&mut tx).await?;
    apply_missing(&mut tx).await?;
    tx.commit().await?;
    Ok(())
}

/// sqlx's migration steps against [`TABLE`]: refuses a database migrated by
/// a newer es-sqlite (a recorded version this one does not know) or one
/// whose recorded migration differs from the embedded one, then applies
/// each missing migration (in a savepoint of the caller's transaction).
async fn apply_missing(conn: &mut SqliteConnection) -> Result<(), MigrateError> {
    conn.ensure_migrations_table(TABLE).await?;
    if let Some(version) = conn.dirty_version(TABLE).await? {
        return Err(MigrateError::Dirty(version));
    }
    let applied: HashMap<i64, Vec<u8>> = conn
        .list_applied_migrations(TABLE)
        .await?
        .into_iter()
        .map(|migration| (migration.version, migration.checksum.into_owned()))
        .collect();
    if let Some(&unknown) = applied
        .keys()
        .filter(|&&version| !EMBEDDED.version_exists(version))
        .min()
    {
        return Err(MigrateError::VersionMissing(unknown));
    }
    for migration in EMBEDDED
        .iter()
        .filter(|migration| !migration.migration_type.is_down_migration())
    {
        match applied.get(&migration.version) {
            Some(checksum) if checksum[..] != migration.checksum[..] => {
                return Err(MigrateError::VersionMismatch(migration.version));
            }
            Some(_) => {}
            None => {
                conn.apply(TABLE, migration).await?;
            }
        }
    }
    Ok(())
}

/// Moves es-sqlite's records out of `_sqlx_migrations` into [`TABLE`] (a
/// no-op when there are none), then drops `_sqlx_migrations` if empty.
async fn adopt_legacy_records(conn: &mut SqliteConnection) -> Result<(), MigrateError> {
    let legacy: bool = sqlx::query_scalar(
        "SELECT EXISTS (SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = ?)",
    )
    .bind(LEGACY_TABLE)
    .fetch_one(&mut *conn)
    .await?;
    if !legacy {
        return Ok(());
    }
    conn.ensure_migrations_table(TABLE).await?;
    let mut adopted = 0;
    for migration in EMBEDDED.iter() {
        let columns = "version, description, installed_on, success, checksum, execution_time";
        sqlx::query(AssertSqlSafe(format!(
            "INSERT OR IGNORE INTO {TABLE} ({columns}) SELECT {columns} FROM {LEGACY_TABLE} \
             WHERE version = ? AND checksum = ?"
        )))
        .bind(migration.version)
        .bind(&*migration.checksum)
        .execute(&mut *conn)
        .await?;
        adopted += sqlx::query(AssertSqlSafe(format!(
            "DELETE FROM {LEGACY_TABLE} WHERE version = ? AND checksum = ?"
        )))
        .bind(migration.version)
        .bind(&*migration.checksum)
        .execute(&mut *conn)
        .await?
        .rows_affected();
    }
    let left: i64 = sqlx::query_scalar(AssertSqlSafe(format!(
        "SELECT count(*) FROM {LEGACY_TABLE}"
    )))
    .fetch_one(&mut *conn)
    .await?;
    if left == 0 {
        sqlx::query(AssertSqlSafe(format!("DROP TABLE {LEGACY_TABLE}")))
            .execute(&mut *conn)
            .await?;
    }
    if adopted > 0 {
        tracing::info!(
            adopted,
            from = LEGACY_TABLE,
            to = TABLE,
            "moved the records of es-sqlite's migrations into its own table"
        );
    }
    Ok(())
}

//! es-sqlite's migrations: applied once per database, whoever opens it first.
//!
//! The SQL files of `migrations/` are embedded by name in [`embedded`] (a new
//! file there is a new entry, applied in version order), exactly as sqlx's
//! `migrate!` would read the folder, and recorded in a table of es-sqlite's
//! own, [`TABLE`] (`es_sqlite_migrations`), not in
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

use std::{borrow::Cow, collections::HashMap, sync::LazyLock};

use sqlx::{
    migrate::{Migrate, MigrateError, Migration, MigrationType, Migrator},
    AssertSqlSafe, Connection, SqlStr, SqliteConnection,
};

/// The table recording which of es-sqlite's migrations a database has.
pub(crate) const TABLE: &str = "es_sqlite_migrations";

/// sqlx's default table, where es-sqlite recorded its migrations before.
const LEGACY_TABLE: &str = "_sqlx_migrations";

/// The migrations of `migrations/`, each named as sqlx's `migrate!` names
/// `<version>_<description>.sql` (`_` read as a space), so their checksums
/// (SHA-384 of the SQL) are the ones es-sqlite recorded when it embedded the
/// folder with `migrate!`. Built here rather than by the macro because
/// `migrate!` would make every build of es-sqlite compile sqlx (with SQLite
/// and TLS) a second time, for the proc macro; a unit test checks this list
/// against the macro's reading of the folder.
fn embedded() -> &'static Migrator {
    static EMBEDDED: LazyLock<Migrator> = LazyLock::new(|| {
        Migrator::with_migrations(vec![
            step(
                1,
                "event store",
                include_str!("../migrations/0001_event_store.sql"),
            ),
            step(
                2,
                "snapshot revision",
                include_str!("../migrations/0002_snapshot_revision.sql"),
            ),
            step(3, "tags", include_str!("../migrations/0003_tags.sql")),
        ])
    });
    &EMBEDDED
}

/// One migration, as `migrate!` builds it from its file.
fn step(version: i64, description: &'static str, sql: &'static str) -> Migration {
    Migration::new(
        version,
        Cow::Borrowed(description),
        MigrationType::Simple,
        SqlStr::from_static(sql),
        sql.starts_with("-- no-transaction"),
    )
}

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
        .filter(|&&version| !embedded().version_exists(version))
        .min()
    {
        return Err(MigrateError::VersionMissing(unknown));
    }
    for migration in embedded()
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
    for migration in embedded().iter() {
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

#[cfg(test)]
mod tests {
    use super::*;

    /// What sqlx compares or records of a migration (the checksum stands for
    /// the SQL).
    fn recorded(migration: &Migration) -> (i64, String, MigrationType, Vec<u8>, bool) {
        (
            migration.version,
            migration.description.to_string(),
            migration.migration_type,
            migration.checksum.to_vec(),
            migration.no_tx,
        )
    }

    /// A file added to `migrations/` but not to [`embedded`], or listed under
    /// another version, description or checksum than `migrate!` gives it
    /// (which databases migrated by older es-sqlite recorded), fails here.
    #[test]
    fn the_embedded_list_is_the_folder_as_migrate_reads_it() {
        let folder = sqlx::migrate!("./migrations");
        assert_eq!(
            embedded().iter().map(recorded).collect::<Vec<_>>(),
            folder.iter().map(recorded).collect::<Vec<_>>()
        );
    }
}

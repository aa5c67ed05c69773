//! # es-sqlite: the embedded event store
//!
//! An [`es_core::EventStore`] on SQLite through sqlx: one file (or memory), no
//! server. WAL mode, embedded migrations applied on open, writers serialised
//! so the global log is in commit order, snapshots, and projection
//! checkpoints committed in the projection's own transaction.
//! `docs/architecture.md` explains how it fits with the other crates.
//!
//! Modules:
//! * `connection`: opening a file or memory database (WAL, busy timeout),
//!   first-time setup safe when several processes open one new file at once;
//! * `migrations`: the embedded migrations (`migrations/*.sql`), recorded in
//!   es-sqlite's own table `es_sqlite_migrations` under SQLite's write lock
//!   (an application's sqlx migrations keep `_sqlx_migrations`);
//! * `store`: [`SqliteStore`], split into appending, reading and decoding
//!   rows, and snapshots;
//! * `sqlite_checkpoints`: [`SqliteCheckpoints`] for projections;
//! * `error`: [`SqliteError`], failures of opening and migrating.
//!
//! Every append first runs [`es_core::backend::validate_append`], so SQLite refuses
//! exactly what the other stores refuse. Payloads, metadata and snapshot
//! states are kept as the JSON text serde_json wrote and parsed back with
//! it, so values read back exactly; a stored event that cannot be decoded is
//! a [`es_core::StoreError::Decode`] naming its stream, version and type.
//!
//! ```
//! use es_core::{EventStore, ExpectedVersion, NewEvent, StreamId};
//! use es_sqlite::SqliteStore;
//!
//! # tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap().block_on(async {
//! let dir = std::env::temp_dir().join(format!("es-sqlite-doc-{}", uuid::Uuid::now_v7()));
//! std::fs::create_dir_all(&dir)?;
//! let store = SqliteStore::open(dir.join("events.db")).await?;
//! let stream = StreamId::new("door-1")?;
//! let outcome = store
//!     .append(&stream, ExpectedVersion::NoStream, vec![NewEvent::raw("Opened", serde_json::json!({}))])
//!     .await?;
//! assert_eq!(outcome.version, 1);
//! # std::fs::remove_dir_all(&dir)?;
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! # }).unwrap();
//! ```
//!
//! Projections write their rows through a [`SqliteTransaction`]; run them with
//! [`es_core::ProjectionRunner`] and a [`SqliteCheckpoints`] on the
//! projection's database (which may be another file than the events).

#![warn(missing_docs)]

mod connection;
mod error;
mod lease;
mod migrations;
mod sqlite_checkpoints;
mod store;

pub use connection::{migrate, BUSY_TIMEOUT};
pub use error::SqliteError;
pub use lease::{SqliteLeases, DEFAULT_LEASE_TTL};
pub use sqlite_checkpoints::{SqliteCheckpoints, SqliteTransaction};
pub use store::SqliteStore;

/// The sqlx version this crate is built on, for writing projections.
pub use sqlx;

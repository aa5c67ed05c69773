//! The es-postgres integration tests, one binary: each module is one
//! concern, all sharing [`common`] (a fresh schema per test, dropped at the
//! end). They need the PostgreSQL server of `DATABASE_URL` (default
//! `postgres://postgres@127.0.0.1:5432/test`) and fail without it.

mod append_in_transaction;
mod common;
mod conformance;
mod exact_json;
mod hostile_input;
mod lag;
mod late_commit;
mod leases;
mod migrations;
mod noisy_neighbour;
mod notifications;
mod old_transaction_readers;
mod older_transaction;
mod one_connection;
mod projection_second_database;
mod race;
mod reconnect;
mod refused_input;
mod restored_database;
mod session_limits;
mod snapshots;
mod tls;
mod undecodable_rows;

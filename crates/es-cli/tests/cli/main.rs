//! End-to-end tests of the `es` binary against real PostgreSQL and RabbitMQ.
//!
//! Each test runs the built binary (`CARGO_BIN_EXE_es`) the way an operator
//! would and checks both the human and the `--json` output. Every schema,
//! exchange and queue has a unique name; the services must be running (set
//! `DATABASE_URL` / `AMQP_URL` to point elsewhere): a missing service fails
//! the tests, it never skips them.

mod bad_input;
mod checkpoint_database;
mod checkpoints;
mod dead_letters;
mod horizon;
mod lease_holders;
mod projection_watch;
mod queues;
mod sqlite_store;
mod store_reads;
mod support;

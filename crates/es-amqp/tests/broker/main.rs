//! The broker tests: one test binary against the real RabbitMQ (and, for the
//! inbox stores, SQLite and PostgreSQL), each test in its own exchange and
//! queues. Faults are injected through a proxy in front of the broker, never
//! on the broker itself.

mod config_names;
mod dead_letter;
mod faults;
mod harness;
mod inbox_names;
mod inbox_postgres;
mod inbox_scenario;
mod inbox_sqlite;
mod link_settings;
mod not_yet;
mod partitions;
mod relay_consumer;
mod relay_edges;
mod relay_under_lease;
mod retry_order;
mod tls;
mod trace_context;
mod tracing_correlation;
mod unroutable;

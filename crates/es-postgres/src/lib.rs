//! PostgreSQL event store (work in progress).

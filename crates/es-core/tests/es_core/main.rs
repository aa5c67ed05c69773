//! es-core's integration tests, one binary (one link, one run):
//!
//! * [`conformance_in_memory`]: the store conformance suite against [`es_core::InMemoryStore`];
//! * [`repository`]: the repository beyond the store contract (cache, retry, snapshots, idempotency keys, test kit);
//! * [`one_connection`]: the projection runner never waits on a connection its own
//!   transaction holds, and a rebuild whose checkpoint moves meanwhile resets again;
//! * [`projection_batches`]: how the projection runner hands out and commits batches,
//!   and the catch-up progress it reports;
//! * [`spans`]: what the execute, append and projection-batch spans record;
//! * [`stream_identity`]: aggregate stream ids are injective and parse back;
//! * [`input_rules`]: the shared append rules backends call (limits, re-sends, checkpoints);
//! * [`undecodable_events`]: what subscriptions and projections do with events that cannot be decoded;
//! * [`upcasting`]: upcaster chains must reach the event type's current schema version exactly;
//! * [`snapshot_revisions`]: the snapshot revision check against the in-memory store;
//! * [`edge_inputs`]: inputs found by attacking the fixed guarantees (re-used keys, NaN, …);
//! * [`exact_values`]: values JSON cannot carry (NaN, infinity, `Some(None)`) are refused wherever they sit;
//! * [`names`]: every name a worker goes by is checked where it is built, by one rule.

mod conformance_in_memory;
mod edge_inputs;
mod exact_values;
mod input_rules;
mod names;
mod one_connection;
mod projection_batches;
mod repository;
mod snapshot_revisions;
mod spans;
mod stream_identity;
mod undecodable_events;
mod upcasting;

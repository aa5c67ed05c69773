//! Dynamic Consistency Boundaries (the dcb.events specification).
//!
//! Streams draw consistency boundaries in advance: one stream, one
//! boundary. Rules that span streams (a username unique across accounts, a
//! slot booked once across bookings) need a boundary drawn per decision:
//! events carry [`Tag`]s, a [`Query`] selects the events a decision depends
//! on, and an append carries an [`AppendCondition`] that fails, atomically
//! with the write, if any event matching the query was stored after the
//! read the decision was taken on. [`DcbStore`] states the contract; the
//! in-memory, SQLite and PostgreSQL stores implement it on the one global
//! log, so streams, aggregates, subscriptions and projections see the same
//! events.
//!
//! Files: `tag.rs` ([`Tag`]), `query.rs` ([`Query`], [`QueryItem`]: the
//! matching rule), `append_condition.rs` ([`AppendCondition`]),
//! `tagged_event.rs` (what goes in and comes out: [`TaggedEvent`],
//! [`SequencedEvent`], [`QueryRead`]), `dcb_store.rs` ([`DcbStore`]: every
//! guarantee, and the input rules every backend applies) and
//! `query_subscription.rs` ([`QuerySubscription`]: follow a query on the
//! gap-safe log).

mod append_condition;
mod dcb_store;
mod query;
mod query_subscription;
mod tag;
mod tagged_event;

pub use append_condition::AppendCondition;
pub use dcb_store::{validate_tagged_append, DcbStore, DCB_CATEGORY};
pub use query::{Query, QueryItem, MAX_ITEM_TERMS, MAX_QUERY_ITEMS};
pub use query_subscription::QuerySubscription;
pub use tag::{Tag, MAX_TAG_BYTES};
pub use tagged_event::{QueryRead, SequencedEvent, TaggedEvent, MAX_TAGS_PER_EVENT};

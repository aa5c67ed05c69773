//! Every input limit of the event store contract, in one place.
//!
//! A value is refused at [`append`](crate::EventStore::append) (or when a
//! [`StreamId`](crate::StreamId) is built) rather than stored by one backend
//! and choked on by another: each figure is the tightest limit of anything
//! downstream (PostgreSQL, SQLite, serde_json, RabbitMQ), so every backend
//! accepts and refuses exactly the same values. The checks live in
//! [`validate_append`](crate::backend::validate_append) and
//! [`StreamId::new`](crate::StreamId::new); the error is
//! [`InvalidInput`](crate::InvalidInput).
//!
//! NUL (U+0000) is refused everywhere: in stream ids, event types, payload
//! strings and object keys, and metadata. PostgreSQL `text` and `jsonb`
//! cannot hold it.

/// The longest stream id, in bytes of UTF-8.
///
/// PostgreSQL limits a b-tree index row to 2,704 bytes, and random text is not
/// compressed, so the indexed id must stay well below that; the id also
/// travels in AMQP message headers.
pub const MAX_STREAM_ID_BYTES: usize = 1024;

/// The longest category (aggregate type), in bytes: the part of a stream id
/// before its first `-`, or the whole id when it has none.
///
/// Together with [`MAX_EVENT_TYPE_BYTES`], the default AMQP routing key
/// `{category}.{event_type}` fits an AMQP short string (255 bytes).
pub const MAX_CATEGORY_BYTES: usize = 64;

/// The longest event type name, in bytes (see [`MAX_CATEGORY_BYTES`]).
pub const MAX_EVENT_TYPE_BYTES: usize = 128;

/// The largest serialised metadata, in bytes of JSON.
///
/// Metadata travels in AMQP headers, which must fit one frame; RabbitMQ's
/// default `frame_max` is 131,072 bytes, and the headers carry more than the
/// metadata.
pub const MAX_METADATA_BYTES: usize = 64 * 1024;

/// The largest serialised payload, in bytes of JSON.
///
/// Below RabbitMQ's default `max_message_size` of 16 MiB, leaving room for the
/// envelope around the payload.
pub const MAX_PAYLOAD_BYTES: usize = 8 * 1024 * 1024;

/// The deepest nesting of JSON arrays and objects in a payload or in metadata
/// (`1` has depth 0, `[1]` depth 1, `{"a": [1]}` depth 2).
///
/// serde_json's parser refuses more than 128 levels, and stored payloads are
/// read back wrapped in envelopes and snapshots, so half of that is left for
/// the wrapping.
pub const MAX_JSON_DEPTH: usize = 64;

/// The largest schema version: PostgreSQL stores it in an `integer` column.
pub const MAX_SCHEMA_VERSION: u32 = i32::MAX as u32;

/// The longest [`IdempotencyKey`](crate::IdempotencyKey), in bytes of UTF-8.
///
/// A key is never stored (it is hashed into event ids), so the figure only
/// keeps a client from sending a document as a key; it fits a UUID, a
/// request id header, or a few of them joined.
pub const MAX_IDEMPOTENCY_KEY_BYTES: usize = 256;

/// The longest projection (checkpoint) name or inbox consumer name, in
/// bytes of UTF-8.
///
/// Such a name keys database rows in every backend, next to a stream id in
/// the inbox (a PostgreSQL b-tree row holds at most 2,704 bytes), and a
/// worker usually runs under a lease of the same name, whose limit
/// (`es_lease::MAX_LEASE_NAME_LEN`) it matches.
pub const MAX_NAME_BYTES: usize = 200;

/// Characters a category (aggregate type) and an event type must not
/// contain: `.`, `*` and `#`.
///
/// The default AMQP routing key joins the two with `.` (`booking.BookingCreated`),
/// and topic bindings read `.` as the word separator and `*` / `#` as
/// wildcards. Without them in either part, the key names exactly one
/// (category, event type) pair and a binding such as `booking.#` matches
/// exactly that category's events.
pub const ROUTING_KEY_RESERVED: [char; 3] = ['.', '*', '#'];

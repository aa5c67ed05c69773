//! Turning rows of the event columns into events.
//!
//! Whatever a row holds, reading it never fails as a (retryable) backend
//! error because of its data: a payload or metadata that does not parse (for
//! example nested deeper than serde_json reads, in a database restored from
//! elsewhere), a stored stream id that is no longer valid, or a negative
//! version is a [`StoreError::Decode`] naming the stream, version and type,
//! so subscribers stop on it (or skip it) instead of retrying forever. Only a
//! column of the wrong SQL type (a schema that is not this crate's) is a
//! backend error.

use chrono::{DateTime, Utc};
use es_core::{
    DecodeError, DecodeFailure, Metadata, Position, RecordedEvent, ReplayEvent, StoreError,
    StreamId,
};
use serde::de::DeserializeOwned;
use sqlx::{postgres::PgRow, types::Json, Row};
use uuid::Uuid;

/// Column order of the event statements (see `statements.rs`).
const SEQUENCE: usize = 0;
const TXID: usize = 1;
const EVENT_ID: usize = 2;
const VERSION: usize = 3;
const EVENT_TYPE: usize = 4;
const SCHEMA_VERSION: usize = 5;
const PAYLOAD: usize = 6;
const METADATA: usize = 7;
const RECORDED_AT: usize = 8;
const STREAM_ID: usize = 9;

/// Column order of the replay statement.
const REPLAY_VERSION: usize = 0;
const REPLAY_EVENT_TYPE: usize = 1;
const REPLAY_SCHEMA_VERSION: usize = 2;
const REPLAY_PAYLOAD: usize = 3;

/// What names a stored event in an error: read first, so that any later
/// failure of the row says which event it was.
struct Identity {
    stream_id: StreamId,
    /// The place in the global log (replay rows leave it out).
    position: Option<Position>,
    version: i64,
    event_type: String,
    schema_version: i32,
}

impl Identity {
    /// A decode error about this event.
    fn error(&self, what: String) -> StoreError {
        let error = DecodeError::new(
            self.stream_id.clone(),
            u64::try_from(self.version).unwrap_or(0),
            self.event_type.clone(),
            u32::try_from(self.schema_version).unwrap_or(0),
            DecodeFailure::Envelope(what),
        );
        match self.position {
            Some(position) => error.with_position(position).into(),
            None => error.into(),
        }
    }

    /// The version, refused as data if it is not positive.
    fn version(&self) -> Result<u64, StoreError> {
        match u64::try_from(self.version) {
            Ok(version) if version > 0 => Ok(version),
            _ => Err(self.error(format!(
                "stored version {} is not a positive number",
                self.version
            ))),
        }
    }

    /// The schema version, refused as data if it is negative.
    fn schema_version(&self) -> Result<u32, StoreError> {
        u32::try_from(self.schema_version).map_err(|_| {
            self.error(format!(
                "stored schema version {} is negative",
                self.schema_version
            ))
        })
    }

    /// A JSON column, parsed from the text it stores.
    fn json<T: DeserializeOwned>(
        &self,
        row: &PgRow,
        index: usize,
        what: &str,
    ) -> Result<T, StoreError> {
        match row.try_get::<Json<T>, _>(index) {
            Ok(Json(value)) => Ok(value),
            Err(sqlx::Error::ColumnDecode { source, .. }) => {
                Err(self.error(format!("{what} cannot be read: {source}")))
            }
            Err(error) => Err(StoreError::backend(error)),
        }
    }
}

/// A column of a type the schema guarantees (a failure means the table is
/// not this crate's, not that an event is bad).
fn column<'r, T>(row: &'r PgRow, index: usize) -> Result<T, StoreError>
where
    T: sqlx::Decode<'r, sqlx::Postgres> + sqlx::Type<sqlx::Postgres>,
{
    row.try_get(index).map_err(StoreError::backend)
}

/// The id that stands in, in errors, for a stored stream id that
/// [`StreamId`] no longer accepts (written under older limits, or restored
/// from elsewhere): it names the row's place in the log instead.
pub(super) fn stand_in_stream_id(txid: i64, sequence: i64) -> Result<StreamId, StoreError> {
    // A short plain id: always accepted; the error arm is not reachable.
    StreamId::new(format!("unreadable-stream-at-{txid}.{sequence}")).map_err(StoreError::from)
}

/// Decodes a row of [`Statements`](crate::statements::Statements)' event
/// columns. `stream` is the stream the rows were read from, if the query was
/// for one stream (its rows then leave the `stream_id` column out, saving its
/// transfer and validation).
pub(super) fn decode_row(
    row: &PgRow,
    stream: Option<&StreamId>,
) -> Result<RecordedEvent, StoreError> {
    let sequence: i64 = column(row, SEQUENCE)?;
    let txid: i64 = column(row, TXID)?;
    let position = Position::new(txid as u64, sequence as u64);
    let version: i64 = column(row, VERSION)?;
    let event_type: String = column(row, EVENT_TYPE)?;
    let schema_version: i32 = column(row, SCHEMA_VERSION)?;
    let identify = |stream_id| Identity {
        stream_id,
        position: Some(position),
        version,
        event_type: event_type.clone(),
        schema_version,
    };
    let stream_id = match stream {
        Some(stream) => stream.clone(),
        None => match StreamId::new(column::<String>(row, STREAM_ID)?) {
            Ok(stream_id) => stream_id,
            Err(reason) => {
                return Err(identify(stand_in_stream_id(txid, sequence)?)
                    .error(format!("stored stream id is refused: {reason}")))
            }
        },
    };
    let identity = identify(stream_id);
    let event_id: Uuid = column(row, EVENT_ID)?;
    let recorded_at: DateTime<Utc> = column(row, RECORDED_AT)?;
    let payload = identity.json(row, PAYLOAD, "payload")?;
    let metadata: Metadata = identity.json(row, METADATA, "metadata")?;
    Ok(RecordedEvent {
        event_id,
        version: identity.version()?,
        position,
        schema_version: identity.schema_version()?,
        payload,
        metadata,
        recorded_at,
        stream_id: identity.stream_id,
        event_type: identity.event_type,
    })
}

/// Decodes a row of the replay statement of `stream_id`.
pub(super) fn decode_replay_row(
    row: &PgRow,
    stream_id: &StreamId,
) -> Result<ReplayEvent, StoreError> {
    let identity = Identity {
        stream_id: stream_id.clone(),
        position: None,
        version: column(row, REPLAY_VERSION)?,
        event_type: column(row, REPLAY_EVENT_TYPE)?,
        schema_version: column(row, REPLAY_SCHEMA_VERSION)?,
    };
    Ok(ReplayEvent {
        version: identity.version()?,
        schema_version: identity.schema_version()?,
        payload: identity.json(row, REPLAY_PAYLOAD, "payload")?,
        event_type: identity.event_type,
    })
}

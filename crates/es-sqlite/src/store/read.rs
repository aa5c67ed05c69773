//! Reading one stream and the global log, and turning rows into events.
//!
//! SQLite keeps whatever a row was given (its column types are only
//! affinities), so a database restored from elsewhere may hold anything.
//! Whatever a row holds, reading it is never a (retryable) backend error
//! because of its data: a payload or metadata that does not parse (nested
//! deeper than serde_json reads, say), a value of the wrong type, or a stored
//! stream id that is no longer valid is a [`StoreError::Decode`] naming the
//! stream, version and type, so subscribers stop on it instead of retrying
//! forever. Payloads and metadata are the JSON text serde_json wrote, parsed
//! back with it: values read back exactly as they were appended.

use chrono::{DateTime, Utc};
use es_core::{
    DecodeError, DecodeFailure, InvalidInput, Metadata, Position, RecordedEvent, StoreError,
    StreamId,
};
use futures::{stream::BoxStream, StreamExt, TryStreamExt};
use sqlx::{sqlite::SqliteRow, Decode, Row, Sqlite, Type};
use uuid::Uuid;

use super::SqliteStore;

/// The events of one stream, with the columns [`decode_row`] reads by name.
const SELECT_STREAM: &str = "SELECT position, event_id, stream_id, version, event_type, \
     schema_version, payload, metadata, recorded_at FROM es_events \
     WHERE stream_id = ? AND version >= ? ORDER BY version";

/// A page of the global log, with the same columns.
const SELECT_ALL: &str = "SELECT position, event_id, stream_id, version, event_type, \
     schema_version, payload, metadata, recorded_at FROM es_events \
     WHERE position > ? ORDER BY position LIMIT ?";

impl SqliteStore {
    /// The events of `stream_id` from `from_version` on, as rows arrive.
    pub(super) fn read_stream_rows<'a>(
        &'a self,
        stream_id: &'a StreamId,
        from_version: u64,
    ) -> BoxStream<'a, Result<RecordedEvent, StoreError>> {
        sqlx::query(SELECT_STREAM)
            .bind(stream_id.as_str())
            .bind(i64::try_from(from_version).unwrap_or(i64::MAX))
            .fetch(&self.pool)
            .map_err(StoreError::backend)
            .and_then(|row| async move { decode_row(&row) })
            .boxed()
    }

    /// How many events of the global log lie after `after`.
    pub(super) async fn count_log(&self, after: Position) -> Result<u64, StoreError> {
        let count: i64 = sqlx::query_scalar("SELECT count(*) FROM es_events WHERE position > ?1")
            .bind(i64::try_from(after.sequence).unwrap_or(i64::MAX))
            .fetch_one(&self.pool)
            .await
            .map_err(StoreError::backend)?;
        Ok(u64::try_from(count).unwrap_or(0))
    }

    /// A page of the global log after `after`, in commit order.
    pub(super) async fn read_log(
        &self,
        after: Position,
        limit: usize,
    ) -> Result<Vec<RecordedEvent>, StoreError> {
        let rows = sqlx::query(SELECT_ALL)
            .bind(i64::try_from(after.sequence).unwrap_or(i64::MAX))
            .bind(i64::try_from(limit).unwrap_or(i64::MAX))
            .fetch_all(&self.pool)
            .await
            .map_err(StoreError::backend)?;
        rows.iter().map(decode_row).collect()
    }
}

/// A stored stream id, and why it is refused if [`StreamId`] no longer
/// accepts it (written under older limits, or restored from elsewhere): it
/// is then replaced by a stand-in naming the row's log position
/// (`unreadable-stream-at-{position}`), since errors about the row must name
/// a stream.
pub(super) fn stored_stream_id(
    stored: String,
    position: i64,
) -> Result<(StreamId, Option<InvalidInput>), StoreError> {
    match StreamId::new(stored) {
        Ok(stream_id) => Ok((stream_id, None)),
        // The stand-in is short and plain: always accepted.
        Err(reason) => Ok((
            StreamId::new(format!("unreadable-stream-at-{position}"))?,
            Some(reason),
        )),
    }
}

/// What names a stored event in an error, read first so that any later
/// failure of the row says which event it was.
struct Identity {
    stream_id: StreamId,
    position: Position,
    version: i64,
    event_type: String,
    schema_version: i64,
}

impl Identity {
    /// Reads the naming columns of the row at `position`. A value of the
    /// wrong type in one of them is a decode error of a nameless event (the
    /// stand-in stream of the position, version 0).
    fn read(row: &SqliteRow, position: i64) -> Result<Self, StoreError> {
        let mut nameless = Identity {
            stream_id: stored_stream_id(String::new(), position)?.0,
            position: Position::from_sequence(position as u64),
            version: 0,
            event_type: String::new(),
            schema_version: 0,
        };
        nameless.version = nameless.column(row, "version")?;
        nameless.event_type = nameless.column(row, "event_type")?;
        nameless.schema_version = nameless.column(row, "schema_version")?;
        let stored = nameless.column(row, "stream_id")?;
        let (stream_id, refused) = stored_stream_id(stored, position)?;
        let identity = Identity {
            stream_id,
            ..nameless
        };
        match refused {
            Some(reason) => Err(identity.error(format!("stored stream id is refused: {reason}"))),
            None => Ok(identity),
        }
    }

    /// A decode error about this event.
    fn error(&self, what: String) -> StoreError {
        DecodeError::new(
            self.stream_id.clone(),
            u64::try_from(self.version).unwrap_or(0),
            self.event_type.clone(),
            u32::try_from(self.schema_version).unwrap_or(0),
            DecodeFailure::Envelope(what),
        )
        .with_position(self.position)
        .into()
    }

    /// A column of this event; a value of another type is a decode error.
    fn column<'r, T>(&self, row: &'r SqliteRow, name: &str) -> Result<T, StoreError>
    where
        T: Decode<'r, Sqlite> + Type<Sqlite>,
    {
        row.try_get(name).map_err(|error| match error {
            sqlx::Error::ColumnDecode { source, .. } => {
                self.error(format!("column {name} cannot be read: {source}"))
            }
            other => StoreError::backend(other),
        })
    }

    /// A JSON text column, parsed.
    fn json<T: serde::de::DeserializeOwned>(
        &self,
        row: &SqliteRow,
        name: &str,
    ) -> Result<T, StoreError> {
        let text: String = self.column(row, name)?;
        serde_json::from_str(&text)
            .map_err(|e| self.error(format!("column {name} is not readable JSON: {e}")))
    }
}

/// Decodes a row of [`SELECT_STREAM`] or [`SELECT_ALL`].
pub(super) fn decode_row(row: &SqliteRow) -> Result<RecordedEvent, StoreError> {
    // `position` is the rowid: always an integer.
    let position: i64 = row.try_get("position").map_err(StoreError::backend)?;
    let identity = Identity::read(row, position)?;
    let version = u64::try_from(identity.version)
        .ok()
        .filter(|&version| version > 0)
        .ok_or_else(|| {
            identity.error(format!(
                "stored version {} is not positive",
                identity.version
            ))
        })?;
    let schema_version = u32::try_from(identity.schema_version).map_err(|_| {
        identity.error(format!(
            "stored schema version {} is out of range",
            identity.schema_version
        ))
    })?;
    let event_id: String = identity.column(row, "event_id")?;
    let event_id = Uuid::parse_str(&event_id)
        .map_err(|e| identity.error(format!("event id {event_id:?}: {e}")))?;
    let recorded_at: DateTime<Utc> = identity.column(row, "recorded_at")?;
    let payload = identity.json(row, "payload")?;
    let metadata: Metadata = identity.json(row, "metadata")?;
    Ok(RecordedEvent {
        event_id,
        version,
        position: identity.position,
        schema_version,
        payload,
        metadata,
        recorded_at,
        stream_id: identity.stream_id,
        event_type: identity.event_type,
    })
}

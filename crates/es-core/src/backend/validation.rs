//! The checks behind the [`limits`](crate::backend::limits): one implementation that
//! every backend runs first in `append`, so all of them refuse the same input.

use std::{collections::HashSet, io};

use serde::Serialize;
use serde_json::Value;

use crate::backend::limits::{
    MAX_CATEGORY_BYTES, MAX_EVENT_TYPE_BYTES, MAX_JSON_DEPTH, MAX_METADATA_BYTES,
    MAX_PAYLOAD_BYTES, MAX_SCHEMA_VERSION, MAX_STREAM_ID_BYTES,
};
use crate::{InputField, InvalidInput, NewEvent, StoreError, StreamId};

/// Checks a batch against every input limit before a backend touches it.
///
/// Every [`EventStore::append`](crate::EventStore::append) calls this first,
/// before looking at the stream: the stream id; each event's type (1 to
/// [`MAX_EVENT_TYPE_BYTES`], no NUL) and schema version (at most
/// [`MAX_SCHEMA_VERSION`]); its payload and metadata (nesting at most
/// [`MAX_JSON_DEPTH`], no NUL in any string or key, serialised size at most
/// [`MAX_PAYLOAD_BYTES`] and [`MAX_METADATA_BYTES`]); and that no event id
/// appears twice in the batch. Refusals are [`StoreError::InvalidInput`];
/// nothing has been written.
///
/// ```
/// use es_core::backend::validate_append;
/// use es_core::{InputField, InvalidInput, NewEvent, StoreError, StreamId};
/// let stream = StreamId::new("door-1").unwrap();
/// assert!(validate_append(&stream, &[NewEvent::raw("Opened", serde_json::json!({}))]).is_ok());
/// let refused = validate_append(&stream, &[NewEvent::raw("Op\0ened", serde_json::json!({}))]);
/// assert!(matches!(
///     refused,
///     Err(StoreError::InvalidInput(InvalidInput::Nul { field: InputField::EventType }))
/// ));
/// ```
pub fn validate_append(stream_id: &StreamId, events: &[NewEvent]) -> Result<(), StoreError> {
    check_stream_id(stream_id.as_str())?;
    let mut seen = HashSet::with_capacity(events.len());
    for event in events {
        if !seen.insert(event.event_id) {
            return Err(InvalidInput::DuplicateEventIdInBatch {
                event_id: event.event_id,
            }
            .into());
        }
        check_name(
            InputField::EventType,
            &event.event_type,
            MAX_EVENT_TYPE_BYTES,
        )?;
        check_routable(InputField::EventType, &event.event_type)?;
        if event.schema_version > MAX_SCHEMA_VERSION {
            return Err(InvalidInput::TooLarge {
                field: InputField::SchemaVersion,
                value: u64::from(event.schema_version),
                max: u64::from(MAX_SCHEMA_VERSION),
            }
            .into());
        }
        check_tree(InputField::Payload, &event.payload, 0)?;
        check_size(
            InputField::Payload,
            &event.payload,
            MAX_PAYLOAD_BYTES,
            &event.event_type,
        )?;
        if let Some(extra) = &event.metadata.extra {
            // The extra value sits inside the metadata object.
            check_tree(InputField::Metadata, extra, 1)?;
        }
        check_size(
            InputField::Metadata,
            &event.metadata,
            MAX_METADATA_BYTES,
            &event.event_type,
        )?;
    }
    Ok(())
}

/// A whole stream id: 1 to [`MAX_STREAM_ID_BYTES`] bytes, no NUL, and a
/// category of at most [`MAX_CATEGORY_BYTES`].
pub(crate) fn check_stream_id(id: &str) -> Result<(), InvalidInput> {
    check_name(InputField::StreamId, id, MAX_STREAM_ID_BYTES)?;
    let category = id.split_once('-').map_or(id, |(category, _)| category);
    if category.len() > MAX_CATEGORY_BYTES {
        return Err(InvalidInput::TooLong {
            field: InputField::Category,
            len: category.len(),
            max: MAX_CATEGORY_BYTES,
        });
    }
    check_routable(InputField::Category, category)
}

/// A part of the default routing key: none of
/// [`ROUTING_KEY_RESERVED`](crate::backend::limits::ROUTING_KEY_RESERVED).
pub(crate) fn check_routable(field: InputField, value: &str) -> Result<(), InvalidInput> {
    match value
        .chars()
        .find(|c| crate::backend::limits::ROUTING_KEY_RESERVED.contains(c))
    {
        Some(character) => Err(InvalidInput::ForbiddenCharacter { field, character }),
        None => Ok(()),
    }
}

/// Checks a projection's name (the key of its checkpoint): non-empty, at
/// most [`MAX_NAME_BYTES`](crate::backend::limits::MAX_NAME_BYTES), no NUL. Every
/// checkpoint store runs it, so all backends refuse the same names.
pub fn check_projection_name(name: &str) -> Result<(), InvalidInput> {
    check_name(
        InputField::ProjectionName,
        name,
        crate::backend::limits::MAX_NAME_BYTES,
    )
}

/// Checks an inbox consumer's name (the key of the events it processed):
/// the same rule as [`check_projection_name`]. Every idempotency store runs it.
pub fn check_consumer_name(name: &str) -> Result<(), InvalidInput> {
    check_name(
        InputField::ConsumerName,
        name,
        crate::backend::limits::MAX_NAME_BYTES,
    )
}

/// A name: non-empty, at most `max` bytes, no NUL.
pub(crate) fn check_name(field: InputField, value: &str, max: usize) -> Result<(), InvalidInput> {
    if value.is_empty() {
        Err(InvalidInput::Empty { field })
    } else if value.len() > max {
        Err(InvalidInput::TooLong {
            field,
            len: value.len(),
            max,
        })
    } else if value.contains('\0') {
        Err(InvalidInput::Nul { field })
    } else {
        Ok(())
    }
}

/// Walks a JSON tree without recursion: nesting depth (starting from
/// `outer_depth` enclosing containers) and NUL in strings and keys.
fn check_tree(field: InputField, root: &Value, outer_depth: usize) -> Result<(), InvalidInput> {
    let mut pending = vec![(root, outer_depth)];
    while let Some((value, depth)) = pending.pop() {
        let inner = depth + 1;
        match value {
            Value::String(s) if s.contains('\0') => return Err(InvalidInput::Nul { field }),
            Value::Array(_) | Value::Object(_) if inner > MAX_JSON_DEPTH => {
                return Err(InvalidInput::TooDeep {
                    field,
                    depth: inner,
                    max: MAX_JSON_DEPTH,
                })
            }
            Value::Array(items) => pending.extend(items.iter().map(|item| (item, inner))),
            Value::Object(map) => {
                for (key, item) in map {
                    if key.contains('\0') {
                        return Err(InvalidInput::Nul { field });
                    }
                    pending.push((item, inner));
                }
            }
            _ => {}
        }
    }
    Ok(())
}

/// Counts the serialised size of `value` without keeping the bytes, stopping
/// as soon as it passes `max`.
fn check_size<T: Serialize>(
    field: InputField,
    value: &T,
    max: usize,
    event_type: &str,
) -> Result<(), StoreError> {
    let mut counter = ByteCounter { len: 0, max };
    match serde_json::to_writer(&mut counter, value) {
        Ok(()) => Ok(()),
        Err(_) if counter.len > max => Err(InvalidInput::TooLong {
            field,
            len: counter.len,
            max,
        }
        .into()),
        Err(source) => Err(StoreError::Encode {
            event_type: event_type.to_owned(),
            source,
        }),
    }
}

/// A writer that only counts bytes, and fails once past its limit.
struct ByteCounter {
    len: usize,
    max: usize,
}

impl io::Write for ByteCounter {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.len += buf.len();
        if self.len > self.max {
            Err(io::Error::other("over the size limit"))
        } else {
            Ok(buf.len())
        }
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

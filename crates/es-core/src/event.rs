//! Domain events and the events handed to a store.
//!
//! A domain event is a plain Rust type (usually an enum, one variant per event
//! type) with serde for its payload, a stable type name and a schema version.
//! A [`NewEvent`] is that event encoded for storage, with its id and metadata.

use serde::{de::DeserializeOwned, Serialize};
use serde_json::Value;
use uuid::Uuid;

use crate::{exact_json, InputField, Metadata, StoreError};

/// A domain event: a stable type name, a schema version, and a JSON payload.
///
/// The default [`encode`](DomainEvent::encode)/[`decode`](DomainEvent::decode)
/// fit serde's default (externally tagged) enum representation, where each
/// variant's name is its event type: variant `BookingCreated { slot }` is stored
/// with type `BookingCreated` and payload `{"slot": …}`, and a unit variant with
/// payload `null`. Override both for any other shape.
///
/// ```
/// use es_core::DomainEvent;
/// use serde::{Deserialize, Serialize};
///
/// #[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
/// enum CounterEvent { Incremented { by: u32 }, Reset }
///
/// impl DomainEvent for CounterEvent {
///     fn event_type(&self) -> &'static str {
///         match self { Self::Incremented { .. } => "Incremented", Self::Reset => "Reset" }
///     }
/// }
///
/// let payload = CounterEvent::Incremented { by: 2 }.encode().unwrap();
/// assert_eq!(payload, serde_json::json!({ "by": 2 }));
/// let back = CounterEvent::decode("Incremented", payload).unwrap();
/// assert_eq!(back, CounterEvent::Incremented { by: 2 });
/// assert_eq!(CounterEvent::decode("Reset", serde_json::Value::Null).unwrap(), CounterEvent::Reset);
/// ```
pub trait DomainEvent: Serialize + DeserializeOwned + Send + Sync + 'static {
    /// The stable name stored with the event. Renaming it breaks old streams.
    fn event_type(&self) -> &'static str;

    /// The current schema version of this event's payload (starts at 1). Bump it
    /// when the payload changes shape, and register an
    /// [`Upcaster`](crate::Upcasters) for the old version.
    fn schema_version(&self) -> u32 {
        1
    }

    /// Encodes the payload (without the type name).
    ///
    /// What JSON cannot carry as it is (a NaN or infinite float, a `Some`
    /// of something written as `null`), wherever it sits, is an error naming
    /// its path (`Measured.readings[2]`) rather than a `null` that would
    /// read back as another value.
    fn encode(&self) -> Result<Value, serde_json::Error> {
        let event_type = self.event_type();
        match exact_json::to_value(self, InputField::Payload, "")? {
            Value::Object(mut map) if map.len() == 1 && map.contains_key(event_type) => {
                Ok(map.remove(event_type).unwrap_or(Value::Null))
            }
            Value::String(s) if s == event_type => Ok(Value::Null),
            _ => Err(serde::ser::Error::custom(format!(
                "event type {event_type:?} is not the serde variant name; \
                 override DomainEvent::encode and DomainEvent::decode"
            ))),
        }
    }

    /// Decodes a payload stored under `event_type` (already upcast to the
    /// current schema version). A `null` payload is a unit variant, or a
    /// newtype variant holding `null` (such as `Cleared(None)`): the unit
    /// reading is tried first.
    fn decode(event_type: &str, payload: Value) -> Result<Self, serde_json::Error> {
        let tagged = |payload| {
            let mut map = serde_json::Map::with_capacity(1);
            map.insert(event_type.to_owned(), payload);
            Value::Object(map)
        };
        match payload {
            Value::Null => serde_json::from_value(Value::String(event_type.to_owned()))
                .or_else(|unit| serde_json::from_value(tagged(Value::Null)).map_err(|_| unit)),
            payload => serde_json::from_value(tagged(payload)),
        }
    }
}

/// An event ready to be appended: id, type, schema version, payload, metadata.
#[derive(Debug, Clone, PartialEq)]
pub struct NewEvent {
    /// Unique id of the event; re-sending the same id makes an append idempotent.
    pub event_id: Uuid,
    /// The event type name.
    pub event_type: String,
    /// The payload's schema version.
    pub schema_version: u32,
    /// The JSON payload.
    pub payload: Value,
    /// Correlation, causation and extra metadata.
    pub metadata: Metadata,
}

impl NewEvent {
    /// Encodes a domain event with a fresh UUID v7 id and empty metadata.
    ///
    /// # Errors
    ///
    /// Nothing is encoded that would read back as another value:
    ///
    /// * [`StoreError::InvalidInput`] with
    ///   [`InvalidInput::NotRepresentable`](crate::InvalidInput::NotRepresentable)
    ///   when the event holds a value JSON cannot carry (a NaN or infinite
    ///   float, a `Some` of something written as `null`), wherever it sits,
    ///   naming its path; serde_json would write `null`, and `Some(f64::NAN)`
    ///   would come back as `None`. This holds whether or not
    ///   [`DomainEvent::encode`] is overridden.
    /// * [`StoreError::Encode`] when the event does not serialize, or its
    ///   payload does not decode back into an event: what no reader could
    ///   ever load is refused here rather than stored.
    ///
    /// ```
    /// use es_core::{DomainEvent, InputField, InvalidInput, NewEvent, StoreError};
    /// #[derive(serde::Serialize, serde::Deserialize)]
    /// enum Gauge { Measured { value: Option<f64> } }
    /// impl DomainEvent for Gauge {
    ///     fn event_type(&self) -> &'static str { "Measured" }
    /// }
    /// let refused = NewEvent::from_domain(&Gauge::Measured { value: Some(f64::NAN) });
    /// assert!(matches!(
    ///     refused,
    ///     Err(StoreError::InvalidInput(InvalidInput::NotRepresentable {
    ///         field: InputField::Payload, ref path, value: "NaN",
    ///     })) if path == "Measured.value"
    /// ));
    /// ```
    pub fn from_domain<E: DomainEvent>(event: &E) -> Result<Self, StoreError> {
        let event_type = event.event_type();
        exact_json::check(event)
            .map_err(|found| found.into_invalid_input(InputField::Payload, ""))?;
        let encode_error = |source| StoreError::Encode {
            event_type: event_type.to_owned(),
            source,
        };
        let payload = event.encode().map_err(encode_error)?;
        if let Err(error) = E::decode(event_type, payload.clone()) {
            return Err(encode_error(serde::ser::Error::custom(format!(
                "the payload of {event_type:?} would not read back ({error})"
            ))));
        }
        Ok(Self {
            event_id: Uuid::now_v7(),
            event_type: event_type.to_owned(),
            schema_version: event.schema_version(),
            payload,
            metadata: Metadata::default(),
        })
    }

    /// A raw event with a fresh UUID v7 id, schema version 1 and empty metadata.
    pub fn raw(event_type: impl Into<String>, payload: Value) -> Self {
        Self {
            event_id: Uuid::now_v7(),
            event_type: event_type.into(),
            schema_version: 1,
            payload,
            metadata: Metadata::default(),
        }
    }

    /// Replaces the metadata.
    #[must_use]
    pub fn with_metadata(mut self, metadata: Metadata) -> Self {
        self.metadata = metadata;
        self
    }

    /// Replaces the event id.
    #[must_use]
    pub fn with_id(mut self, event_id: Uuid) -> Self {
        self.event_id = event_id;
        self
    }
}

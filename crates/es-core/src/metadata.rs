//! Metadata that travels with every event.
//!
//! Correlation and causation ids and the trace context are typed fields, not keys in a string map, so
//! a relay or a consumer can read them without guessing. Anything else a user
//! wants to carry goes into one typed `extra` value of the user's own type.

use serde::{de::DeserializeOwned, Deserialize, Serialize};
use uuid::Uuid;

use crate::{exact_json, InputField, InvalidInput, TraceContext};

/// The path of the extra value in the metadata, in messages.
const EXTRA: &str = "extra";

/// The refusal of an extra value that is `null`: stored, it would read back
/// as no extra at all (`extra` is skipped when `None`, `null` reads as `None`).
pub(crate) fn null_extra() -> InvalidInput {
    InvalidInput::NotRepresentable {
        field: InputField::Metadata,
        path: EXTRA.to_owned(),
        value: "Some(null)",
    }
}

/// Metadata recorded with an event.
///
/// ```
/// use es_core::Metadata;
/// use uuid::Uuid;
/// #[derive(serde::Serialize, serde::Deserialize, PartialEq, Debug)]
/// struct Actor { user: String }
///
/// let correlation = Uuid::now_v7();
/// let meta = Metadata::default()
///     .with_correlation_id(correlation)
///     .with_extra(&Actor { user: "ada".into() })
///     .unwrap();
/// assert_eq!(meta.correlation_id, Some(correlation));
/// assert_eq!(meta.extra::<Actor>().unwrap(), Some(Actor { user: "ada".into() }));
/// ```
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Metadata {
    /// Ties together every event caused, directly or not, by one request.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub correlation_id: Option<Uuid>,
    /// The id of the event or message that caused this one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub causation_id: Option<Uuid>,
    /// The W3C trace context of the command that wrote the event, so that
    /// whoever handles it later joins that trace (the relay carries it in
    /// the AMQP `traceparent` header).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub trace_context: Option<TraceContext>,
    /// User-defined extra metadata; read it back with [`Metadata::extra`].
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub extra: Option<serde_json::Value>,
}

impl Metadata {
    /// Sets the correlation id.
    #[must_use]
    pub fn with_correlation_id(mut self, id: Uuid) -> Self {
        self.correlation_id = Some(id);
        self
    }

    /// Sets the causation id.
    #[must_use]
    pub fn with_causation_id(mut self, id: Uuid) -> Self {
        self.causation_id = Some(id);
        self
    }

    /// Sets the trace context.
    #[must_use]
    pub fn with_trace_context(mut self, context: TraceContext) -> Self {
        self.trace_context = Some(context);
        self
    }

    /// Stores a typed extra value.
    ///
    /// # Errors
    ///
    /// `extra` does not serialize, or holds what JSON cannot carry as it is
    /// (a NaN or infinite float, a `Some` of something written as `null`),
    /// wherever it sits: the message names its path (`extra.ratio`), as
    /// [`InvalidInput::NotRepresentable`](crate::InvalidInput::NotRepresentable)
    /// does. An `extra` written as `null` itself is refused too: it would
    /// read back as no extra at all.
    pub fn with_extra<T: Serialize + ?Sized>(
        mut self,
        extra: &T,
    ) -> Result<Self, serde_json::Error> {
        let value = exact_json::to_value(extra, InputField::Metadata, EXTRA)?;
        if value.is_null() {
            return Err(serde::ser::Error::custom(null_extra()));
        }
        self.extra = Some(value);
        Ok(self)
    }

    /// Reads the extra value as `T`; `Ok(None)` when there is none.
    pub fn extra<T: DeserializeOwned>(&self) -> Result<Option<T>, serde_json::Error> {
        self.extra.as_ref().map(|v| T::deserialize(v)).transpose()
    }

    /// Metadata for an event caused by `cause`: same correlation id (or the
    /// cause's own id when it had none), causation id = the cause's event id,
    /// same trace context (so the new event stays in the cause's trace).
    pub fn caused_by(cause: &crate::RecordedEvent) -> Self {
        Self {
            correlation_id: Some(cause.metadata.correlation_id.unwrap_or(cause.event_id)),
            causation_id: Some(cause.event_id),
            trace_context: cause.metadata.trace_context,
            extra: None,
        }
    }
}

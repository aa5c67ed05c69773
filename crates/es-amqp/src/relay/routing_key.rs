//! Which routing key an event is published with.
//!
//! A topic exchange routes by key, so the key is what consumers bind to. The
//! default, `{category}.{event_type}` (for stream `booking-42` and type
//! `BookingCreated`: `booking.BookingCreated`), lets a consumer bind to one
//! aggregate type (`booking.#`) or one event type (`*.BookingCreated`). Any
//! other scheme is a function of the envelope.
//!
//! The default key names exactly one (category, event type) pair: es-core
//! refuses `.`, `*` and `#` in both
//! ([`ROUTING_KEY_RESERVED`](es_core::backend::limits::ROUTING_KEY_RESERVED)), so
//! `shop.order-1` with type `Placed` and `shop-1` with type `order.Placed`
//! can never meet in `shop.order.Placed`. A routing key still only chooses
//! queues; it never identifies an event (the `message_id`, the event id,
//! does), and a key of your own may well be shared by many events. What a
//! key may not do is exceed AMQP's 255 bytes: the relay checks every key
//! before publishing and treats a longer one as an event it can never
//! publish (see [`UnpublishablePolicy`](crate::UnpublishablePolicy)).

use std::{fmt, sync::Arc};

use es_core::RecordedEvent;

/// A function from an event's envelope to its routing key.
///
/// ```
/// use es_amqp::RoutingKey;
/// // The seed's keys: `booking.create` for a new booking, `booking.status_changed` otherwise.
/// let seed = RoutingKey::new(|event| match event.event_type.as_str() {
///     "BookingCreated" => "booking.create".to_owned(),
///     _ => "booking.status_changed".to_owned(),
/// });
/// # let _ = seed;
/// ```
#[derive(Clone)]
pub struct RoutingKey(Arc<dyn Fn(&RecordedEvent) -> String + Send + Sync>);

impl RoutingKey {
    /// A routing key computed by `f`.
    pub fn new(f: impl Fn(&RecordedEvent) -> String + Send + Sync + 'static) -> Self {
        Self(Arc::new(f))
    }

    /// The same key for every event.
    pub fn fixed(key: impl Into<String>) -> Self {
        let key = key.into();
        Self::new(move |_| key.clone())
    }

    /// `{category}.{event_type}`, where the category is the stream id's part
    /// before the first `-`.
    pub fn category_and_type() -> Self {
        Self::new(|event| format!("{}.{}", event.stream_id.category(), event.event_type))
    }

    /// The key for `event`.
    pub fn key_for(&self, event: &RecordedEvent) -> String {
        (self.0)(event)
    }
}

impl Default for RoutingKey {
    /// [`RoutingKey::category_and_type`].
    fn default() -> Self {
        Self::category_and_type()
    }
}

impl fmt::Debug for RoutingKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("RoutingKey(<fn>)")
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use es_core::{Metadata, Position, StreamId};

    #[test]
    fn the_default_key_is_category_dot_type() {
        let event = RecordedEvent {
            event_id: uuid::Uuid::now_v7(),
            stream_id: StreamId::new("booking-0190b6c2").expect("id"),
            version: 1,
            position: Position::from_sequence(1),
            event_type: "BookingCreated".into(),
            schema_version: 1,
            payload: serde_json::Value::Null,
            metadata: Metadata::default(),
            recorded_at: chrono::Utc::now(),
        };
        assert_eq!(
            RoutingKey::default().key_for(&event),
            "booking.BookingCreated"
        );
        assert_eq!(RoutingKey::fixed("x.y").key_for(&event), "x.y");
    }
}

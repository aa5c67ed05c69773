//! One dead-lettered message, as es-amqp's consumer left it.
//!
//! The consumer copies the event's `es-*` headers and adds the failure in
//! `x-es-*` headers (see `es_amqp::wire`). A message the broker itself
//! dead-lettered (a quorum queue's delivery limit) carries RabbitMQ's
//! `x-death` instead; both are read here, and anything missing or malformed
//! shows as absent rather than failing the whole listing.

use std::fmt;

use es_amqp::{
    lapin::{message::Delivery, types::AMQPValue, types::FieldTable, BasicProperties},
    wire,
};
use serde::Serialize;
use serde_json::Value;

use super::amqp_json;

/// Where a dead letter goes back to.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum RedriveTarget {
    /// Straight into the queue that gave up on it (through the default exchange).
    Queue(String),
    /// Through the exchange it was first published to, with its routing key.
    Exchange {
        /// The exchange.
        exchange: String,
        /// The routing key.
        routing_key: String,
    },
}

impl fmt::Display for RedriveTarget {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            RedriveTarget::Queue(queue) => write!(f, "queue {queue}"),
            RedriveTarget::Exchange {
                exchange,
                routing_key,
            } => write!(f, "exchange {exchange} (key {routing_key})"),
        }
    }
}

/// What `es` shows of a dead letter.
#[derive(Debug, Clone, Serialize)]
pub struct DeadLetter {
    /// The message id (the event id for es-amqp messages).
    pub message_id: Option<String>,
    /// The event's stream.
    pub stream_id: Option<String>,
    /// The event's version in its stream.
    pub version: Option<u64>,
    /// The event type.
    pub event_type: Option<String>,
    /// Why it failed.
    pub reason: Option<String>,
    /// How many times the handler ran.
    pub attempts: Option<u64>,
    /// The queue that gave up on it.
    pub failed_queue: Option<String>,
    /// When it was dead-lettered.
    pub failed_at: Option<String>,
    /// Where `redrive` would send it.
    pub redrive_target: Option<RedriveTarget>,
}

/// The first `x-death` entry RabbitMQ added, if any.
fn first_death(headers: &FieldTable) -> Option<&FieldTable> {
    match headers.inner().get("x-death")? {
        AMQPValue::FieldArray(deaths) => match deaths.as_slice().first()? {
            AMQPValue::FieldTable(death) => Some(death),
            _ => None,
        },
        _ => None,
    }
}

/// A string field of an `x-death` entry.
fn death_str(death: Option<&FieldTable>, name: &'static str) -> Option<String> {
    death.and_then(|d| wire::header_str(d, name).ok().flatten())
}

impl DeadLetter {
    /// Reads what es-amqp (or RabbitMQ) recorded on `delivery`.
    pub fn from_delivery(delivery: &Delivery) -> Self {
        let empty = FieldTable::default();
        let headers = delivery.properties.headers().as_ref().unwrap_or(&empty);
        let text = |name: &'static str| wire::header_str(headers, name).ok().flatten();
        let death = first_death(headers);
        let failed_queue = text(wire::HEADER_FAILED_QUEUE).or_else(|| death_str(death, "queue"));
        let original_exchange =
            text(wire::HEADER_ORIGINAL_EXCHANGE).or_else(|| death_str(death, "exchange"));
        let original_routing_key = text(wire::HEADER_ORIGINAL_ROUTING_KEY);
        let redrive_target = match (&failed_queue, original_exchange, original_routing_key) {
            (Some(queue), _, _) => Some(RedriveTarget::Queue(queue.clone())),
            (None, Some(exchange), Some(routing_key)) if !exchange.is_empty() => {
                Some(RedriveTarget::Exchange {
                    exchange,
                    routing_key,
                })
            }
            _ => None,
        };
        DeadLetter {
            message_id: delivery
                .properties
                .message_id()
                .as_ref()
                .map(|id| id.as_str().to_owned()),
            stream_id: text(wire::HEADER_STREAM_ID),
            version: wire::header_u64(headers, wire::HEADER_VERSION)
                .ok()
                .flatten(),
            event_type: text(wire::HEADER_EVENT_TYPE).or_else(|| {
                delivery
                    .properties
                    .kind()
                    .as_ref()
                    .map(|k| k.as_str().to_owned())
            }),
            reason: text(wire::HEADER_FAILURE)
                .or_else(|| death_str(death, "reason").map(|r| format!("broker: {r}"))),
            attempts: wire::header_u64(headers, wire::HEADER_ATTEMPTS)
                .ok()
                .flatten(),
            failed_queue,
            failed_at: text(wire::HEADER_FAILED_AT),
            redrive_target,
        }
    }

    /// The order `redrive` moves messages in: by stream, then version;
    /// messages of no stream last (in queue order, as the sort is stable).
    pub fn redrive_order(&self) -> (bool, Option<&str>, Option<u64>) {
        (
            self.stream_id.is_none(),
            self.stream_id.as_deref(),
            self.version,
        )
    }
}

/// A message's properties as JSON (headers separately, see [`headers`]).
pub fn properties(properties: &BasicProperties) -> Value {
    let text = |v: &Option<es_amqp::lapin::types::ShortString>| {
        v.as_ref().map(|s| Value::String(s.as_str().to_owned()))
    };
    let mut map = serde_json::Map::new();
    let mut put = |key: &str, value: Option<Value>| {
        if let Some(value) = value {
            map.insert(key.to_owned(), value);
        }
    };
    put("message_id", text(properties.message_id()));
    put("type", text(properties.kind()));
    put("content_type", text(properties.content_type()));
    put("correlation_id", text(properties.correlation_id()));
    put("delivery_mode", properties.delivery_mode().map(Value::from));
    put("timestamp", properties.timestamp().map(Value::from));
    Value::Object(map)
}

/// A message's headers as JSON.
pub fn headers(properties: &BasicProperties) -> Value {
    properties
        .headers()
        .as_ref()
        .map_or(Value::Object(serde_json::Map::new()), amqp_json::table)
}

/// A message's body: its JSON if it is JSON, else its text (lossy UTF-8).
pub fn body(data: &[u8]) -> Value {
    serde_json::from_slice(data)
        .unwrap_or_else(|_| Value::String(String::from_utf8_lossy(data).into_owned()))
}

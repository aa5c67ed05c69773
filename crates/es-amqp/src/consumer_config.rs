//! How a consumer connects, which queue it declares and binds, and how it
//! treats failures (attempts, backoff, dead letters, delivery limit).

use std::{fmt, time::Duration};

use crate::{Backoff, QueueType};

/// How a [`Consumer`](crate::Consumer) connects, declares its queue and handles failures.
/// `Debug` shows the URL without its password.
#[derive(Clone)]
pub struct ConsumerConfig {
    /// The broker, e.g. `amqp://guest:guest@127.0.0.1:5672/%2f`.
    pub amqp_url: String,
    /// The exchange the relay publishes to.
    pub exchange: String,
    /// Whether the consumer declares the exchange (durable topic) too.
    pub declare_exchange: bool,
    /// The durable queue this consumer reads.
    pub queue: String,
    /// Binding keys of the queue on the exchange (default `#`: everything).
    pub binding_keys: Vec<String>,
    /// Quorum (default) or classic.
    pub queue_type: QueueType,
    /// Declare the queue with `x-single-active-consumer` (default `true`), so
    /// that several running instances consume one after the other, in order.
    pub single_active_consumer: bool,
    /// The dead-letter exchange (fanout). Default `{queue}.dlx`.
    pub dead_letter_exchange: String,
    /// The dead-letter queue. Default `{queue}.dlq`.
    pub dead_letter_queue: String,
    /// Quorum queues only: deliveries after which the broker itself
    /// dead-letters a message (protects against a message that crashes the
    /// process). `None` = unlimited. Default 20.
    ///
    /// RabbitMQ counts every return as a delivery, including messages that
    /// were prefetched but not yet handled when a connection dropped; a
    /// message at the head of the queue through 20 connection losses in a row
    /// is therefore dead-lettered (not lost: it waits in the dead-letter
    /// queue, with the broker's `x-death` header, to be moved back).
    pub delivery_limit: Option<u32>,
    /// Unacknowledged messages the broker sends ahead (default 200).
    pub prefetch: u16,
    /// Handler attempts before a message is dead-lettered (default 5).
    pub max_attempts: u32,
    /// Delays between handler attempts.
    pub retry: Backoff,
    /// Delays between reconnection attempts.
    pub reconnect: Backoff,
    /// The connection name and consumer tag prefix (default: the queue name).
    pub name: String,
}

impl ConsumerConfig {
    /// A consumer of `queue`, bound to `exchange` with `#`, with the defaults.
    pub fn new(
        amqp_url: impl Into<String>,
        exchange: impl Into<String>,
        queue: impl Into<String>,
    ) -> Self {
        let queue = queue.into();
        Self {
            amqp_url: amqp_url.into(),
            exchange: exchange.into(),
            declare_exchange: true,
            binding_keys: vec!["#".to_owned()],
            queue_type: QueueType::Quorum,
            single_active_consumer: true,
            dead_letter_exchange: format!("{queue}.dlx"),
            dead_letter_queue: format!("{queue}.dlq"),
            delivery_limit: Some(20),
            prefetch: 200,
            max_attempts: 5,
            retry: Backoff::new(Duration::from_millis(50), Duration::from_secs(2)),
            reconnect: Backoff::default(),
            name: queue.clone(),
            queue,
        }
    }

    /// Sets the binding keys.
    pub fn with_binding_keys<K: Into<String>>(mut self, keys: impl IntoIterator<Item = K>) -> Self {
        self.binding_keys = keys.into_iter().map(Into::into).collect();
        self
    }

    /// Sets the queue type.
    pub fn with_queue_type(mut self, queue_type: QueueType) -> Self {
        self.queue_type = queue_type;
        self
    }

    /// Sets the dead-letter exchange and queue names.
    pub fn with_dead_letter(
        mut self,
        exchange: impl Into<String>,
        queue: impl Into<String>,
    ) -> Self {
        self.dead_letter_exchange = exchange.into();
        self.dead_letter_queue = queue.into();
        self
    }

    /// Sets the prefetch count (at least 1).
    pub fn with_prefetch(mut self, prefetch: u16) -> Self {
        self.prefetch = prefetch.max(1);
        self
    }

    /// Sets the number of handler attempts before dead-lettering (at least 1)
    /// and the delays between them.
    pub fn with_retries(mut self, max_attempts: u32, retry: Backoff) -> Self {
        self.max_attempts = max_attempts.max(1);
        self.retry = retry;
        self
    }

    /// Sets the reconnect backoff.
    pub fn with_reconnect(mut self, reconnect: Backoff) -> Self {
        self.reconnect = reconnect;
        self
    }

    /// Sets whether the consumer declares the event exchange.
    pub fn with_declare_exchange(mut self, declare: bool) -> Self {
        self.declare_exchange = declare;
        self
    }

    /// Sets the broker-side delivery limit (quorum queues).
    pub fn with_delivery_limit(mut self, limit: Option<u32>) -> Self {
        self.delivery_limit = limit;
        self
    }

    /// Sets the connection name and consumer tag prefix.
    pub fn with_name(mut self, name: impl Into<String>) -> Self {
        self.name = name.into();
        self
    }
}

impl fmt::Debug for ConsumerConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ConsumerConfig")
            .field("amqp_url", &crate::redact_url(&self.amqp_url))
            .field("exchange", &self.exchange)
            .field("declare_exchange", &self.declare_exchange)
            .field("queue", &self.queue)
            .field("binding_keys", &self.binding_keys)
            .field("queue_type", &self.queue_type)
            .field("single_active_consumer", &self.single_active_consumer)
            .field("dead_letter_exchange", &self.dead_letter_exchange)
            .field("dead_letter_queue", &self.dead_letter_queue)
            .field("delivery_limit", &self.delivery_limit)
            .field("prefetch", &self.prefetch)
            .field("max_attempts", &self.max_attempts)
            .field("retry", &self.retry)
            .field("reconnect", &self.reconnect)
            .field("name", &self.name)
            .finish()
    }
}

//! How a consumer connects, which queue it declares and binds, and how it
//! treats failures (attempts, backoff, dead letters, delivery limit).
//!
//! A [`ConsumerConfig`] is only made by [`ConsumerConfigBuilder::build`],
//! which checks every value, so a consumer never starts with a
//! configuration it cannot use.

use std::{fmt, time::Duration};

use super::group::route::PartitionRoute;
use crate::{
    config_error::{amqp_name, at_least, short_string, Declared},
    link::{link_settings, Link},
    Backoff, ConfigError, QueueType,
};

/// How a [`Consumer`](crate::Consumer) connects, declares its queue and
/// handles failures. `Debug` shows the URL without its password. Made with
/// [`ConsumerConfig::builder`].
///
/// ```
/// use es_amqp::{ConsumerConfig, ConfigError};
/// let config = ConsumerConfig::builder("amqp://guest:guest@127.0.0.1:5672/%2f", "BOOKING_TX_EVENT", "parking.bookings")
///     .with_binding_keys(["booking.#"])
///     .build()?;
/// assert_eq!(config.dead_letter_queue(), "parking.bookings.dlq");
/// let refused = ConsumerConfig::builder("amqp://127.0.0.1", "events", "q").with_prefetch(0).build();
/// assert!(matches!(refused, Err(ConfigError::TooSmall { field: "prefetch", value: 0, min: 1 })));
/// # Ok::<(), ConfigError>(())
/// ```
#[derive(Clone)]
#[non_exhaustive]
pub struct ConsumerConfig {
    link: Link,
    exchange: String,
    declare_exchange: bool,
    queue: String,
    binding_keys: Vec<String>,
    queue_type: QueueType,
    single_active_consumer: bool,
    dead_letter_exchange: String,
    dead_letter_queue: String,
    delivery_limit: Option<u32>,
    prefetch: u16,
    max_attempts: u32,
    retry: Backoff,
    partition: Option<PartitionRoute>,
}

/// Builds a [`ConsumerConfig`]; [`build`](Self::build) checks every value.
#[derive(Clone, Debug)]
#[must_use = "a builder does nothing until `build` is called"]
pub struct ConsumerConfigBuilder {
    config: ConsumerConfig,
}

impl ConsumerConfig {
    /// A consumer of `queue`, bound to `exchange` with `#`, on the broker at
    /// `amqp_url` (query parameters such as `?heartbeat=10` are passed to
    /// the connection; a `frame_max` below [`MIN_FRAME_MAX`](crate::MIN_FRAME_MAX)
    /// or a `channel_max` below 2 is refused), with the defaults: quorum queue with a single active
    /// consumer, dead letters to `{queue}.dlx` / `{queue}.dlq`, delivery
    /// limit 20, prefetch 200, 5 attempts 50 ms–2 s apart, connections
    /// opened within [`DEFAULT_CONNECT_TIMEOUT`](crate::DEFAULT_CONNECT_TIMEOUT)
    /// and requests answered within [`DEFAULT_REQUEST_TIMEOUT`](crate::DEFAULT_REQUEST_TIMEOUT).
    pub fn builder(
        amqp_url: impl Into<String>,
        exchange: impl Into<String>,
        queue: impl Into<String>,
    ) -> ConsumerConfigBuilder {
        let queue = queue.into();
        ConsumerConfigBuilder {
            config: Self {
                link: Link::new(amqp_url.into(), queue.clone()),
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
                retry: Backoff::known_valid(Duration::from_millis(50), Duration::from_secs(2)),
                queue,
                partition: None,
            },
        }
    }

    /// The exchange the relay publishes to.
    pub fn exchange(&self) -> &str {
        &self.exchange
    }

    /// Whether the consumer declares the exchange (durable topic) too.
    pub fn declares_exchange(&self) -> bool {
        self.declare_exchange
    }

    /// The durable queue this consumer reads.
    pub fn queue(&self) -> &str {
        &self.queue
    }

    /// Binding keys of the queue on the exchange (default `#`: everything).
    pub fn binding_keys(&self) -> &[String] {
        &self.binding_keys
    }

    /// Quorum (default) or classic.
    pub fn queue_type(&self) -> QueueType {
        self.queue_type
    }

    /// Whether the queue is declared with `x-single-active-consumer`
    /// (default `true`), so that several running instances consume one after
    /// the other, in order.
    pub fn single_active_consumer(&self) -> bool {
        self.single_active_consumer
    }

    /// The dead-letter exchange (fanout). Default `{queue}.dlx`.
    pub fn dead_letter_exchange(&self) -> &str {
        &self.dead_letter_exchange
    }

    /// The dead-letter queue. Default `{queue}.dlq`.
    pub fn dead_letter_queue(&self) -> &str {
        &self.dead_letter_queue
    }

    /// Quorum queues only: deliveries after which the broker itself
    /// dead-letters a message (protects against a message that crashes the
    /// process). `None` = unlimited. Default 20.
    ///
    /// RabbitMQ counts every return as a delivery, including messages that
    /// were prefetched but not yet handled when a connection dropped; a
    /// message at the head of the queue through 20 connection losses in a row
    /// is therefore dead-lettered (not lost: it waits in the dead-letter
    /// queue, with the broker's `x-death` header, to be moved back).
    pub fn delivery_limit(&self) -> Option<u32> {
        self.delivery_limit
    }

    /// Unacknowledged messages the broker sends ahead (default 200).
    pub fn prefetch(&self) -> u16 {
        self.prefetch
    }

    /// Handler attempts before a message is dead-lettered (default 5).
    pub fn max_attempts(&self) -> u32 {
        self.max_attempts
    }

    /// Delays between handler attempts.
    pub fn retry(&self) -> &Backoff {
        &self.retry
    }

    /// How long the consumer waits on the broker before it suspects the
    /// connection (default [`DEFAULT_REQUEST_TIMEOUT`](crate::DEFAULT_REQUEST_TIMEOUT)): a request
    /// (declaring, acknowledging, dead-lettering) that takes longer ends the
    /// session, and after this long without a delivery the consumer asks the
    /// broker about its queue (a passive declare), which must answer within
    /// the same time. Either way it reconnects, and the broker redelivers
    /// what was not acknowledged.
    ///
    /// Why: lapin can lose the error of a connection that broke while idle,
    /// leaving a consumer waiting for deliveries that never come; the check
    /// while idle is what notices it.
    pub fn request_timeout(&self) -> Duration {
        self.link.request_timeout
    }

    /// The connection name and consumer tag prefix (default: the queue name).
    pub fn name(&self) -> &str {
        &self.link.name
    }

    /// The partition of a consumer group this configuration reads, if any:
    /// its queue is then bound to the group's partition exchange by slot
    /// instead of to the event exchange by key.
    pub(crate) fn partition(&self) -> Option<&PartitionRoute> {
        self.partition.as_ref()
    }

    /// This configuration narrowed to one partition of a consumer group: the
    /// partition's queue and connection name, the same exchange, keys, dead
    /// letters and failure handling.
    pub(crate) fn for_partition(&self, route: PartitionRoute) -> Self {
        Self {
            queue: route.queue().to_owned(),
            link: Link {
                name: format!("{}.p{}", self.link.name, route.index()),
                ..self.link.clone()
            },
            partition: Some(route),
            ..self.clone()
        }
    }
}

link_settings!(ConsumerConfig, ConsumerConfigBuilder, "consumer");

impl ConsumerConfigBuilder {
    /// Sets the binding keys.
    pub fn with_binding_keys<K: Into<String>>(mut self, keys: impl IntoIterator<Item = K>) -> Self {
        self.config.binding_keys = keys.into_iter().map(Into::into).collect();
        self
    }

    /// Sets the queue type.
    pub fn with_queue_type(mut self, queue_type: QueueType) -> Self {
        self.config.queue_type = queue_type;
        self
    }

    /// Sets whether the queue has a single active consumer.
    pub fn with_single_active_consumer(mut self, single: bool) -> Self {
        self.config.single_active_consumer = single;
        self
    }

    /// Sets the dead-letter exchange and queue names.
    pub fn with_dead_letter(
        mut self,
        exchange: impl Into<String>,
        queue: impl Into<String>,
    ) -> Self {
        self.config.dead_letter_exchange = exchange.into();
        self.config.dead_letter_queue = queue.into();
        self
    }

    /// Sets the prefetch count (at least 1).
    pub fn with_prefetch(mut self, prefetch: u16) -> Self {
        self.config.prefetch = prefetch;
        self
    }

    /// Sets the number of handler attempts before dead-lettering (at least 1)
    /// and the delays between them.
    pub fn with_retries(mut self, max_attempts: u32, retry: Backoff) -> Self {
        self.config.max_attempts = max_attempts;
        self.config.retry = retry;
        self
    }

    /// Sets whether the consumer declares the event exchange.
    pub fn with_declare_exchange(mut self, declare: bool) -> Self {
        self.config.declare_exchange = declare;
        self
    }

    /// Sets the broker-side delivery limit (quorum queues; at least 1 when set).
    pub fn with_delivery_limit(mut self, limit: Option<u32>) -> Self {
        self.config.delivery_limit = limit;
        self
    }

    /// Sets the connection name and consumer tag prefix.
    pub fn with_name(mut self, name: impl Into<String>) -> Self {
        self.config.link.name = name.into();
        self
    }

    /// The configuration, or the first value that cannot be used, so that a
    /// consumer never starts with a value it could only retry for ever:
    /// exchange, queue, dead-letter and connection names that are not usable
    /// AMQP names (over [`SHORT_STRING_MAX`](crate::SHORT_STRING_MAX) bytes, a
    /// control character, or, for what the consumer declares, RabbitMQ's
    /// reserved `amq.` namespace), an unusable URL, a URL asking for a
    /// `frame_max` below [`MIN_FRAME_MAX`](crate::MIN_FRAME_MAX) (some events'
    /// headers would never fit a frame: the consumer would reconnect for
    /// ever on the first) or a `channel_max` below 2 (it consumes on one
    /// channel and dead-letters on another), a prefetch of 0, or a count or
    /// bound out of range. What the broker agrees to is checked again on
    /// every connect ([`ConsumerError::Config`](crate::ConsumerError::Config)).
    pub fn build(self) -> Result<ConsumerConfig, ConfigError> {
        let c = &self.config;
        c.link.check(super::CHANNELS)?;
        let exchange = if c.declare_exchange {
            Declared::Exchange("topic")
        } else {
            Declared::Nothing
        };
        amqp_name("exchange", &c.exchange, true, exchange)?;
        amqp_name("queue", &c.queue, true, Declared::Queue)?;
        amqp_name(
            "dead-letter exchange",
            &c.dead_letter_exchange,
            true,
            Declared::Exchange("fanout"),
        )?;
        amqp_name(
            "dead-letter queue",
            &c.dead_letter_queue,
            true,
            Declared::Queue,
        )?;
        amqp_name("consumer name", &c.link.name, true, Declared::Nothing)?;
        if c.binding_keys.is_empty() {
            return Err(ConfigError::Empty {
                field: "binding keys",
            });
        }
        for key in &c.binding_keys {
            short_string("binding key", key, false)?;
        }
        at_least("prefetch", u64::from(c.prefetch), 1)?;
        at_least("max_attempts", u64::from(c.max_attempts), 1)?;
        if let Some(limit) = c.delivery_limit {
            at_least("delivery_limit", u64::from(limit), 1)?;
        }
        Ok(self.config)
    }
}

impl fmt::Debug for ConsumerConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ConsumerConfig")
            .field("link", &self.link)
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
            .field("partition", &self.partition)
            .finish()
    }
}

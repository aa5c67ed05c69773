//! How a relay connects and publishes: broker, exchange, routing, window,
//! checkpoint cadence, reconnect policy and what to do with an event that can
//! never be published, with defaults that fit most services.
//!
//! A [`RelayConfig`] is only made by [`RelayConfigBuilder::build`], which
//! checks every value, so a relay never starts with a configuration it
//! cannot use.

use std::{fmt, time::Duration};

use crate::{
    config_error::{at_least, at_least_1ms, short_string},
    link::{link_settings, Link},
    ConfigError, RoutingKey, UnpublishablePolicy,
};

/// RabbitMQ's default largest message body (`max_message_size`, 16 MiB
/// since RabbitMQ 4.0).
pub const DEFAULT_MAX_MESSAGE_SIZE: usize = 16 * 1024 * 1024;

/// How a [`Relay`](crate::Relay) connects and publishes. `Debug` shows the
/// URL without its password. Made with [`RelayConfig::builder`].
///
/// ```
/// use es_amqp::{RelayConfig, ConfigError};
/// let config = RelayConfig::builder("amqp://guest:guest@127.0.0.1:5672/%2f", "booking-relay", "BOOKING_TX_EVENT")
///     .with_max_in_flight(100)
///     .build()?;
/// assert_eq!(config.max_in_flight(), 100);
/// let refused = RelayConfig::builder("amqp://127.0.0.1", "relay", "x".repeat(256)).build();
/// assert!(matches!(refused, Err(ConfigError::TooLong { field: "exchange", len: 256, limit: 255 })));
/// # Ok::<(), ConfigError>(())
/// ```
#[derive(Clone)]
#[non_exhaustive]
pub struct RelayConfig {
    link: Link,
    exchange: String,
    declare_exchange: bool,
    routing_key: RoutingKey,
    max_in_flight: usize,
    page_size: usize,
    checkpoint_every: usize,
    checkpoint_interval: Duration,
    poll_interval: Duration,
    confirm_timeout: Duration,
    max_message_size: usize,
    unpublishable: UnpublishablePolicy,
}

/// Builds a [`RelayConfig`]; [`build`](Self::build) checks every value.
#[derive(Clone, Debug)]
#[must_use = "a builder does nothing until `build` is called"]
pub struct RelayConfigBuilder {
    config: RelayConfig,
}

impl RelayConfig {
    /// A relay named `name` (the key of its checkpoint and its connection
    /// name) publishing to the topic exchange `exchange` on the broker at
    /// `amqp_url` (e.g. `amqp://guest:guest@127.0.0.1:5672/%2f`; query
    /// parameters such as `?heartbeat=10` or `?frame_max=131072` are passed
    /// to the connection). The defaults: routing key
    /// `{category}.{event_type}`, 1,000 publishes in flight, pages of 500,
    /// checkpoint every 1,000 events or 1 s, exchange declared, connections
    /// opened within [`DEFAULT_CONNECT_TIMEOUT`](crate::DEFAULT_CONNECT_TIMEOUT),
    /// requests taken within [`DEFAULT_REQUEST_TIMEOUT`](crate::DEFAULT_REQUEST_TIMEOUT),
    /// confirms awaited up to 30 s, bodies up to [`DEFAULT_MAX_MESSAGE_SIZE`], and a
    /// relay that stops at an event it can never publish.
    pub fn builder(
        amqp_url: impl Into<String>,
        name: impl Into<String>,
        exchange: impl Into<String>,
    ) -> RelayConfigBuilder {
        RelayConfigBuilder {
            config: Self {
                link: Link::new(amqp_url.into(), name.into()),
                exchange: exchange.into(),
                declare_exchange: true,
                routing_key: RoutingKey::default(),
                max_in_flight: 1_000,
                page_size: 500,
                checkpoint_every: 1_000,
                checkpoint_interval: Duration::from_secs(1),
                poll_interval: es_core::subscription::DEFAULT_POLL_INTERVAL,
                confirm_timeout: Duration::from_secs(30),
                max_message_size: DEFAULT_MAX_MESSAGE_SIZE,
                unpublishable: UnpublishablePolicy::default(),
            },
        }
    }

    /// The relay's name: the key of its checkpoint and its connection name.
    pub fn name(&self) -> &str {
        &self.link.name
    }

    /// The exchange events are published to.
    pub fn exchange(&self) -> &str {
        &self.exchange
    }

    /// Whether the relay declares the exchange (durable topic) on connect.
    pub fn declares_exchange(&self) -> bool {
        self.declare_exchange
    }

    /// The routing key of each event.
    pub fn routing_key(&self) -> &RoutingKey {
        &self.routing_key
    }

    /// Publishes awaiting their confirm at once (at least 1).
    pub fn max_in_flight(&self) -> usize {
        self.max_in_flight
    }

    /// Events read from the store per page (at least 1).
    pub fn page_size(&self) -> usize {
        self.page_size
    }

    /// The checkpoint is saved after this many newly confirmed events…
    pub fn checkpoint_every(&self) -> usize {
        self.checkpoint_every
    }

    /// …or after this much time with unsaved confirmed events, whichever
    /// comes first. It is also saved whenever the relay is idle.
    pub fn checkpoint_interval(&self) -> Duration {
        self.checkpoint_interval
    }

    /// The safety-net poll interval of the store subscription.
    pub fn poll_interval(&self) -> Duration {
        self.poll_interval
    }

    /// How long the relay waits for the broker to take a request (open a
    /// channel, declare an exchange, take a publish onto the connection)
    /// before it gives up on the connection and reconnects (default
    /// [`DEFAULT_REQUEST_TIMEOUT`](crate::DEFAULT_REQUEST_TIMEOUT)). Confirms
    /// have their own bound, [`confirm_timeout`](Self::confirm_timeout).
    pub fn request_timeout(&self) -> Duration {
        self.link.request_timeout
    }

    /// How long the oldest publish may wait for its confirm before the relay
    /// gives up on the connection, reconnects and republishes.
    pub fn confirm_timeout(&self) -> Duration {
        self.confirm_timeout
    }

    /// The largest body the relay publishes (the broker's `max_message_size`).
    pub fn max_message_size(&self) -> usize {
        self.max_message_size
    }

    /// What the relay does with an event it can never publish.
    pub fn unpublishable(&self) -> &UnpublishablePolicy {
        &self.unpublishable
    }
}

link_settings!(RelayConfig, RelayConfigBuilder, "relay");

impl RelayConfigBuilder {
    /// Sets the routing key function.
    pub fn with_routing_key(mut self, routing_key: RoutingKey) -> Self {
        self.config.routing_key = routing_key;
        self
    }

    /// Sets the number of publishes awaiting confirms at once (at least 1).
    pub fn with_max_in_flight(mut self, max_in_flight: usize) -> Self {
        self.config.max_in_flight = max_in_flight;
        self
    }

    /// Sets whether the relay declares the exchange (and the parking
    /// exchange of [`UnpublishablePolicy::Park`]).
    pub fn with_declare_exchange(mut self, declare: bool) -> Self {
        self.config.declare_exchange = declare;
        self
    }

    /// Sets the store page size (at least 1).
    pub fn with_page_size(mut self, page_size: usize) -> Self {
        self.config.page_size = page_size;
        self
    }

    /// Sets how often the checkpoint is saved while busy (`events` at least 1).
    pub fn with_checkpoint_every(mut self, events: usize, interval: Duration) -> Self {
        self.config.checkpoint_every = events;
        self.config.checkpoint_interval = interval;
        self
    }

    /// Sets the safety-net poll interval.
    pub fn with_poll_interval(mut self, poll_interval: Duration) -> Self {
        self.config.poll_interval = poll_interval;
        self
    }

    /// Sets how long the oldest publish may wait for its confirm (at least 1 ms).
    pub fn with_confirm_timeout(mut self, timeout: Duration) -> Self {
        self.config.confirm_timeout = timeout;
        self
    }

    /// Sets the largest body the relay publishes (at least 1 byte); set it
    /// to the broker's `max_message_size` if that is not RabbitMQ's default.
    pub fn with_max_message_size(mut self, bytes: usize) -> Self {
        self.config.max_message_size = bytes;
        self
    }

    /// Sets what the relay does with an event it can never publish.
    pub fn with_unpublishable(mut self, policy: UnpublishablePolicy) -> Self {
        self.config.unpublishable = policy;
        self
    }

    /// The configuration, or the first value that cannot be used.
    pub fn build(self) -> Result<RelayConfig, ConfigError> {
        let c = &self.config;
        c.link.check("relay name")?;
        short_string("exchange", &c.exchange, true)?;
        at_least("max_in_flight", c.max_in_flight as u64, 1)?;
        at_least("page_size", c.page_size as u64, 1)?;
        at_least("checkpoint_every", c.checkpoint_every as u64, 1)?;
        at_least_1ms("confirm_timeout (ms)", c.confirm_timeout)?;
        at_least("max_message_size", c.max_message_size as u64, 1)?;
        if let UnpublishablePolicy::Park { exchange } = &c.unpublishable {
            short_string("parking exchange", exchange, true)?;
        }
        Ok(self.config)
    }
}

impl fmt::Debug for RelayConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RelayConfig")
            .field("link", &self.link)
            .field("exchange", &self.exchange)
            .field("declare_exchange", &self.declare_exchange)
            .field("routing_key", &self.routing_key)
            .field("max_in_flight", &self.max_in_flight)
            .field("page_size", &self.page_size)
            .field("checkpoint_every", &self.checkpoint_every)
            .field("checkpoint_interval", &self.checkpoint_interval)
            .field("poll_interval", &self.poll_interval)
            .field("confirm_timeout", &self.confirm_timeout)
            .field("max_message_size", &self.max_message_size)
            .field("unpublishable", &self.unpublishable)
            .finish()
    }
}

//! How a relay connects and publishes: broker, exchange, routing, window,
//! checkpoint cadence and reconnect policy, with defaults that fit most
//! services.

use std::{fmt, time::Duration};

use crate::{Backoff, RoutingKey};

/// How a [`Relay`](crate::Relay) connects and publishes. `Debug` shows the
/// URL without its password.
#[derive(Clone)]
pub struct RelayConfig {
    /// The broker, e.g. `amqp://guest:guest@127.0.0.1:5672/%2f`.
    pub amqp_url: String,
    /// The relay's name: the key of its checkpoint and its connection name.
    pub name: String,
    /// The exchange events are published to.
    pub exchange: String,
    /// Whether the relay declares the exchange (durable topic) on connect.
    pub declare_exchange: bool,
    /// The routing key of each event.
    pub routing_key: RoutingKey,
    /// Publishes awaiting their confirm at once (at least 1).
    pub max_in_flight: usize,
    /// Events read from the store per page.
    pub page_size: usize,
    /// Save the checkpoint after this many newly confirmed events…
    pub checkpoint_every: usize,
    /// …or after this much time with unsaved confirmed events, whichever
    /// comes first. The checkpoint is also saved whenever the relay is idle.
    pub checkpoint_interval: Duration,
    /// The safety-net poll interval of the store subscription.
    pub poll_interval: Duration,
    /// Delays between reconnection attempts.
    pub reconnect: Backoff,
    /// How long the oldest publish may wait for its confirm before the relay
    /// gives up on the connection, reconnects and republishes.
    pub confirm_timeout: Duration,
}

impl RelayConfig {
    /// A relay named `name` publishing to the topic exchange `exchange`, with
    /// the defaults: routing key `{category}.{event_type}`, 1,000 publishes in
    /// flight, pages of 500, checkpoint every 1,000 events or 1 s, exchange
    /// declared, confirms awaited up to 30 s.
    pub fn new(
        amqp_url: impl Into<String>,
        name: impl Into<String>,
        exchange: impl Into<String>,
    ) -> Self {
        Self {
            amqp_url: amqp_url.into(),
            name: name.into(),
            exchange: exchange.into(),
            declare_exchange: true,
            routing_key: RoutingKey::default(),
            max_in_flight: 1_000,
            page_size: 500,
            checkpoint_every: 1_000,
            checkpoint_interval: Duration::from_secs(1),
            poll_interval: es_core::DEFAULT_POLL_INTERVAL,
            reconnect: Backoff::default(),
            confirm_timeout: Duration::from_secs(30),
        }
    }

    /// Sets the routing key function.
    pub fn with_routing_key(mut self, routing_key: RoutingKey) -> Self {
        self.routing_key = routing_key;
        self
    }

    /// Sets the number of publishes awaiting confirms at once (at least 1).
    pub fn with_max_in_flight(mut self, max_in_flight: usize) -> Self {
        self.max_in_flight = max_in_flight.max(1);
        self
    }

    /// Sets whether the relay declares the exchange.
    pub fn with_declare_exchange(mut self, declare: bool) -> Self {
        self.declare_exchange = declare;
        self
    }

    /// Sets the store page size (at least 1).
    pub fn with_page_size(mut self, page_size: usize) -> Self {
        self.page_size = page_size.max(1);
        self
    }

    /// Sets how often the checkpoint is saved while busy.
    pub fn with_checkpoint_every(mut self, events: usize, interval: Duration) -> Self {
        self.checkpoint_every = events.max(1);
        self.checkpoint_interval = interval;
        self
    }

    /// Sets the safety-net poll interval.
    pub fn with_poll_interval(mut self, poll_interval: Duration) -> Self {
        self.poll_interval = poll_interval;
        self
    }

    /// Sets the reconnect backoff.
    pub fn with_reconnect(mut self, reconnect: Backoff) -> Self {
        self.reconnect = reconnect;
        self
    }

    /// Sets how long a publish may wait for its confirm.
    pub fn with_confirm_timeout(mut self, timeout: Duration) -> Self {
        self.confirm_timeout = timeout;
        self
    }
}

impl fmt::Debug for RelayConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RelayConfig")
            .field("amqp_url", &crate::redact_url(&self.amqp_url))
            .field("name", &self.name)
            .field("exchange", &self.exchange)
            .field("declare_exchange", &self.declare_exchange)
            .field("routing_key", &self.routing_key)
            .field("max_in_flight", &self.max_in_flight)
            .field("page_size", &self.page_size)
            .field("checkpoint_every", &self.checkpoint_every)
            .field("checkpoint_interval", &self.checkpoint_interval)
            .field("poll_interval", &self.poll_interval)
            .field("reconnect", &self.reconnect)
            .field("confirm_timeout", &self.confirm_timeout)
            .finish()
    }
}

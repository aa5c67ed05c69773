//! The link to the broker that a relay and a consumer both keep: where the
//! broker is, the connection's name, how long opening it and each request may
//! take, and the backoff between reconnects.
//!
//! [`RelayConfig`](crate::RelayConfig) and
//! [`ConsumerConfig`](crate::ConsumerConfig) each embed one [`Link`], so the
//! defaults, the checks, the redacted `Debug` and the way a session connects
//! are written once; [`link_settings!`] gives both configs the same
//! accessors and builder methods for it.

use std::{fmt, time::Duration};

use lapin::Connection;

use crate::{
    config_error::{amqp_url, at_least_1ms},
    connection::{self, TimedOut},
    link_limits, Backoff, ConfigError,
};

/// The default bound on each request to the broker (open a channel, declare,
/// publish, acknowledge): 10 s, far above what a healthy broker takes to
/// answer (milliseconds), so that only a broken connection trips it.
pub const DEFAULT_REQUEST_TIMEOUT: Duration = Duration::from_secs(10);

/// The default AMQP heartbeat a relay or consumer asks for: 2 s, instead of
/// the broker's 60 s. A peer that misses two heartbeats is dead: the broker
/// closes the connection of a frozen consumer after about 4 s (so its
/// single-active-consumer queues move to another process), and the client
/// notices a silent link as fast. The URL's `?heartbeat=` wins.
pub const DEFAULT_HEARTBEAT: Duration = Duration::from_secs(2);

/// The longest heartbeat AMQP can express (a 16-bit count of seconds).
const MAX_HEARTBEAT: Duration = Duration::from_secs(u16::MAX as u64);

/// How a relay or consumer reaches the broker.
#[derive(Clone)]
pub(crate) struct Link {
    /// The broker URL (may hold a password; `Debug` redacts it).
    pub(crate) amqp_url: String,
    /// The connection name (and the relay's checkpoint key, or the
    /// consumer's tag prefix).
    pub(crate) name: String,
    /// Delays between reconnection attempts.
    pub(crate) reconnect: Backoff,
    /// The bound on TCP connect, TLS and the AMQP handshake together.
    pub(crate) connect_timeout: Duration,
    /// The bound on each request.
    pub(crate) request_timeout: Duration,
    /// The heartbeat asked for when the URL names none (whole seconds;
    /// zero: none).
    pub(crate) heartbeat: Duration,
}

impl Link {
    /// A link to `amqp_url` named `name`, with the crate's default bounds
    /// ([`DEFAULT_CONNECT_TIMEOUT`](crate::DEFAULT_CONNECT_TIMEOUT),
    /// [`DEFAULT_REQUEST_TIMEOUT`]) and reconnect backoff.
    pub(crate) fn new(amqp_url: String, name: String) -> Self {
        Self {
            amqp_url,
            name,
            reconnect: Backoff::default(),
            connect_timeout: connection::DEFAULT_CONNECT_TIMEOUT,
            request_timeout: DEFAULT_REQUEST_TIMEOUT,
            heartbeat: DEFAULT_HEARTBEAT,
        }
    }

    /// Checks the URL, the connection settings it asks for (room for
    /// `channels` channels and every event's headers: see
    /// [`link_limits`](crate::link_limits)) and the bounds. Each config
    /// checks the name by its own rule.
    pub(crate) fn check(&self, channels: u16) -> Result<(), ConfigError> {
        link_limits::check_url(&amqp_url(&self.amqp_url)?.query, channels)?;
        at_least_1ms("connect_timeout (ms)", self.connect_timeout)?;
        at_least_1ms("request_timeout (ms)", self.request_timeout)?;
        self.heartbeat_seconds().map(|_| ())
    }

    /// The heartbeat in seconds, as AMQP carries it: whole seconds up to
    /// 65,535.
    fn heartbeat_seconds(&self) -> Result<u16, ConfigError> {
        if self.heartbeat > MAX_HEARTBEAT {
            return Err(ConfigError::TooLarge {
                field: "heartbeat (s)",
                value: self.heartbeat.as_secs(),
                max: MAX_HEARTBEAT.as_secs(),
            });
        }
        if self.heartbeat.subsec_nanos() != 0 {
            return Err(ConfigError::NotWholeSeconds {
                field: "heartbeat",
                value: self.heartbeat,
            });
        }
        Ok(u16::try_from(self.heartbeat.as_secs()).unwrap_or(u16::MAX))
    }

    /// Opens a named connection within the connect bound, and checks the
    /// broker agreed to room for `channels` channels and every event's
    /// headers ([`link_limits`](crate::link_limits)): if not, the connection
    /// is closed and the error is [`ConfigError::TooSmall`], which retrying
    /// cannot fix.
    pub(crate) async fn connect<E>(&self, channels: u16) -> Result<Connection, E>
    where
        E: From<lapin::Error> + From<TimedOut> + From<ConfigError>,
    {
        let mut uri = amqp_url(&self.amqp_url)?;
        if uri.query.heartbeat.is_none() {
            uri.query.heartbeat = Some(self.heartbeat_seconds()?);
        }
        let connection: Connection =
            connection::connect::<E>(uri, &self.name, self.connect_timeout).await?;
        let agreed = connection.configuration();
        let checked =
            link_limits::check_negotiated(agreed.frame_max(), agreed.channel_max(), channels);
        if let Err(refused) = checked {
            connection::close(&connection).await;
            return Err(refused.into());
        }
        Ok(connection)
    }

    /// Waits at most the request bound for `request`; on time-out the error
    /// names `operation`.
    pub(crate) async fn bounded<T, E: From<TimedOut>>(
        &self,
        operation: &'static str,
        request: impl std::future::Future<Output = Result<T, E>>,
    ) -> Result<T, E> {
        connection::bounded(operation, self.request_timeout, request).await
    }
}

impl fmt::Debug for Link {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Link")
            .field("amqp_url", &crate::redact_url(&self.amqp_url))
            .field("name", &self.name)
            .field("reconnect", &self.reconnect)
            .field("connect_timeout", &self.connect_timeout)
            .field("request_timeout", &self.request_timeout)
            .field("heartbeat", &self.heartbeat)
            .finish()
    }
}

/// Gives a config (`$config`, with a `link: Link` field) and its builder
/// (`$builder`, with a `config: $config` field) the link's accessors and
/// builder methods; `$who` ("relay" or "consumer") names the user in docs.
/// `request_timeout` stays with each config: what it bounds differs.
macro_rules! link_settings {
    ($config:ident, $builder:ident, $who:literal) => {
        impl $config {
            /// The broker URL (it may hold a password: log
            /// [`redact_url`](crate::redact_url) of it).
            pub fn amqp_url(&self) -> &str {
                &self.link.amqp_url
            }

            /// Delays between reconnection attempts.
            pub fn reconnect(&self) -> &$crate::Backoff {
                &self.link.reconnect
            }

            /// How long opening a connection (TCP, TLS and the AMQP
            /// handshake) may take before the attempt is abandoned and
            /// retried after the reconnect backoff (default
            /// [`DEFAULT_CONNECT_TIMEOUT`](crate::DEFAULT_CONNECT_TIMEOUT)).
            pub fn connect_timeout(&self) -> std::time::Duration {
                self.link.connect_timeout
            }

            #[doc = concat!(
                "The AMQP heartbeat the ", $who, " asks for when its URL names none (default [`DEFAULT_HEARTBEAT`](crate::DEFAULT_HEARTBEAT))."
            )]
            pub fn heartbeat(&self) -> std::time::Duration {
                self.link.heartbeat
            }

            /// The link to the broker.
            pub(crate) fn link(&self) -> &$crate::link::Link {
                &self.link
            }
        }

        impl $builder {
            /// Sets the reconnect backoff.
            pub fn with_reconnect(mut self, reconnect: $crate::Backoff) -> Self {
                self.config.link.reconnect = reconnect;
                self
            }

            /// Sets the bound on opening a connection (at least 1 ms).
            pub fn with_connect_timeout(mut self, timeout: std::time::Duration) -> Self {
                self.config.link.connect_timeout = timeout;
                self
            }

            #[doc = concat!(
                "Sets the AMQP heartbeat the ", $who, " asks for when its URL names none ",
                "(whole seconds up to 65,535; zero asks for none, leaving it to the broker). ",
                "The broker closes the connection of a ", $who, " that misses two heartbeats, ",
                "and the ", $who, " notices a silent link as fast."
            )]
            pub fn with_heartbeat(mut self, heartbeat: std::time::Duration) -> Self {
                self.config.link.heartbeat = heartbeat;
                self
            }

            #[doc = concat!(
                "Sets how long the ", $who, " waits for the broker to take a request (at least 1 ms); see [`",
                stringify!($config), "::request_timeout`]."
            )]
            pub fn with_request_timeout(mut self, timeout: std::time::Duration) -> Self {
                self.config.link.request_timeout = timeout;
                self
            }
        }
    };
}

pub(crate) use link_settings;

#[cfg(test)]
mod tests {
    use super::*;

    fn link(url: &str, heartbeat: Duration) -> Link {
        let mut link = Link::new(
            url.to_owned(),
            format!("heartbeat-test-{}", std::process::id()),
        );
        link.heartbeat = heartbeat;
        link
    }

    fn broker_url() -> String {
        std::env::var("AMQP_URL").unwrap_or_else(|_| "amqp://guest:guest@127.0.0.1:5672/%2f".into())
    }

    #[test]
    fn a_heartbeat_must_be_whole_seconds_within_amqps_range() {
        let url = "amqp://localhost";
        assert!(link(url, Duration::from_secs(2)).check(1).is_ok());
        assert!(link(url, Duration::ZERO).check(1).is_ok());
        assert!(matches!(
            link(url, Duration::from_millis(1500)).check(1),
            Err(ConfigError::NotWholeSeconds { .. })
        ));
        assert!(matches!(
            link(url, Duration::from_secs(70_000)).check(1),
            Err(ConfigError::TooLarge { .. })
        ));
    }

    /// The broker (RabbitMQ offers 60 s) agrees to the 2 s asked for, and
    /// a URL's own `heartbeat` wins.
    #[tokio::test]
    async fn connections_agree_to_the_heartbeat_asked_for() {
        let url = broker_url();
        let connection: Connection = link(&url, DEFAULT_HEARTBEAT)
            .connect::<crate::ConsumerError>(1)
            .await
            .expect("connect to RabbitMQ (AMQP_URL)");
        assert_eq!(connection.configuration().heartbeat(), 2);
        connection::close(&connection).await;

        let separator = if url.contains('?') { '&' } else { '?' };
        let connection: Connection =
            link(&format!("{url}{separator}heartbeat=7"), DEFAULT_HEARTBEAT)
                .connect::<crate::ConsumerError>(1)
                .await
                .expect("connect to RabbitMQ (AMQP_URL)");
        assert_eq!(connection.configuration().heartbeat(), 7);
        connection::close(&connection).await;
    }
}

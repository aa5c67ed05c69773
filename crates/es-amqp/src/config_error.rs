//! Why a relay or consumer configuration was refused.
//!
//! The configurations are built by builders that check every value when
//! [`build`](crate::RelayConfigBuilder::build) is called, so a
//! [`RelayConfig`](crate::RelayConfig) or [`ConsumerConfig`](crate::ConsumerConfig)
//! that exists is one the relay or consumer can use. This is the one error
//! those checks return, naming the field and the limit it broke.

use std::time::Duration;

/// The longest AMQP short string (exchange, queue and consumer names,
/// routing and binding keys): 255 bytes.
pub const SHORT_STRING_MAX: usize = 255;

/// A configuration value that cannot be used.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ConfigError {
    /// The broker URL does not parse as an AMQP URL.
    #[error("invalid AMQP URL {url}: {reason}")]
    InvalidUrl {
        /// The URL, its password redacted.
        url: String,
        /// Why it does not parse.
        reason: String,
    },
    /// A name or key is longer than an AMQP short string allows.
    #[error("{field} is {len} bytes long; AMQP allows at most {limit} bytes")]
    TooLong {
        /// Which value.
        field: &'static str,
        /// Its length in bytes.
        len: usize,
        /// The limit ([`SHORT_STRING_MAX`]).
        limit: usize,
    },
    /// A name that must not be empty is.
    #[error("{field} must not be empty")]
    Empty {
        /// Which value.
        field: &'static str,
    },
    /// An exchange or queue name holds a control character. RabbitMQ drops
    /// CR and LF from such names (`"a\nb"` would declare the queue `"ab"`,
    /// another name), and no operator can type the others on a command line
    /// (`es dead-letters` takes queue names as arguments).
    #[error("{field} must not contain the control character {character:?}")]
    ForbiddenCharacter {
        /// Which value.
        field: &'static str,
        /// The refused character.
        character: char,
    },
    /// A queue or exchange this crate declares starts with `amq.`, which
    /// RabbitMQ reserves: declaring it is refused (`ACCESS_REFUSED`) on every
    /// attempt. Only the broker's own exchange of the declared kind
    /// (`amq.topic`, `amq.fanout`) can be declared again.
    #[error(
        "{field} {name:?} starts with \"amq.\", which RabbitMQ reserves: declaring it is refused"
    )]
    ReservedPrefix {
        /// Which value.
        field: &'static str,
        /// The refused name.
        name: String,
    },
    /// A name a worker goes by breaks the rule of names
    /// ([`es_core::backend::check_name`]): a relay's name is also its checkpoint's and,
    /// usually, its lease's name.
    #[error(transparent)]
    Name(#[from] es_core::InvalidInput),
    /// A count is below its minimum.
    #[error("{field} must be at least {min}, got {value}")]
    TooSmall {
        /// Which value.
        field: &'static str,
        /// The value given.
        value: u64,
        /// The smallest accepted value.
        min: u64,
    },
    /// A count is above its maximum.
    #[error("{field} must be at most {max}, got {value}")]
    TooLarge {
        /// Which value.
        field: &'static str,
        /// The value given.
        value: u64,
        /// The largest accepted value.
        max: u64,
    },
    /// A duration AMQP carries in whole seconds was given with a fraction.
    #[error("{field} must be whole seconds (AMQP's unit), got {value:?}")]
    NotWholeSeconds {
        /// Which value.
        field: &'static str,
        /// The value given.
        value: Duration,
    },
    /// A backoff whose first delay is longer than its longest.
    #[error("backoff starts at {initial:?}, above its maximum {max:?}")]
    BackoffInverted {
        /// The first delay.
        initial: Duration,
        /// The longest delay.
        max: Duration,
    },
}

/// Checks `value` fits an AMQP short string (and, if `required`, is not empty).
pub(crate) fn short_string(
    field: &'static str,
    value: &str,
    required: bool,
) -> Result<(), ConfigError> {
    if required && value.is_empty() {
        return Err(ConfigError::Empty { field });
    }
    if value.len() > SHORT_STRING_MAX {
        return Err(ConfigError::TooLong {
            field,
            len: value.len(),
            limit: SHORT_STRING_MAX,
        });
    }
    Ok(())
}

/// What this crate declares under a name, for [`amqp_name`].
#[derive(Debug, Clone, Copy)]
pub(crate) enum Declared {
    /// Nothing (a connection name, an exchange declared by someone else).
    Nothing,
    /// A queue.
    Queue,
    /// An exchange of this kind (`"topic"`, `"fanout"`, `"headers"`).
    Exchange(&'static str),
}

/// The prefix RabbitMQ reserves for its own queues and exchanges.
const RESERVED_PREFIX: &str = "amq.";

/// Checks an AMQP name (exchange, queue, connection name): an AMQP short
/// string ([`short_string`]), no control character
/// ([`ConfigError::ForbiddenCharacter`]), and, if this crate declares it,
/// not in RabbitMQ's reserved `amq.` namespace
/// ([`ConfigError::ReservedPrefix`]) unless it is the broker's own exchange
/// of the declared kind.
pub(crate) fn amqp_name(
    field: &'static str,
    value: &str,
    required: bool,
    declared: Declared,
) -> Result<(), ConfigError> {
    short_string(field, value, required)?;
    if let Some(character) = value.chars().find(|c| c.is_control()) {
        return Err(ConfigError::ForbiddenCharacter { field, character });
    }
    let reserved = value.starts_with(RESERVED_PREFIX)
        && match declared {
            Declared::Nothing => false,
            Declared::Queue => true,
            Declared::Exchange(kind) => value[RESERVED_PREFIX.len()..] != *kind,
        };
    if reserved {
        return Err(ConfigError::ReservedPrefix {
            field,
            name: value.to_owned(),
        });
    }
    Ok(())
}

/// Checks `value` is at least `min`.
pub(crate) fn at_least(field: &'static str, value: u64, min: u64) -> Result<(), ConfigError> {
    if value < min {
        return Err(ConfigError::TooSmall { field, value, min });
    }
    Ok(())
}

/// Checks the duration `value` is at least 1 ms (`field` names it, in ms).
pub(crate) fn at_least_1ms(
    field: &'static str,
    value: std::time::Duration,
) -> Result<(), ConfigError> {
    at_least(
        field,
        u64::try_from(value.as_millis()).unwrap_or(u64::MAX),
        1,
    )
}

/// Checks `value` is at most `max`.
pub(crate) fn at_most(field: &'static str, value: u64, max: u64) -> Result<(), ConfigError> {
    if value > max {
        return Err(ConfigError::TooLarge { field, value, max });
    }
    Ok(())
}

/// `url` parsed as an AMQP URL (lapin's parser: the one that connects).
pub(crate) fn amqp_url(url: &str) -> Result<lapin::uri::AMQPUri, ConfigError> {
    url.parse::<lapin::uri::AMQPUri>()
        .map_err(|reason| ConfigError::InvalidUrl {
            url: crate::redact_url(url),
            reason: crate::redact_url(&reason),
        })
}

/// `value` as an AMQP short string, or [`ConfigError::TooLong`].
pub(crate) fn short(
    field: &'static str,
    value: &str,
) -> Result<lapin::types::ShortString, ConfigError> {
    short_string(field, value, false)?;
    lapin::types::ShortString::try_new(value).map_err(|_| ConfigError::TooLong {
        field,
        len: value.len(),
        limit: SHORT_STRING_MAX,
    })
}

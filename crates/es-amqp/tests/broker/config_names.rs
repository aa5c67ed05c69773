//! Every name a relay or consumer is built with is checked by its builder
//! against the tightest limit it meets downstream, so a name that can never
//! work is a typed error before anything connects (no broker is needed):
//!
//! * the relay's name is its checkpoint's name and usually its lease's:
//!   es-core's rule of names (200 bytes, no control character);
//! * an inbox consumer's name keys the processed-event rows: the same rule;
//! * exchanges, queues, dead-letter names, partition queues and a
//!   consumer's connection name are AMQP short strings (255 bytes) without
//!   control characters (RabbitMQ drops CR and LF from queue names, so
//!   `a\nb` would be another queue), and what the crate declares is not in
//!   RabbitMQ's reserved `amq.` namespace (declaring it is refused on every
//!   attempt), except the broker's own exchange of the declared kind.
//!
//! Before, a relay named with a NUL or 201 bytes was accepted and `run()`
//! retried loading its checkpoint for ever, and a relay declaring an
//! `amq.` exchange reconnected for ever.

use es_amqp::{
    ConfigError, ConsumerConfig, ConsumerConfigBuilder, ConsumerGroupConfig,
    InMemoryIdempotencyStore, RelayConfig, RelayConfigBuilder, UnpublishablePolicy,
    SHORT_STRING_MAX,
};
use es_core::{backend::limits::MAX_NAME_BYTES, InputField, InvalidInput};

const URL: &str = "amqp://127.0.0.1";

use es_test_support::text::of_bytes as name_of;

fn relay(name: &str) -> RelayConfigBuilder {
    RelayConfig::builder(URL, name, "events")
}

fn consumer(queue: &str) -> ConsumerConfigBuilder {
    ConsumerConfig::builder(URL, "events", queue)
}

#[test]
fn a_relay_name_follows_the_rule_of_checkpoint_and_lease_names() {
    assert!(relay(&name_of(MAX_NAME_BYTES)).build().is_ok());
    let refused = |name: &str| relay(name).build().expect_err(name);
    assert_eq!(
        refused(&name_of(MAX_NAME_BYTES + 1)),
        ConfigError::Name(InvalidInput::TooLong {
            field: InputField::RelayName,
            len: MAX_NAME_BYTES + 1,
            max: MAX_NAME_BYTES,
        })
    );
    assert_eq!(
        refused("booking\0relay"),
        ConfigError::Name(InvalidInput::Nul {
            field: InputField::RelayName
        })
    );
    assert_eq!(
        refused("booking\nrelay"),
        ConfigError::Name(InvalidInput::ForbiddenCharacter {
            field: InputField::RelayName,
            character: '\n'
        })
    );
    assert_eq!(
        refused("  "),
        ConfigError::Name(InvalidInput::Blank {
            field: InputField::RelayName
        })
    );
    let message = refused(&name_of(201)).to_string();
    assert!(
        message.contains("relay name") && message.contains("201") && message.contains("200"),
        "{message}"
    );
}

#[test]
fn an_inbox_consumer_name_is_checked_when_its_handler_is_built() {
    let handler = |name: &str| {
        es_amqp::IdempotentHandler::new(name, InMemoryIdempotencyStore::<()>::new(), ()).map(drop)
    };
    assert_eq!(handler(&name_of(MAX_NAME_BYTES)), Ok(()));
    assert_eq!(
        handler(&name_of(MAX_NAME_BYTES + 1)),
        Err(InvalidInput::TooLong {
            field: InputField::ConsumerName,
            len: MAX_NAME_BYTES + 1,
            max: MAX_NAME_BYTES,
        })
    );
    assert_eq!(
        handler("parking\0"),
        Err(InvalidInput::Nul {
            field: InputField::ConsumerName
        })
    );
}

#[test]
fn amqp_names_are_short_strings_without_control_characters() {
    let at_limit = name_of(SHORT_STRING_MAX);
    let over = name_of(SHORT_STRING_MAX + 1);
    let too_long = |field| ConfigError::TooLong {
        field,
        len: SHORT_STRING_MAX + 1,
        limit: SHORT_STRING_MAX,
    };
    // Exchanges: the relay's, the consumer's, the parking exchange.
    assert!(RelayConfig::builder(URL, "r", at_limit.as_str())
        .build()
        .is_ok());
    assert_eq!(
        RelayConfig::builder(URL, "r", over.as_str())
            .build()
            .map(drop),
        Err(too_long("exchange"))
    );
    let parked = |exchange: &str| {
        relay("r")
            .with_unpublishable(UnpublishablePolicy::Park {
                exchange: exchange.to_owned(),
            })
            .build()
    };
    assert!(parked(&at_limit).is_ok());
    assert_eq!(parked(&over).map(drop), Err(too_long("parking exchange")));
    // Queues and dead-letter names.
    assert!(consumer(&at_limit)
        .with_dead_letter(at_limit.as_str(), at_limit.as_str())
        .with_name(at_limit.as_str())
        .build()
        .is_ok());
    assert_eq!(
        consumer(&over).with_dead_letter("x", "q").build().map(drop),
        Err(too_long("queue"))
    );
    assert_eq!(
        consumer("q")
            .with_dead_letter(over.as_str(), "q")
            .build()
            .map(drop),
        Err(too_long("dead-letter exchange"))
    );
    assert_eq!(
        consumer("q")
            .with_dead_letter("x", over.as_str())
            .build()
            .map(drop),
        Err(too_long("dead-letter queue"))
    );
    assert_eq!(
        consumer("q").with_name(over.as_str()).build().map(drop),
        Err(too_long("consumer name"))
    );
    // Control characters, NUL included, wherever a name goes.
    for character in ['\0', '\n', '\r', '\t', '\u{7f}'] {
        let name = format!("a{character}b");
        let forbidden = |field| ConfigError::ForbiddenCharacter { field, character };
        assert_eq!(
            RelayConfig::builder(URL, "r", name.as_str())
                .build()
                .map(drop),
            Err(forbidden("exchange"))
        );
        assert_eq!(
            consumer(&name).with_dead_letter("x", "q").build().map(drop),
            Err(forbidden("queue"))
        );
        assert_eq!(
            consumer("q")
                .with_dead_letter("x", name.as_str())
                .build()
                .map(drop),
            Err(forbidden("dead-letter queue"))
        );
        assert_eq!(
            consumer("q").with_name(name.as_str()).build().map(drop),
            Err(forbidden("consumer name"))
        );
    }
    // Hostile but printable names are fine.
    assert!(consumer("it's \"q\"; -- ünï 流 🦀 \u{202e}")
        .build()
        .is_ok());
}

#[test]
fn what_the_crate_declares_stays_out_of_the_reserved_amq_namespace() {
    let reserved = |field: &'static str, name: &str| ConfigError::ReservedPrefix {
        field,
        name: name.to_owned(),
    };
    assert_eq!(
        consumer("amq.bookings").build().map(drop),
        Err(reserved("queue", "amq.bookings"))
    );
    assert_eq!(
        consumer("q")
            .with_dead_letter("x", "amq.dlq")
            .build()
            .map(drop),
        Err(reserved("dead-letter queue", "amq.dlq"))
    );
    assert_eq!(
        consumer("q")
            .with_dead_letter("amq.dlx", "q.dlq")
            .build()
            .map(drop),
        Err(reserved("dead-letter exchange", "amq.dlx"))
    );
    assert_eq!(
        RelayConfig::builder(URL, "r", "amq.events")
            .build()
            .map(drop),
        Err(reserved("exchange", "amq.events"))
    );
    assert_eq!(
        ConsumerConfig::builder(URL, "amq.events", "q")
            .build()
            .map(drop),
        Err(reserved("exchange", "amq.events"))
    );
    // The broker's own exchanges of the declared kind can be declared again.
    assert!(RelayConfig::builder(URL, "r", "amq.topic").build().is_ok());
    assert!(consumer("q")
        .with_dead_letter("amq.fanout", "q.dlq")
        .build()
        .is_ok());
    assert_eq!(
        RelayConfig::builder(URL, "r", "amq.direct")
            .build()
            .map(drop),
        Err(reserved("exchange", "amq.direct"))
    );
    // An exchange the crate does not declare may have any name.
    assert!(RelayConfig::builder(URL, "r", "amq.events")
        .with_declare_exchange(false)
        .build()
        .is_ok());
    assert!(ConsumerConfig::builder(URL, "amq.events", "q")
        .with_declare_exchange(false)
        .build()
        .is_ok());
    // A connection name is never declared.
    assert!(consumer("q").with_name("amq.reader").build().is_ok());
}

#[test]
fn partition_names_are_checked_at_the_limit_and_one_past_it() {
    // `{queue}.unpartitioned` is the longest name a group derives.
    let suffix = ".unpartitioned".len();
    let group = |queue: &str| {
        ConsumerGroupConfig::builder(consumer(queue).build().expect("a valid queue"))
            .with_partitions(64)
            .build()
    };
    assert!(group(&name_of(SHORT_STRING_MAX - suffix)).is_ok());
    assert_eq!(
        group(&name_of(SHORT_STRING_MAX - suffix + 1)).map(drop),
        Err(ConfigError::TooLong {
            field: "partition exchange",
            len: SHORT_STRING_MAX + 1,
            limit: SHORT_STRING_MAX,
        })
    );
}

/// A checkpoint store with a stricter rule than es-core's refuses the
/// relay's name: the relay stops at once with the typed refusal instead of
/// retrying the load for ever.
#[tokio::test]
async fn a_relay_whose_checkpoint_store_refuses_its_name_stops_at_once() {
    struct Strict;
    #[es_core::async_trait]
    impl es_amqp::RelayCheckpoint for Strict {
        async fn load(&self, _: &str) -> Result<es_core::Position, es_amqp::CheckpointError> {
            Err(es_amqp::CheckpointError::InvalidName(InvalidInput::Empty {
                field: InputField::ProjectionName,
            }))
        }
        async fn save(
            &self,
            _: &str,
            _: es_core::Position,
            _: es_core::Position,
        ) -> Result<(), es_amqp::CheckpointError> {
            unreachable!("nothing to save")
        }
    }
    let relay = es_amqp::Relay::new(
        es_core::InMemoryStore::new(),
        Strict,
        relay("booking-relay").build().expect("a valid name"),
    );
    let stopped = tokio::time::timeout(std::time::Duration::from_secs(5), relay.run())
        .await
        .expect("the relay stops at once");
    match stopped {
        Err(error @ es_amqp::RelayError::Config(ConfigError::Name(_))) => {
            assert!(!error.is_transient(), "{error}");
        }
        other => panic!("expected a refused name, got {other:?}"),
    }
}

//! How a consumer group is split into partitions and which of them this
//! process prefers.
//!
//! A [`ConsumerGroupConfig`] is only made by
//! [`ConsumerGroupConfigBuilder::build`], which checks the partition count,
//! the instance index and the partition queue names.

use std::time::Duration;

use es_core::StreamId;

use super::route::{partition_queue, PartitionRoute};
use crate::{
    config_error::{amqp_name, at_least, at_most, Declared},
    wire::{partition_slot, PARTITION_SLOTS},
    ConfigError, ConsumerConfig,
};

/// The longest suffix the group adds to its queue name (`.unpartitioned`).
const LONGEST_SUFFIX: &str = ".unpartitioned";

/// A consumer group: N partition queues read by K processes. Made with
/// [`ConsumerGroupConfig::builder`].
///
/// ```
/// use es_amqp::{ConfigError, ConsumerConfig, ConsumerGroupConfig};
/// let consumer = ConsumerConfig::builder("amqp://127.0.0.1", "BOOKING_TX_EVENT", "parking.bookings")
///     .with_binding_keys(["booking.#"])
///     .build()?;
/// let group = ConsumerGroupConfig::builder(consumer.clone())
///     .with_partitions(4)
///     .with_instance(1, 2)
///     .build()?;
/// assert_eq!(group.partition_queues(), ["parking.bookings.p0", "parking.bookings.p1",
///     "parking.bookings.p2", "parking.bookings.p3"]);
/// assert!(group.prefers(1) && group.prefers(3) && !group.prefers(0));
/// let refused = ConsumerGroupConfig::builder(consumer).with_instance(2, 2).build();
/// assert!(matches!(refused, Err(ConfigError::TooLarge { field: "instance", value: 2, max: 1 })));
/// # Ok::<(), ConfigError>(())
/// ```
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct ConsumerGroupConfig {
    consumer: ConsumerConfig,
    partitions: u16,
    instance: u16,
    instances: u16,
    standby_delay: Duration,
}

/// Builds a [`ConsumerGroupConfig`]; [`build`](Self::build) checks every value.
#[derive(Debug, Clone)]
#[must_use = "a builder does nothing until `build` is called"]
pub struct ConsumerGroupConfigBuilder {
    config: ConsumerGroupConfig,
}

impl ConsumerGroupConfig {
    /// A group reading what `consumer` describes (its exchange, binding keys,
    /// dead letters, prefetch, retries, reconnects); its queue name names the
    /// group. Defaults: 1 partition (exactly `consumer`'s own queue), this
    /// process is instance 0 of 1, standby delay 2 s.
    pub fn builder(consumer: ConsumerConfig) -> ConsumerGroupConfigBuilder {
        ConsumerGroupConfigBuilder {
            config: Self {
                consumer,
                partitions: 1,
                instance: 0,
                instances: 1,
                standby_delay: Duration::from_secs(2),
            },
        }
    }

    /// The configuration every partition's consumer derives from.
    pub fn consumer(&self) -> &ConsumerConfig {
        &self.consumer
    }

    /// The number of partitions N, `1..=PARTITION_SLOTS`.
    pub fn partitions(&self) -> u16 {
        self.partitions
    }

    /// This process's index among the group's processes, `0..instances`.
    pub fn instance(&self) -> u16 {
        self.instance
    }

    /// How many processes share the group (K).
    pub fn instances(&self) -> u16 {
        self.instances
    }

    /// How long this process waits before it subscribes, as a standby, to
    /// the partitions it does not prefer.
    pub fn standby_delay(&self) -> Duration {
        self.standby_delay
    }

    /// Whether this process subscribes to `partition` first (it is then the
    /// partition's active consumer whenever it starts before the others):
    /// `partition mod instances == instance`.
    pub fn prefers(&self, partition: u16) -> bool {
        partition % self.instances == self.instance
    }

    /// The partition that handles every event of `stream_id`.
    pub fn partition_of(&self, stream_id: &StreamId) -> u16 {
        partition_slot(stream_id) % self.partitions
    }

    /// The queues of the partitions, in partition order. With one partition
    /// this is the consumer's own queue.
    pub fn partition_queues(&self) -> Vec<String> {
        self.partition_configs()
            .iter()
            .map(|c| c.queue().to_owned())
            .collect()
    }

    /// The consumer configuration of each partition, in partition order.
    pub(crate) fn partition_configs(&self) -> Vec<ConsumerConfig> {
        if self.partitions == 1 {
            return vec![self.consumer.clone()];
        }
        (0..self.partitions)
            .map(|p| {
                self.consumer.for_partition(PartitionRoute::new(
                    self.consumer.queue(),
                    p,
                    self.partitions,
                ))
            })
            .collect()
    }
}

impl ConsumerGroupConfigBuilder {
    /// Sets the number of partitions (1 to [`PARTITION_SLOTS`]).
    pub fn with_partitions(mut self, partitions: u16) -> Self {
        self.config.partitions = partitions;
        self
    }

    /// Sets this process's index among `instances` processes.
    pub fn with_instance(mut self, instance: u16, instances: u16) -> Self {
        self.config.instance = instance;
        self.config.instances = instances;
        self
    }

    /// Sets how long to wait before subscribing to the partitions this
    /// process does not prefer.
    pub fn with_standby_delay(mut self, delay: Duration) -> Self {
        self.config.standby_delay = delay;
        self
    }

    /// The configuration, or the first value that cannot be used.
    pub fn build(self) -> Result<ConsumerGroupConfig, ConfigError> {
        let c = &self.config;
        at_least("partitions", u64::from(c.partitions), 1)?;
        at_most(
            "partitions",
            u64::from(c.partitions),
            u64::from(PARTITION_SLOTS),
        )?;
        at_least("instances", u64::from(c.instances), 1)?;
        at_most(
            "instance",
            u64::from(c.instance),
            u64::from(c.instances) - 1,
        )?;
        if c.partitions > 1 {
            let last = c.partitions - 1;
            amqp_name(
                "partition queue",
                &partition_queue(c.consumer.queue(), last),
                true,
                Declared::Queue,
            )?;
            amqp_name(
                "partition exchange",
                &format!("{}{LONGEST_SUFFIX}", c.consumer.queue()),
                true,
                Declared::Exchange("fanout"),
            )?;
            amqp_name(
                "partition consumer name",
                &partition_queue(c.consumer.name(), last),
                true,
                Declared::Nothing,
            )?;
        }
        Ok(self.config)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn consumer(queue: &str) -> ConsumerConfig {
        ConsumerConfig::builder("amqp://127.0.0.1", "events", queue)
            .build()
            .unwrap()
    }

    #[test]
    fn one_partition_is_the_plain_consumer() {
        let group = ConsumerGroupConfig::builder(consumer("q")).build().unwrap();
        assert_eq!(group.partition_queues(), ["q"]);
        assert!(group.partition_configs()[0].partition().is_none());
        assert!(group.prefers(0));
    }

    #[test]
    fn partitions_keep_the_group_dead_letters_and_keys() {
        let group = ConsumerGroupConfig::builder(consumer("q"))
            .with_partitions(3)
            .build()
            .unwrap();
        let configs = group.partition_configs();
        assert_eq!(configs.len(), 3);
        for (p, config) in configs.iter().enumerate() {
            assert_eq!(config.queue(), format!("q.p{p}"));
            assert_eq!(config.name(), format!("q.p{p}"));
            assert_eq!(config.dead_letter_queue(), "q.dlq");
            assert_eq!(config.binding_keys(), ["#"]);
        }
    }

    #[test]
    fn out_of_range_values_are_refused_with_their_limit() {
        let refuse = |b: ConsumerGroupConfigBuilder| b.build().unwrap_err();
        assert_eq!(
            refuse(ConsumerGroupConfig::builder(consumer("q")).with_partitions(0)),
            ConfigError::TooSmall {
                field: "partitions",
                value: 0,
                min: 1
            }
        );
        assert_eq!(
            refuse(ConsumerGroupConfig::builder(consumer("q")).with_partitions(65)),
            ConfigError::TooLarge {
                field: "partitions",
                value: 65,
                max: 64
            }
        );
        assert_eq!(
            refuse(ConsumerGroupConfig::builder(consumer("q")).with_instance(0, 0)),
            ConfigError::TooSmall {
                field: "instances",
                value: 0,
                min: 1
            }
        );
        let long = "q".repeat(250);
        assert!(matches!(
            refuse(ConsumerGroupConfig::builder(consumer(&long)).with_partitions(2)),
            ConfigError::TooLong {
                field: "partition queue" | "partition exchange",
                ..
            }
        ));
    }

    #[test]
    fn preferred_partitions_spread_over_the_instances() {
        let of = |instance| {
            let group = ConsumerGroupConfig::builder(consumer("q"))
                .with_partitions(4)
                .with_instance(instance, 2)
                .build()
                .unwrap();
            (0..4).filter(|&p| group.prefers(p)).collect::<Vec<_>>()
        };
        assert_eq!(of(0), [0, 2]);
        assert_eq!(of(1), [1, 3]);
    }
}

//! How one partition queue of a consumer group is wired to the event
//! exchange.
//!
//! ```text
//! event exchange (topic) --binding keys--> {group}.partitions (headers)
//!     --es-partition-slot = s, for every s with s mod N == p--> {group}.p{p}
//!     (no slot header) --alternate exchange--> {group}.unpartitioned (fanout) --> {group}.p0
//! ```
//!
//! The group's headers exchange is bound to the event exchange with the
//! group's binding keys (an exchange-to-exchange binding), so it sees what a
//! single queue of the group would have seen; each partition queue then
//! takes its slots. Every slot is bound to exactly one partition, so each
//! stream's events land in one queue, in the order the relay published them.
//! Messages without a slot header (published by a relay older than the
//! header) go to partition 0 through the alternate exchange instead of being
//! dropped.
//!
//! Declaring partition `p` also removes its bindings for the slots it no
//! longer owns, so growing N moves slots to the new partitions (see
//! [`ConsumerGroup`](crate::ConsumerGroup) for doing that safely).

use lapin::{
    options::{ExchangeBindOptions, QueueBindOptions},
    types::{AMQPValue, FieldTable, LongString, ShortString},
    Channel, ExchangeKind,
};

use crate::{
    exchange::{declare_durable, declare_durable_with},
    wire::{HEADER_PARTITION_SLOT, PARTITION_SLOTS},
};

/// One partition of a consumer group: its queue, the group's exchanges, its
/// index and the group's partition count.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct PartitionRoute {
    queue: String,
    exchange: String,
    unpartitioned: String,
    index: u16,
    count: u16,
}

impl PartitionRoute {
    /// Partition `index` of `count` of the group whose queues are named after
    /// `group`. The caller checked `index < count <= PARTITION_SLOTS` and the
    /// names' lengths.
    pub(crate) fn new(group: &str, index: u16, count: u16) -> Self {
        Self {
            queue: partition_queue(group, index),
            exchange: format!("{group}.partitions"),
            unpartitioned: format!("{group}.unpartitioned"),
            index,
            count,
        }
    }

    /// The partition's queue.
    pub(crate) fn queue(&self) -> &str {
        &self.queue
    }

    /// The partition's index, `0..count`.
    pub(crate) fn index(&self) -> u16 {
        self.index
    }

    /// Whether `slot` belongs to this partition.
    fn owns(&self, slot: u16) -> bool {
        slot % self.count == self.index
    }

    /// Declares the group's exchanges, binds them to the event `exchange`
    /// with `keys`, and binds `queue` (already declared) to this partition's
    /// slots, unbinding it from the others.
    pub(crate) async fn bind(
        &self,
        channel: &Channel,
        exchange: &ShortString,
        queue: &ShortString,
        keys: Vec<ShortString>,
    ) -> Result<(), lapin::Error> {
        let unpartitioned = ShortString::from(self.unpartitioned.as_str());
        let group = ShortString::from(self.exchange.as_str());
        declare_durable(channel, unpartitioned.clone(), ExchangeKind::Fanout).await?;
        let mut arguments = FieldTable::default();
        arguments.insert(
            "alternate-exchange".into(),
            AMQPValue::LongString(LongString::from(self.unpartitioned.as_str())),
        );
        declare_durable_with(channel, group.clone(), ExchangeKind::Headers, arguments).await?;
        for key in keys {
            channel
                .exchange_bind(
                    group.clone(),
                    exchange.clone(),
                    key,
                    ExchangeBindOptions::default(),
                    FieldTable::default(),
                )
                .await?;
        }
        if self.index == 0 {
            channel
                .queue_bind(
                    queue.clone(),
                    unpartitioned,
                    "".into(),
                    QueueBindOptions::default(),
                    FieldTable::default(),
                )
                .await?;
        }
        for slot in 0..PARTITION_SLOTS {
            let arguments = slot_match(slot);
            if self.owns(slot) {
                channel
                    .queue_bind(
                        queue.clone(),
                        group.clone(),
                        "".into(),
                        QueueBindOptions::default(),
                        arguments,
                    )
                    .await?;
            } else {
                channel
                    .queue_unbind(queue.clone(), group.clone(), "".into(), arguments)
                    .await?;
            }
        }
        Ok(())
    }
}

/// The queue of partition `index` of the group `group`.
pub(crate) fn partition_queue(group: &str, index: u16) -> String {
    format!("{group}.p{index}")
}

/// The headers-exchange binding arguments that match `slot`.
fn slot_match(slot: u16) -> FieldTable {
    let mut arguments = FieldTable::default();
    arguments.insert(
        "x-match".into(),
        AMQPValue::LongString(LongString::from("all")),
    );
    arguments.insert(
        HEADER_PARTITION_SLOT.into(),
        AMQPValue::LongLongInt(i64::from(slot)),
    );
    arguments
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_slot_belongs_to_exactly_one_partition() {
        for count in [1u16, 2, 3, 4, 7, PARTITION_SLOTS] {
            let routes: Vec<_> = (0..count)
                .map(|p| PartitionRoute::new("g", p, count))
                .collect();
            for slot in 0..PARTITION_SLOTS {
                assert_eq!(routes.iter().filter(|r| r.owns(slot)).count(), 1);
            }
        }
    }

    #[test]
    fn names_derive_from_the_group() {
        let route = PartitionRoute::new("parking.bookings", 3, 4);
        assert_eq!(route.queue(), "parking.bookings.p3");
        assert_eq!(route.exchange, "parking.bookings.partitions");
        assert_eq!(route.unpartitioned, "parking.bookings.unpartitioned");
    }
}

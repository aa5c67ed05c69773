//! Which partition slot a stream's events travel in.
//!
//! A consumer group spreads one queue's work over several partition queues
//! while keeping each stream's events in one queue (so in order). The broker
//! routes, so it must see something derived from the stream id: the relay
//! stamps every message with the stream's *slot*, a stable hash of the
//! stream id modulo [`PARTITION_SLOTS`], in the
//! [`HEADER_PARTITION_SLOT`] header. A group of N partitions gives partition
//! `p` the slots `s` with `s mod N == p` (see
//! [`ConsumerGroup`](crate::ConsumerGroup)).
//!
//! The slot count is fixed (it belongs to the wire format, not to any
//! consumer group), so the relay needs no knowledge of the groups that read
//! its exchange, and each group picks its own N up to [`PARTITION_SLOTS`].
//! The hash is 32-bit FNV-1a over the stream id's UTF-8 bytes, which any
//! language can compute; it must never change, or events of one stream would
//! move between partitions.

use es_core::StreamId;

/// Header: the stream's partition slot, `0..PARTITION_SLOTS`.
pub const HEADER_PARTITION_SLOT: &str = "es-partition-slot";

/// How many slots the stream ids hash into: the most partitions a consumer
/// group can have.
pub const PARTITION_SLOTS: u16 = 64;

const FNV_OFFSET_BASIS: u32 = 0x811c_9dc5;
const FNV_PRIME: u32 = 0x0100_0193;

/// The partition slot of `stream_id`: FNV-1a (32-bit) of its bytes, modulo
/// [`PARTITION_SLOTS`].
///
/// ```
/// use es_amqp::wire::{partition_slot, PARTITION_SLOTS};
/// use es_core::StreamId;
/// let stream = StreamId::new("booking-42")?;
/// assert_eq!(partition_slot(&stream), partition_slot(&stream));
/// assert!(partition_slot(&stream) < PARTITION_SLOTS);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub fn partition_slot(stream_id: &StreamId) -> u16 {
    let hash = stream_id
        .as_str()
        .bytes()
        .fold(FNV_OFFSET_BASIS, |hash, byte| {
            (hash ^ u32::from(byte)).wrapping_mul(FNV_PRIME)
        });
    // The remainder is below PARTITION_SLOTS, which fits u16.
    u16::try_from(hash % u32::from(PARTITION_SLOTS)).unwrap_or(0)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn slot(id: &str) -> u16 {
        partition_slot(&StreamId::new(id).unwrap())
    }

    /// The hash is part of the wire format: these values must never change.
    #[test]
    fn slots_are_the_published_fnv1a_values() {
        // FNV-1a("a") = 0xe40c292c; 0xe40c292c % 64 = 44.
        assert_eq!(slot("a"), 44);
        // FNV-1a("foobar") = 0xbf9cf968; % 64 = 40.
        assert_eq!(slot("foobar"), 40);
    }

    /// Fifty streams named like the examples' spread over the slots, so every
    /// partition of a small group gets work.
    #[test]
    fn similar_stream_ids_spread_over_the_slots() {
        let mut per_partition = [0u32; 4];
        for i in 0..400 {
            per_partition[usize::from(slot(&format!("booking-{i}")) % 4)] += 1;
        }
        for count in per_partition {
            assert!((60..=140).contains(&count), "{per_partition:?}");
        }
    }
}

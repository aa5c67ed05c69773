//! What one process knows about its share of a consumer group's partition:
//! for `/metrics`, `/ready` and logs.

/// One partition of a [`ConsumerGroup`](crate::ConsumerGroup), as this
/// process sees it.
///
/// The broker, not the process, picks which subscriber of a partition queue
/// is active (single active consumer), so this is the process's side only:
/// whether it prefers the partition (subscribes at once, and is normally the
/// active consumer) or stands by for it (subscribes after the standby
/// delay, and becomes active only when the preferred process is gone), and
/// whether it holds a subscription right now.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PartitionState {
    /// The partition's index.
    pub partition: u16,
    /// The partition's queue.
    pub queue: String,
    /// Whether this process prefers the partition (`p mod K == I`).
    pub preferred: bool,
    /// Whether this process holds a subscription to the partition's queue.
    pub subscribed: bool,
}

impl PartitionState {
    /// `preferred` or `standby`: the process's role on the partition.
    pub fn role(&self) -> &'static str {
        if self.preferred {
            "preferred"
        } else {
            "standby"
        }
    }
}

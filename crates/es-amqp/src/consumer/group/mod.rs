//! Consumer groups: one queue's work split over N partition queues by stream
//! id, read by K processes, each stream's events still handled in order.
//!
//! # Routing
//!
//! The relay stamps every message with its stream's
//! [`partition_slot`](crate::wire::partition_slot) (a stable hash of the
//! stream id modulo [`PARTITION_SLOTS`](crate::wire::PARTITION_SLOTS)). A
//! group of N partitions declares a headers exchange bound to the event
//! exchange with the group's binding keys, and N durable queues
//! `{group}.p0 .. {group}.p{N-1}` (quorum, single active consumer, the
//! group's dead-letter queue); partition `p` is bound to the slots `s` with
//! `s mod N == p`. All events of a stream therefore land in one partition
//! queue, in the order the relay published them. (See `route` for the exact
//! wiring.) A group of one partition is exactly a [`Consumer`] on the
//! group's own queue.
//!
//! Why headers and a fixed slot count rather than RabbitMQ's
//! consistent-hash exchange: that exchange is a plugin that is not enabled
//! on every broker (a consumer cannot enable it), whereas headers exchanges
//! and exchange-to-exchange bindings are always there. Why not a routing
//! key suffix computed by the relay: N would then belong to the relay; with
//! slots, each group picks its N without the relay knowing the groups.
//!
//! # Several processes
//!
//! Every process subscribes to every partition. Each queue has a single
//! active consumer: the broker delivers to the first subscriber and keeps
//! the others waiting. To spread the active consumers, process `I` of `K`
//! subscribes at once to the partitions it prefers (`p mod K == I`) and to
//! the others only after [`standby_delay`](ConsumerGroupConfig::standby_delay).
//! When a process dies (its connections close), the broker returns its
//! unacknowledged messages to the head of each queue and makes a waiting
//! subscriber active, so the partition moves to another process without
//! reordering.
//!
//! There is no automatic re-balancing: a process that comes back (or starts
//! more than the standby delay after the others) waits as a standby on the
//! partitions others took over, until those processes stop or reconnect.
//! Restarting the processes one after the other in index order restores the
//! preferred spread.
//!
//! # Changing N
//!
//! While the partition count changes, a stream's slot can move to another
//! partition with some of its events still waiting in the old one, and two
//! partitions are consumed concurrently: that stream's events may be handled
//! out of order. Two safe ways:
//!
//! * **Drain first** (no reordering at all): stop the relay (or the
//!   writers), wait until every partition queue is empty, stop the group,
//!   start it with the new N, start the relay. Growing N rebinds the slots of
//!   the existing queues (each partition unbinds the slots it no longer
//!   owns); shrinking N leaves the queues `p >= N` bound and no longer read:
//!   delete them once empty.
//! * **Detect**: an [`IdempotentHandler`](crate::IdempotentHandler) passes
//!   the stream's last applied version to the handler, so a handler that
//!   checks it ([`NotYet::check_next`](crate::NotYet::check_next)) refuses
//!   an early event with [`NotYet`](crate::NotYet) (it is retried, then
//!   parked in the dead-letter queue, never recorded) instead of applying it
//!   out of order; move the parked events back once the change is done.
//!
//! Outside a change of N every stream's events are handled in version order
//! and exactly once (with an idempotent handler), across crashes and
//! failovers. Moving from a single queue to N > 1 is a change of topology
//! as well: drain and delete the group's old queue, which stays bound to the
//! event exchange.

pub(crate) mod config;
pub(crate) mod partition_state;
pub(crate) mod route;

use std::{convert::Infallible, sync::Arc};

use tokio::task::JoinSet;

pub use self::config::{ConsumerGroupConfig, ConsumerGroupConfigBuilder};
pub use self::partition_state::PartitionState;
use super::topology;
use crate::{connection, Consumer, ConsumerError, ConsumerStats, Handler};

/// Consumes a [`ConsumerGroupConfig`]'s partitions into one [`Handler`].
///
/// Each partition has its own connection and is handled one message at a
/// time, in order; different partitions run concurrently, so the handler
/// sees up to N events at once (of different streams).
///
/// ```no_run
/// # async fn demo(handler: impl es_amqp::Handler + 'static) -> Result<(), Box<dyn std::error::Error>> {
/// use es_amqp::{ConsumerConfig, ConsumerGroup, ConsumerGroupConfig};
/// let consumer = ConsumerConfig::builder("amqp://guest:guest@127.0.0.1:5672/%2f", "BOOKING_TX_EVENT", "parking.bookings")
///     .with_binding_keys(["booking.#"])
///     .build()?;
/// // Process 0 of 2, on 4 partitions: active on 0 and 2, standby on 1 and 3.
/// let group = ConsumerGroup::new(
///     ConsumerGroupConfig::builder(consumer).with_partitions(4).with_instance(0, 2).build()?,
///     handler,
/// );
/// group.declare().await?;
/// group.run().await?;
/// # Ok(()) }
/// ```
pub struct ConsumerGroup<H> {
    config: ConsumerGroupConfig,
    partitions: Vec<Consumer<H>>,
    handler: Arc<H>,
    stats: Arc<ConsumerStats>,
}

impl<H> Clone for ConsumerGroup<H> {
    fn clone(&self) -> Self {
        Self {
            config: self.config.clone(),
            partitions: self.partitions.clone(),
            handler: self.handler.clone(),
            stats: self.stats.clone(),
        }
    }
}

impl<H: Handler> ConsumerGroup<H> {
    /// A group whose partitions all feed `handler`.
    pub fn new(config: ConsumerGroupConfig, handler: H) -> Self {
        let handler = Arc::new(handler);
        let stats = Arc::new(ConsumerStats::default());
        let partitions = config
            .partition_configs()
            .into_iter()
            .map(|c| Consumer::sharing(c, handler.clone(), stats.clone()))
            .collect();
        Self {
            config,
            partitions,
            handler,
            stats,
        }
    }

    /// The configuration.
    pub fn config(&self) -> &ConsumerGroupConfig {
        &self.config
    }

    /// The handler.
    pub fn handler(&self) -> &H {
        &self.handler
    }

    /// What the group's partitions did so far, together.
    pub fn stats(&self) -> &ConsumerStats {
        &self.stats
    }

    /// Each partition's state in this process, in partition order.
    pub fn partition_states(&self) -> Vec<PartitionState> {
        self.partitions
            .iter()
            .zip(0u16..)
            .map(|(consumer, partition)| PartitionState {
                partition,
                queue: consumer.config().queue().to_owned(),
                preferred: self.config.prefers(partition),
                subscribed: consumer.subscribed(),
            })
            .collect()
    }

    /// Declares every partition's queue, exchanges and bindings, then
    /// disconnects. After this the partitions collect events even while no
    /// process consumes.
    pub async fn declare(&self) -> Result<(), ConsumerError> {
        let base = self.config.consumer();
        let connection = base
            .link()
            .connect::<ConsumerError>(super::CHANNELS)
            .await?;
        let result = super::bounded(base, "declare the topology", async {
            let channel = connection.create_channel().await?;
            for partition in &self.partitions {
                topology::declare(&channel, partition.config()).await?;
            }
            Ok(())
        })
        .await;
        connection::close(&connection).await;
        result
    }

    /// Consumes every partition forever: the preferred ones at once, the
    /// others after the standby delay. Each partition reconnects on its own.
    ///
    /// Each partition runs on a task of its own, so on a multi-threaded
    /// runtime the partitions' decoding, handling and acknowledging spread
    /// over the worker threads (polled together in one task, N partitions of
    /// one process were bound to one thread: 2.4x for N = 4 where separate
    /// processes reached 3.2x). Dropping the returned future aborts them;
    /// a task being polled on another thread at that moment stops at its
    /// next await point, shortly after the drop. To know when the last
    /// handler call has returned, stop with [`run_until`](Self::run_until).
    ///
    /// Returns only if a partition's very first topology declaration fails
    /// (a configuration error); the other partitions stop then too.
    pub async fn run(&self) -> Result<Infallible, ConsumerError>
    where
        H: 'static,
    {
        match self.supervise(std::future::pending()).await {
            Ok(()) => std::future::pending().await,
            Err(error) => Err(error),
        }
    }

    /// Like [`run`](Self::run), but returns `Ok` once `shutdown` completes
    /// and every partition's task has stopped: when it returns, no handler
    /// call of this group is running or will start. Every partition's
    /// unacknowledged messages go back to the head of its queue, for the
    /// next active consumer.
    pub async fn run_until(
        &self,
        shutdown: impl std::future::Future<Output = ()>,
    ) -> Result<(), ConsumerError>
    where
        H: 'static,
    {
        self.supervise(shutdown).await
    }

    /// Runs a task per partition until `shutdown` completes (then aborts
    /// them and waits for them to stop) or one returns an error.
    async fn supervise(
        &self,
        shutdown: impl std::future::Future<Output = ()>,
    ) -> Result<(), ConsumerError>
    where
        H: 'static,
    {
        let mut runs = JoinSet::new();
        for (consumer, partition) in self.partitions.iter().zip(0u16..) {
            let delay = if self.config.prefers(partition) {
                None
            } else {
                Some(self.config.standby_delay())
            };
            let consumer = consumer.clone();
            runs.spawn(async move {
                if let Some(delay) = delay {
                    tokio::time::sleep(delay).await;
                }
                consumer.run().await
            });
        }
        let mut shutdown = std::pin::pin!(shutdown);
        loop {
            tokio::select! {
                () = &mut shutdown => {
                    runs.shutdown().await;
                    return Ok(());
                }
                joined = runs.join_next() => match joined {
                    Some(Ok(Ok(never))) => match never {},
                    Some(Ok(Err(error))) => return Err(error),
                    Some(Err(error)) if error.is_panic() => {
                        std::panic::resume_unwind(error.into_panic())
                    }
                    // Only this function aborts its tasks (shutdown, or
                    // dropping the set).
                    Some(Err(_aborted)) => {}
                    // No partitions: wait for the shutdown alone.
                    None => {
                        shutdown.await;
                        return Ok(());
                    }
                },
            }
        }
    }
}

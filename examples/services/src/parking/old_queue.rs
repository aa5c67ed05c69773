//! The warning `parking serve` gives when it starts on partitions while the
//! queue of an earlier single-queue run still exists: that queue stays bound
//! to Booking's exchange, so it keeps filling with every booking event, and
//! whatever it held when the switch happened is never applied by the
//! partitions. Nothing else would tell: the consumers are healthy.
//!
//! Asked with a passive declare (which never creates the queue), so it needs
//! no management plugin. A broker that does not answer is not a reason to
//! warn or to fail: the consumer's own start-up reports that.

use std::time::Duration;

use es_amqp::lapin::{
    options::QueueDeclareOptions, types::FieldTable, Connection, ConnectionProperties,
};

/// How long the check may take.
const CHECK_TIMEOUT: Duration = Duration::from_secs(5);

/// What is left of the single queue `queue`: its messages and consumers,
/// `None` if it does not exist (or the broker did not say in time).
pub async fn leftover(amqp_url: &str, queue: &str) -> Option<(u32, u32)> {
    let check = async {
        let connection = Connection::connect(amqp_url, ConnectionProperties::default())
            .await
            .ok()?;
        let found = async {
            let channel = connection.create_channel().await.ok()?;
            let options = QueueDeclareOptions {
                passive: true,
                ..QueueDeclareOptions::default()
            };
            let declared = channel
                .queue_declare(queue.into(), options, FieldTable::default())
                .await
                .ok()?;
            Some((declared.message_count(), declared.consumer_count()))
        }
        .await;
        let _ = connection.close(200, "old queue check".into()).await;
        found
    };
    tokio::time::timeout(CHECK_TIMEOUT, check)
        .await
        .ok()
        .flatten()
}

/// The warning for a leftover single queue `queue` holding `messages`, with
/// `consumers` consumers, found by a run on `partitions` partitions.
pub fn warning(queue: &str, messages: u32, consumers: u32, partitions: u16) -> String {
    format!(
        "the single queue {queue:?} of an earlier run without partitions still exists \
         ({messages} message(s), {consumers} consumer(s)); this run consumes {partitions} \
         partition queues ({queue}.p0, …) instead, so those messages are never applied \
         here, and the queue keeps filling while it is bound to the exchange. To move \
         safely: stop `booking serve` (events wait in its log), run `parking serve \
         --partitions 1` until the queue is empty, stop it, delete the queue \
         (`rabbitmqctl delete_queue {queue}`), then start on partitions and restart \
         `booking serve`"
    )
}

//! Shared pieces of the RabbitMQ benchmarks: the broker's URL and a topic
//! exchange routed into one durable quorum queue, with unique names, purged
//! between iterations and deleted at the end.
#![allow(dead_code)]

use es_amqp::{
    lapin::{
        options::{ExchangeDeleteOptions, QueueDeleteOptions, QueuePurgeOptions},
        Connection, ConnectionProperties,
    },
    Consumer, ConsumerConfig, Handler,
};
use es_core::{async_trait, BoxError, RecordedEvent};
use uuid::Uuid;

/// The broker (`AMQP_URL`, default the local RabbitMQ).
pub fn amqp_url() -> String {
    std::env::var("AMQP_URL").unwrap_or_else(|_| "amqp://guest:guest@127.0.0.1:5672/%2f".into())
}

/// A fresh exchange and queue (with its dead-letter pair) on the broker.
pub struct Broker {
    /// The bench's own connection, for purging and cleaning up.
    pub connection: Connection,
    /// The topic exchange to publish to.
    pub exchange: String,
    /// The quorum queue bound to it.
    pub queue: String,
}

/// Handles nothing: only lends [`Consumer::declare`] a handler type.
struct Nothing;

#[async_trait]
impl Handler for Nothing {
    async fn handle(&self, _: &RecordedEvent) -> Result<(), BoxError> {
        Ok(())
    }
}

impl Broker {
    /// Declares exchange, quorum queue, binding and dead-letter queue under
    /// names starting with `prefix`.
    pub async fn new(prefix: &str) -> Self {
        let suffix = Uuid::new_v4().simple().to_string();
        let exchange = format!("{prefix}.{suffix}.events");
        let queue = format!("{prefix}.{suffix}.queue");
        Consumer::new(
            ConsumerConfig::builder(amqp_url(), &exchange, &queue)
                .build()
                .expect("config"),
            Nothing,
        )
        .declare()
        .await
        .expect("declare");
        let connection = Connection::connect(&amqp_url(), ConnectionProperties::default())
            .await
            .expect("connect");
        Self {
            connection,
            exchange,
            queue,
        }
    }

    /// Empties the queue.
    pub async fn purge(&self) {
        let channel = self.connection.create_channel().await.expect("channel");
        channel
            .queue_purge(self.queue.as_str().into(), QueuePurgeOptions::default())
            .await
            .expect("purge");
        let _ = channel.close(200, "ok".into()).await;
    }

    /// Deletes the queues and exchanges.
    pub async fn delete(self) {
        let channel = self.connection.create_channel().await.expect("channel");
        for queue in [self.queue.clone(), format!("{}.dlq", self.queue)] {
            let _ = channel
                .queue_delete(queue.as_str().into(), QueueDeleteOptions::default())
                .await;
        }
        for exchange in [self.exchange.clone(), format!("{}.dlx", self.queue)] {
            let _ = channel
                .exchange_delete(exchange.as_str().into(), ExchangeDeleteOptions::default())
                .await;
        }
        let _ = self.connection.close(200, "ok".into()).await;
    }
}

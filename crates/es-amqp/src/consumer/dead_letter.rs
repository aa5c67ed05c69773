//! Sending a message the consumer gives up on to the dead-letter exchange,
//! with the failure recorded in `x-es-*` headers, and waiting for the
//! broker's confirm before the original is acknowledged.

use lapin::{
    message::Delivery,
    options::BasicPublishOptions,
    types::{AMQPValue, LongString},
    Channel, Confirmation,
};

use super::Consumer;
use crate::{config_error::short, wire, ConsumerError, Handler};

impl<H: Handler> Consumer<H> {
    /// Publishes `delivery` to the dead-letter exchange with the failure in
    /// its headers and waits for the broker's confirm.
    pub(super) async fn dead_letter(
        &self,
        channel: &Channel,
        delivery: &Delivery,
        failure: &str,
        attempts: u32,
    ) -> Result<(), ConsumerError> {
        let mut headers = delivery.properties.headers().clone().unwrap_or_default();
        let text = |s: &str| AMQPValue::LongString(LongString::from(s));
        headers.insert(wire::HEADER_FAILURE.into(), text(failure));
        headers.insert(
            wire::HEADER_ATTEMPTS.into(),
            AMQPValue::LongLongInt(i64::from(attempts)),
        );
        headers.insert(wire::HEADER_FAILED_QUEUE.into(), text(self.config.queue()));
        headers.insert(
            wire::HEADER_ORIGINAL_EXCHANGE.into(),
            text(delivery.exchange.as_str()),
        );
        headers.insert(
            wire::HEADER_ORIGINAL_ROUTING_KEY.into(),
            text(delivery.routing_key.as_str()),
        );
        headers.insert(
            wire::HEADER_FAILED_AT.into(),
            text(&chrono::Utc::now().to_rfc3339()),
        );
        let properties = delivery.properties.clone().with_headers(headers);
        let confirmation = channel
            .basic_publish(
                short("dead-letter exchange", self.config.dead_letter_exchange())?,
                delivery.routing_key.clone(),
                BasicPublishOptions {
                    mandatory: true,
                    immediate: false,
                },
                &delivery.data,
                properties,
            )
            .await?
            .await?;
        match confirmation {
            Confirmation::Ack(None) => Ok(()),
            Confirmation::Ack(Some(returned)) | Confirmation::Nack(Some(returned)) => {
                Err(ConsumerError::DeadLetterUnroutable {
                    exchange: self.config.dead_letter_exchange().to_owned(),
                    reply_text: returned.reply_text.to_string(),
                })
            }
            Confirmation::Nack(None) | Confirmation::NotRequested => Err(
                ConsumerError::DeadLetterNacked(self.config.dead_letter_exchange().to_owned()),
            ),
        }
    }
}

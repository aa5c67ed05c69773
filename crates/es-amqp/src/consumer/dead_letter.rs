//! Sending a message the consumer gives up on to the dead-letter exchange,
//! with the failure recorded in `x-es-*` headers, and waiting for the
//! broker's confirm before the original is acknowledged.
//!
//! The failure text is cut to [`FAILURE_TEXT_MAX`] bytes. If the original
//! headers plus the failure headers would not fit one frame of the
//! connection (a message that arrived just under the limit), the original
//! headers are left out and [`HEADER_HEADERS_DROPPED`](wire::HEADER_HEADERS_DROPPED)
//! says so: the dead letter keeps its body, `message_id` (the event id) and
//! the failure, and publishing it can never fail on its size.

use lapin::{
    message::Delivery,
    options::BasicPublishOptions,
    types::{AMQPValue, FieldTable, LongString},
    BasicProperties, Channel, Confirmation,
};

use super::Consumer;
use crate::{config_error::short, wire, ConsumerError, Handler};

/// The longest failure text recorded in [`wire::HEADER_FAILURE`].
pub(crate) const FAILURE_TEXT_MAX: usize = 4_096;

/// The dead-letter channel and the connection's largest frame.
pub(super) struct DeadLetters {
    pub channel: Channel,
    pub frame_max: usize,
}

impl<H: Handler> Consumer<H> {
    /// Publishes `delivery` to the dead-letter exchange with the failure in
    /// its headers and waits for the broker's confirm.
    pub(super) async fn dead_letter(
        &self,
        dead_letters: &DeadLetters,
        delivery: &Delivery,
        failure: &str,
        attempts: u32,
    ) -> Result<(), ConsumerError> {
        let original = delivery.properties.headers().clone().unwrap_or_default();
        let mut properties = self.dead_letter_properties(delivery, original, failure, attempts);
        let fits =
            wire::header_frame_len(&properties).is_ok_and(|len| len <= dead_letters.frame_max);
        if !fits {
            tracing::warn!(
                "the dead letter's headers do not fit a frame: leaving the original headers out"
            );
            let mut dropped = FieldTable::default();
            dropped.insert(
                wire::HEADER_HEADERS_DROPPED.into(),
                AMQPValue::Boolean(true),
            );
            properties = self.dead_letter_properties(delivery, dropped, failure, attempts);
        }
        let confirmation = dead_letters
            .channel
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

    /// The dead letter's properties: the original's, with `headers` plus the
    /// failure headers.
    fn dead_letter_properties(
        &self,
        delivery: &Delivery,
        mut headers: FieldTable,
        failure: &str,
        attempts: u32,
    ) -> BasicProperties {
        let text = |s: &str| AMQPValue::LongString(LongString::from(s));
        headers.insert(
            wire::HEADER_FAILURE.into(),
            text(wire::truncated(failure, FAILURE_TEXT_MAX)),
        );
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
        delivery.properties.clone().with_headers(headers)
    }
}

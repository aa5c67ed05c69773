//! Declaring the durable exchanges the relay publishes to and the consumer
//! binds to, the same way on both sides (a declaration that differs from an
//! existing exchange is refused by the broker).

use lapin::{
    options::ExchangeDeclareOptions,
    types::{FieldTable, ShortString},
    Channel, ExchangeKind,
};

/// Declares the durable exchange `name` of `kind` on `channel`.
pub(crate) async fn declare_durable(
    channel: &Channel,
    name: ShortString,
    kind: ExchangeKind,
) -> Result<(), lapin::Error> {
    declare_durable_with(channel, name, kind, FieldTable::default()).await
}

/// Declares the durable exchange `name` of `kind` with `arguments` (such as
/// an `alternate-exchange`) on `channel`.
pub(crate) async fn declare_durable_with(
    channel: &Channel,
    name: ShortString,
    kind: ExchangeKind,
    arguments: FieldTable,
) -> Result<(), lapin::Error> {
    channel
        .exchange_declare(
            name,
            kind,
            ExchangeDeclareOptions {
                durable: true,
                ..ExchangeDeclareOptions::default()
            },
            arguments,
        )
        .await
}

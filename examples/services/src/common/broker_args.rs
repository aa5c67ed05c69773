//! Where both `serve` commands find RabbitMQ and Booking's exchange: the
//! one pair of settings the two services must agree on.

/// The broker and the exchange booking events travel through.
#[derive(Debug, clap::Args)]
pub struct BrokerArgs {
    /// RabbitMQ, e.g. amqp://guest:guest@127.0.0.1:5672/%2f.
    #[arg(long, env = "AMQP_URL", hide_env_values = true)]
    pub amqp_url: String,
    /// The topic exchange booking events are published to.
    #[arg(long, env = "BOOKING_EXCHANGE", default_value = "BOOKING_TX_EVENT")]
    pub exchange: String,
}

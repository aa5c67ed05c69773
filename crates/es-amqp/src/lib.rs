//! RabbitMQ delivery (work in progress).

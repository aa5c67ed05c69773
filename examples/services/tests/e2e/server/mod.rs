//! Server mode: `booking serve` and `parking serve` as processes against
//! PostgreSQL and RabbitMQ, the CLIs on the same stores, and the faults the
//! services must ride out with every event applied exactly once.

mod bad_data;
mod catch_up_log;
mod early_events;
mod embedded_instances;
mod explorer;
mod failover;
mod hostile_names;
mod http_api;
mod killed_services;
mod late_commits;
mod noisy_neighbour;
mod one_booking_per_slot;
mod operations;
mod outages;
mod partition_switch;
mod rolling_restart;
mod secrets;
mod shutdown;
mod stuck_instances;
mod torture;
mod trace_context;
mod workflow;

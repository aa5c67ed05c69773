//! What both services share: the booking events they agree on, and the CLI
//! and `serve` scaffolding around each service's own code.

pub mod booking_event;
pub mod broker_args;
pub mod cli_exit;
pub mod data_dir;
pub mod health;
pub mod key_value;
pub mod logging;
pub mod metrics_endpoint;
pub mod operations;
pub mod problem;
pub mod readiness;
pub mod service_main;
pub mod shutdown;
pub mod trace;
pub mod uuid_arg;
pub mod worker_status;

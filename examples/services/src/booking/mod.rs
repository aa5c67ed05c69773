//! The Booking service: the booking aggregate, its projection and views, the
//! service that runs commands and queries, its CLI and `booking serve`.

pub mod aggregate;
pub mod cli;
pub mod history;
pub mod http_commands;
pub mod http_queries;
pub mod operations;
pub mod projection;
pub mod read_model_lag;
pub mod serve;
pub mod service;
pub mod slot_boundary;
pub mod views;

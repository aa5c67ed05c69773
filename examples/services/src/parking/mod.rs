//! The Parking service: parking slots, the follower that applies Booking's
//! events to them, its CLI and `parking serve`.

pub mod booking_follower;
pub mod cli;
pub mod db;
pub mod http_queries;
pub mod old_queue;
pub mod operations;
pub mod serve;
pub mod slot;
pub mod watched_handler;

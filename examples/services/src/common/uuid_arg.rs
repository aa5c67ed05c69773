//! Booking and slot ids on the command line: a malformed one is a usage
//! error whose message shows what an id looks like.

use uuid::Uuid;

/// Parses a booking or slot id (a clap `value_parser`).
pub fn parse_uuid(text: &str) -> Result<Uuid, String> {
    Uuid::parse_str(text).map_err(|_| {
        "not a UUID (expected something like daab05c7-5d8f-4480-9a95-8d042e2948db)".to_owned()
    })
}

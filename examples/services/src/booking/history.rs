//! `get_booking_events`: a booking's history as the seed prints it.
//!
//! Each event shows the booking id, its version, and only the properties that
//! event set, so the creation carries the slot and the status changes carry
//! just the status:
//!
//! ```text
//! {
//!     'id': UUID('daab05c7-5d8f-4480-9a95-8d042e2948db'),
//!     'version': 2,
//!     'status': 'reserved'
//! }
//! ```

use uuid::Uuid;

use crate::common::booking_event::BookingEvent;

/// The properties `event` set, in the seed's order.
pub fn properties_set(event: &BookingEvent) -> Vec<(&'static str, String)> {
    let mut properties = Vec::new();
    if let BookingEvent::BookingCreated {
        parking_slot_ref_no,
    } = event
    {
        properties.push(("parking_slot_ref_no", parking_slot_ref_no.to_string()));
    }
    properties.push(("status", event.status().to_string()));
    properties
}

/// Formats the history of booking `id`: `(version, event)` pairs in order.
pub fn format_history(id: Uuid, events: &[(u64, BookingEvent)]) -> String {
    let mut blocks = Vec::with_capacity(events.len());
    for (version, event) in events {
        let mut lines = vec![
            format!("'id': UUID('{id}')"),
            format!("'version': {version}"),
        ];
        lines.extend(
            properties_set(event)
                .into_iter()
                .map(|(key, value)| format!("'{key}': '{value}'")),
        );
        blocks.push(format!("{{\n    {}\n}}", lines.join(",\n    ")));
    }
    blocks.join("\n")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn prints_the_seed_transcript() {
        let id = Uuid::parse_str("daab05c7-5d8f-4480-9a95-8d042e2948db").expect("uuid");
        let slot = Uuid::parse_str("c9ed7097-05ee-4ab6-8361-3a2a3dee00e3").expect("uuid");
        let text = format_history(
            id,
            &[
                (
                    1,
                    BookingEvent::BookingCreated {
                        parking_slot_ref_no: slot,
                    },
                ),
                (2, BookingEvent::BookingReserved),
            ],
        );
        assert_eq!(
            text,
            "{\n    'id': UUID('daab05c7-5d8f-4480-9a95-8d042e2948db'),\n    'version': 1,\n    \
             'parking_slot_ref_no': 'c9ed7097-05ee-4ab6-8361-3a2a3dee00e3',\n    'status': 'created'\n}\n\
             {\n    'id': UUID('daab05c7-5d8f-4480-9a95-8d042e2948db'),\n    'version': 2,\n    \
             'status': 'reserved'\n}"
        );
    }
}

//! The seed's transcript, run through the real example binaries in embedded
//! mode (SQLite files in a temporary directory, no server), asserting every
//! output.

use crate::support::{booking_details, booking_events, embedded, field, slot_details};

#[test]
fn the_seed_transcript_runs_embedded() {
    let dir = tempfile::tempdir().expect("temp dir");
    let data = dir.path();

    // 1. A parking slot.
    let created = embedded("parking", data, &["create_parking_slot", "Slot 1"]).ok();
    let slot = field(&created, "uuid");
    assert_eq!(created, slot_details(&slot, "Slot 1", "available"));

    // 2. A booking request: BookingCreated, the projection, the slot blocked.
    let id = embedded("booking", data, &["create_booking_request", &slot]).ok();
    assert!(
        uuid::Uuid::parse_str(&id).is_ok(),
        "not a booking id: {id:?}"
    );
    let events = embedded("booking", data, &["get_booking_events", &id]).ok();
    assert_eq!(events, booking_events(&id, &slot, 1));
    let details = embedded("booking", data, &["get_booking_details", &id]).ok();
    assert_eq!(details, booking_details(&id, "1", "created", &slot));
    let parked = embedded("parking", data, &["parking_slot_details", &slot]).ok();
    assert_eq!(parked, slot_details(&slot, "Slot 1", "blocked"));

    // 3. Reserved.
    let reserved = embedded("booking", data, &["reserve_booking", &id]).ok();
    assert_eq!(reserved, id);
    let events = embedded("booking", data, &["get_booking_events", &id]).ok();
    assert_eq!(events, booking_events(&id, &slot, 2));
    let details = embedded("booking", data, &["get_booking_details", &id]).ok();
    assert_eq!(details, booking_details(&id, "1", "reserved", &slot));
    let parked = embedded("parking", data, &["parking_slot_details", &slot]).ok();
    assert_eq!(parked, slot_details(&slot, "Slot 1", "reserved"));

    // 4. Completed (kebab-case aliases work too).
    let completed = embedded("booking", data, &["complete-booking", &id]).ok();
    assert_eq!(completed, id);
    let details = embedded("booking", data, &["get_booking_details", &id]).ok();
    assert_eq!(details, booking_details(&id, "1", "completed", &slot));
    let events = embedded("booking", data, &["get_booking_events", &id]).ok();
    assert_eq!(events, booking_events(&id, &slot, 3));
    assert_eq!(events.matches("parking_slot_ref_no").count(), 1);

    // 5. The slot stays reserved.
    let parked = embedded("parking", data, &["parking_slot_details", &slot]).ok();
    assert_eq!(parked, slot_details(&slot, "Slot 1", "reserved"));

    // Lists: one line per booking and per slot.
    let list = embedded("booking", data, &["get_booking_list"]).ok();
    assert_eq!(list.lines().count(), 1);
    assert!(list.contains(&id) && list.contains("completed") && list.contains(&slot));
    let slots = embedded("parking", data, &["parking_slot_list"]).ok();
    assert_eq!(slots, format!("{slot}  reserved   Slot 1"));
}

#[test]
fn a_booking_of_a_slot_parking_does_not_know_is_recorded_and_skipped() {
    let dir = tempfile::tempdir().expect("temp dir");
    let data = dir.path();
    let unknown = uuid::Uuid::new_v4().to_string();
    let slot = field(
        &embedded("parking", data, &["create_parking_slot", "Slot 2"]).ok(),
        "uuid",
    );

    // Booking records the request: it does not know Parking's slots.
    let orphan = embedded("booking", data, &["create_booking_request", &unknown]).ok();
    embedded("booking", data, &["reserve_booking", &orphan]).ok();
    // Parking skips both events (with a warning on stderr) and carries on.
    let first = crate::support::embedded("parking", data, &["parking_slot_list"]);
    assert_eq!(first.code, Some(0), "{first:?}");
    assert!(
        first.stderr.contains("skipping a booking event"),
        "{first:?}"
    );
    assert!(
        first.stderr.contains(&format!("no parking slot {unknown}")),
        "{first:?}"
    );
    assert_eq!(first.stdout, format!("{slot}  available  Slot 2"));

    // The events behind it are applied, and the skipped ones are not retried.
    let id = embedded("booking", data, &["create_booking_request", &slot]).ok();
    embedded("booking", data, &["reserve_booking", &id]).ok();
    let parked = embedded("parking", data, &["parking_slot_details", &slot]).ok();
    assert_eq!(parked, slot_details(&slot, "Slot 2", "reserved"));
}

#[test]
fn the_demo_runs_the_whole_transcript() {
    let dir = tempfile::tempdir().expect("temp dir");
    let run = crate::support::run(
        crate::support::command("demo")
            .arg("--data-dir")
            .arg(dir.path()),
    );
    assert_eq!(run.code, Some(0), "{run:?}");
    let out = &run.stdout;
    for expected in [
        "$ parking create_parking_slot 'Slot 1'",
        "status: blocked",
        "'version': 3",
        "status:              completed",
        "error: cannot reserve booking",
    ] {
        assert!(
            out.contains(expected),
            "the demo did not print {expected:?}:\n{out}"
        );
    }
    assert!(out.trim_end().ends_with("status: reserved"), "{out}");
}

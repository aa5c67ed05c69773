//! Bad input to the example CLIs in embedded mode: one clear `error:` line on
//! stderr, a non-zero exit code, no panic, and nothing written.

use std::path::Path;

use crate::support::{booking_events, embedded, field};

/// A data directory with one slot and one created booking: `(slot, booking)`.
fn with_a_booking(data: &Path) -> (String, String) {
    let slot = field(
        &embedded("parking", data, &["create_parking_slot", "Slot 1"]).ok(),
        "uuid",
    );
    let id = embedded("booking", data, &["create_booking_request", &slot]).ok();
    (slot, id)
}

#[test]
fn malformed_uuids_are_usage_errors() {
    let dir = tempfile::tempdir().expect("temp dir");
    for (program, command) in [
        ("booking", "create_booking_request"),
        ("booking", "reserve_booking"),
        ("booking", "complete_booking"),
        ("booking", "get_booking_details"),
        ("booking", "get_booking_events"),
        ("parking", "parking_slot_details"),
    ] {
        let line = embedded(program, dir.path(), &[command, "daab05c7-not-a-uuid"]).fails(2);
        assert!(
            line.contains("invalid value 'daab05c7-not-a-uuid'") && line.contains("not a UUID"),
            "{program} {command}: {line}"
        );
    }
}

#[test]
fn missing_arguments_and_unknown_commands_are_usage_errors() {
    let dir = tempfile::tempdir().expect("temp dir");
    for (program, command) in [
        ("booking", "create_booking_request"),
        ("booking", "reserve_booking"),
        ("parking", "create_parking_slot"),
        ("parking", "parking_slot_details"),
    ] {
        let line = embedded(program, dir.path(), &[command]).fails(2);
        assert!(
            line.contains("required arguments were not provided"),
            "{line}"
        );
        assert!(line.contains("--help"), "{line}");
    }
    let line = embedded("booking", dir.path(), &["cancel_booking"]).fails(2);
    assert!(
        line.contains("unrecognized subcommand 'cancel_booking'"),
        "{line}"
    );
    // A near miss suggests each command once, not in both spellings.
    let line = embedded("booking", dir.path(), &["reserve_bookin"]).fails(2);
    assert!(line.contains("'reserve_booking'"), "{line}");
    assert!(!line.contains("reserve-booking"), "{line}");
    let line = embedded("parking", dir.path(), &["parking-slot-lst"]).fails(2);
    assert_eq!(
        line.matches("slot-list").count() + line.matches("slot_list").count(),
        1,
        "{line}"
    );
    let line = embedded(
        "parking",
        dir.path(),
        &["create_parking_slot", "A", "--status", "gone"],
    )
    .fails(2);
    assert!(line.contains("invalid value 'gone'"), "{line}");
}

#[test]
fn unknown_ids_are_named() {
    let dir = tempfile::tempdir().expect("temp dir");
    let data = dir.path();
    let unknown = uuid::Uuid::new_v4().to_string();
    let line = embedded("booking", data, &["reserve_booking", &unknown]).fails(1);
    assert_eq!(
        line,
        format!("error: cannot reserve booking {unknown}: there is no such booking")
    );
    let line = embedded("booking", data, &["complete_booking", &unknown]).fails(1);
    assert_eq!(
        line,
        format!("error: cannot complete booking {unknown}: there is no such booking")
    );
    let line = embedded("booking", data, &["get_booking_details", &unknown]).fails(1);
    assert_eq!(line, format!("error: no booking {unknown}"));
    let line = embedded("booking", data, &["get_booking_events", &unknown]).fails(1);
    assert_eq!(line, format!("error: no booking {unknown}"));
    let line = embedded("parking", data, &["parking_slot_details", &unknown]).fails(1);
    assert_eq!(line, format!("error: no parking slot {unknown}"));
    // Nothing was written by the refusals.
    assert_eq!(embedded("booking", data, &["get_booking_list"]).ok(), "");
}

#[test]
fn refused_transitions_say_why_and_write_nothing() {
    let dir = tempfile::tempdir().expect("temp dir");
    let data = dir.path();
    let (slot, id) = with_a_booking(data);

    let line = embedded("booking", data, &["complete_booking", &id]).fails(1);
    assert_eq!(
        line,
        format!("error: cannot complete booking {id}: the booking is created; only a reserved booking can be completed")
    );
    embedded("booking", data, &["reserve_booking", &id]).ok();
    let line = embedded("booking", data, &["reserve_booking", &id]).fails(1);
    assert_eq!(
        line,
        format!("error: cannot reserve booking {id}: the booking is reserved; only a created booking can be reserved")
    );
    embedded("booking", data, &["complete_booking", &id]).ok();
    let line = embedded("booking", data, &["complete_booking", &id]).fails(1);
    assert!(
        line.ends_with("the booking is completed; only a reserved booking can be completed"),
        "{line}"
    );

    let events = embedded("booking", data, &["get_booking_events", &id]).ok();
    assert_eq!(events, booking_events(&id, &slot, 3));
}

#[test]
fn an_empty_slot_name_is_refused() {
    let dir = tempfile::tempdir().expect("temp dir");
    let line = embedded("parking", dir.path(), &["create_parking_slot", " "]).fails(1);
    assert_eq!(line, "error: a parking slot needs a non-empty name");
    assert_eq!(
        embedded("parking", dir.path(), &["parking_slot_list"]).ok(),
        ""
    );
}

#[test]
fn an_unusable_data_directory_is_reported() {
    let dir = tempfile::tempdir().expect("temp dir");
    let file = dir.path().join("not-a-directory");
    std::fs::write(&file, "x").expect("write");
    let data = file.join("data");
    let line = embedded("booking", &data, &["get_booking_list"]).fails(1);
    assert!(
        line.starts_with("error: cannot create the data directory"),
        "{line}"
    );
    let line = embedded("parking", &data, &["parking_slot_list"]).fails(1);
    assert!(
        line.starts_with("error: cannot create the data directory"),
        "{line}"
    );
}

#[test]
fn a_corrupt_database_is_reported() {
    let dir = tempfile::tempdir().expect("temp dir");
    std::fs::write(
        dir.path().join("booking-events.db"),
        "this is not a database, just text",
    )
    .expect("write");
    let line = embedded("booking", dir.path(), &["get_booking_list"]).fails(1);
    assert!(line.contains("booking-events.db"), "{line}");
    let line = embedded("parking", dir.path(), &["parking_slot_list"]).fails(1);
    assert!(line.contains("booking-events.db"), "{line}");
}

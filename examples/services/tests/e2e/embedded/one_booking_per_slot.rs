//! A slot holds at most one booking that is created or reserved, across
//! processes: requests for a taken slot are refused naming the booking that
//! holds it, completing that booking frees the slot, and ten processes
//! requesting one free slot at once book it once (the dcb.events append
//! condition, checked in SQLite's write transaction).

use std::process::Stdio;

use crate::support::{embedded, field, slot_details};

/// The refusal a request for `slot` held by `holder` in `status` prints.
pub fn slot_taken(slot: &str, holder: &str, status: &str) -> String {
    format!(
        "error: cannot create a booking for slot {slot}: booking {holder} holds it ({status}); \
         it frees the slot when it is completed"
    )
}

#[test]
fn a_taken_slot_is_refused_until_its_booking_completes() {
    let dir = tempfile::tempdir().expect("temp dir");
    let data = dir.path();
    let slot = field(
        &embedded("parking", data, &["create_parking_slot", "Slot 1"]).ok(),
        "uuid",
    );
    let first = embedded("booking", data, &["create_booking_request", &slot]).ok();
    let refused = embedded("booking", data, &["create_booking_request", &slot]).fails(1);
    assert_eq!(refused, slot_taken(&slot, &first, "created"));
    embedded("booking", data, &["reserve_booking", &first]).ok();
    let refused = embedded("booking", data, &["create_booking_request", &slot]).fails(1);
    assert_eq!(refused, slot_taken(&slot, &first, "reserved"));
    let list = embedded("booking", data, &["get_booking_list"]).ok();
    assert_eq!(list.lines().count(), 1, "{list}");

    // Completing frees the slot; Parking shows `reserved` until the next
    // request blocks it.
    embedded("booking", data, &["complete_booking", &first]).ok();
    let parked = embedded("parking", data, &["parking_slot_details", &slot]).ok();
    assert_eq!(parked, slot_details(&slot, "Slot 1", "reserved"));
    let second = embedded("booking", data, &["create_booking_request", &slot]).ok();
    assert_ne!(second, first);
    let parked = embedded("parking", data, &["parking_slot_details", &slot]).ok();
    assert_eq!(parked, slot_details(&slot, "Slot 1", "blocked"));
    let refused = embedded("booking", data, &["create_booking_request", &slot]).fails(1);
    assert_eq!(refused, slot_taken(&slot, &second, "created"));
}

#[test]
fn ten_concurrent_requests_for_one_slot_book_it_once() {
    let dir = tempfile::tempdir().expect("temp dir");
    let data = dir.path();
    let slot = field(
        &embedded("parking", data, &["create_parking_slot", "Slot 1"]).ok(),
        "uuid",
    );
    let children: Vec<_> = (0..10)
        .map(|_| {
            crate::support::command("booking")
                .arg("--data-dir")
                .arg(data)
                .args(["create_booking_request", &slot])
                .stdout(Stdio::piped())
                .stderr(Stdio::piped())
                .spawn()
                .expect("spawn")
        })
        .collect();
    let runs: Vec<_> = children
        .into_iter()
        .map(|child| child.wait_with_output().expect("wait"))
        .collect();
    let winners: Vec<_> = runs.iter().filter(|run| run.status.success()).collect();
    assert_eq!(winners.len(), 1, "{runs:?}");
    let winner = String::from_utf8_lossy(&winners[0].stdout)
        .trim_end()
        .to_owned();
    for run in runs.iter().filter(|run| !run.status.success()) {
        assert_eq!(run.status.code(), Some(1), "{run:?}");
        assert!(run.stdout.is_empty(), "{run:?}");
        let stderr = String::from_utf8_lossy(&run.stderr);
        assert_eq!(stderr.trim_end(), slot_taken(&slot, &winner, "created"));
    }
    let list = embedded("booking", data, &["get_booking_list"]).ok();
    assert_eq!(list.lines().count(), 1, "{list}");
    assert!(list.contains(&winner), "{list}");
}

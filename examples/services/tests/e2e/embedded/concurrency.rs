//! Ten `reserve_booking` processes at once on one booking, in embedded mode:
//! SQLite serialises the writers across processes and the version check lets
//! exactly one of them reserve.

use std::process::Stdio;

use crate::support::{booking_events, embedded, field};

#[test]
fn ten_concurrent_reservations_reserve_once() {
    let dir = tempfile::tempdir().expect("temp dir");
    let data = dir.path();
    let slot = field(
        &embedded("parking", data, &["create_parking_slot", "Slot 1"]).ok(),
        "uuid",
    );
    let id = embedded("booking", data, &["create_booking_request", &slot]).ok();

    let children: Vec<_> = (0..10)
        .map(|_| {
            crate::support::command("booking")
                .arg("--data-dir")
                .arg(data)
                .args(["reserve_booking", &id])
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
    assert_eq!(String::from_utf8_lossy(&winners[0].stdout).trim_end(), id);
    for run in runs.iter().filter(|run| !run.status.success()) {
        assert_eq!(run.status.code(), Some(1), "{run:?}");
        assert!(run.stdout.is_empty(), "{run:?}");
        let stderr = String::from_utf8_lossy(&run.stderr);
        assert_eq!(
            stderr.trim_end(),
            format!("error: cannot reserve booking {id}: the booking is reserved; only a created booking can be reserved"),
        );
    }

    let events = embedded("booking", data, &["get_booking_events", &id]).ok();
    assert_eq!(events, booking_events(&id, &slot, 2));
    let details = embedded("booking", data, &["get_booking_details", &id]).ok();
    assert!(
        details.contains("status:              reserved"),
        "{details}"
    );
    let parked = embedded("parking", data, &["parking_slot_details", &slot]).ok();
    assert!(parked.ends_with("status: reserved"), "{parked}");
}

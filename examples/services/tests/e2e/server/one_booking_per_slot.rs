//! Server mode (PostgreSQL): a slot holds at most one booking that is
//! created or reserved. Ten `booking create_booking_request` processes on
//! one free slot at once book it once (the append condition, checked under
//! PostgreSQL advisory locks); over HTTP a request for a taken slot is a
//! 409 naming the booking that holds it.

use std::process::{Command, Stdio};

use crate::embedded::one_booking_per_slot::slot_taken;
use crate::support::{
    command, field,
    server::{free_port, ServerEnv},
};

#[test]
fn ten_concurrent_requests_for_one_slot_book_it_once_on_postgres() {
    let env = ServerEnv::new();
    let slot = field(
        &env.cli("parking", &["create_parking_slot", "Slot 1"]).ok(),
        "uuid",
    );
    let children: Vec<_> = (0..10)
        .map(|_| {
            let mut child: Command = command("booking");
            env.configure_command(&mut child);
            child
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
        let stderr = String::from_utf8_lossy(&run.stderr);
        assert_eq!(
            stderr.lines().last().unwrap_or_default(),
            slot_taken(&slot, &winner, "created"),
            "{run:?}"
        );
    }
    let list = env.cli("booking", &["get_booking_list"]).ok();
    assert_eq!(list.lines().count(), 1, "{list}");
}

#[test]
fn a_request_for_a_taken_slot_is_a_409_naming_the_holder() {
    let env = ServerEnv::new();
    let booking = env.serve("booking", free_port());
    let slot = uuid::Uuid::new_v4().to_string();
    let body = format!(r#"{{"parking_slot_ref_no":"{slot}"}}"#);
    let (status, created) = booking.post("/bookings", &[], &body).expect("POST");
    assert_eq!(status, 201, "{created}");
    let created: serde_json::Value = serde_json::from_str(&created).expect("JSON");
    let holder = created["id"].as_str().expect("an id").to_owned();
    let (status, refused) = booking.post("/bookings", &[], &body).expect("POST");
    assert_eq!(status, 409, "{refused}");
    let refused: serde_json::Value = serde_json::from_str(&refused).expect("JSON");
    assert_eq!(
        format!("error: {}", refused["detail"].as_str().expect("a detail")),
        slot_taken(&slot, &holder, "created")
    );
    // Completing the booking frees the slot.
    for step in ["reserve", "complete"] {
        let (status, answer) = booking
            .post(&format!("/bookings/{holder}/{step}"), &[], "")
            .expect("POST");
        assert_eq!(status, 200, "{step}: {answer}");
    }
    let (status, again) = booking.post("/bookings", &[], &body).expect("POST");
    assert_eq!(status, 201, "{again}");
}

//! Two embedded `booking serve` instances on one data directory: the relay
//! and the projector each run under a SQLite lease (a file of the data
//! directory), so one instance leads each worker and the other waits. A
//! booking made with the embedded CLI reaches Parking through the leading
//! relay; after a `kill -9` of that leader the other instance takes the
//! relay over (within the lease's 3 s time to live plus a retry) and the
//! next booking arrives too.

use std::time::{Duration, Instant};

use crate::support::{
    embedded, field,
    leaders::{one_leader_each, role},
    server::{eventually, free_port, ServerEnv},
};

/// The SQLite lease's time to live plus a standby's retry interval, with
/// room for a loaded machine.
const TAKEOVER_BOUND: Duration = Duration::from_secs(10);

/// Waits until Parking shows `slot` blocked.
fn slot_blocked(env: &ServerEnv, slot: &str) {
    eventually(&format!("slot {slot} blocked"), || {
        let details = env.cli("parking", &["parking_slot_details", slot]).ok();
        (field(&details, "status") == "blocked").then_some(())
    });
}

#[test]
fn two_embedded_booking_instances_share_a_data_dir_under_sqlite_leases() {
    let env = ServerEnv::new();
    let data = env.dir.path().join("booking-data");
    let _parking = env.serve("parking", free_port());
    let mut instances = vec![
        env.serve_embedded_booking(free_port(), &data),
        env.serve_embedded_booking(free_port(), &data),
    ];
    let relay = one_leader_each(&[&instances[0], &instances[1]])[0];

    let book = || {
        let slot = field(
            &env.cli("parking", &["create_parking_slot", "Slot E"]).ok(),
            "uuid",
        );
        embedded("booking", &data, &["create_booking_request", &slot]).ok();
        slot
    };
    slot_blocked(&env, &book());

    let killed_at = Instant::now();
    instances.remove(relay).kill();
    let survivor = &instances[0];
    eventually("the other instance to lead the relay", || {
        (role(survivor, "booking-relay").as_deref() == Some("leader")).then_some(())
    });
    let takeover = killed_at.elapsed();
    println!("embedded booking relay (SQLite lease): takeover {takeover:?} after kill -9");
    slot_blocked(&env, &book());
    assert_eq!(one_leader_each(&[survivor]), vec![0, 0]);
    assert!(takeover <= TAKEOVER_BOUND, "takeover took {takeover:?}");
}

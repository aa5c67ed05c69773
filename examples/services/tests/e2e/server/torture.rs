//! The torture scenario of several instances at once: two `booking serve`
//! (projector and relay under PostgreSQL leases) and three `parking serve`
//! (a consumer group of four partitions, all three processes on the one
//! SQLite file, which es-sqlite opens in WAL mode with a busy timeout), while
//! 2,000 bookings go through. Every few seconds one Booking and one Parking
//! instance are SIGKILLed and restarted. At the end every booking row and
//! every slot is right, both ends applied each event exactly once and each
//! booking's events in order, and no process exited except the killed ones
//! (the survivors stop cleanly on SIGTERM).
//!
//! `ES_TORTURE_FULL=1` runs 10,000 bookings (and so more kill rounds).

use std::time::Duration;

use crate::support::{
    booking_plan::{append_plan_paced, full, Rng},
    exactly_once::prepare,
    server::{free_port, ServerEnv, Service},
};

const PARTITIONS: u16 = 4;
const PARKINGS: u16 = 3;
const BOOKINGS: usize = 2;
/// Kill rounds at least, even if the bookings were all written before.
const MIN_ROUNDS: u32 = 6;

/// Asserts that none of `services` exited on its own.
#[track_caller]
fn all_running(what: &str, services: &mut [Service]) {
    for (i, service) in services.iter_mut().enumerate() {
        if let Some(status) = service.exited() {
            panic!(
                "{what} {i} exited on its own with {status}: {}",
                service.log()
            );
        }
    }
}

/// How many lines of every service log (killed instances' too) contain
/// `a`, and how many contain `b`.
fn logged(env: &ServerEnv, a: &str, b: &str) -> (usize, usize) {
    let mut counts = (0, 0);
    for entry in std::fs::read_dir(env.dir.path()).expect("the test dir") {
        let path = entry.expect("an entry").path();
        if path.extension().is_some_and(|e| e == "log") {
            let text = std::fs::read_to_string(&path).unwrap_or_default();
            counts.0 += text.lines().filter(|l| l.contains(a)).count();
            counts.1 += text.lines().filter(|l| l.contains(b)).count();
        }
    }
    counts
}

#[test]
fn two_booking_and_three_parking_instances_killed_in_turn_lose_nothing() {
    let bookings = if full() { 10_000 } else { 2_000 };
    let mut env = ServerEnv::new();
    env.parking_partitions = Some(PARTITIONS);
    let prepared = prepare(&env, bookings);
    let (rt, plan, store) = (&prepared.rt, &prepared.plan, &prepared.store);

    let mut parking: Vec<Service> = (0..PARKINGS)
        .map(|i| env.serve_parking_instance(free_port(), i, PARKINGS))
        .collect();
    let mut booking: Vec<Service> = (0..BOOKINGS)
        .map(|_| env.serve("booking", free_port()))
        .collect();
    let appending = {
        let store = store.clone();
        let plan = plan.clone();
        rt.spawn(async move { append_plan_paced(&store, &plan, Duration::from_millis(50)).await })
    };

    let mut rng = Rng::new();
    let mut kills = Vec::new();
    let mut round = 0;
    while round < MIN_ROUNDS || !appending.is_finished() {
        std::thread::sleep(Duration::from_millis(1_500 + rng.below(2_000)));
        all_running("booking serve", &mut booking);
        all_running("parking serve", &mut parking);
        let b = rng.below(BOOKINGS as u64) as usize;
        booking.remove(b).kill();
        booking.insert(b, env.serve("booking", free_port()));
        let p = rng.below(u64::from(PARKINGS)) as u16;
        parking.remove(usize::from(p)).kill();
        parking.insert(
            usize::from(p),
            env.serve_parking_instance(free_port(), p, PARKINGS),
        );
        kills.push(format!("booking {b} + parking {p}"));
        round += 1;
    }
    eprintln!("{round} kill rounds: {kills:?}");
    rt.block_on(appending).expect("the appender finished");

    prepared.assert_exactly_once(&env, "torture", Duration::from_secs(120));
    let (retries, dead_letters) = logged(&env, "handler failed; retrying", "dead-lettering");
    eprintln!("handler retries logged by all instances: {retries}");
    assert_eq!(dead_letters, 0, "an event was dead-lettered");
    all_running("booking serve", &mut booking);
    all_running("parking serve", &mut parking);
    for service in booking.into_iter().chain(parking) {
        let log = service.log();
        assert_eq!(
            service.terminate(),
            Some(0),
            "a survivor stops cleanly: {log}"
        );
    }
}

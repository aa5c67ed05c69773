//! Several `booking serve` instances at once, each competing for the
//! projector's and the relay's leases, through a rolling restart: a third
//! instance starts, the first stops on SIGTERM, then the relay's current
//! leader is SIGKILLed. No instance exits with an error, every event reaches
//! the projector and Parking exactly once, and `/health` shows one leader
//! per worker at the end. Prints the takeover time after the kill.

use std::time::{Duration, Instant};

use crate::support::{
    booking_plan::{append_plan_paced, full},
    exactly_once::prepare,
    leaders::{one_leader_each, role},
    server::{eventually, free_port, ServerEnv},
};

/// Takeover after `kill -9` must stay within this.
const TAKEOVER_BOUND: Duration = Duration::from_secs(5);

#[test]
fn booking_instances_under_leases_survive_a_rolling_restart_exactly_once() {
    let bookings = if full() { 2_000 } else { 300 };
    let env = ServerEnv::new();
    let prepared = prepare(&env, bookings);
    let (rt, plan, store) = (&prepared.rt, &prepared.plan, &prepared.store);

    let _parking = env.serve("parking", free_port());
    let first = env.serve("booking", free_port());
    let second = env.serve("booking", free_port());
    one_leader_each(&[&first, &second]);
    let appending = {
        let store = store.clone();
        let plan = plan.clone();
        rt.spawn(async move { append_plan_paced(&store, &plan, Duration::from_millis(100)).await })
    };

    // Rolling restart: a new instance joins, the oldest leaves on SIGTERM.
    std::thread::sleep(Duration::from_millis(500));
    let third = env.serve("booking", free_port());
    assert_eq!(
        first.terminate(),
        Some(0),
        "the first instance stops cleanly"
    );
    let leaders = one_leader_each(&[&second, &third]);

    // kill -9 the relay's leader mid-stream; the other instance takes over.
    let (victim, survivor) = if leaders[0] == 0 {
        (second, third)
    } else {
        (third, second)
    };
    assert!(
        !appending.is_finished(),
        "the bookings were all written before the kill: not mid-stream"
    );
    let killed_at = Instant::now();
    victim.kill();
    eventually("the standby to lead the relay", || {
        (role(&survivor, "booking-relay").as_deref() == Some("leader")).then_some(())
    });
    let takeover = killed_at.elapsed();
    println!("booking relay lease: takeover {takeover:?} after kill -9 of the leader");
    rt.block_on(appending).expect("the appender finished");

    prepared.assert_exactly_once(&env, "rolling restart", Duration::from_secs(120));
    assert_eq!(one_leader_each(&[&survivor]), vec![0, 0]);
    assert!(
        survivor.health().is_some(),
        "the surviving instance still runs"
    );
    assert!(takeover <= TAKEOVER_BOUND, "takeover took {takeover:?}");
}

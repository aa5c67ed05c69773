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
    server::{eventually, free_port, ServerEnv, Service},
};

const WORKERS: [&str; 2] = ["booking-relay", "bookings"];

/// Takeover after `kill -9` must stay within this.
const TAKEOVER_BOUND: Duration = Duration::from_secs(5);

/// The role `service`'s /health reports for `worker` (None if it does not answer).
fn role(service: &Service, worker: &str) -> Option<String> {
    let body: serde_json::Value = serde_json::from_str(&service.health()?).ok()?;
    body["workers"][worker].as_str().map(str::to_owned)
}

/// Waits until exactly one of `instances` leads each worker and the others
/// are standbys; returns, per worker, the index of its leader.
fn one_leader_each(instances: &[&Service]) -> Vec<usize> {
    WORKERS
        .iter()
        .map(|worker| {
            eventually(&format!("one {worker} leader"), || {
                let roles: Vec<String> = instances
                    .iter()
                    .map(|s| role(s, worker).unwrap_or_default())
                    .collect();
                let leaders: Vec<usize> =
                    (0..roles.len()).filter(|&i| roles[i] == "leader").collect();
                let rest_standby = roles
                    .iter()
                    .filter(|r| r.as_str() != "leader")
                    .all(|r| r == "standby");
                (leaders.len() == 1 && rest_standby).then(|| leaders[0])
            })
        })
        .collect()
}

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

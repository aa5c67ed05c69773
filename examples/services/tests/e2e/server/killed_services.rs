//! `booking serve` (projector + relay) and `parking serve` (consumer) are
//! SIGKILLed at random points while bookings go through, and restarted each time. At the end every booking row and every
//! slot status is right, and counting triggers show each event applied
//! exactly once on both ends.
//!
//! Default counts: 2,000 bookings (3,999 events: a third only created,
//! a third reserved, a third completed), 5 kill rounds, each killing
//! Booking, Parking or both. `ES_TORTURE_FULL=1` runs 5,000 bookings.

use std::time::Duration;

use crate::support::{
    booking_plan::{append_plan, full, Rng},
    exactly_once::{converge, prepare},
    server::{free_port, ServerEnv},
};

#[test]
fn killed_services_lose_nothing_and_apply_nothing_twice() {
    let bookings = if full() { 5_000 } else { 2_000 };
    let env = ServerEnv::new();
    let prepared = prepare(&env, bookings);
    let (rt, plan, store) = (&prepared.rt, &prepared.plan, &prepared.store);

    let mut parking = Some(env.serve("parking", free_port()));
    let mut booking = Some(env.serve("booking", free_port()));
    let appending = {
        let store = store.clone();
        let plan = plan.clone();
        rt.spawn(async move { append_plan(&store, &plan).await })
    };

    let mut rng = Rng::new();
    let mut kills = Vec::new();
    for round in 0..5 {
        std::thread::sleep(Duration::from_millis(200 + rng.below(1_200)));
        let victim = rng.below(3);
        if victim != 1 {
            booking.take().expect("booking runs").kill();
            kills.push(format!("round {round}: booking"));
        }
        if victim != 0 {
            parking.take().expect("parking runs").kill();
            kills.push(format!("round {round}: parking"));
        }
        if booking.is_none() {
            booking = Some(env.serve("booking", free_port()));
        }
        if parking.is_none() {
            parking = Some(env.serve("parking", free_port()));
        }
    }
    eprintln!("kills: {kills:?}");
    rt.block_on(appending).expect("the appender finished");

    let (projector, parking_end) =
        prepared.assert_exactly_once(&env, "killed services", Duration::from_secs(120));
    // Let anything still in flight land, then count again.
    std::thread::sleep(Duration::from_millis(500));
    let (projector_after, parking_after) =
        rt.block_on(converge(&env, plan, Duration::from_secs(5)));
    assert_eq!(projector, projector_after, "the projector kept writing");
    assert_eq!(parking_end, parking_after, "Parking kept writing");
    drop(booking);
    drop(parking);
}

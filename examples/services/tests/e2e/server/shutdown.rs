//! SIGTERM and Ctrl-C (SIGINT) on `serve` while events
//! are in flight. Each service exits 0 within a bound; after a restart both
//! ends hold every event exactly once, so nothing was acknowledged (by
//! Parking to RabbitMQ, or by the relay's checkpoint) that was not
//! committed.

use std::time::{Duration, Instant};

use crate::support::{
    booking_plan::{append_plan_paced, full},
    exactly_once::prepare,
    server::{free_port, ServerEnv},
};

#[test]
fn serve_stops_cleanly_mid_stream_and_loses_nothing() {
    let bookings = if full() { 2_000 } else { 400 };
    let env = ServerEnv::new();
    let prepared = prepare(&env, bookings);
    let (rt, plan, store) = (&prepared.rt, &prepared.plan, &prepared.store);
    let appending = {
        let store = store.clone();
        let plan = plan.clone();
        rt.spawn(async move { append_plan_paced(&store, &plan, Duration::from_millis(250)).await })
    };

    // Three rounds mid-stream: SIGTERM both, Ctrl-C both, SIGTERM one and
    // Ctrl-C the other.
    for (booking_signal, parking_signal) in [("TERM", "TERM"), ("INT", "INT"), ("TERM", "INT")] {
        let parking = env.serve("parking", free_port());
        let booking = env.serve("booking", free_port());
        std::thread::sleep(Duration::from_millis(600));
        let started = Instant::now();
        assert_eq!(
            booking.stop_with(booking_signal),
            Some(0),
            "booking serve on SIG{booking_signal}"
        );
        assert_eq!(
            parking.stop_with(parking_signal),
            Some(0),
            "parking serve on SIG{parking_signal}"
        );
        assert!(
            started.elapsed() < Duration::from_secs(15),
            "stopping took {:?}",
            started.elapsed()
        );
    }
    assert!(
        !appending.is_finished(),
        "the bookings were all written before the last stop: not mid-stream"
    );
    rt.block_on(appending).expect("the appender finished");

    let _parking = env.serve("parking", free_port());
    let _booking = env.serve("booking", free_port());
    prepared.assert_exactly_once(&env, "shutdown signals", Duration::from_secs(120));
}

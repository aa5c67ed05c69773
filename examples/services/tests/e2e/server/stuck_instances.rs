//! A stuck instance stalls nothing (issue 20), with real processes, signals
//! and the test's fault proxy:
//!
//! * a frozen leader (`kill -STOP` while it is inside a batch, 30 ms of
//!   latency on its projector link): the standby takes both leases and its
//!   writes are not blocked by the frozen session's row locks (the server
//!   ends it after `idle_in_transaction_session_timeout`);
//! * a half-open projector link of the leader (its lease link healthy): the
//!   leader deposes itself after the stall timeout and the standby goes on;
//! * a healthy standby is ready and reports the leader's lag.
//!
//! Each fault test prints `STUCK <fault> <worker>: resumed after X ms` (the
//! first progress after the fault, from the counting triggers or the relay's
//! publish counter) against the 5 s goal, asserts the 10 s bound, checks
//! `/health` and `/ready` at every sample, and that every event was applied
//! exactly once and in order.

use std::time::{Duration, Instant};

use es_test_support::FaultProxy;
use serde_json::Value;

use crate::support::{
    booking_plan::append_plan_paced,
    exactly_once::{now_ms, prepare, projector_first_write_after},
    leaders::{one_leader_each, role},
    server::{eventually, free_port, ServerEnv, Service, PATIENCE},
};

/// The goal for the work to resume.
const GOAL: Duration = Duration::from_secs(5);
/// What the tests assert (the machine is shared and noisy).
const BOUND: Duration = Duration::from_secs(10);
/// `booking serve`'s default stall timeout.
const STALL_TIMEOUT: Duration = Duration::from_secs(5);

/// `GET path` as (status, JSON body).
fn get_json(service: &Service, path: &str) -> Option<(u16, Value)> {
    let (status, body) = service.get(path)?;
    Some((status, serde_json::from_str(&body).ok()?))
}

/// The relay's publish count on `service` (0 before it ever published).
fn published(service: &Service) -> f64 {
    service
        .get("/metrics")
        .and_then(|(_, body)| {
            body.lines()
                .filter(|line| line.starts_with("es_relay_published_total"))
                .find_map(|line| line.rsplit(' ').next()?.parse().ok())
        })
        .unwrap_or(0.0)
}

/// A `booking serve` A whose projector link goes through a fault proxy and
/// that leads both workers, and a standby B on direct links. `env` keeps
/// the direct projector URL for the test's own queries.
fn leader_behind_proxy(env: &mut ServerEnv) -> (FaultProxy, Service, Service) {
    let direct = env.projector_url.clone();
    let proxy = env.projector_through_proxy();
    let a = env.serve("booking", free_port());
    one_leader_each(&[&a]);
    env.projector_url = direct;
    let b = env.serve("booking", free_port());
    assert_eq!(
        one_leader_each(&[&a, &b]),
        vec![0, 0],
        "A leads both workers"
    );
    (proxy, a, b)
}

/// Polls `progress` every 10 ms (up to [`PATIENCE`]) until it returns the
/// Unix ms of the first progress after `fault_ms`; returns the delay.
/// `sample` runs at each poll (health probes).
fn resumed_after(
    fault_ms: i64,
    mut progress: impl FnMut() -> Option<i64>,
    mut sample: impl FnMut(),
) -> Duration {
    let deadline = Instant::now() + PATIENCE;
    loop {
        sample();
        if let Some(at) = progress() {
            return Duration::from_millis((at - fault_ms).max(0) as u64);
        }
        assert!(Instant::now() < deadline, "no progress after the fault");
        std::thread::sleep(Duration::from_millis(10));
    }
}

/// Whether `service`'s `/health` reports it as a leader that is fine
/// (200, role `leader`) for `worker`.
fn healthy_leader(service: &Service, worker: &str) -> bool {
    matches!(get_json(service, "/health"), Some((200, body)) if body["workers"][worker] == "leader")
}

#[test]
fn a_frozen_leader_inside_a_batch_hands_over_both_workers_within_bounds() {
    let mut env = ServerEnv::new();
    let prepared = prepare(&env, 600);
    let (rt, plan, store) = (&prepared.rt, &prepared.plan, &prepared.store);
    let parking = env.serve("parking", free_port());
    let (proxy, a, b) = leader_behind_proxy(&mut env);
    // Every statement of A's projector takes 30 ms more: a freeze lands
    // inside a batch (between its statements) most of the time.
    proxy.set_latency(Duration::from_millis(30));
    let appending = {
        let (store, plan) = (store.clone(), plan.clone());
        rt.spawn(async move { append_plan_paced(&store, &plan, Duration::from_millis(300)).await })
    };
    std::thread::sleep(Duration::from_secs(2));
    assert!(!appending.is_finished(), "not under load any more");
    let before = published(&b);
    a.signal("STOP");
    let frozen_ms = now_ms();

    let projector = resumed_after(
        frozen_ms,
        || rt.block_on(projector_first_write_after(&env, frozen_ms)),
        || {},
    );
    let relay = resumed_after(frozen_ms, || (published(&b) > before).then(now_ms), || {});
    assert!(
        healthy_leader(&b, "bookings") && healthy_leader(&b, "booking-relay"),
        "B leads both, healthy: {:?}",
        get_json(&b, "/health")
    );
    eventually("B ready", || {
        matches!(get_json(&b, "/ready"), Some((200, _))).then_some(())
    });

    rt.block_on(appending).expect("the appender finished");
    let (projector_tally, parking_tally) =
        prepared.assert_exactly_once(&env, "frozen leader", Duration::from_secs(120));
    for (worker, after) in [("projector", projector), ("relay", relay)] {
        println!(
            "STUCK frozen leader {worker}: resumed after {} ms (goal {} ms, bound {} ms); lost {}, twice {}, out of order {}",
            after.as_millis(),
            GOAL.as_millis(),
            BOUND.as_millis(),
            projector_tally.lost + parking_tally.lost,
            projector_tally.duplicates + parking_tally.duplicates,
            projector_tally.out_of_order + parking_tally.out_of_order,
        );
        assert!(after <= BOUND, "the {worker} resumed only after {after:?}");
    }
    // Thawed, A finds it lost both leases: a standby, not a second leader.
    a.signal("CONT");
    eventually("A back as a standby", || {
        (role(&a, "bookings").as_deref() == Some("standby")
            && role(&a, "booking-relay").as_deref() == Some("standby"))
        .then_some(())
    });
    drop(parking);
}

#[test]
fn a_half_open_projector_link_deposes_its_leader_within_bounds() {
    let mut env = ServerEnv::new();
    let prepared = prepare(&env, 600);
    let (rt, plan, store) = (&prepared.rt, &prepared.plan, &prepared.store);
    let parking = env.serve("parking", free_port());
    let (proxy, a, b) = leader_behind_proxy(&mut env);
    let appending = {
        let (store, plan) = (store.clone(), plan.clone());
        rt.spawn(async move { append_plan_paced(&store, &plan, Duration::from_millis(300)).await })
    };
    std::thread::sleep(Duration::from_secs(2));
    assert!(!appending.is_finished(), "not under load any more");
    // A's projector link goes silent: nothing flows, nothing closes. Its
    // lease link, to the event store, stays healthy.
    proxy.hold(true);
    let held = Instant::now();
    let held_ms = now_ms();
    let mut samples = 0;
    let mut a_deposed_seen = false;
    let projector = resumed_after(
        held_ms,
        || rt.block_on(projector_first_write_after(&env, held_ms)),
        || {
            // /health never shows A as a fine leader once it is past the
            // stall timeout (plus a second for the probe's own delays).
            let Some((status, body)) = get_json(&a, "/health") else {
                return;
            };
            samples += 1;
            if body["workers"]["bookings"] == "deposed" {
                a_deposed_seen = true;
                assert_eq!(status, 503, "deposed but /health says {body}");
            }
            if held.elapsed() > STALL_TIMEOUT + Duration::from_secs(1) {
                assert!(
                    !(status == 200 && body["workers"]["bookings"] == "leader"),
                    "A stuck for {:?} and /health says {body}",
                    held.elapsed()
                );
            }
        },
    );
    assert!(samples > 0, "A's /health answered during the fault");
    eventually("B leads the projector", || {
        healthy_leader(&b, "bookings").then_some(())
    });
    assert!(
        a_deposed_seen
            || matches!(get_json(&a, "/health"), Some((_, body)) if body["workers"]["bookings"] != "leader"),
        "A stepped down"
    );
    // A cannot reach its projector database: not ready, naming it.
    let (status, body) = get_json(&a, "/ready").expect("A's /ready answers");
    assert_eq!(status, 503, "{body}");
    assert_eq!(body["checks"]["projector_database"]["ok"], false, "{body}");
    eventually("B ready", || {
        matches!(get_json(&b, "/ready"), Some((200, _))).then_some(())
    });

    rt.block_on(appending).expect("the appender finished");
    let (projector_tally, parking_tally) =
        prepared.assert_exactly_once(&env, "half-open projector link", Duration::from_secs(120));
    println!(
        "STUCK half-open projector link projector: resumed after {} ms (goal {} ms, bound {} ms; stall timeout {} ms); lost {}, twice {}, out of order {}",
        projector.as_millis(),
        GOAL.as_millis(),
        BOUND.as_millis(),
        STALL_TIMEOUT.as_millis(),
        projector_tally.lost + parking_tally.lost,
        projector_tally.duplicates + parking_tally.duplicates,
        projector_tally.out_of_order + parking_tally.out_of_order,
    );
    assert!(projector <= BOUND, "resumed only after {projector:?}");
    proxy.hold(false);
    drop(parking);
}

/// Issue 20's fault 4: a standby started after the last event is older than
/// the readiness limit is ready, and its gauges show the leader's lag.
#[test]
fn a_healthy_standby_is_ready_and_reports_the_leaders_lag() {
    let env = ServerEnv::new();
    let limit = [("READY_MAX_LAG_SECONDS", "3")];
    // Parking's queue takes the relay's messages.
    let _parking = env.serve("parking", free_port());
    let a = env.serve_with("booking", free_port(), &limit);
    env.cli(
        "booking",
        &["create_booking_request", &uuid::Uuid::new_v4().to_string()],
    )
    .ok();
    eventually("A ready", || {
        matches!(get_json(&a, "/ready"), Some((200, _))).then_some(())
    });
    // The scenario: the last event ages past the limit.
    std::thread::sleep(Duration::from_secs(5));
    let b = env.serve_with("booking", free_port(), &limit);
    assert_eq!(
        one_leader_each(&[&a, &b]),
        vec![0, 0],
        "A leads both: {}\n{}",
        a.log(),
        b.log()
    );
    let (status, body) = get_json(&b, "/ready").expect("B's /ready answers");
    assert_eq!(status, 200, "a healthy standby is ready: {body}");
    let (_, metrics) = b.get("/metrics").expect("B's /metrics");
    let lag = |name: &str| {
        metrics
            .lines()
            .filter(|line| line.starts_with(name))
            .find_map(|line| line.rsplit(' ').next()?.parse::<f64>().ok())
    };
    assert_eq!(lag("es_projection_lag_events"), Some(0.0), "{metrics}");
    assert_eq!(lag("es_projection_lag_seconds"), Some(0.0), "{metrics}");
    let (status, body) = get_json(&b, "/health").expect("B's /health");
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["status"], "ok", "{body}");
}

/// Issue 20's fault 3, idle: `kill -STOP` of the Parking process active on a
/// partition while nothing arrives. The broker closes its connection after
/// two missed heartbeats (the consumer asks for 2 s), the partition moves
/// to the other process, and the events that arrive meanwhile are applied
/// there within the bound.
#[test]
fn a_frozen_idle_consumer_hands_its_partition_over_within_bounds() {
    const PARTITIONS: u16 = 2;
    let mut env = ServerEnv::new();
    env.parking_partitions = Some(PARTITIONS);
    let prepared = prepare(&env, 300);
    let (rt, plan, store) = (&prepared.rt, &prepared.plan, &prepared.store);
    let _booking = env.serve("booking", free_port());
    let frozen = env.serve_parking_instance(free_port(), 0, PARTITIONS);
    let survivor = env.serve_parking_instance(free_port(), 1, PARTITIONS);
    for parking in [&frozen, &survivor] {
        eventually("each Parking process ready on its partition", || {
            matches!(get_json(parking, "/ready"), Some((200, _))).then_some(())
        });
    }
    frozen.signal("STOP");
    let frozen_ms = now_ms();
    let appending = {
        let (store, plan) = (store.clone(), plan.clone());
        rt.spawn(async move { append_plan_paced(&store, &plan, Duration::from_millis(100)).await })
    };
    let victims = |stream: &es_core::StreamId| {
        es_amqp::wire::partition_slot(stream).is_multiple_of(PARTITIONS)
    };
    let resumed = resumed_after(
        frozen_ms,
        || {
            rt.block_on(crate::support::exactly_once::parking_first_processed_after(
                &env, plan, frozen_ms, victims,
            ))
        },
        || {},
    );
    rt.block_on(appending).expect("the appender finished");
    frozen.signal("CONT");
    let (projector_tally, parking_tally) =
        prepared.assert_exactly_once(&env, "frozen idle consumer", Duration::from_secs(120));
    println!(
        "STUCK frozen idle consumer parking: resumed after {} ms (goal {} ms, bound {} ms; heartbeat 2 s); lost {}, twice {}, out of order {}",
        resumed.as_millis(),
        GOAL.as_millis(),
        BOUND.as_millis(),
        projector_tally.lost + parking_tally.lost,
        projector_tally.duplicates + parking_tally.duplicates,
        projector_tally.out_of_order + parking_tally.out_of_order,
    );
    assert!(resumed <= BOUND, "resumed only after {resumed:?}");
}

/// Issue 20's fault 3, busy: a peer frozen inside a write holds the SQLite
/// file's one write lock, and nobody can take it back. The test holds that
/// lock itself (as the frozen peer would, deterministically): Parking's
/// `/health` and `/ready` answer 503 naming its stuck handler instead of
/// 200, and once the lock is free every event is applied exactly once.
#[test]
fn parking_reports_a_handler_stuck_behind_a_held_write_lock() {
    let env = ServerEnv::new();
    let prepared = prepare(&env, 60);
    let (rt, plan, store) = (&prepared.rt, &prepared.plan, &prepared.store);
    let parking = env.serve("parking", free_port());
    let _booking = env.serve("booking", free_port());
    eventually("Parking ready", || {
        matches!(get_json(&parking, "/ready"), Some((200, _))).then_some(())
    });
    let mut frozen_writer = rt
        .block_on(<sqlx::SqliteConnection as sqlx::Connection>::connect(
            &env.parking_url,
        ))
        .expect("a connection to Parking's database");
    rt.block_on(sqlx::query("BEGIN IMMEDIATE").execute(&mut frozen_writer))
        .expect("take the write lock");
    let held = Instant::now();
    rt.block_on(append_plan_paced(store, plan, Duration::from_millis(10)));

    let (status, body) = eventually("Parking's /health to report the stuck handler", || {
        get_json(&parking, "/health").filter(|(status, _)| *status == 503)
    });
    let reported_after = held.elapsed();
    assert_eq!(body["status"], "stuck", "{body}");
    assert!(
        body["stuck"]["parking-bookings"].is_string(),
        "names the handler: {body}"
    );
    assert_eq!(status, 503);
    let (status, body) = get_json(&parking, "/ready").expect("/ready answers");
    assert_eq!(status, 503, "{body}");
    assert_eq!(body["checks"]["workers"]["ok"], false, "{body}");
    println!(
        "STUCK parking behind a held write lock: /health 503 after {} ms (stall timeout 8 s)",
        reported_after.as_millis()
    );

    rt.block_on(sqlx::query("ROLLBACK").execute(&mut frozen_writer))
        .expect("release the lock");
    rt.block_on(sqlx::Connection::close(frozen_writer))
        .expect("close the connection");
    prepared.assert_exactly_once(&env, "parking behind a held lock", Duration::from_secs(120));
    eventually("Parking healthy again", || {
        matches!(get_json(&parking, "/health"), Some((200, _))).then_some(())
    });
}

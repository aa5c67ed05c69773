//! Torture scenarios 2 and 3: PostgreSQL restarted during appends, and
//! RabbitMQ's app stopped and started during the relay, while `booking
//! serve` and `parking serve` keep running.
//!
//! These restart the machine's shared servers, so the two tests take turns
//! (one lock), keep each outage to a few seconds, and a guard starts the
//! server again on drop even when the test fails.

use std::{
    process::Command,
    sync::{
        atomic::{AtomicBool, Ordering},
        Arc, Mutex,
    },
    time::{Duration, Instant},
};

use crate::support::exactly_once::{
    append_step, converge, count_projector_writes, event_count, event_store, full, plan,
    prepare_parking, report, runtime, PlannedBooking,
};
use crate::support::server::{free_port, ServerEnv};

/// The outages take turns.
static SERIAL: Mutex<()> = Mutex::new(());

/// How long each outage lasts: 3 s by default (the services' pools wait
/// it out); 12 s with `ES_TORTURE_FULL=1`, longer than the examples' 10 s
/// connection acquire timeout, so the projector and relay see errors and
/// must restart themselves.
fn outage_length() -> Duration {
    Duration::from_secs(if full() { 12 } else { 3 })
}

fn pg_ctl(action: &str) -> bool {
    let versions = std::fs::read_dir("/etc/postgresql")
        .expect("PostgreSQL's clusters in /etc/postgresql")
        .filter_map(|entry| entry.ok())
        .map(|entry| entry.file_name().to_string_lossy().into_owned())
        .collect::<Vec<_>>();
    let version = versions.first().expect("one PostgreSQL version");
    Command::new("pg_ctlcluster")
        .args(["--skip-systemctl-redirect", version, "main", action])
        .status()
        .is_ok_and(|status| status.success())
}

fn rabbitmqctl(action: &str) -> bool {
    Command::new("rabbitmqctl")
        .arg(action)
        .stdout(std::process::Stdio::null())
        .status()
        .is_ok_and(|status| status.success())
}

/// Starts the server again when dropped (a failed test included).
struct Restore(&'static str);

impl Drop for Restore {
    fn drop(&mut self) {
        match self.0 {
            "postgres" => {
                // `start` fails when it is already running: that is fine.
                let _ = pg_ctl("start");
            }
            _ => {
                let _ = rabbitmqctl("start_app");
            }
        }
    }
}

/// A booking event's id is derived from the booking and the step, so a
/// retried append re-sends the same event and is idempotent.
async fn append_with_retry(
    store: &es_postgres::PostgresStore,
    booking: &PlannedBooking,
    step: u64,
    failures: &mut Vec<String>,
) {
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        match append_step(store, booking, step).await {
            Ok(()) => return,
            Err(error) => {
                let text = error.to_string();
                if failures.len() < 1_000 {
                    failures.push(text);
                }
                assert!(
                    Instant::now() < deadline,
                    "appends kept failing: {failures:?}"
                );
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
        }
    }
}

#[test]
fn postgres_restart_during_appends() {
    let _serial = SERIAL
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner());
    let bookings = if full() { 2_000 } else { 300 };
    let env = ServerEnv::new();
    let rt = runtime();
    env.serve("parking", free_port()).kill();
    let plan = plan(bookings);
    rt.block_on(async {
        prepare_parking(&env, &plan).await;
        count_projector_writes(&env).await;
    });
    let store = rt.block_on(event_store(&env));
    let parking = env.serve("parking", free_port());
    let booking = env.serve("booking", free_port());

    // Appends run through the outage, retrying each failed one with the
    // same event id.
    let outage = Arc::new(AtomicBool::new(false));
    let appending = {
        let store = store.clone();
        let plan = plan.clone();
        let outage = outage.clone();
        rt.spawn(async move {
            let mut failures = Vec::new();
            for (n, window) in plan.chunks(10).enumerate() {
                if n == 10 {
                    // A third in: wait for the outage, then go on into it.
                    while !outage.load(Ordering::SeqCst) {
                        tokio::time::sleep(Duration::from_millis(10)).await;
                    }
                }
                for step in 1..=3 {
                    for booking in window.iter().filter(|b| b.steps >= step) {
                        append_with_retry(&store, booking, step, &mut failures).await;
                    }
                }
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
            failures
        })
    };
    std::thread::sleep(Duration::from_millis(300));
    let guard = Restore("postgres");
    assert!(pg_ctl("stop"), "pg_ctlcluster stop failed");
    outage.store(true, Ordering::SeqCst);
    // A command during the outage: one clear error line, exit 1.
    let during = env
        .cli(
            "booking",
            &["create_booking_request", &uuid::Uuid::new_v4().to_string()],
        )
        .fails(1);
    std::thread::sleep(outage_length().saturating_sub(Duration::from_secs(1)));
    assert!(pg_ctl("start"), "pg_ctlcluster start failed");
    drop(guard);
    eprintln!("a command during the outage: {during}");
    assert!(
        during.contains("PostgreSQL") || during.contains("database"),
        "{during}"
    );
    let failures = rt.block_on(appending).expect("the appender finished");
    eprintln!(
        "{} appends failed during the outage; first: {:?}",
        failures.len(),
        failures.first()
    );
    // An append in flight either fails (the error above, then a retry with
    // the same event id) or waits for a connection through the outage; the
    // CLI command above is the one that must fail, and did.

    // Nothing half-written: every stream holds exactly its planned events.
    rt.block_on(async {
        for booking in &plan {
            let version = es_core::EventStore::stream_version(&store, &booking.stream())
                .await
                .expect("stream version");
            assert_eq!(version, booking.steps, "booking {}", booking.id);
        }
    });
    let sent = event_count(&plan);
    let (projector, parking_end) = rt.block_on(converge(&env, &plan, Duration::from_secs(90)));
    report("2 postgres restart", sent, "projector", projector);
    report("2 postgres restart", sent, "parking", parking_end);
    assert_eq!(projector.applied, sent, "{projector:?}");
    assert_eq!(projector.duplicates, 0, "{projector:?}");
    assert_eq!(parking_end.applied, sent, "{parking_end:?}");
    assert_eq!(parking_end.duplicates, 0, "{parking_end:?}");
    // Both services rode it out on their own.
    let log = booking.log();
    eprintln!(
        "booking serve: {} projector restarts, {} relay reconnects",
        log.matches("the booking projector failed").count(),
        log.matches("relay reconnecting").count()
    );
    for line in log
        .lines()
        .filter(|l| l.contains("WARN") || l.contains("ERROR"))
    {
        eprintln!("  booking serve: {line}");
    }
    assert!(
        booking.health().is_some(),
        "booking serve died: {}",
        booking.log()
    );
    assert!(
        parking.health().is_some(),
        "parking serve died: {}",
        parking.log()
    );
}

#[test]
fn rabbitmq_restart_during_the_relay() {
    let _serial = SERIAL
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner());
    let bookings = if full() { 2_000 } else { 300 };
    let env = ServerEnv::new();
    let rt = runtime();
    env.serve("parking", free_port()).kill();
    let plan = plan(bookings);
    rt.block_on(async {
        prepare_parking(&env, &plan).await;
        count_projector_writes(&env).await;
    });
    let store = rt.block_on(event_store(&env));
    let parking = env.serve("parking", free_port());
    let booking = env.serve("booking", free_port());
    let outage = Arc::new(AtomicBool::new(false));
    let appending = {
        let store = store.clone();
        let plan = plan.clone();
        let outage = outage.clone();
        rt.spawn(async move {
            for (n, window) in plan.chunks(10).enumerate() {
                if n == 10 {
                    while !outage.load(Ordering::SeqCst) {
                        tokio::time::sleep(Duration::from_millis(10)).await;
                    }
                }
                for step in 1..=3 {
                    for booking in window.iter().filter(|b| b.steps >= step) {
                        append_step(&store, booking, step)
                            .await
                            .expect("PostgreSQL stays up");
                    }
                }
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
        })
    };
    std::thread::sleep(Duration::from_millis(300));
    let guard = Restore("rabbitmq");
    assert!(rabbitmqctl("stop_app"), "rabbitmqctl stop_app failed");
    outage.store(true, Ordering::SeqCst);
    std::thread::sleep(outage_length());
    assert!(rabbitmqctl("start_app"), "rabbitmqctl start_app failed");
    drop(guard);
    rt.block_on(appending).expect("the appender finished");

    let sent = event_count(&plan);
    let (projector, parking_end) = rt.block_on(converge(&env, &plan, Duration::from_secs(120)));
    report("3 rabbitmq restart", sent, "projector", projector);
    report("3 rabbitmq restart", sent, "parking", parking_end);
    assert_eq!(projector.applied, sent, "{projector:?}");
    assert_eq!(projector.duplicates, 0, "{projector:?}");
    assert_eq!(parking_end.applied, sent, "{parking_end:?}");
    assert_eq!(parking_end.duplicates, 0, "{parking_end:?}");
    eprintln!(
        "booking serve: {} relay reconnects; parking serve: {} consumer reconnects",
        booking.log().matches("relay reconnecting").count(),
        parking.log().matches("reconnect").count()
    );
    assert!(
        booking.health().is_some(),
        "booking serve died: {}",
        booking.log()
    );
    assert!(
        parking.health().is_some(),
        "parking serve died: {}",
        parking.log()
    );
}

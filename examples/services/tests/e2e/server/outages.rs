//! PostgreSQL going away during appends, and RabbitMQ going away during the
//! relay, while `booking serve` and `parking serve` keep running: a CLI
//! command during the outage fails with one clear line, nothing is
//! half-written, both services ride it out, and every event is applied
//! exactly once on both ends.
//!
//! By default the outage is made by a [`FaultProxy`] between the services
//! (and the test's own clients) and the server: it refuses new connections
//! and cuts the open ones, then lets them through again. Nothing outside
//! the test notices. The same scenarios against a real server restart
//! (`pg_ctlcluster stop/start`, `rabbitmqctl stop_app/start_app`) take down
//! every other program's connections too, so they run only when
//! `ES_TEST_SERVER_RESTARTS=1` is set (CI sets it), one at a time, and with
//! no other server test of this binary running.

use std::{
    process::Command,
    sync::{
        atomic::{AtomicBool, Ordering},
        Arc,
    },
    time::{Duration, Instant},
};

use es_test_support::FaultProxy;

use crate::support::{
    booking_plan::{append_step, full, PlannedBooking},
    exactly_once::{prepare, Prepared},
    server::{free_port, servers_to_restart, ServerEnv, Service},
};

/// How long each outage lasts: 3 s by default; 12 s with
/// `ES_TORTURE_FULL=1`, longer than the examples' 10 s connection acquire
/// timeout, so the projector and relay see errors and must restart
/// themselves.
fn outage_length() -> Duration {
    Duration::from_secs(if full() { 12 } else { 3 })
}

/// Whether the tests that restart the machine's servers were asked for.
fn server_restarts_enabled(test: &str) -> bool {
    let enabled = std::env::var("ES_TEST_SERVER_RESTARTS").is_ok_and(|v| v == "1");
    if !enabled {
        eprintln!(
            "{test}: skipped; it stops and starts the machine's shared server, \
             so it runs only with ES_TEST_SERVER_RESTARTS=1 (the proxy variant always runs)"
        );
    }
    enabled
}

/// A way to take a server away from the services and bring it back.
enum Outage {
    /// A proxy in front of the server refuses and cuts this test's connections.
    Proxy(FaultProxy),
    /// The machine's PostgreSQL cluster is stopped and started.
    PostgresRestart,
    /// The machine's RabbitMQ application is stopped and started.
    RabbitmqRestart,
}

impl Outage {
    /// Takes the server away.
    fn begin(&self) -> OutageGuard<'_> {
        match self {
            Outage::Proxy(proxy) => {
                proxy.refuse_new(true);
                proxy.cut_all();
            }
            Outage::PostgresRestart => assert!(pg_ctl("stop"), "pg_ctlcluster stop failed"),
            Outage::RabbitmqRestart => {
                assert!(rabbitmqctl("stop_app"), "rabbitmqctl stop_app failed");
            }
        }
        OutageGuard {
            outage: self,
            over: false,
        }
    }

    /// Brings the server back; `false` if that failed.
    fn restore(&self) -> bool {
        match self {
            Outage::Proxy(proxy) => {
                proxy.refuse_new(false);
                true
            }
            Outage::PostgresRestart => pg_ctl("start"),
            Outage::RabbitmqRestart => rabbitmqctl("start_app"),
        }
    }
}

/// An outage in progress: ended by [`OutageGuard::end`], or on drop when the
/// test failed first.
struct OutageGuard<'a> {
    outage: &'a Outage,
    over: bool,
}

impl OutageGuard<'_> {
    fn end(mut self) {
        self.over = true;
        assert!(self.outage.restore(), "the server did not come back");
    }
}

impl Drop for OutageGuard<'_> {
    fn drop(&mut self) {
        if !self.over {
            // A failed test: bring the server back whatever happened.
            let _ = self.outage.restore();
        }
    }
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

/// Appends `plan` in windows of 10, retrying failed appends; a third in, it
/// waits until `outage` is set and then goes on into the outage. Returns the
/// errors of the failed attempts.
async fn append_through_outage(
    store: es_postgres::PostgresStore,
    plan: Vec<PlannedBooking>,
    outage: Arc<AtomicBool>,
) -> Vec<String> {
    let mut failures = Vec::new();
    for (n, window) in plan.chunks(10).enumerate() {
        if n == 10 {
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
}

#[test]
fn postgres_outage_during_appends_through_a_proxy() {
    let mut env = ServerEnv::new();
    let proxy = env.postgres_through_proxy();
    postgres_outage_during_appends(env, &Outage::Proxy(proxy), "postgres outage (proxy)");
}

/// Opt-in (`ES_TEST_SERVER_RESTARTS=1`): the machine's PostgreSQL is
/// stopped and started.
#[test]
fn postgres_restart_during_appends() {
    if !server_restarts_enabled("postgres_restart_during_appends") {
        return;
    }
    let _only_test = servers_to_restart();
    postgres_outage_during_appends(
        ServerEnv::new_while_restarting(),
        &Outage::PostgresRestart,
        "postgres restart",
    );
}

fn postgres_outage_during_appends(env: ServerEnv, outage: &Outage, scenario: &str) {
    let mut during = String::new();
    let run = run_through_outage(&env, outage, || {
        // A command during the outage: one clear error line, exit 1.
        during = env
            .cli(
                "booking",
                &["create_booking_request", &uuid::Uuid::new_v4().to_string()],
            )
            .fails(1);
        std::thread::sleep(outage_length().saturating_sub(Duration::from_secs(1)));
    });
    eprintln!("a command during the outage: {during}");
    assert!(
        during.contains("PostgreSQL") || during.contains("database"),
        "{during}"
    );
    eprintln!(
        "{} appends failed during the outage; first: {:?}",
        run.failures.len(),
        run.failures.first()
    );
    // An append in flight either fails (the error above, then a retry with
    // the same event id) or waits for a connection through the outage; the
    // CLI command above is the one that must fail, and did.

    // Nothing half-written: every stream holds exactly its planned events.
    let Prepared { rt, plan, store } = &run.prepared;
    rt.block_on(async {
        for booking in plan {
            let version = es_core::EventStore::stream_version(store, &booking.stream())
                .await
                .expect("stream version");
            assert_eq!(version, booking.steps, "booking {}", booking.id);
        }
    });
    let converged = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        run.prepared
            .assert_exactly_once(&env, scenario, Duration::from_secs(90))
    }));
    if let Err(panic) = converged {
        eprintln!("BOOKING LOG:\n{}", run.booking.log());
        std::panic::resume_unwind(panic);
    }
    let log = run.booking.log();
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
    run.assert_services_rode_it_out();
}

#[test]
fn rabbitmq_outage_during_the_relay_through_a_proxy() {
    let mut env = ServerEnv::new();
    let proxy = env.rabbitmq_through_proxy();
    rabbitmq_outage_during_the_relay(env, &Outage::Proxy(proxy), "rabbitmq outage (proxy)");
}

/// Opt-in (`ES_TEST_SERVER_RESTARTS=1`): the machine's RabbitMQ application
/// is stopped and started.
#[test]
fn rabbitmq_restart_during_the_relay() {
    if !server_restarts_enabled("rabbitmq_restart_during_the_relay") {
        return;
    }
    let _only_test = servers_to_restart();
    rabbitmq_outage_during_the_relay(
        ServerEnv::new_while_restarting(),
        &Outage::RabbitmqRestart,
        "rabbitmq restart",
    );
}

fn rabbitmq_outage_during_the_relay(env: ServerEnv, outage: &Outage, scenario: &str) {
    let run = run_through_outage(&env, outage, || std::thread::sleep(outage_length()));
    assert!(
        run.failures.is_empty(),
        "PostgreSQL stays up: {:?}",
        run.failures
    );
    run.prepared
        .assert_exactly_once(&env, scenario, Duration::from_secs(120));
    eprintln!(
        "booking serve: {} relay reconnects; parking serve: {} consumer reconnects",
        run.booking.log().matches("relay reconnecting").count(),
        run.parking.log().matches("reconnect").count()
    );
    run.assert_services_rode_it_out();
}

/// What a run through an outage leaves for its checks.
struct OutageRun {
    prepared: Prepared,
    /// The appender's failed attempts.
    failures: Vec<String>,
    booking: Service,
    parking: Service,
}

impl OutageRun {
    /// Both services rode the outage out on their own.
    #[track_caller]
    fn assert_services_rode_it_out(&self) {
        for (name, service) in [("booking", &self.booking), ("parking", &self.parking)] {
            assert!(
                service.health().is_some(),
                "{name} serve died: {}",
                service.log()
            );
        }
    }
}

/// Starts both services on a prepared `env` and appends the plan; a third
/// in, `outage` begins, `in_outage` runs, and the outage ends. Returns once
/// every append went through (failed ones retried with the same event id).
fn run_through_outage(env: &ServerEnv, outage: &Outage, in_outage: impl FnOnce()) -> OutageRun {
    let bookings = if full() { 2_000 } else { 300 };
    let prepared = prepare(env, bookings);
    let parking = env.serve("parking", free_port());
    let booking = env.serve("booking", free_port());
    let outage_started = Arc::new(AtomicBool::new(false));
    let appending = prepared.rt.spawn(append_through_outage(
        prepared.store.clone(),
        prepared.plan.clone(),
        outage_started.clone(),
    ));
    std::thread::sleep(Duration::from_millis(300));
    let during_outage = outage.begin();
    outage_started.store(true, Ordering::SeqCst);
    in_outage();
    during_outage.end();
    let failures = prepared
        .rt
        .block_on(appending)
        .expect("the appender finished");
    OutageRun {
        prepared,
        failures,
        booking,
        parking,
    }
}

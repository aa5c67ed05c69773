//! PostgreSQL leases across real processes: one leader at a time, takeover
//! after `kill -9`, graceful release, a leader cut off from the server
//! stepping down, and the checkpoint compare-and-set fencing a deposed leader.
//!
//! The multi-process tests re-run this executable's `lease_instance` test as
//! child processes (see `child_roster`); it does nothing unless started so.

use std::time::Duration;

use es_core::CheckpointStore;
use es_lease::{LeaseLost, LeaseStore};
use es_postgres::{
    PostgresCheckpoints, PostgresConfig, PostgresLeaseConfig, PostgresLeases, SchemaName,
};
use es_test_support::{
    child_roster::test_path,
    lease_scenarios::{
        acquire_within, assert_deposed_leader_is_fenced, instance_env, one_leader_then_takeovers,
        run_lease_instance, stalled_leader_is_replaced,
    },
    FaultProxy, Roster,
};
use uuid::Uuid;

/// The takeover bound the leases must meet after a `kill -9`.
const TAKEOVER_BOUND: Duration = Duration::from_secs(5);

fn database_url() -> String {
    std::env::var("DATABASE_URL")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/test".to_owned())
}

fn unique(prefix: &str) -> String {
    format!("{prefix}-{}", Uuid::new_v4().simple())
}

fn leases(url: &str) -> PostgresLeases {
    PostgresLeases::new(PostgresConfig::new(url), PostgresLeaseConfig::new())
        .expect("lease settings")
}

/// One service instance, when started by a roster (see `run_lease_instance`).
#[test]
fn lease_instance() {
    run_lease_instance(|url| async move { leases(&url) });
}

fn roster() -> Roster {
    Roster::new(test_path(module_path!(), "lease_instance"))
}

#[test]
fn three_processes_one_leader_then_takeover_after_kill_9_and_after_shutdown() {
    let url = database_url();
    let name = unique("relay");
    let mut roster = roster();
    for holder in ["a", "b", "c"] {
        roster.spawn(holder, &instance_env(&url, &name, holder));
    }
    let takeovers = one_leader_then_takeovers(
        &mut roster,
        &["a", "b", "c"],
        Duration::from_secs(2),
        TAKEOVER_BOUND * 2,
    );
    println!(
        "PostgreSQL lease: takeover {:?} after kill -9 of the leader, {:?} after a graceful shutdown",
        takeovers.after_kill, takeovers.after_shutdown
    );
    assert!(takeovers.after_kill <= TAKEOVER_BOUND, "{takeovers:?}");
    assert!(
        takeovers.after_shutdown <= Duration::from_secs(2),
        "released at once: {takeovers:?}"
    );
}

#[test]
fn a_leader_cut_off_from_postgres_steps_down_and_another_takes_over() {
    let url = database_url();
    let name = unique("projection");
    let proxy = FaultProxy::start("127.0.0.1:5432").expect("proxy");
    let through_proxy = proxy.redirect(&url).expect("proxy URL");
    let mut roster = roster();
    roster.spawn("cut-off", &instance_env(&through_proxy, &name, "cut-off"));
    roster.wait_for(Some("cut-off"), "LEADER", Duration::from_secs(20));
    roster.spawn("direct", &instance_env(&url, &name, "direct"));
    roster.wait_for(Some("direct"), "STANDBY", Duration::from_secs(20));

    let cut_at = std::time::Instant::now();
    proxy.refuse_new(true);
    proxy.cut_all();
    // The cut-off leader may only learn at its next heartbeat; the overlap
    // is what the checkpoint compare-and-set fences.
    roster.depart("cut-off");
    let (_, led_at) = roster.wait_for(Some("direct"), "LEADER", TAKEOVER_BOUND * 2);
    let (_, stepped_down_at) = roster.wait_for(Some("cut-off"), "STANDBY", TAKEOVER_BOUND * 2);
    println!(
        "PostgreSQL lease: after the cut, the other instance led in {:?}; the cut-off leader stepped down in {:?}",
        led_at - cut_at,
        stepped_down_at - cut_at
    );
    assert!(led_at - cut_at <= TAKEOVER_BOUND);
    assert!(stepped_down_at - cut_at <= TAKEOVER_BOUND);
    // It keeps running as a standby (it never ends the process).
    roster.settle(Duration::from_secs(1));
    assert_eq!(roster.with_role("LEADER"), vec!["direct".to_owned()]);
    assert_eq!(roster.role_of("cut-off"), Some("STANDBY"));
}

#[tokio::test]
async fn a_deposed_leader_cannot_move_the_checkpoint() {
    let url = database_url();
    let name = unique("counter");
    let schema = SchemaName::new(format!("es_lease_{}", Uuid::new_v4().simple())).expect("schema");
    let checkpoints = PostgresCheckpoints::connect_with(
        PostgresConfig::new(&url)
            .with_schema_name(schema.clone())
            .with_pool_size(4),
    )
    .await
    .expect("checkpoints");
    checkpoints.migrate().await.expect("migrate");

    let proxy = FaultProxy::start("127.0.0.1:5432").expect("proxy");
    let fast = PostgresLeaseConfig::new()
        .with_heartbeat(Duration::from_millis(100), Duration::from_millis(500))
        .expect("heartbeat");
    let leases_a = PostgresLeases::new(
        PostgresConfig::new(proxy.redirect(&url).expect("url")),
        fast,
    )
    .expect("leases through the proxy");
    let leases_b = leases(&url);

    let lease_a = leases_a
        .try_acquire(&name, "a")
        .await
        .expect("store")
        .expect("free");
    assert!(leases_b
        .try_acquire(&name, "b")
        .await
        .expect("store")
        .is_none());
    let holder = leases_b.holder(&name).await.expect("holder").expect("held");
    assert_eq!(holder.holder, "a");
    assert!(holder.pid.is_some_and(|pid| pid > 0), "{holder:?}");
    assert!(
        holder.since.is_some() && holder.expires_at.is_none(),
        "{holder:?}"
    );

    // A reads its checkpoint as leader, then loses its lease connection.
    let from = checkpoints.load_checkpoint("counter").await.expect("load");
    proxy.refuse_new(true);
    proxy.cut_all();
    let reason = tokio::time::timeout(Duration::from_secs(5), lease_a.lost())
        .await
        .expect("the loss is noticed");
    assert!(
        matches!(
            reason,
            LeaseLost::RenewalFailed(_) | LeaseLost::RenewalTimedOut(_)
        ),
        "{reason}"
    );

    let lease_b = acquire_within(&leases_b, &name, "b", TAKEOVER_BOUND).await;
    assert_deposed_leader_is_fenced(&checkpoints, "counter", from).await;
    assert!(
        lease_a.release().await.is_err(),
        "a lost lease cannot be released"
    );
    lease_b.release().await.expect("release");
    sqlx_drop_schema(&checkpoints, &schema).await;
}

async fn sqlx_drop_schema(checkpoints: &PostgresCheckpoints, schema: &SchemaName) {
    es_postgres::sqlx::query(es_postgres::sqlx::AssertSqlSafe(format!(
        "DROP SCHEMA {} CASCADE",
        schema.quoted()
    )))
    .execute(checkpoints.pool())
    .await
    .expect("drop the test schema");
}

#[tokio::test]
async fn names_and_settings_are_checked() {
    let leases = leases(&database_url());
    assert!(leases.try_acquire("", "a").await.is_err());
    assert!(leases.try_acquire("relay", &"h".repeat(500)).await.is_err());
    let error = PostgresLeaseConfig::new()
        .with_keepalives(Duration::from_secs(2), Duration::from_secs(1), 0)
        .expect_err("no probes");
    assert!(error.to_string().contains("keepalive count"), "{error}");
    assert!(PostgresLeaseConfig::new().with_namespace("").is_err());
    let bad = PostgresLeases::new(
        PostgresConfig::new("postgres://u:hunter2@h:notaport/db"),
        PostgresLeaseConfig::new(),
    )
    .expect_err("bad URL");
    assert!(!bad.to_string().contains("hunter2"), "{bad}");
}

#[tokio::test]
async fn a_leader_on_a_half_open_connection_loses_its_lease_after_the_heartbeat_timeout() {
    let url = database_url();
    let name = unique("relay");
    let proxy = FaultProxy::start("127.0.0.1:5432").expect("proxy");
    let config = PostgresLeaseConfig::new()
        .with_heartbeat(Duration::from_millis(200), Duration::from_millis(500))
        .expect("heartbeat");
    let through_proxy = PostgresLeases::new(
        PostgresConfig::new(proxy.redirect(&url).expect("url")),
        config,
    )
    .expect("leases through the proxy");
    let lease = through_proxy
        .try_acquire(&name, "stalled")
        .await
        .expect("store")
        .expect("free");
    let held_at = std::time::Instant::now();
    proxy.hold(true); // bytes stop flowing; nothing closes
    let reason = tokio::time::timeout(Duration::from_secs(5), lease.lost())
        .await
        .expect("the silence is noticed");
    let noticed = held_at.elapsed();
    println!("PostgreSQL lease: a half-open lease connection was noticed after {noticed:?}");
    assert_eq!(
        reason,
        LeaseLost::RenewalTimedOut(Duration::from_millis(500))
    );
    assert!(
        noticed <= Duration::from_millis(200 + 500 + 500),
        "{noticed:?}"
    );

    // The holder dropped its connection; once bytes flow again the server
    // sees it closed and frees the lock.
    proxy.hold(false);
    let direct = leases(&url);
    let taken = acquire_within(&direct, &name, "next", TAKEOVER_BOUND).await;
    taken.release().await.expect("release");
}

#[test]
fn a_stalled_leader_is_replaced_and_steps_down_when_it_wakes() {
    let url = database_url();
    let name = unique("relay");
    let mut roster = roster();
    for holder in ["a", "b"] {
        roster.spawn(holder, &instance_env(&url, &name, holder));
    }
    let stalled = stalled_leader_is_replaced(&mut roster, &["a", "b"], TAKEOVER_BOUND * 2);
    println!("PostgreSQL lease: {stalled:?} (SIGSTOP of the leader, then SIGCONT)");
    assert!(stalled.takeover <= TAKEOVER_BOUND, "{stalled:?}");
}

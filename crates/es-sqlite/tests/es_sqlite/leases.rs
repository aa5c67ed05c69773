//! SQLite leases across real processes sharing one database file: one
//! leader at a time, takeover after `kill -9` within the time to live,
//! graceful release, and the checkpoint compare-and-set fencing a leader
//! whose lease expired.
//!
//! The multi-process tests re-run this executable's `lease_instance` test as
//! child processes (see `child_roster`); it does nothing unless started so.

use std::time::Duration;

use es_core::CheckpointStore;
use es_lease::{LeaseLost, LeaseStore};
use es_sqlite::{SqliteCheckpoints, SqliteLeases, DEFAULT_LEASE_TTL};
use es_test_support::{
    child_roster::test_path,
    lease_scenarios::{
        assert_deposed_leader_is_fenced, instance_env, one_leader_then_takeovers,
        run_lease_instance, stalled_leader_is_replaced,
    },
    Roster,
};

/// The takeover bound the leases must meet after a `kill -9`.
const TAKEOVER_BOUND: Duration = Duration::from_secs(5);

/// One service instance, when started by a roster (see `run_lease_instance`).
#[test]
fn lease_instance() {
    run_lease_instance(|path| async move {
        SqliteLeases::open(path)
            .await
            .expect("open the lease database")
    });
}

/// Children `holders` competing for the lease `relay` in a file of `dir`.
fn instances(dir: &tempfile::TempDir, holders: &[&str]) -> Roster {
    let path = dir.path().join("leases.db");
    let path = path.to_str().expect("UTF-8 path");
    // Create the file once, so the children do not race to migrate it.
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime")
        .block_on(SqliteLeases::open(path))
        .expect("create the lease database");
    let mut roster = Roster::new(test_path(module_path!(), "lease_instance"));
    for holder in holders {
        roster.spawn(holder, &instance_env(path, "relay", holder));
    }
    roster
}

#[test]
fn three_processes_one_leader_then_takeover_after_kill_9_and_after_shutdown() {
    let dir = tempfile::tempdir().expect("temp dir");
    let mut roster = instances(&dir, &["a", "b", "c"]);
    // Watch longer than the time to live: the leader keeps renewing.
    let settle = DEFAULT_LEASE_TTL + Duration::from_secs(1);
    let takeovers =
        one_leader_then_takeovers(&mut roster, &["a", "b", "c"], settle, TAKEOVER_BOUND * 2);
    println!(
        "SQLite lease (ttl {DEFAULT_LEASE_TTL:?}): takeover {:?} after kill -9 of the leader, {:?} after a graceful shutdown",
        takeovers.after_kill, takeovers.after_shutdown
    );
    assert!(takeovers.after_kill <= TAKEOVER_BOUND, "{takeovers:?}");
    assert!(
        takeovers.after_shutdown < DEFAULT_LEASE_TTL,
        "released at once: {takeovers:?}"
    );
}

#[test]
fn a_stalled_leader_is_replaced_and_steps_down_when_it_wakes() {
    let dir = tempfile::tempdir().expect("temp dir");
    let mut roster = instances(&dir, &["a", "b"]);
    let stalled = stalled_leader_is_replaced(&mut roster, &["a", "b"], TAKEOVER_BOUND * 2);
    println!("SQLite lease: {stalled:?} (SIGSTOP of the leader, then SIGCONT)");
    assert!(stalled.takeover <= TAKEOVER_BOUND, "{stalled:?}");
}

#[tokio::test]
async fn a_leader_whose_lease_expired_cannot_move_the_checkpoint() {
    let dir = tempfile::tempdir().expect("temp dir");
    let path = dir.path().join("service.db");
    let leases = SqliteLeases::open(&path)
        .await
        .expect("leases")
        .with_ttl(Duration::from_millis(600))
        .expect("ttl");
    let checkpoints = SqliteCheckpoints::open(&path).await.expect("checkpoints");

    let lease_a = leases
        .try_acquire("counter", "a")
        .await
        .expect("store")
        .expect("free");
    assert!(leases
        .try_acquire("counter", "b")
        .await
        .expect("store")
        .is_none());
    let holder = leases
        .holder("counter")
        .await
        .expect("holder")
        .expect("held");
    assert_eq!(holder.holder, "a");
    let (since, until) = (
        holder.since.expect("since"),
        holder.expires_at.expect("expiry"),
    );
    assert!(until > since, "{holder:?}");
    // A reads its checkpoint as leader, then stalls past its time to live
    // (simulated: its row expires now).
    let from = checkpoints.load_checkpoint("counter").await.expect("load");
    es_sqlite::sqlx::query("UPDATE es_leases SET expires_at = 0 WHERE name = 'counter'")
        .execute(leases.pool())
        .await
        .expect("expire the row");
    let lease_b = leases
        .try_acquire("counter", "b")
        .await
        .expect("store")
        .expect("expired: free");
    let reason = tokio::time::timeout(Duration::from_secs(2), lease_a.lost())
        .await
        .expect("A notices at its next renewal");
    assert_eq!(reason, LeaseLost::TakenOver);

    assert_deposed_leader_is_fenced(&checkpoints, "counter", from).await;

    // A's stale release leaves B's grant alone.
    assert!(lease_a.release().await.is_err());
    assert_eq!(
        leases
            .holder("counter")
            .await
            .expect("holder")
            .map(|h| h.holder)
            .as_deref(),
        Some("b")
    );
    lease_b.release().await.expect("release");
    assert_eq!(leases.holder("counter").await.expect("holder"), None);
}

#[tokio::test]
async fn a_lease_outlives_its_ttl_while_renewed_and_names_are_checked() {
    let dir = tempfile::tempdir().expect("temp dir");
    let leases = SqliteLeases::open(dir.path().join("leases.db"))
        .await
        .expect("leases")
        .with_ttl(Duration::from_millis(900))
        .expect("ttl");
    let lease = leases
        .try_acquire("relay", "a")
        .await
        .expect("store")
        .expect("free");
    tokio::select! {
        reason = lease.lost() => panic!("lost a renewed lease: {reason}"),
        () = tokio::time::sleep(Duration::from_millis(2500)) => {}
    }
    assert!(leases
        .try_acquire("relay", "b")
        .await
        .expect("store")
        .is_none());
    lease.release().await.expect("release");
    assert!(leases
        .try_acquire("relay", "b")
        .await
        .expect("store")
        .is_some());

    assert!(leases.try_acquire("", "a").await.is_err());
    let error = leases
        .clone()
        .with_ttl(Duration::from_secs(7200))
        .expect_err("too long");
    assert!(error.to_string().contains("time to live"), "{error}");
}

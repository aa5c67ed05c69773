//! The lease scenarios every lease store must pass with real processes.
//!
//! A lease test binary has one `#[test]` that calls [`run_lease_instance`]
//! with a way to open its store: in a child started by a [`Roster`] with
//! [`instance_env`], it competes for a lease, reports its role and shuts
//! down when its stdin closes. Its other tests start several such children
//! and run [`one_leader_then_takeovers`], and show with
//! [`assert_deposed_leader_is_fenced`] that the checkpoint compare-and-set
//! stops a leader that lost its lease.

use std::time::{Duration, Instant};

use es_core::{CheckpointStore, Position, ProjectionError};
use es_lease::{Leader, LeaderConfig, Lease, LeaseStore};

use crate::child_roster::{report_role, stdin_closed, Roster};

/// The body of a lease test's child: competes for `name` as `holder` with
/// the default [`LeaderConfig`], reports each role change, works (idles)
/// while leader, and releases and returns when stdin closes.
pub async fn serve_lease_instance<S: LeaseStore>(store: S, name: String, holder: String) {
    let leader =
        Leader::new(store, name, holder.clone(), LeaderConfig::new()).expect("valid leader");
    let mut role = leader.role();
    let reporter = holder.clone();
    tokio::spawn(async move {
        loop {
            let now = role.borrow_and_update().as_str().to_uppercase();
            report_role(&now, &reporter);
            if role.changed().await.is_err() {
                break;
            }
        }
    });
    let shutdown = async {
        let _ = stdin_closed().await;
    };
    leader
        .run(shutdown, |_lease| {
            std::future::pending::<Result<(), String>>()
        })
        .await;
    report_role("STOPPED", &holder);
}

/// How long the standbys took to lead, measured from the parent.
#[derive(Debug, Clone, Copy)]
pub struct Takeovers {
    /// From `kill -9` of the leader to another child reporting `LEADER`.
    pub after_kill: Duration,
    /// From closing the next leader's stdin to the last child reporting `LEADER`.
    pub after_shutdown: Duration,
}

/// With the children `holders` (at least three) started on one lease:
/// exactly one leads and the others are standbys, still so after `settle`;
/// `kill -9` of the leader makes another lead; a graceful shutdown of that
/// one makes a third lead; never do two live children lead at once.
/// Returns the measured takeover times; panics when a step does not happen
/// within `bound`.
pub fn one_leader_then_takeovers(
    roster: &mut Roster,
    holders: &[&str],
    settle: Duration,
    bound: Duration,
) -> Takeovers {
    let start = Duration::from_secs(20);
    let (first, _) = roster.wait_for(None, "LEADER", start);
    for holder in holders.iter().filter(|h| **h != first) {
        roster.wait_for(Some(holder), "STANDBY", start);
    }
    roster.settle(settle);
    assert_eq!(roster.leaders(), vec![first.clone()], "exactly one leader");
    assert_eq!(
        roster.with_role("STANDBY").len(),
        holders.len() - 1,
        "the others wait"
    );

    let killed_at = roster.kill(&first);
    let (second, led_at) = roster.wait_for(None, "LEADER", bound);
    let after_kill = led_at - killed_at;
    assert_ne!(second, first);

    let stopped_at: Instant = roster.stop(&second);
    let (third, led_at) = roster.wait_for(None, "LEADER", bound);
    let after_shutdown = led_at - stopped_at;
    assert!(roster.wait_exit(&second, bound).success(), "a clean exit");
    assert!(![first.as_str(), second.as_str()].contains(&third.as_str()));

    roster.settle(Duration::from_millis(500));
    assert_eq!(roster.overlaps(), &[] as &[String], "never two leaders");
    assert_eq!(roster.leaders(), vec![third]);
    Takeovers {
        after_kill,
        after_shutdown,
    }
}

/// How a stalled leader was replaced, measured from the parent.
#[derive(Debug, Clone, Copy)]
pub struct StalledLeader {
    /// From freezing the leader to the other child reporting `LEADER`.
    pub takeover: Duration,
    /// From thawing the old leader to it reporting `STANDBY`.
    pub stepped_down: Duration,
}

/// With the children `holders` (two) started on one lease: the leader is
/// frozen (`SIGSTOP`: alive, its connections and files open, silent), the
/// other takes over; thawed, the old leader finds it lost the lease and
/// reports `STANDBY` (it does not end). Panics when a step does not happen
/// within `bound`.
pub fn stalled_leader_is_replaced(
    roster: &mut Roster,
    holders: &[&str],
    bound: Duration,
) -> StalledLeader {
    let start = Duration::from_secs(20);
    let (first, _) = roster.wait_for(None, "LEADER", start);
    for holder in holders.iter().filter(|h| **h != first) {
        roster.wait_for(Some(holder), "STANDBY", start);
    }
    let frozen_at = roster.freeze(&first, true);
    roster.depart(&first);
    let (second, led_at) = roster.wait_for(None, "LEADER", bound);
    assert_ne!(second, first);
    let thawed_at = roster.freeze(&first, false);
    let (_, stood_down_at) = roster.wait_for(Some(&first), "STANDBY", bound);
    roster.settle(Duration::from_millis(500));
    assert_eq!(
        roster.leaders(),
        vec![second],
        "the new leader keeps the lease"
    );
    assert_eq!(
        roster.role_of(&first),
        Some("STANDBY"),
        "the old leader waits"
    );
    StalledLeader {
        takeover: led_at - frozen_at,
        stepped_down: stood_down_at.saturating_duration_since(thawed_at),
    }
}

/// The environment variables of a child started as a lease instance.
const STORE_VAR: &str = "ES_LEASE_STORE";
const NAME_VAR: &str = "ES_LEASE_NAME";
const HOLDER_VAR: &str = "ES_LEASE_HOLDER";

/// The environment that makes a child a lease instance: `store` (a URL, a
/// file path: whatever the test's store needs), the lease `name` and the
/// child's `holder` id.
pub fn instance_env<'a>(store: &'a str, name: &'a str, holder: &'a str) -> [(&'a str, &'a str); 3] {
    [(STORE_VAR, store), (NAME_VAR, name), (HOLDER_VAR, holder)]
}

/// In a child started with [`instance_env`]: opens the store with `open`
/// (given the store setting) and runs [`serve_lease_instance`] until stdin
/// closes. In any other process: returns at once.
pub fn run_lease_instance<S, F, Fut>(open: F)
where
    S: LeaseStore,
    F: FnOnce(String) -> Fut,
    Fut: std::future::Future<Output = S>,
{
    let (Ok(store), Ok(name), Ok(holder)) = (
        std::env::var(STORE_VAR),
        std::env::var(NAME_VAR),
        std::env::var(HOLDER_VAR),
    ) else {
        return; // not started as an instance
    };
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("runtime");
    runtime.block_on(async move {
        let store = open(store).await;
        serve_lease_instance(store, name, holder).await;
    });
}

/// A leader deposed after reading its checkpoint `from` cannot move it: the
/// new leader commits `from -> (1, 1)`, then the old one's commit
/// `from -> (2, 2)` fails with `CheckpointMoved` and the checkpoint stays
/// at the new leader's.
pub async fn assert_deposed_leader_is_fenced<C: CheckpointStore>(
    checkpoints: &C,
    projection: &str,
    from: Position,
) {
    let moved_to = Position::new(1, 1);
    let batch = checkpoints.begin().await.expect("begin");
    checkpoints
        .commit(batch, projection, from, moved_to)
        .await
        .expect("the new leader moves the checkpoint");
    let stale = checkpoints.begin().await.expect("begin");
    let refused = checkpoints
        .commit(stale, projection, from, Position::new(2, 2))
        .await
        .expect_err("the deposed leader is fenced");
    assert!(
        matches!(&refused, ProjectionError::CheckpointMoved { expected, actual, .. }
            if *expected == from && *actual == moved_to),
        "{refused}"
    );
    let now = checkpoints.load_checkpoint(projection).await.expect("load");
    assert_eq!(now, moved_to);
}

/// Tries to take `name` for `holder` every 50 ms until it succeeds; panics
/// after `within`.
pub async fn acquire_within<S: LeaseStore>(
    store: &S,
    name: &str,
    holder: &str,
    within: Duration,
) -> Lease {
    let attempts = async {
        loop {
            if let Some(lease) = store.try_acquire(name, holder).await.expect("lease store") {
                return lease;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    };
    tokio::time::timeout(within, attempts)
        .await
        .unwrap_or_else(|_| panic!("{holder} could not take {name} within {within:?}"))
}

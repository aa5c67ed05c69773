//! Unit tests of the lease loop on in-memory leases.

use std::{
    sync::{
        atomic::{AtomicUsize, Ordering},
        Arc,
    },
    time::Duration,
};

use async_trait::async_trait;
use tokio::{
    sync::{oneshot, watch},
    task::JoinHandle,
    time::{timeout, Instant},
};

use crate::{
    InMemoryLeases, Leader, LeaderConfig, LeaderExit, Lease, LeaseError, LeaseHolder, LeaseKeeper,
    LeaseLost, LeaseStore, Renewal, Role,
};

fn fast() -> LeaderConfig {
    LeaderConfig::new()
        .with_retry_interval(Duration::from_millis(5))
        .expect("valid retry interval")
}

/// Counts running workers; the count drops when a worker's future is dropped.
struct Running(Arc<AtomicUsize>);

impl Running {
    fn start(count: &Arc<AtomicUsize>) -> Self {
        count.fetch_add(1, Ordering::SeqCst);
        Running(count.clone())
    }
}

impl Drop for Running {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::SeqCst);
    }
}

/// A leader whose work runs until cancelled, with its role and shutdown switch.
struct Instance {
    role: watch::Receiver<Role>,
    stop: Option<oneshot::Sender<()>>,
    task: JoinHandle<LeaderExit>,
}

fn spawn_instance(leases: &InMemoryLeases, holder: &str, running: &Arc<AtomicUsize>) -> Instance {
    let leader = Leader::new(leases.clone(), "relay", holder, fast()).expect("valid leader");
    let role = leader.role();
    let (stop, stopped) = oneshot::channel::<()>();
    let running = running.clone();
    let task = tokio::spawn(async move {
        leader
            .run(
                async {
                    let _ = stopped.await;
                },
                |_lease| {
                    let guard = Running::start(&running);
                    async move {
                        let _guard = guard;
                        std::future::pending::<Result<(), LeaseError>>().await
                    }
                },
            )
            .await
    });
    Instance {
        role,
        stop: Some(stop),
        task,
    }
}

async fn until_leader(instances: &mut [Instance]) -> usize {
    timeout(Duration::from_secs(5), async {
        loop {
            if let Some(i) = instances.iter().position(|i| i.role.borrow().is_leader()) {
                return i;
            }
            tokio::time::sleep(Duration::from_millis(2)).await;
        }
    })
    .await
    .expect("a leader within 5 s")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_leader_at_a_time_and_a_revoked_leader_steps_down() {
    let leases = InMemoryLeases::new();
    let running = Arc::new(AtomicUsize::new(0));
    let mut instances: Vec<Instance> = (0..3)
        .map(|n| spawn_instance(&leases, &format!("instance-{n}"), &running))
        .collect();
    let first = until_leader(&mut instances).await;
    tokio::time::sleep(Duration::from_millis(50)).await;
    let leaders = instances
        .iter()
        .filter(|i| i.role.borrow().is_leader())
        .count();
    assert_eq!(leaders, 1, "exactly one leader");
    assert_eq!(running.load(Ordering::SeqCst), 1, "exactly one worker runs");
    assert_eq!(
        leases.current_holder("relay"),
        Some(format!("instance-{first}"))
    );

    // The leader loses its lease: its work is cancelled, it becomes a standby
    // and another instance (or itself, later) takes over.
    let mut deposed = instances[first].role.clone();
    assert!(leases.revoke("relay"));
    timeout(Duration::from_secs(5), deposed.wait_for(|r| !r.is_leader()))
        .await
        .expect("the deposed leader steps down")
        .expect("role channel open");
    until_leader(&mut instances).await;
    assert_eq!(
        running.load(Ordering::SeqCst),
        1,
        "still exactly one worker"
    );

    for instance in &mut instances {
        let _ = instance.stop.take().map(|stop| stop.send(()));
    }
    for instance in instances {
        let exit = instance.task.await.expect("no panic");
        assert_eq!(exit, LeaderExit::Shutdown);
        assert!(matches!(*instance.role.borrow(), Role::Stopped { .. }));
    }
    assert_eq!(
        running.load(Ordering::SeqCst),
        0,
        "shutdown cancels the work"
    );
    assert_eq!(
        leases.current_holder("relay"),
        None,
        "shutdown released the lease"
    );
}

#[tokio::test]
async fn shutdown_releases_the_lease_at_once_for_a_standby() {
    let leases = InMemoryLeases::new();
    let running = Arc::new(AtomicUsize::new(0));
    let mut first = vec![spawn_instance(&leases, "first", &running)];
    until_leader(&mut first).await;
    let mut second = vec![spawn_instance(&leases, "second", &running)];
    tokio::time::sleep(Duration::from_millis(30)).await;
    assert!(!second[0].role.borrow().is_leader(), "the second waits");

    let stopped_at = Instant::now();
    let _ = first[0].stop.take().map(|stop| stop.send(()));
    until_leader(&mut second).await;
    assert!(stopped_at.elapsed() < Duration::from_secs(1));
    assert_eq!(leases.current_holder("relay").as_deref(), Some("second"));
}

#[tokio::test]
async fn failing_work_releases_the_lease_and_returns_to_standby() {
    let leases = InMemoryLeases::new();
    let leader = Leader::new(leases.clone(), "projection", "solo", fast()).expect("leader");
    let attempts = AtomicUsize::new(0);
    let exit = leader
        .run(std::future::pending(), |lease| {
            let attempt = attempts.fetch_add(1, Ordering::SeqCst);
            let holder = leases.current_holder(lease.name());
            async move {
                assert_eq!(holder.as_deref(), Some("solo"));
                if attempt < 2 {
                    Err("checkpoint moved")
                } else {
                    Ok(())
                }
            }
        })
        .await;
    assert_eq!(exit, LeaderExit::WorkFinished);
    assert_eq!(
        attempts.load(Ordering::SeqCst),
        3,
        "two failures, then success"
    );
    assert_eq!(leases.current_holder("projection"), None);
}

#[tokio::test]
async fn a_held_name_is_refused_and_a_lost_lease_cannot_be_released() {
    let leases = InMemoryLeases::new();
    let lease = leases
        .try_acquire("relay", "a")
        .await
        .expect("store ok")
        .expect("free");
    assert_eq!((lease.name(), lease.holder()), ("relay", "a"));
    assert!(leases
        .try_acquire("relay", "b")
        .await
        .expect("store ok")
        .is_none());
    assert!(leases.revoke("relay"));
    let reason = timeout(Duration::from_secs(1), lease.lost())
        .await
        .expect("loss noticed");
    assert_eq!(reason, LeaseLost::TakenOver);
    let other = leases
        .try_acquire("relay", "b")
        .await
        .expect("store ok")
        .expect("free again");
    let error = lease.release().await.expect_err("already lost");
    assert!(
        matches!(
            error,
            LeaseError::Lost {
                reason: LeaseLost::TakenOver,
                ..
            }
        ),
        "{error}"
    );
    assert_eq!(
        leases.current_holder("relay").as_deref(),
        Some("b"),
        "the stale release touched nothing"
    );
    other.release().await.expect("release");
    assert_eq!(leases.current_holder("relay"), None);
    assert!(matches!(
        leases.try_acquire("", "b").await,
        Err(LeaseError::InvalidName { field: "name", .. })
    ));
}

/// A keeper whose renewals fail or hang, counting calls.
struct Flaky {
    hang: bool,
    renewals: Arc<AtomicUsize>,
    released: Arc<AtomicUsize>,
}

#[async_trait]
impl LeaseKeeper for Flaky {
    async fn renew(&mut self) -> Result<(), LeaseLost> {
        self.renewals.fetch_add(1, Ordering::SeqCst);
        if self.hang {
            std::future::pending::<()>().await;
        }
        Err(LeaseLost::RenewalFailed("disk full".into()))
    }

    async fn release(self: Box<Self>) -> Result<(), LeaseError> {
        self.released.fetch_add(1, Ordering::SeqCst);
        Ok(())
    }
}

fn flaky(hang: bool) -> (Flaky, Arc<AtomicUsize>, Arc<AtomicUsize>) {
    let (renewals, released) = (Arc::default(), Arc::default());
    let keeper = Flaky {
        hang,
        renewals: Arc::clone(&renewals),
        released: Arc::clone(&released),
    };
    (keeper, renewals, released)
}

#[tokio::test]
async fn a_lease_with_a_ttl_survives_failed_renewals_until_the_ttl() {
    let (keeper, renewals, released) = flaky(false);
    let ttl = Duration::from_millis(300);
    let start = Instant::now();
    let lease = Lease::keep(
        "relay",
        "a",
        start,
        keeper,
        Renewal::for_ttl(ttl).expect("ttl"),
    );
    let reason = timeout(Duration::from_secs(2), lease.lost())
        .await
        .expect("lost");
    let after = start.elapsed();
    assert!(after >= ttl, "lost after {after:?}, before the ttl");
    assert!(after < ttl * 2, "lost after {after:?}");
    assert!(
        matches!(reason, LeaseLost::RenewalFailed(_) | LeaseLost::Expired(_)),
        "{reason}"
    );
    assert!(
        renewals.load(Ordering::SeqCst) >= 2,
        "retried before giving up"
    );
    assert_eq!(released.load(Ordering::SeqCst), 1, "a lost lease is let go");
}

#[tokio::test]
async fn a_hanging_renewal_loses_the_lease_after_its_timeout() {
    let (keeper, _renewals, released) = flaky(true);
    let renewal =
        Renewal::new(Duration::from_millis(10), Duration::from_millis(50)).expect("renewal");
    let start = Instant::now();
    let lease = Lease::keep("relay", "a", start, keeper, renewal);
    let reason = timeout(Duration::from_secs(2), lease.lost())
        .await
        .expect("lost");
    assert_eq!(
        reason,
        LeaseLost::RenewalTimedOut(Duration::from_millis(50))
    );
    assert!(start.elapsed() >= Duration::from_millis(60));
    assert_eq!(released.load(Ordering::SeqCst), 1);
}

#[test]
fn settings_are_checked_and_name_the_limit() {
    let error = LeaderConfig::new()
        .with_acquire_timeout(Duration::from_secs(7200))
        .expect_err("too long");
    let shown = error.to_string();
    assert!(
        shown.contains("acquire timeout") && shown.contains("3600s"),
        "{shown}"
    );
    assert!(Renewal::new(Duration::ZERO, Duration::from_secs(1)).is_err());
    assert!(Renewal::for_ttl(Duration::from_millis(1)).is_err());
    let renewal = Renewal::for_ttl(Duration::from_secs(3)).expect("ttl");
    assert_eq!(renewal.every, Duration::from_secs(1));
    assert_eq!(renewal.valid_for, Some(Duration::from_secs(3)));
    assert!(Leader::new(InMemoryLeases::new(), "relay", "", LeaderConfig::new()).is_err());
}

#[tokio::test]
async fn work_that_can_stop_gets_its_grace_on_loss_and_at_shutdown() {
    let leases = InMemoryLeases::new();
    let config = fast()
        .with_stop_grace(Duration::from_secs(2))
        .expect("valid grace");
    let leader = Leader::new(leases.clone(), "relay", "solo", config).expect("leader");
    let mut role = leader.role();
    let (saved_tx, mut saved) = tokio::sync::mpsc::unbounded_channel::<bool>();
    let (stop, stopped) = oneshot::channel::<()>();
    let task = tokio::spawn(async move {
        leader
            .run(
                async {
                    let _ = stopped.await;
                },
                move |lease| {
                    let saved = saved_tx.clone();
                    async move {
                        lease.stopping().await;
                        // A relay's `run_until` saves its checkpoint here.
                        let _ = saved.send(lease.is_lost());
                        Ok::<(), LeaseError>(())
                    }
                },
            )
            .await
    });
    let within = Duration::from_secs(5);
    timeout(within, role.wait_for(Role::is_leader))
        .await
        .expect("leads")
        .expect("open");
    assert!(leases.revoke("relay"));
    let lost = timeout(within, saved.recv())
        .await
        .expect("stopped on loss");
    assert_eq!(lost, Some(true), "the work saw the loss");
    timeout(within, role.wait_for(|r| !r.is_leader()))
        .await
        .expect("standby")
        .expect("open");
    timeout(within, role.wait_for(Role::is_leader))
        .await
        .expect("leads again")
        .expect("open");

    stop.send(()).expect("leader running");
    let at_shutdown = timeout(within, saved.recv())
        .await
        .expect("stopped at shutdown");
    assert_eq!(
        at_shutdown,
        Some(false),
        "still held while the work stopped"
    );
    assert_eq!(task.await.expect("no panic"), LeaderExit::Shutdown);
    assert_eq!(
        leases.current_holder("relay"),
        None,
        "released after the work stopped"
    );
}

#[tokio::test]
async fn the_store_says_who_holds_a_name() {
    let leases = InMemoryLeases::new();
    assert_eq!(
        LeaseStore::holder(&leases, "relay").await.expect("ask"),
        None
    );
    let lease = leases
        .try_acquire("relay", "instance-1")
        .await
        .expect("store")
        .expect("free");
    let holder = LeaseStore::holder(&leases, "relay").await.expect("ask");
    assert_eq!(holder, Some(LeaseHolder::new("instance-1")));
    assert!(
        LeaseStore::holder(&leases, "").await.is_err(),
        "names are checked"
    );
    lease.release().await.expect("release");
    assert_eq!(
        LeaseStore::holder(&leases, "relay").await.expect("ask"),
        None
    );
}

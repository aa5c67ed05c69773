//! Unit tests of deposition: a leader whose work is stuck with work in hand
//! steps down within the stall timeout, and a healthy standby takes over.

use std::{
    sync::atomic::{AtomicUsize, Ordering},
    time::Duration,
};

use async_trait::async_trait;
use tokio::time::{timeout, Instant};

use crate::{InMemoryLeases, Leader, LeaderConfig, LeaderWork, LeaseInfo, Liveness, Role};

/// Work that, on the instance `stuck`, takes work in hand and never makes
/// progress (its work connection went silent); elsewhere, progresses and
/// then idles until asked to stop.
struct Worker {
    liveness: Liveness,
    stuck: bool,
    terms: AtomicUsize,
}

impl Worker {
    fn new(stuck: bool) -> Self {
        Self {
            liveness: Liveness::new(),
            stuck,
            terms: AtomicUsize::new(0),
        }
    }
}

#[async_trait]
impl LeaderWork for Worker {
    type Error = std::io::Error;

    async fn work_under(&self, lease: LeaseInfo) -> Result<(), Self::Error> {
        self.terms.fetch_add(1, Ordering::SeqCst);
        self.liveness.busy();
        if self.stuck {
            // A statement whose answer never comes.
            std::future::pending::<()>().await;
        }
        self.liveness.progressed();
        self.liveness.idle();
        lease.stopping().await;
        Ok(())
    }

    fn is_fenced(_: &Self::Error) -> bool {
        false
    }

    fn liveness(&self) -> Option<&Liveness> {
        Some(&self.liveness)
    }
}

fn config() -> LeaderConfig {
    LeaderConfig::new()
        .with_retry_interval(Duration::from_millis(10))
        .and_then(|config| config.with_stall_timeout(Duration::from_millis(300)))
        .expect("valid settings")
}

#[tokio::test]
async fn a_stuck_leader_is_deposed_and_a_healthy_standby_takes_over() {
    let leases = InMemoryLeases::new();
    let stuck = Leader::new(leases.clone(), "projector", "stuck", config()).expect("leader");
    let healthy = Leader::new(leases.clone(), "projector", "healthy", config()).expect("leader");
    let (stuck_work, healthy_work) = (Worker::new(true), Worker::new(false));
    let (mut stuck_role, mut healthy_role) = (stuck.role(), healthy.role());
    let (stop, stopped) = tokio::sync::watch::channel(false);
    let until_stopped = |mut stopped: tokio::sync::watch::Receiver<bool>| async move {
        let _ = stopped.wait_for(|stop| *stop).await;
    };

    let scenario = async {
        let stuck_serving = stuck.serve(until_stopped(stopped.clone()), &stuck_work);
        let checks = async {
            timeout(Duration::from_secs(5), stuck_role.wait_for(Role::is_leader))
                .await
                .expect("the first instance leads")
                .expect("role channel");
            let led = Instant::now();
            let healthy_serving = healthy.serve(until_stopped(stopped.clone()), &healthy_work);
            let takeover = async {
                timeout(
                    Duration::from_secs(5),
                    stuck_role.wait_for(|role| matches!(role, Role::Deposed { .. })),
                )
                .await
                .expect("the stuck leader is deposed")
                .expect("role channel");
                let deposed_after = led.elapsed();
                timeout(
                    Duration::from_secs(5),
                    healthy_role.wait_for(Role::is_leader),
                )
                .await
                .expect("the healthy standby takes over")
                .expect("role channel");
                let resumed_after = led.elapsed();
                stop.send_replace(true);
                (deposed_after, resumed_after)
            };
            let (_, times) = tokio::join!(healthy_serving, takeover);
            times
        };
        let (_, times) = tokio::join!(stuck_serving, checks);
        times
    };
    let (deposed_after, resumed_after) = timeout(Duration::from_secs(10), scenario)
        .await
        .expect("the scenario ends");
    assert!(
        deposed_after >= Duration::from_millis(300) && deposed_after < Duration::from_secs(2),
        "deposed after {deposed_after:?}; the stall timeout is 300 ms"
    );
    assert!(
        resumed_after < Duration::from_secs(2),
        "resumed after {resumed_after:?}"
    );
    assert_eq!(
        stuck_work.terms.load(Ordering::SeqCst),
        1,
        "sat out, never led again"
    );
    assert_eq!(healthy_work.terms.load(Ordering::SeqCst), 1);
    assert_eq!(
        leases.current_holder("projector"),
        None,
        "released at shutdown"
    );
}

/// An idle worker (waiting for events) is never deposed, however long it waits.
#[tokio::test]
async fn an_idle_leader_is_never_deposed() {
    let leases = InMemoryLeases::new();
    let leader = Leader::new(leases.clone(), "projector", "idle", config()).expect("leader");
    let work = Worker::new(false);
    let mut role = leader.role();
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let watching = async {
        role.wait_for(Role::is_leader).await.expect("role channel");
        // Ten stall timeouts without progress, idle all along.
        let deposed = timeout(
            Duration::from_secs(3),
            role.wait_for(|role| !role.is_leader()),
        )
        .await;
        assert!(deposed.is_err(), "an idle leader stayed leader");
        stop.send(()).expect("leader still running");
    };
    let (exit, ()) = tokio::join!(
        leader.serve(
            async {
                let _ = stopped.await;
            },
            &work
        ),
        watching
    );
    assert_eq!(exit, crate::LeaderExit::Shutdown);
    assert_eq!(work.terms.load(Ordering::SeqCst), 1);
}

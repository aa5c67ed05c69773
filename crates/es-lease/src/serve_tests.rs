//! Unit tests of [`Leader::serve`]: a fenced worker goes back to standby,
//! and so does work that returned because it saw its lease lost.

use std::{
    fmt,
    sync::{
        atomic::{AtomicUsize, Ordering},
        Arc,
    },
    time::Duration,
};

use async_trait::async_trait;

use crate::{InMemoryLeases, Leader, LeaderConfig, LeaderExit, LeaderWork, LeaseInfo};

#[derive(Debug)]
struct Moved;

impl fmt::Display for Moved {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("checkpoint moved")
    }
}

/// Fenced on its first term, finished on its second.
struct FencedOnce {
    terms: AtomicUsize,
}

#[async_trait]
impl LeaderWork for FencedOnce {
    type Error = Moved;

    async fn work_under(&self, _lease: LeaseInfo) -> Result<(), Moved> {
        match self.terms.fetch_add(1, Ordering::SeqCst) {
            0 => Err(Moved),
            _ => Ok(()),
        }
    }

    fn is_fenced(_: &Moved) -> bool {
        true
    }
}

#[tokio::test]
async fn a_fenced_worker_goes_back_to_standby_and_leads_again() {
    let leases = InMemoryLeases::new();
    let config = LeaderConfig::new()
        .with_retry_interval(Duration::from_millis(5))
        .expect("valid retry interval");
    let leader = Leader::new(leases.clone(), "relay", "a", config).expect("valid leader");
    let work = FencedOnce {
        terms: AtomicUsize::new(0),
    };
    let exit = tokio::time::timeout(
        Duration::from_secs(5),
        leader.serve(std::future::pending(), &work),
    )
    .await
    .expect("the second term finishes");
    assert_eq!(
        exit,
        LeaderExit::WorkFinished,
        "the fence did not end the loop"
    );
    assert_eq!(work.terms.load(Ordering::SeqCst), 2);
    assert_eq!(
        leases.current_holder("relay"),
        None,
        "released after each term"
    );
}

/// Returns `Ok` as soon as it sees its lease lost, the way work that stops on
/// [`LeaseInfo::stopping`] does (a projection runner's `run_until` checks it
/// between batches).
struct StopsWhenLost {
    /// How many terms have started (a watch: a waiter never misses a term).
    terms: tokio::sync::watch::Sender<usize>,
}

#[async_trait]
impl LeaderWork for StopsWhenLost {
    type Error = Moved;

    async fn work_under(&self, lease: LeaseInfo) -> Result<(), Moved> {
        self.terms.send_modify(|terms| *terms += 1);
        loop {
            // A poll that takes a while (applying a batch, say): the keeper,
            // on another thread, may notice the loss meanwhile.
            std::thread::sleep(Duration::from_millis(2));
            if lease.is_lost() {
                return Ok(());
            }
            tokio::time::sleep(Duration::from_millis(1)).await;
        }
    }

    fn is_fenced(_: &Moved) -> bool {
        false
    }
}

/// The keeper notices a lost lease on another thread, so the work can see
/// the loss (and return `Ok`) before the leader's own watch does. That is a
/// lost lease, not finished work: the leader must go back to standby and
/// lead again, every time. (Seen as a projector that stopped for good after
/// a PostgreSQL restart.)
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn work_that_returns_because_its_lease_was_lost_goes_back_to_standby() {
    const TERMS: usize = 60;
    let leases = InMemoryLeases::new();
    let config = LeaderConfig::new()
        .with_retry_interval(Duration::from_millis(1))
        .expect("valid retry interval");
    let leader =
        Arc::new(Leader::new(leases.clone(), "projector", "a", config).expect("valid leader"));
    let (terms, mut started) = tokio::sync::watch::channel(0);
    let work = Arc::new(StopsWhenLost { terms });
    let serving = tokio::spawn({
        let (leader, work) = (leader.clone(), work.clone());
        async move { leader.serve(std::future::pending(), &*work).await }
    });
    // Each term's work runs under the lease; revoking it ends the term. A
    // leader that took the returned work as finished would never start the
    // next term. (The role watch is not waited on: standby and the next
    // term can follow each other faster than a watcher looks.)
    for term in 1..=TERMS + 1 {
        tokio::time::timeout(
            Duration::from_secs(10),
            started.wait_for(|started| *started >= term),
        )
        .await
        .unwrap_or_else(|_| panic!("term {term}: the leader did not lead again"))
        .expect("the work is alive");
        assert!(!serving.is_finished(), "term {term}: the leader stopped");
        if term <= TERMS {
            assert!(leases.revoke("projector"), "term {term}: held");
        }
    }
    serving.abort();
}

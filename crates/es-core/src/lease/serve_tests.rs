//! Unit tests of [`Leader::serve`]: a fenced worker goes back to standby.

use std::{
    fmt,
    sync::atomic::{AtomicUsize, Ordering},
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

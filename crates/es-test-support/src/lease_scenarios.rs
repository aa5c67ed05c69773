//! The lease scenarios every lease store must pass with real processes.
//!
//! A lease test binary has one `#[test]` that, when started by a [`Roster`],
//! calls [`serve_lease_instance`] with its store: it competes for a lease,
//! reports its role and shuts down when its stdin closes. Its other tests
//! start several such children and run [`one_leader_then_takeovers`].

use std::time::{Duration, Instant};

use es_core::{Leader, LeaderConfig, LeaseStore};

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

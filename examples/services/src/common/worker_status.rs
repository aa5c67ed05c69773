//! Whether a worker run under a lease lets this process work: its role and
//! its progress, for `/health` and `/ready`.
//!
//! A leader can hold its lease while its work makes no progress (a silent
//! link to the projection database): its `Leader` deposes it after the
//! stall timeout, and until then, and while it sits out, `/health` and
//! `/ready` say so instead of reporting a healthy leader.

use std::time::Duration;

use es_lease::{Liveness, Role};
use tokio::sync::watch;

/// One worker's role and progress reports.
#[derive(Debug, Clone)]
pub struct WorkerStatus {
    /// The worker's lease name.
    pub name: &'static str,
    /// `None`: a worker that runs on every instance (a consumer), always active.
    role: Option<watch::Receiver<Role>>,
    liveness: Liveness,
    stall_timeout: Duration,
}

impl WorkerStatus {
    /// The worker `name`, its `role` channel, the `liveness` its work
    /// reports and the stall timeout its leader deposes it after.
    pub fn new(
        name: &'static str,
        role: watch::Receiver<Role>,
        liveness: Liveness,
        stall_timeout: Duration,
    ) -> Self {
        Self {
            name,
            role: Some(role),
            liveness,
            stall_timeout,
        }
    }

    /// A worker that runs without a lease (Parking's consumer): its role is
    /// `active`, and it is stuck when busy past `stall_timeout`.
    pub fn unleased(name: &'static str, liveness: Liveness, stall_timeout: Duration) -> Self {
        Self {
            name,
            role: None,
            liveness,
            stall_timeout,
        }
    }

    /// `leader`, `standby`, `deposed` or `stopped`; `active` without a lease.
    pub fn role(&self) -> &'static str {
        self.role
            .as_ref()
            .map_or("active", |role| role.borrow().as_str())
    }

    /// How long the worker, leading (or active), has had work in hand
    /// without progress; `None` when it is not leading or is idle.
    pub fn stalled_for(&self) -> Option<Duration> {
        let working = self
            .role
            .as_ref()
            .is_none_or(|role| role.borrow().is_leader());
        if working {
            self.liveness.stalled_for()
        } else {
            None
        }
    }

    /// `Err` with the reason when the worker keeps this process from doing
    /// its part: it leads but is stuck past the stall timeout, or it was
    /// deposed for that and sits out.
    pub fn check(&self) -> Result<(), String> {
        let role = self.role.as_ref().map(|role| *role.borrow());
        match role {
            Some(Role::Deposed { since }) => Err(format!(
                "{} deposed at {}: its work made no progress for {} s",
                self.name,
                since.to_rfc3339(),
                self.stall_timeout.as_secs_f64()
            )),
            _ => match self.stalled_for() {
                Some(stalled) if stalled >= self.stall_timeout => Err(format!(
                    "{} has had work in hand without progress for {:.1} s, over the limit of {} s",
                    self.name,
                    stalled.as_secs_f64(),
                    self.stall_timeout.as_secs_f64()
                )),
                _ => Ok(()),
            },
        }
    }
}

/// The check of every worker: `Err` naming each stuck one.
pub fn check_all(workers: &[WorkerStatus]) -> Result<(), String> {
    let stuck: Vec<String> = workers.iter().filter_map(|w| w.check().err()).collect();
    if stuck.is_empty() {
        Ok(())
    } else {
        Err(stuck.join("; "))
    }
}

//! Which `booking serve` instance leads which worker, read from the roles
//! each instance's `/health` reports, for the tests that kill leaders.

use super::server::{eventually, Service};

/// The workers `booking serve` runs under leases.
pub const WORKERS: [&str; 2] = ["booking-relay", "bookings"];

/// The role `service`'s /health reports for `worker` (None if it does not answer).
pub fn role(service: &Service, worker: &str) -> Option<String> {
    let body: serde_json::Value = serde_json::from_str(&service.health()?).ok()?;
    body["workers"][worker].as_str().map(str::to_owned)
}

/// Waits until exactly one of `instances` leads each worker and the others
/// are standbys; returns, per worker of [`WORKERS`], the index of its leader.
pub fn one_leader_each(instances: &[&Service]) -> Vec<usize> {
    WORKERS
        .iter()
        .map(|worker| {
            eventually(&format!("one {worker} leader"), || {
                let roles: Vec<String> = instances
                    .iter()
                    .map(|s| role(s, worker).unwrap_or_default())
                    .collect();
                let leaders: Vec<usize> =
                    (0..roles.len()).filter(|&i| roles[i] == "leader").collect();
                let rest_standby = roles
                    .iter()
                    .filter(|r| r.as_str() != "leader")
                    .all(|r| r == "standby");
                (leaders.len() == 1 && rest_standby).then(|| leaders[0])
            })
        })
        .collect()
}

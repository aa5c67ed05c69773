//! Leases inside one process, for unit tests of code that runs under a lease.
//!
//! [`InMemoryLeases`] grants each name to one holder at a time and renews by
//! checking the grant is still there; [`InMemoryLeases::revoke`] takes a
//! lease away as a lost connection would, so tests can watch a leader step
//! down. It coordinates nothing across processes.

use std::{
    collections::HashMap,
    sync::{Arc, Mutex, MutexGuard, PoisonError},
    time::Duration,
};

use async_trait::async_trait;
use tokio::time::Instant;

use crate::{
    check_lease_holder, check_lease_name, Lease, LeaseError, LeaseHolder, LeaseKeeper, LeaseLost,
    LeaseStore, Renewal,
};

/// How often an in-memory lease checks it was not revoked, by default.
const DEFAULT_RENEW_INTERVAL: Duration = Duration::from_millis(10);

#[derive(Debug, Default)]
struct Grants {
    next_token: u64,
    /// Name -> (holder, token of that grant).
    held: HashMap<String, (String, u64)>,
}

/// An in-process [`LeaseStore`]. Clones share the leases.
#[derive(Debug, Clone)]
pub struct InMemoryLeases {
    grants: Arc<Mutex<Grants>>,
    renewal: Renewal,
}

impl Default for InMemoryLeases {
    fn default() -> Self {
        Self::new()
    }
}

impl InMemoryLeases {
    /// No leases held; held leases notice a revocation within 10 ms.
    pub fn new() -> Self {
        Self {
            grants: Arc::default(),
            renewal: Renewal {
                every: DEFAULT_RENEW_INTERVAL,
                timeout: DEFAULT_RENEW_INTERVAL,
                valid_for: None,
            },
        }
    }

    /// Who holds `name` now, without waiting (the same answer as
    /// [`LeaseStore::holder`], for synchronous test code).
    pub fn current_holder(&self, name: &str) -> Option<String> {
        lock(&self.grants)
            .held
            .get(name)
            .map(|(holder, _)| holder.clone())
    }

    /// Takes `name` away from its holder, as a dropped connection would: the
    /// holder's next renewal fails with [`LeaseLost::TakenOver`]. Returns
    /// whether it was held.
    pub fn revoke(&self, name: &str) -> bool {
        lock(&self.grants).held.remove(name).is_some()
    }
}

fn lock(grants: &Mutex<Grants>) -> MutexGuard<'_, Grants> {
    // A panic while holding the lock cannot leave the map half-updated.
    grants.lock().unwrap_or_else(PoisonError::into_inner)
}

#[async_trait]
impl LeaseStore for InMemoryLeases {
    async fn try_acquire(&self, name: &str, holder: &str) -> Result<Option<Lease>, LeaseError> {
        check_lease_name(name)?;
        check_lease_holder(holder)?;
        let started = Instant::now();
        let token = {
            let mut grants = lock(&self.grants);
            if grants.held.contains_key(name) {
                return Ok(None);
            }
            grants.next_token += 1;
            let token = grants.next_token;
            grants
                .held
                .insert(name.to_owned(), (holder.to_owned(), token));
            token
        };
        let keeper = Grant {
            grants: self.grants.clone(),
            name: name.to_owned(),
            token,
        };
        Ok(Some(Lease::keep(
            name,
            holder,
            started,
            keeper,
            self.renewal,
        )))
    }

    async fn holder(&self, name: &str) -> Result<Option<LeaseHolder>, LeaseError> {
        check_lease_name(name)?;
        Ok(self.current_holder(name).map(LeaseHolder::new))
    }
}

/// One grant, kept by checking it is still in the map.
struct Grant {
    grants: Arc<Mutex<Grants>>,
    name: String,
    token: u64,
}

impl Grant {
    fn is_current(&self, grants: &Grants) -> bool {
        grants
            .held
            .get(&self.name)
            .is_some_and(|(_, token)| *token == self.token)
    }
}

#[async_trait]
impl LeaseKeeper for Grant {
    async fn renew(&mut self) -> Result<(), LeaseLost> {
        if self.is_current(&lock(&self.grants)) {
            Ok(())
        } else {
            Err(LeaseLost::TakenOver)
        }
    }

    async fn release(self: Box<Self>) -> Result<(), LeaseError> {
        let mut grants = lock(&self.grants);
        if self.is_current(&grants) {
            grants.held.remove(&self.name);
        }
        Ok(())
    }
}

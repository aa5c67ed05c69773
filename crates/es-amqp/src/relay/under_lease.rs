//! The relay as leader-or-standby work: see [`es_lease::LeaderWork`].
//!
//! Every instance of a service may build the same relay; run it with
//! [`Leader::serve`](es_lease::Leader::serve) and only the lease holder
//! publishes. When the lease is lost or the leader shuts down, the relay
//! stops publishing and saves the checkpoint of what the broker confirmed
//! (within the leader's stop grace). The checkpoint compare-and-set is the
//! fence: a deposed relay that saves after another instance took over gets
//! [`RelayError::CheckpointMoved`], which sends it back to standby.

use es_core::{async_trait, EventStore};
use es_lease::{LeaderWork, LeaseInfo, Liveness};

use super::Relay;
use crate::{RelayCheckpoint, RelayError};

#[async_trait]
impl<S, C> LeaderWork for Relay<S, C>
where
    S: EventStore + Clone + Send + Sync + 'static,
    C: RelayCheckpoint,
{
    type Error = RelayError;

    /// [`Relay::run_until`] the lease's stop request.
    async fn work_under(&self, lease: LeaseInfo) -> Result<(), RelayError> {
        self.run_until(lease.stopping()).await
    }

    fn is_fenced(error: &RelayError) -> bool {
        matches!(error, RelayError::CheckpointMoved { .. })
    }

    /// [`Relay::liveness`].
    fn liveness(&self) -> Option<&Liveness> {
        Some(Relay::liveness(self))
    }
}

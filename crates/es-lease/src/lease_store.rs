//! The lease contract every backend implements.

use std::sync::Arc;

use async_trait::async_trait;

use crate::{Lease, LeaseError, LeaseHolder};

/// Where leases live: at most one holder per name at a time.
///
/// Implementations check the name and holder with
/// [`check_lease_name`](crate::check_lease_name) and
/// [`check_lease_holder`](crate::check_lease_holder), and keep a granted
/// lease alive with [`Lease::keep`].
#[async_trait]
pub trait LeaseStore: Send + Sync {
    /// Takes the lease `name` for `holder` if nobody holds it: `Ok(None)`
    /// when another holder has it, `Err` when the store cannot tell.
    async fn try_acquire(&self, name: &str, holder: &str) -> Result<Option<Lease>, LeaseError>;

    /// Who holds the lease `name` now (`None` if nobody does), with what
    /// this store can tell about the holder. An answer, not a promise: the
    /// lease may change hands right after.
    async fn holder(&self, name: &str) -> Result<Option<LeaseHolder>, LeaseError>;
}

#[async_trait]
impl<S: LeaseStore + ?Sized> LeaseStore for Arc<S> {
    async fn try_acquire(&self, name: &str, holder: &str) -> Result<Option<Lease>, LeaseError> {
        (**self).try_acquire(name, holder).await
    }

    async fn holder(&self, name: &str) -> Result<Option<LeaseHolder>, LeaseError> {
        (**self).holder(name).await
    }
}

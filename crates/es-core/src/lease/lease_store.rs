//! The lease contract every backend implements.

use std::sync::Arc;

use async_trait::async_trait;

use crate::{Lease, LeaseError};

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
}

#[async_trait]
impl<S: LeaseStore + ?Sized> LeaseStore for Arc<S> {
    async fn try_acquire(&self, name: &str, holder: &str) -> Result<Option<Lease>, LeaseError> {
        (**self).try_acquire(name, holder).await
    }
}

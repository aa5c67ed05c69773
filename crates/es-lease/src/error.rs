//! Why a lease could not be taken, kept or released.
//!
//! [`LeaseError`] is what a call returns (bad name, bad setting, the store
//! failed); [`LeaseLost`] is why a lease that *was* held ended, as reported by
//! [`Lease::lost`](crate::Lease::lost).

use std::time::Duration;

use es_core::BoxError;

/// Taking, configuring or releasing a lease failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum LeaseError {
    /// A lease name or holder was refused.
    #[error("invalid lease {field} {value:?}: {reason}")]
    InvalidName {
        /// Which argument: `"name"` or `"holder"`.
        field: &'static str,
        /// The refused value (cut to its first 64 characters).
        value: String,
        /// Which rule it broke.
        reason: String,
    },
    /// A timing setting was refused.
    #[error("invalid lease setting {setting} = {value:?}: {reason}")]
    InvalidSetting {
        /// The setting's name.
        setting: &'static str,
        /// The refused value.
        value: Duration,
        /// Which limit it broke.
        reason: String,
    },
    /// The lease store could not be reached or failed.
    #[error("lease store error: {0}")]
    Backend(#[source] BoxError),
    /// The lease had already been lost when it was released.
    #[error("lease {name} was already lost: {reason}")]
    Lost {
        /// The lease's name.
        name: String,
        /// Why it was lost.
        reason: LeaseLost,
    },
}

impl LeaseError {
    /// Wraps an error of the lease store.
    pub fn backend(error: impl Into<BoxError>) -> Self {
        LeaseError::Backend(error.into())
    }

    /// Refuses `value` of `setting` unless `min <= value <= max`.
    pub fn check_setting(
        setting: &'static str,
        value: Duration,
        min: Duration,
        max: Duration,
    ) -> Result<Duration, LeaseError> {
        if value < min || value > max {
            return Err(LeaseError::InvalidSetting {
                setting,
                value,
                reason: format!("must be between {min:?} and {max:?}"),
            });
        }
        Ok(value)
    }
}

/// Why a held lease ended.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum LeaseLost {
    /// Renewing the lease (a heartbeat, a row update) failed.
    #[error("renewing the lease failed: {0}")]
    RenewalFailed(String),
    /// A renewal did not answer in time.
    #[error("renewing the lease did not answer within {0:?}")]
    RenewalTimedOut(Duration),
    /// No renewal succeeded for the lease's whole time to live: others may
    /// take it now.
    #[error("no renewal succeeded within the lease's time to live of {0:?}")]
    Expired(Duration),
    /// Another holder has the lease now.
    #[error("another holder took the lease over")]
    TakenOver,
    /// The holder released the lease (or dropped it).
    #[error("the lease was released")]
    Released,
}

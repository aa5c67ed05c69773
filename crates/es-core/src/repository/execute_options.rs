//! How one command is executed: its metadata, its idempotency key, and the
//! version it must be decided at.

use crate::Metadata;

use super::IdempotencyKey;

/// Options of [`Repository::execute_with_options`](super::Repository::execute_with_options).
///
/// ```
/// use es_core::{ExecuteOptions, IdempotencyKey, Metadata};
///
/// let options = ExecuteOptions::new()
///     .metadata(Metadata::default())
///     .idempotency_key(IdempotencyKey::new("request-42").unwrap())
///     .expected_version(3);
/// assert_eq!(options.get_expected_version(), Some(3));
/// ```
#[derive(Debug, Clone, Default)]
#[non_exhaustive]
pub struct ExecuteOptions {
    metadata: Metadata,
    idempotency_key: Option<IdempotencyKey>,
    expected_version: Option<u64>,
}

impl ExecuteOptions {
    /// Empty metadata, no key, any version (the options of
    /// [`execute`](super::Repository::execute)).
    pub fn new() -> Self {
        Self::default()
    }

    /// Gives every event of the command `metadata`.
    #[must_use]
    pub fn metadata(mut self, metadata: Metadata) -> Self {
        self.metadata = metadata;
        self
    }

    /// Names the command, so that sending it again (after a lost reply, a
    /// timeout, a [transient](crate::StoreError::is_transient) error) returns
    /// the original outcome instead of applying it twice. See
    /// [`Repository::execute_with_options`](super::Repository::execute_with_options)
    /// for how far back a key is recognised.
    #[must_use]
    pub fn idempotency_key(mut self, key: IdempotencyKey) -> Self {
        self.idempotency_key = Some(key);
        self
    }

    /// Executes the command only if the aggregate is exactly at `version`, as
    /// [`execute_at`](super::Repository::execute_at) does (never retried).
    #[must_use]
    pub fn expected_version(mut self, version: u64) -> Self {
        self.expected_version = Some(version);
        self
    }

    /// The metadata every event gets.
    pub fn get_metadata(&self) -> &Metadata {
        &self.metadata
    }

    /// The command's idempotency key, if any.
    pub fn get_idempotency_key(&self) -> Option<&IdempotencyKey> {
        self.idempotency_key.as_ref()
    }

    /// The version the aggregate must be at, if any.
    pub fn get_expected_version(&self) -> Option<u64> {
        self.expected_version
    }
}

//! The "subscribed" flag of a consumer, raised while a `basic.consume` is in
//! place and lowered however the session ends (error, cancel, drop of the
//! future on shutdown), so operators never see a stale subscription.

use std::sync::atomic::{AtomicBool, Ordering};

/// Raises the flag on creation and lowers it when dropped.
pub(crate) struct Subscribed<'a>(&'a AtomicBool);

impl<'a> Subscribed<'a> {
    pub(crate) fn new(flag: &'a AtomicBool) -> Self {
        flag.store(true, Ordering::Relaxed);
        Self(flag)
    }
}

impl Drop for Subscribed<'_> {
    fn drop(&mut self) {
        self.0.store(false, Ordering::Relaxed);
    }
}

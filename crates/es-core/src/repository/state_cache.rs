//! The repository's bounded cache of warm aggregate states.
//!
//! A cached state may be stale; that is harmless, because the append's
//! version check refuses a command decided from it, a refusal or no-op
//! decided from it is confirmed against the stream's version (see
//! `attempt.rs`), and the repository then reloads. The cache only saves the
//! load of a warm aggregate.

use std::{num::NonZeroUsize, sync::Mutex};

use lru::LruCache;

use crate::{Aggregate, StreamId};

use super::Loaded;

/// The default number of aggregates the repository keeps warm.
pub const DEFAULT_CACHE_CAPACITY: usize = 1024;

/// Recently used states by stream, with their versions; capacity `0` keeps nothing.
pub(super) struct StateCache<A: Aggregate> {
    entries: Option<Mutex<LruCache<StreamId, Loaded<A>>>>,
}

impl<A: Aggregate> StateCache<A> {
    /// A cache of up to `capacity` aggregates.
    pub(super) fn new(capacity: usize) -> Self {
        Self {
            entries: NonZeroUsize::new(capacity).map(|n| Mutex::new(LruCache::new(n))),
        }
    }

    fn with<T>(&self, f: impl FnOnce(&mut LruCache<StreamId, Loaded<A>>) -> T) -> Option<T> {
        let entries = self.entries.as_ref()?;
        let mut entries = entries
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        Some(f(&mut entries))
    }

    /// The cached state of `stream_id`, if any.
    pub(super) fn get(&self, stream_id: &StreamId) -> Option<Loaded<A>> {
        self.with(|entries| entries.get(stream_id).cloned())
            .flatten()
    }

    /// Keeps `loaded`, unless a newer state of the stream is cached already.
    pub(super) fn remember(&self, stream_id: &StreamId, loaded: &Loaded<A>) {
        self.with(|entries| {
            let newer = entries
                .peek(stream_id)
                .is_some_and(|current| current.version > loaded.version);
            if !newer {
                entries.put(stream_id.clone(), loaded.clone());
            }
        });
    }

    /// Drops the cached state of `stream_id`.
    pub(super) fn forget(&self, stream_id: &StreamId) {
        self.with(|entries| entries.pop(stream_id));
    }
}

//! The repository: load an aggregate, run a command, append its events.
//!
//! This is where optimistic concurrency meets the domain. A command is decided
//! from the state at version `v` and appended with `ExpectedVersion::Exact(v)`;
//! if someone else appended first, the store refuses and the caller gets
//! [`ExecuteError::Conflict`] (or an opt-in [`RetryPolicy`] decides again).
//!
//! Warm aggregates cost one round trip: the repository keeps a bounded cache of
//! recently used states with their versions, decides from the cached state and
//! appends. A stale cache entry cannot do harm: the append's version check
//! refuses it, and the repository then reloads and decides again once before
//! reporting anything.

use std::{
    fmt,
    num::NonZeroUsize,
    sync::{Arc, Mutex},
    time::Duration,
};

use futures::TryStreamExt;
use lru::LruCache;

use crate::{
    Aggregate, AppendOutcome, EventStore, ExpectedVersion, InvalidInput, Metadata, NewEvent,
    Snapshot, SnapshotPolicy, SnapshotStore, StoreError, StreamId, Upcasters,
};

/// An aggregate's state at a version.
pub struct Loaded<A: Aggregate> {
    /// The folded state.
    pub state: A::State,
    /// The stream version the state includes (`0` = new aggregate).
    pub version: u64,
}

impl<A: Aggregate> Clone for Loaded<A> {
    fn clone(&self) -> Self {
        Self {
            state: self.state.clone(),
            version: self.version,
        }
    }
}

impl<A: Aggregate> fmt::Debug for Loaded<A>
where
    A::State: fmt::Debug,
{
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Loaded")
            .field("state", &self.state)
            .field("version", &self.version)
            .finish()
    }
}

/// The result of a committed command.
pub struct Executed<A: Aggregate> {
    /// The aggregate's stream.
    pub stream_id: StreamId,
    /// The events the command produced, as committed.
    pub events: Vec<A::Event>,
    /// The state after the events.
    pub state: A::State,
    /// The stream version after the events.
    pub version: u64,
    /// Where the events landed in the global log (use it to wait for
    /// projections: read-your-writes).
    pub outcome: AppendOutcome,
}

impl<A: Aggregate> fmt::Debug for Executed<A>
where
    A::State: fmt::Debug,
    A::Event: fmt::Debug,
{
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Executed")
            .field("stream_id", &self.stream_id)
            .field("events", &self.events)
            .field("state", &self.state)
            .field("version", &self.version)
            .field("outcome", &self.outcome)
            .finish()
    }
}

/// Why a command did not commit.
#[derive(Debug, thiserror::Error)]
pub enum ExecuteError<E: std::error::Error + 'static> {
    /// The aggregate refused the command (a domain error). Nothing was written.
    #[error(transparent)]
    Rejected(E),
    /// Another writer appended to the stream first. Nothing was written.
    #[error("concurrency conflict on {stream_id}: the command was decided at version {expected} but the stream is at version {actual}")]
    Conflict {
        /// The aggregate's stream.
        stream_id: StreamId,
        /// The version the command was decided at.
        expected: u64,
        /// The stream's version at append time.
        actual: u64,
    },
    /// The aggregate id cannot name a stream (NUL, or too long); see
    /// [`StreamId::for_aggregate`]. Nothing was read or written.
    #[error("aggregate id refused: {0}")]
    InvalidId(InvalidInput),
    /// The store failed (unreachable, undecodable stored data, …).
    #[error(transparent)]
    Store(StoreError),
}

impl<E: std::error::Error + 'static> From<StoreError> for ExecuteError<E> {
    fn from(error: StoreError) -> Self {
        match error {
            StoreError::Conflict {
                stream_id,
                expected,
                actual,
            } => ExecuteError::Conflict {
                stream_id,
                expected: match expected {
                    ExpectedVersion::Exact(v) => v,
                    _ => 0,
                },
                actual,
            },
            other => ExecuteError::Store(other),
        }
    }
}

/// How often a conflicting command is decided again on fresh state.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RetryPolicy {
    /// Total attempts, including the first (1 = no retry).
    pub max_attempts: u32,
    /// Pause before each retry, multiplied by the retry number.
    pub backoff: Duration,
}

impl RetryPolicy {
    /// No retries: a conflict is returned to the caller (the default).
    pub const fn none() -> Self {
        Self {
            max_attempts: 1,
            backoff: Duration::ZERO,
        }
    }

    /// Up to `max_attempts` attempts in all, with a short linear backoff.
    pub const fn attempts(max_attempts: u32) -> Self {
        Self {
            max_attempts,
            backoff: Duration::from_millis(2),
        }
    }
}

impl Default for RetryPolicy {
    fn default() -> Self {
        Self::none()
    }
}

/// The default number of aggregates the repository keeps warm.
pub const DEFAULT_CACHE_CAPACITY: usize = 1024;

/// Loads aggregates from an [`EventStore`] and executes commands on them.
///
/// See the crate docs for a complete example.
pub struct Repository<A: Aggregate, S> {
    store: S,
    snapshots: Option<(Arc<dyn SnapshotStore>, SnapshotPolicy)>,
    upcasters: Upcasters,
    retry: RetryPolicy,
    cache: Option<Mutex<LruCache<StreamId, Loaded<A>>>>,
    assume_new_on_miss: bool,
}

/// Where the state a command is decided from came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Source {
    /// The warm-state cache (may be stale).
    Cache,
    /// Not cached: guessed to be a new aggregate (checked by `NoStream`).
    Guess,
    /// Loaded from the store just now.
    Store,
}

impl<A: Aggregate, S: EventStore> Repository<A, S> {
    /// A repository over `store`, with a warm-state cache of
    /// [`DEFAULT_CACHE_CAPACITY`] aggregates, no snapshots and no retries.
    pub fn new(store: S) -> Self {
        Self {
            store,
            snapshots: None,
            upcasters: Upcasters::new(),
            retry: RetryPolicy::none(),
            cache: NonZeroUsize::new(DEFAULT_CACHE_CAPACITY).map(|n| Mutex::new(LruCache::new(n))),
            assume_new_on_miss: true,
        }
    }

    /// Whether a command on an aggregate that is not in the cache is first
    /// tried as if the aggregate were new (default: yes).
    ///
    /// The guess costs nothing when right (creating an aggregate is then a
    /// single append, checked by [`ExpectedVersion::NoStream`]) and one
    /// refused append when wrong, and only for commands that the new state
    /// accepts (a command the new state refuses loads the stream straight
    /// away). Turn it off if most commands on uncached aggregates are
    /// accepted by the default state, for example upserts.
    pub fn with_assume_new_on_miss(mut self, assume_new: bool) -> Self {
        self.assume_new_on_miss = assume_new;
        self
    }

    /// Takes snapshots into `snapshots` according to `policy`, and loads from them.
    pub fn with_snapshots(
        mut self,
        snapshots: impl SnapshotStore + 'static,
        policy: SnapshotPolicy,
    ) -> Self {
        self.snapshots = Some((Arc::new(snapshots), policy));
        self
    }

    /// Upcasts old event schema versions on load.
    pub fn with_upcasters(mut self, upcasters: Upcasters) -> Self {
        self.upcasters = upcasters;
        self
    }

    /// Decides again on conflicts, up to the policy's attempts.
    pub fn with_retry(mut self, retry: RetryPolicy) -> Self {
        self.retry = retry;
        self
    }

    /// Keeps up to `capacity` aggregates warm; `0` turns the cache off.
    pub fn with_cache_capacity(mut self, capacity: usize) -> Self {
        self.cache = NonZeroUsize::new(capacity).map(|n| Mutex::new(LruCache::new(n)));
        self
    }

    /// The underlying store.
    pub fn store(&self) -> &S {
        &self.store
    }

    /// The stream of aggregate `id`: `"{A::TYPE}-{id}"`, or why `id` (or
    /// `A::TYPE`) cannot name one. Never normalised: see
    /// [`StreamId::for_aggregate`].
    pub fn stream_id(id: impl fmt::Display) -> Result<StreamId, InvalidInput> {
        StreamId::for_aggregate(A::TYPE, id)
    }

    /// Loads the current state of aggregate `id` (snapshot + tail). A new
    /// aggregate has version `0` and the default state.
    ///
    /// An id that cannot name a stream is [`StoreError::InvalidInput`].
    pub async fn load(&self, id: impl fmt::Display) -> Result<Loaded<A>, StoreError> {
        let stream_id = Self::stream_id(id)?;
        let loaded = self.load_stream(&stream_id).await?;
        self.remember(&stream_id, &loaded);
        Ok(loaded)
    }

    /// Executes `command` on aggregate `id` with empty metadata.
    pub async fn execute(
        &self,
        id: impl fmt::Display,
        command: A::Command,
    ) -> Result<Executed<A>, ExecuteError<A::Error>>
    where
        A::Command: Clone,
    {
        self.execute_with(id, command, Metadata::default()).await
    }

    /// Executes `command` on aggregate `id`; every event gets `metadata`.
    pub async fn execute_with(
        &self,
        id: impl fmt::Display,
        command: A::Command,
        metadata: Metadata,
    ) -> Result<Executed<A>, ExecuteError<A::Error>>
    where
        A::Command: Clone,
    {
        let stream_id = Self::stream_id(id).map_err(ExecuteError::InvalidId)?;
        let mut attempt = 1;
        // Where the state we decide from comes from. A conflict on a cached
        // state or on the "new aggregate" guess only means we guessed wrong:
        // load and decide again, without counting it as the caller's conflict.
        let mut next = match self.cached(&stream_id) {
            Some(loaded) => Some((loaded, Source::Cache)),
            None if self.assume_new_on_miss => Some((
                Loaded {
                    state: A::State::default(),
                    version: 0,
                },
                Source::Guess,
            )),
            None => None,
        };
        loop {
            let (loaded, source) = match next.take() {
                Some(found) => found,
                None => (self.load_stream(&stream_id).await?, Source::Store),
            };
            let events = match A::handle(&loaded.state, command.clone()) {
                Ok(events) if source == Source::Guess && events.is_empty() => continue,
                Ok(events) => events,
                // The guess may simply be wrong: decide again on the real state.
                Err(_) if source == Source::Guess => continue,
                Err(rejected) => return Err(ExecuteError::Rejected(rejected)),
            };
            match self
                .append_decided(&stream_id, loaded, events, &metadata)
                .await
            {
                Err(ExecuteError::Conflict { .. }) if source != Source::Store => {
                    self.forget(&stream_id);
                }
                Err(ExecuteError::Conflict { .. }) if attempt < self.retry.max_attempts => {
                    self.forget(&stream_id);
                    tokio::time::sleep(self.retry.backoff * attempt).await;
                    attempt += 1;
                }
                Err(error) => {
                    if matches!(error, ExecuteError::Conflict { .. }) {
                        self.forget(&stream_id);
                    }
                    return Err(error);
                }
                Ok(executed) => return Ok(executed),
            }
        }
    }

    /// Executes `command` only if aggregate `id` is exactly at `version`
    /// (for example the version a client last saw). Never retries: any other
    /// version is an [`ExecuteError::Conflict`].
    pub async fn execute_at(
        &self,
        id: impl fmt::Display,
        version: u64,
        command: A::Command,
        metadata: Metadata,
    ) -> Result<Executed<A>, ExecuteError<A::Error>> {
        let stream_id = Self::stream_id(id).map_err(ExecuteError::InvalidId)?;
        let loaded = match self.cached(&stream_id) {
            Some(loaded) if loaded.version == version => loaded,
            _ => self.load_stream(&stream_id).await?,
        };
        if loaded.version != version {
            return Err(ExecuteError::Conflict {
                stream_id,
                expected: version,
                actual: loaded.version,
            });
        }
        let result = self
            .decide_and_append(&stream_id, loaded, command, &metadata)
            .await;
        if matches!(result, Err(ExecuteError::Conflict { .. })) {
            self.forget(&stream_id);
        }
        result
    }

    async fn decide_and_append(
        &self,
        stream_id: &StreamId,
        loaded: Loaded<A>,
        command: A::Command,
        metadata: &Metadata,
    ) -> Result<Executed<A>, ExecuteError<A::Error>> {
        let events = A::handle(&loaded.state, command).map_err(ExecuteError::Rejected)?;
        self.append_decided(stream_id, loaded, events, metadata)
            .await
    }

    async fn append_decided(
        &self,
        stream_id: &StreamId,
        loaded: Loaded<A>,
        events: Vec<A::Event>,
        metadata: &Metadata,
    ) -> Result<Executed<A>, ExecuteError<A::Error>> {
        let before = loaded.version;
        if events.is_empty() {
            return Ok(Executed {
                stream_id: stream_id.clone(),
                events,
                state: loaded.state,
                version: before,
                outcome: AppendOutcome {
                    version: before,
                    first_position: None,
                    last_position: None,
                },
            });
        }
        let new_events = events
            .iter()
            .map(|event| {
                NewEvent::from_domain(event)
                    .map(|e| e.with_metadata(metadata.clone()))
                    .map_err(|source| StoreError::Encode {
                        event_type: crate::DomainEvent::event_type(event).to_owned(),
                        source,
                    })
            })
            .collect::<Result<Vec<_>, _>>()?;
        let outcome = self
            .store
            .append(stream_id, ExpectedVersion::Exact(before), new_events)
            .await?;
        let state = A::fold(loaded.state, &events);
        let executed: Executed<A> = Executed {
            stream_id: stream_id.clone(),
            events,
            state,
            version: outcome.version,
            outcome,
        };
        self.remember(
            stream_id,
            &Loaded::<A> {
                state: executed.state.clone(),
                version: executed.version,
            },
        );
        self.maybe_snapshot(stream_id, before, &executed).await;
        Ok(executed)
    }

    async fn maybe_snapshot(&self, stream_id: &StreamId, before: u64, executed: &Executed<A>) {
        let Some((snapshots, policy)) = &self.snapshots else {
            return;
        };
        if !policy.should_snapshot(before, executed.version) {
            return;
        }
        let state = match serde_json::to_value(&executed.state) {
            Ok(state) => state,
            Err(error) => {
                tracing::warn!(%stream_id, %error, "cannot serialize state for a snapshot");
                return;
            }
        };
        let snapshot = Snapshot {
            stream_id: stream_id.clone(),
            version: executed.version,
            state,
        };
        // The command has committed; a failed snapshot only costs a longer load.
        if let Err(error) = snapshots.save_snapshot(snapshot).await {
            tracing::warn!(%stream_id, %error, "saving a snapshot failed");
        }
    }

    async fn load_stream(&self, stream_id: &StreamId) -> Result<Loaded<A>, StoreError> {
        let mut loaded = Loaded::<A> {
            state: A::State::default(),
            version: 0,
        };
        if let Some((snapshots, _)) = &self.snapshots {
            if let Some(snapshot) = snapshots.load_snapshot(stream_id).await? {
                match serde_json::from_value(snapshot.state) {
                    Ok(state) => {
                        loaded = Loaded {
                            state,
                            version: snapshot.version,
                        }
                    }
                    Err(error) => tracing::warn!(
                        %stream_id, %error,
                        "ignoring a snapshot that no longer decodes; replaying the stream"
                    ),
                }
            }
        }
        let mut tail = self.store.replay_stream(stream_id, loaded.version + 1);
        while let Some(stored) = tail.try_next().await? {
            let version = stored.version;
            let event = stored.decode_with::<A::Event>(stream_id, &self.upcasters)?;
            loaded.state = A::apply(loaded.state, &event);
            loaded.version = version;
        }
        Ok(loaded)
    }

    fn cached(&self, stream_id: &StreamId) -> Option<Loaded<A>> {
        let cache = self.cache.as_ref()?;
        let mut cache = cache
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        cache.get(stream_id).cloned()
    }

    fn remember(&self, stream_id: &StreamId, loaded: &Loaded<A>) {
        if let Some(cache) = &self.cache {
            let mut cache = cache
                .lock()
                .unwrap_or_else(|poisoned| poisoned.into_inner());
            // Never replace a newer entry with an older one.
            if cache
                .peek(stream_id)
                .is_some_and(|current| current.version > loaded.version)
            {
                return;
            }
            cache.put(stream_id.clone(), loaded.clone());
        }
    }

    fn forget(&self, stream_id: &StreamId) {
        if let Some(cache) = &self.cache {
            let mut cache = cache
                .lock()
                .unwrap_or_else(|poisoned| poisoned.into_inner());
            cache.pop(stream_id);
        }
    }
}

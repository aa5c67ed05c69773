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
//! refuses a command decided from it, and a refusal or no-op decided from it
//! (which writes nothing, so nothing checks it) is confirmed against the
//! stream's current version before it is returned; either way the repository
//! reloads and decides again before reporting anything.
//!
//! A command can carry an [`IdempotencyKey`] ([`ExecuteOptions`]): sent again
//! after an ambiguous failure, it returns its original outcome instead of
//! being applied twice (see [`Repository::execute_with_options`]).

mod append;
mod attempt;
mod execute_error;
mod execute_options;
mod idempotency_key;
mod load;
mod loaded;
mod retry_policy;
mod state_cache;

use std::{fmt, sync::Arc};

use tracing::Instrument;

use crate::{
    Aggregate, EventStore, InvalidInput, Metadata, SnapshotPolicy, SnapshotStore, StoreError,
    StreamId, Upcasters,
};

use attempt::{Attempt, Loading, Source};
pub use execute_error::ExecuteError;
pub use execute_options::ExecuteOptions;
pub use idempotency_key::IdempotencyKey;
pub use loaded::{Executed, Loaded};
pub use retry_policy::RetryPolicy;
use state_cache::StateCache;
pub use state_cache::DEFAULT_CACHE_CAPACITY;

/// Loads aggregates from an [`EventStore`] and executes commands on them.
///
/// See the crate docs for a complete example.
pub struct Repository<A: Aggregate, S> {
    store: S,
    snapshots: Option<(Arc<dyn SnapshotStore>, SnapshotPolicy)>,
    upcasters: Upcasters,
    retry: RetryPolicy,
    cache: StateCache<A>,
    assume_new_on_miss: bool,
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
            cache: StateCache::new(DEFAULT_CACHE_CAPACITY),
            assume_new_on_miss: true,
        }
    }

    /// Whether a command on an aggregate that is not in the cache is first
    /// tried as if the aggregate were new (default: yes).
    ///
    /// The guess costs nothing when right (creating an aggregate is then a
    /// single append, checked by [`ExpectedVersion::NoStream`](crate::ExpectedVersion::NoStream)) and one
    /// refused append when wrong, and only for commands that the new state
    /// accepts (a command the new state refuses loads the stream straight
    /// away). Turn it off if most commands on uncached aggregates are
    /// accepted by the default state, for example upserts.
    #[must_use]
    pub fn with_assume_new_on_miss(mut self, assume_new: bool) -> Self {
        self.assume_new_on_miss = assume_new;
        self
    }

    /// Takes snapshots into `snapshots` according to `policy`, and loads
    /// from them. A snapshot of another [`Aggregate::SNAPSHOT_REVISION`], or
    /// one that no longer decodes, is ignored and replaced after a full replay.
    #[must_use]
    pub fn with_snapshots(
        mut self,
        snapshots: impl SnapshotStore + 'static,
        policy: SnapshotPolicy,
    ) -> Self {
        self.snapshots = Some((Arc::new(snapshots), policy));
        self
    }

    /// Upcasts old event schema versions on load; a stored version the chain
    /// does not bring to the event's current one is a
    /// [`DecodeFailure::SchemaVersionGap`](crate::DecodeFailure::SchemaVersionGap).
    #[must_use]
    pub fn with_upcasters(mut self, upcasters: Upcasters) -> Self {
        self.upcasters = upcasters;
        self
    }

    /// Decides again on conflicts, up to the policy's attempts.
    #[must_use]
    pub fn with_retry(mut self, retry: RetryPolicy) -> Self {
        self.retry = retry;
        self
    }

    /// Keeps up to `capacity` aggregates warm; `0` turns the cache off.
    #[must_use]
    pub fn with_cache_capacity(mut self, capacity: usize) -> Self {
        self.cache = StateCache::new(capacity);
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
        self.cache.remember(&stream_id, &loaded);
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
        self.execute_with_options(id, command, ExecuteOptions::new())
            .await
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
        self.execute_with_options(id, command, ExecuteOptions::new().metadata(metadata))
            .await
    }

    /// Executes `command` on aggregate `id` with `options`: metadata, an
    /// [`IdempotencyKey`], an expected version (as
    /// [`execute_at`](Self::execute_at)).
    ///
    /// With a key, sending the same command again (same aggregate, same key)
    /// after an ambiguous failure (a [transient](StoreError::is_transient)
    /// error, a timeout: the commit may or may not have happened) returns
    /// the original outcome (its events, the state after them, its version
    /// and positions) instead of applying it twice, whatever landed on the
    /// stream in between and whichever repository the retry goes through.
    /// The key's events carry ids derived from it
    /// ([`IdempotencyKey::event_id`]). Limits:
    /// * a key is recognised among the events the repository reads (those
    ///   after the snapshot it loads from) and wherever the store reports
    ///   the key's ids; with snapshots on, a keyed command that would be
    ///   refused, be a no-op or conflict first replays the whole stream to
    ///   look for its key (so the retry of a command whose own commit took
    ///   a snapshot is still recognised);
    /// * a refused command or one that produced no events leaves no trace:
    ///   sending it again decides it again;
    /// * a key names one command: another command sent with a key already
    ///   used on the aggregate gets the first command's outcome.
    ///
    /// A keyed command costs what an unkeyed one does while its decision
    /// produces events; when it has to load (cold cache, a refusal or no-op
    /// from the cache, a conflict), the load reads whole events (with ids
    /// and positions) rather than the replay columns.
    pub async fn execute_with_options(
        &self,
        id: impl fmt::Display,
        command: A::Command,
        options: ExecuteOptions,
    ) -> Result<Executed<A>, ExecuteError<A::Error>>
    where
        A::Command: Clone,
    {
        let stream_id = Self::stream_id(id).map_err(ExecuteError::InvalidId)?;
        let span = execute_span(&stream_id, options.get_metadata());
        match options.get_expected_version() {
            Some(version) => {
                span.record("expected_version", version);
                let work = self.execute_at_in_span(&stream_id, version, command, &options);
                in_span(span, work).await
            }
            None => in_span(span, self.execute_in_span(&stream_id, command, &options)).await,
        }
    }

    async fn execute_in_span(
        &self,
        stream_id: &StreamId,
        command: A::Command,
        options: &ExecuteOptions,
    ) -> Result<Executed<A>, ExecuteError<A::Error>>
    where
        A::Command: Clone,
    {
        let key = options.get_idempotency_key();
        let mut attempt = 1;
        // Where the state we decide from comes from. A conflict on a cached
        // state or on the "new aggregate" guess only means we guessed wrong:
        // load and decide again, without counting it as the caller's conflict.
        let mut next = match self.cache.get(stream_id) {
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
                None => match self.load_for(stream_id, key).await? {
                    Loading::Applied(executed) => return Ok(executed),
                    Loading::Loaded(loaded) => (loaded, Source::Store),
                },
            };
            let before = loaded.version;
            match self
                .attempt(stream_id, loaded, source, command.clone(), options)
                .await?
            {
                Attempt::Answer(answer) => return answer,
                Attempt::Stale {
                    fresh,
                    actual,
                    refused_append,
                } => {
                    if refused_append && source == Source::Store {
                        if attempt >= self.retry.max_attempts {
                            return Err(ExecuteError::Conflict {
                                stream_id: stream_id.clone(),
                                expected: before,
                                actual: actual.unwrap_or_default(),
                            });
                        }
                        tokio::time::sleep(self.retry.backoff * attempt).await;
                        attempt += 1;
                    }
                    next = fresh.map(|fresh| (fresh, Source::Store));
                }
            }
        }
    }

    /// Executes `command` only if aggregate `id` is exactly at `version`
    /// (for example the version a client last saw). Never retries: any other
    /// version is an [`ExecuteError::Conflict`], also when a refusal or
    /// no-op was decided from a cached state the stream has moved past.
    pub async fn execute_at(
        &self,
        id: impl fmt::Display,
        version: u64,
        command: A::Command,
        metadata: Metadata,
    ) -> Result<Executed<A>, ExecuteError<A::Error>> {
        let stream_id = Self::stream_id(id).map_err(ExecuteError::InvalidId)?;
        let span = execute_span(&stream_id, &metadata);
        span.record("expected_version", version);
        let options = ExecuteOptions::new().metadata(metadata);
        in_span(
            span,
            self.execute_at_in_span(&stream_id, version, command, &options),
        )
        .await
    }

    async fn execute_at_in_span(
        &self,
        stream_id: &StreamId,
        version: u64,
        command: A::Command,
        options: &ExecuteOptions,
    ) -> Result<Executed<A>, ExecuteError<A::Error>> {
        let conflict = |actual| ExecuteError::Conflict {
            stream_id: stream_id.clone(),
            expected: version,
            actual,
        };
        let (loaded, source) = match self.cache.get(stream_id) {
            Some(loaded) if loaded.version == version => (loaded, Source::Cache),
            _ => match self
                .load_for(stream_id, options.get_idempotency_key())
                .await?
            {
                Loading::Applied(executed) => return Ok(executed),
                Loading::Loaded(loaded) => (loaded, Source::Store),
            },
        };
        if loaded.version != version {
            // Not at the version asked for: unless the keyed command's own
            // commit (from before a snapshot) is what moved it.
            let key = options.get_idempotency_key();
            if let Some(executed) = self.recognise_before_snapshot(stream_id, key).await? {
                return Ok(executed);
            }
            return Err(conflict(loaded.version));
        }
        match self
            .attempt(stream_id, loaded, source, command, options)
            .await?
        {
            Attempt::Answer(answer) => answer,
            Attempt::Stale {
                actual: Some(actual),
                ..
            } => Err(conflict(actual)),
            Attempt::Stale { actual: None, .. } => {
                Err(conflict(self.store.stream_version(stream_id).await?))
            }
        }
    }
}

/// The span of one command: its stream, the trace it belongs to (when the
/// metadata carries one), and, once it committed, the stream's version.
fn execute_span(stream_id: &StreamId, metadata: &Metadata) -> tracing::Span {
    let trace = metadata.trace_context;
    tracing::info_span!(
        "es.execute",
        %stream_id,
        trace_id = trace.map(|t| t.trace_id_hex()).as_deref(),
        parent_id = trace.map(|t| t.parent_id_hex()).as_deref(),
        expected_version = tracing::field::Empty,
        version = tracing::field::Empty,
    )
}

/// Runs a command's `work` in its `span`, recording the stream's version
/// once it committed.
async fn in_span<A: Aggregate>(
    span: tracing::Span,
    work: impl std::future::Future<Output = Result<Executed<A>, ExecuteError<A::Error>>>,
) -> Result<Executed<A>, ExecuteError<A::Error>> {
    let result = work.instrument(span.clone()).await;
    if let Ok(executed) = &result {
        span.record("version", executed.version);
    }
    result
}

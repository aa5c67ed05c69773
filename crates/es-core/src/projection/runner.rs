//! The runner: one transaction per batch, checkpoint included, catch-up,
//! live following, rebuilds and read-your-writes.

use std::{pin::pin, sync::Arc, time::Duration};

use tokio::sync::watch;
use tracing::Instrument;

use crate::projection::{CatchUpMeter, CatchUpProgress};
use crate::{
    CheckpointStore, EventStore, Liveness, Position, Projection, ProjectionError, RecordedEvent,
    Subscription, UndecodablePolicy,
};

/// Feeds a projection from the event log, one transaction per batch.
///
/// Clone it freely: clones share the checkpoint watch.
pub struct ProjectionRunner<S, C, P> {
    store: S,
    checkpoints: Arc<C>,
    projection: Arc<P>,
    batch_size: usize,
    poll_interval: Duration,
    undecodable: UndecodablePolicy,
    progress: Arc<watch::Sender<Position>>,
    catch_up: Arc<watch::Sender<Option<CatchUpProgress>>>,
    liveness: Liveness,
}

impl<S: Clone, C, P> Clone for ProjectionRunner<S, C, P> {
    fn clone(&self) -> Self {
        Self {
            store: self.store.clone(),
            checkpoints: self.checkpoints.clone(),
            projection: self.projection.clone(),
            batch_size: self.batch_size,
            poll_interval: self.poll_interval,
            undecodable: self.undecodable,
            progress: self.progress.clone(),
            catch_up: self.catch_up.clone(),
            liveness: self.liveness.clone(),
        }
    }
}

impl<S, C, P> ProjectionRunner<S, C, P>
where
    S: EventStore + Clone,
    C: CheckpointStore,
    P: Projection<C::Transaction>,
{
    /// A runner for `projection`, reading `store`, committing into `checkpoints`.
    ///
    /// # Errors
    ///
    /// [`ProjectionError::InvalidName`] when the projection's
    /// [`name`](Projection::name), the key of its checkpoint, breaks the rule
    /// of names ([`check_name`](crate::backend::check_name): 1 to 200 bytes, not
    /// blank, no control character): no checkpoint store could ever keep it,
    /// so it is refused here rather than on every load and commit.
    pub fn new(store: S, checkpoints: C, projection: P) -> Result<Self, ProjectionError> {
        crate::backend::check_projection_name(projection.name())?;
        Ok(Self {
            store,
            checkpoints: Arc::new(checkpoints),
            projection: Arc::new(projection),
            batch_size: crate::subscription::DEFAULT_PAGE_SIZE,
            poll_interval: crate::subscription::DEFAULT_POLL_INTERVAL,
            undecodable: UndecodablePolicy::default(),
            progress: Arc::new(watch::channel(Position::START).0),
            catch_up: Arc::new(watch::channel(None).0),
            liveness: Liveness::new(),
        })
    }

    /// Events per transaction (at least 1).
    #[must_use]
    pub fn with_batch_size(mut self, batch_size: usize) -> Self {
        self.batch_size = batch_size.max(1);
        self
    }

    /// The safety-net poll interval of [`run`](Self::run).
    #[must_use]
    pub fn with_poll_interval(mut self, poll_interval: Duration) -> Self {
        self.poll_interval = poll_interval;
        self
    }

    /// What to do with a stored event that cannot be decoded (default:
    /// [`UndecodablePolicy::Stop`]: the runner returns the error and the
    /// checkpoint stays before the event). Under
    /// [`UndecodablePolicy::Skip`] the checkpoint moves past it.
    #[must_use]
    pub fn with_undecodable_policy(mut self, policy: UndecodablePolicy) -> Self {
        self.undecodable = policy;
        self
    }

    /// The projection.
    pub fn projection(&self) -> &P {
        &self.projection
    }

    /// The checkpoint store.
    pub fn checkpoints(&self) -> &C {
        &self.checkpoints
    }

    /// Applies everything committed so far; returns the new checkpoint.
    /// Reports how far it is on [`catch_up_progress`](Self::catch_up_progress).
    pub async fn catch_up(&self) -> Result<Position, ProjectionError> {
        self.catch_up_counting(Count::AfterAFullBatch).await
    }

    async fn catch_up_counting(&self, count: Count) -> Result<Position, ProjectionError> {
        let mut subscription = self.subscription().await?;
        let (mut meter, mut counted) = self.start_meter(subscription.position(), count).await;
        while let Some(events) = self.step(&mut subscription).await? {
            self.advance(&mut meter, &mut counted, events, subscription.position())
                .await;
        }
        meter.finish();
        self.report(&meter);
        Ok(subscription.position())
    }

    /// The progress of this runner's current or last
    /// [`catch_up`](Self::catch_up) ([`rebuild`](Self::rebuild), and the
    /// catch-up [`run_until`](Self::run_until) does before following the log
    /// live): `None` before the first, then updated after every batch, with the events
    /// that lay after the checkpoint at its start as the target when the
    /// store can count them ([`EventStore::count_after`]). `rebuild` and
    /// `run_until` count at the start; `catch_up` only once a first full
    /// batch shows there is more than one batch to do, so the short
    /// catch-up before a read (read-your-writes) costs no count query.
    /// Rendering it (a bar, log lines) is the caller's business.
    pub fn catch_up_progress(&self) -> watch::Receiver<Option<CatchUpProgress>> {
        self.catch_up.subscribe()
    }

    /// A meter for a catch-up from `from`, and whether its target was
    /// counted (at once for [`Count::AtTheStart`]).
    async fn start_meter(&self, from: Position, count: Count) -> (CatchUpMeter, bool) {
        let mut meter = CatchUpMeter::start(from, None, std::time::Instant::now());
        let counted = count == Count::AtTheStart;
        if counted {
            self.count_remaining(&mut meter, from).await;
        }
        self.report(&meter);
        (meter, counted)
    }

    /// Sets `meter`'s target to what the store counts after `position`
    /// (best effort: no target when it cannot count).
    async fn count_remaining(&self, meter: &mut CatchUpMeter, position: Position) {
        match self.store.count_after(position).await {
            Ok(Some(remaining)) => meter.set_remaining(remaining),
            Ok(None) => {}
            Err(error) => {
                tracing::debug!(projection = self.projection.name(), %error, "cannot count the catch-up's events");
            }
        }
    }

    /// `events` more applied, up to `position`. After the first full batch
    /// (more is likely to follow) the store counts what is left, once (best
    /// effort: progress without a target when it cannot count).
    async fn advance(
        &self,
        meter: &mut CatchUpMeter,
        counted: &mut bool,
        events: u64,
        position: Position,
    ) {
        meter.advance(events, position);
        if !*counted && events >= self.batch_size as u64 {
            *counted = true;
            self.count_remaining(meter, position).await;
        }
        self.report(meter);
    }

    fn report(&self, meter: &CatchUpMeter) {
        self.catch_up
            .send_replace(Some(meter.progress(std::time::Instant::now())));
    }

    /// What [`run_until`](Self::run_until) reports while it runs: busy from
    /// loading its checkpoint and while it reads or applies a batch,
    /// progress after each committed batch, idle while it waits for new
    /// events (and while it counts a catch-up's events, a best-effort
    /// query that may be slow on a long log). A supervisor (es-lease's
    /// `Leader`) deposes a runner stuck with work in hand.
    pub fn liveness(&self) -> &Liveness {
        &self.liveness
    }

    /// Catches up, then follows the log live. Returns only on error.
    pub async fn run(&self) -> Result<(), ProjectionError> {
        self.run_until(std::future::pending()).await
    }

    /// Like [`run`](Self::run), but returns `Ok` once `stop` resolves: a
    /// batch being applied is finished (and its checkpoint committed) first,
    /// only the wait for new events is cut short.
    pub async fn run_until(
        &self,
        stop: impl std::future::Future<Output = ()>,
    ) -> Result<(), ProjectionError> {
        let mut stop = pin!(stop);
        let liveness = &self.liveness;
        liveness.busy();
        let mut subscription = self.subscription().await?;
        liveness.idle();
        // The catch-up before following live is reported like `catch_up`'s.
        let (meter, mut counted) = self
            .start_meter(subscription.position(), Count::AtTheStart)
            .await;
        let mut catching_up = Some(meter);
        loop {
            if futures::poll!(stop.as_mut()).is_ready() {
                liveness.idle();
                return Ok(());
            }
            liveness.busy();
            match self.step(&mut subscription).await? {
                Some(events) => {
                    liveness.progressed();
                    if let Some(meter) = &mut catching_up {
                        self.advance(meter, &mut counted, events, subscription.position())
                            .await;
                    }
                }
                None => {
                    liveness.idle();
                    if let Some(mut meter) = catching_up.take() {
                        meter.finish();
                        self.report(&meter);
                    }
                    tokio::select! {
                        biased;
                        () = stop.as_mut() => return Ok(()),
                        () = subscription.wait() => {}
                    }
                }
            }
        }
    }

    /// Applies the next batch: how many events it applied, `None` when there
    /// was nothing to apply. When another runner moved the checkpoint,
    /// starts again from where it is (having applied nothing).
    async fn step(
        &self,
        subscription: &mut Subscription<S>,
    ) -> Result<Option<u64>, ProjectionError> {
        let from = subscription.position();
        let batch = subscription.next_batch().await?;
        let to = subscription.position();
        if to == from {
            return Ok(None);
        }
        match self.apply_batch(from, to, &batch).await {
            Err(ProjectionError::CheckpointMoved { .. }) => {
                *subscription = self.subscription().await?;
                Ok(Some(0))
            }
            other => other.map(|()| Some(batch.len() as u64)),
        }
    }

    /// Resets the projection and its checkpoint in one transaction, then
    /// applies the whole log again.
    ///
    /// The checkpoint to move from is read before the transaction starts
    /// (work inside a transaction never asks the store for a second
    /// connection, so a pool of one connection is enough); the commit's
    /// compare-and-set still catches another runner moving it in between,
    /// and the reset is then tried again (five attempts in all).
    pub async fn rebuild(&self) -> Result<Position, ProjectionError> {
        let name = self.projection.name();
        let mut attempt = 1;
        loop {
            let previous = self.checkpoints.load_checkpoint(name).await?;
            let mut tx = self.checkpoints.begin().await?;
            self.projection
                .reset(&mut tx)
                .await
                .map_err(ProjectionError::Backend)?;
            match self
                .checkpoints
                .commit(tx, name, previous, Position::START)
                .await
            {
                Ok(()) => break,
                Err(ProjectionError::CheckpointMoved { .. }) if attempt < REBUILD_ATTEMPTS => {
                    attempt += 1;
                }
                Err(error) => return Err(error),
            }
        }
        self.progress.send_replace(Position::START);
        self.catch_up_counting(Count::AtTheStart).await
    }

    /// The committed checkpoint, as last seen by this runner.
    pub fn progress(&self) -> watch::Receiver<Position> {
        self.progress.subscribe()
    }

    /// Waits until this runner has committed `position` (read-your-writes).
    pub async fn wait_for(&self, position: Position) -> Result<(), ProjectionError> {
        let mut progress = self.progress.subscribe();
        progress
            .wait_for(|reached| *reached >= position)
            .await
            .map(|_| ())
            .map_err(|_| ProjectionError::Stopped)
    }

    async fn subscription(&self) -> Result<Subscription<S>, ProjectionError> {
        let checkpoint = self
            .checkpoints
            .load_checkpoint(self.projection.name())
            .await?;
        self.progress.send_if_modified(|p| {
            let advanced = *p < checkpoint;
            if advanced {
                *p = checkpoint;
            }
            advanced
        });
        Ok(Subscription::new(self.store.clone(), checkpoint)
            .with_page_size(self.batch_size)
            .with_poll_interval(self.poll_interval)
            .with_undecodable_policy(self.undecodable))
    }

    /// Applies `batch` and moves the checkpoint from `from` to `to` in one
    /// transaction. `to` is the batch's last position, or beyond it when the
    /// subscription skipped an undecodable event (then `batch` may be empty).
    async fn apply_batch(
        &self,
        from: Position,
        to: Position,
        batch: &[RecordedEvent],
    ) -> Result<(), ProjectionError> {
        let span = batch_span(self.projection.name(), from, to, batch);
        async {
            let mut tx = self.checkpoints.begin().await?;
            if !batch.is_empty() {
                self.projection.apply_batch(&mut tx, batch).await?;
            }
            self.checkpoints
                .commit(tx, self.projection.name(), from, to)
                .await
        }
        .instrument(span)
        .await?;
        es_telemetry::metrics::projection_applied(self.projection.name(), batch.len());
        self.progress.send_if_modified(|p| {
            let advanced = *p < to;
            if advanced {
                *p = to;
            }
            advanced
        });
        Ok(())
    }
}

/// The span of one projection batch: the projection, the checkpoint it moves
/// from and to, the events, and the distinct traces they belong to (the
/// trace ids of the commands that wrote them, space-separated, at most
/// [`MAX_TRACE_IDS`]).
fn batch_span(
    projection: &str,
    from: Position,
    to: Position,
    batch: &[RecordedEvent],
) -> tracing::Span {
    let span = tracing::debug_span!(
        "es.projection.batch",
        projection,
        %from,
        %to,
        events = batch.len(),
        first_stream_id = batch.first().map(|e| e.stream_id.as_str()),
        first_version = batch.first().map(|e| e.version),
        trace_ids = tracing::field::Empty,
    );
    // Collecting the trace ids walks the batch: only for a span someone sees.
    if !span.is_disabled() {
        let mut trace_ids: Vec<String> = Vec::new();
        for context in batch
            .iter()
            .filter_map(|event| event.metadata.trace_context)
        {
            let id = context.trace_id_hex();
            if trace_ids.len() < MAX_TRACE_IDS && !trace_ids.contains(&id) {
                trace_ids.push(id);
            }
        }
        if !trace_ids.is_empty() {
            span.record("trace_ids", trace_ids.join(" ").as_str());
        }
    }
    span
}

/// How many trace ids a projection batch's span lists.
const MAX_TRACE_IDS: usize = 16;

/// How often [`ProjectionRunner::rebuild`] resets again when another runner
/// moved the checkpoint between reading it and committing the reset.
const REBUILD_ATTEMPTS: u32 = 5;

/// When a catch-up counts the events it has to do (its progress target).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Count {
    /// Before the first batch: rebuilds and a leader's catch-up, which are
    /// rare and often long.
    AtTheStart,
    /// After a first full batch only: the frequent, usually short catch-up
    /// before a read.
    AfterAFullBatch,
}

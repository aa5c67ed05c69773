//! The Booking service: commands through the repository, queries through the
//! projection, history from the event store.
//!
//! It is generic over the event store and the projector's checkpoint store,
//! so embedded mode (SQLite files) and server mode (PostgreSQL) run the same
//! code. Read-your-writes: a command returns once the projection has
//! applied its events, and a query first catches the projection up, so a
//! query right after a command sees it. When the projection cannot confirm
//! in time, the command has still succeeded (its events are stored) and
//! says how far behind the read model is; a query that cannot show
//! everything committed says so too ([`ReadModelLag`]). Every command runs in a
//! trace (its [`TraceContext`], recorded in its events' metadata) that the
//! events carry to Parking.

use std::time::Duration;

use es_core::dcb::{AppendCondition, DcbStore, TaggedEvent};
use es_core::{
    CheckpointStore, ExecuteError, ExpectedVersion, InvalidInput, Metadata, Position, Projection,
    ProjectionError, ProjectionRunner, Repository, RetryPolicy, StoreError, TraceContext,
};
use futures::TryStreamExt;
use uuid::Uuid;

use super::{
    aggregate::{Booking, BookingCommand, BookingError},
    projection::BookingProjection,
    read_model_lag::{Answered, ReadModelLag},
    slot_boundary::{slot_bookings, slot_tag},
    views::{BookingRow, BookingViews},
};
use crate::common::booking_event::{BookingEvent, BookingStatus};

/// How long a command waits for the projection to show its events before it
/// answers with the read model's lag instead.
pub const PROJECTION_TIMEOUT: Duration = Duration::from_secs(10);

/// How often a request for a slot decides again after another request for
/// the same slot committed first (each new decision sees that booking, so a
/// second attempt normally ends in a clear refusal).
const CREATE_ATTEMPTS: usize = 5;

/// Why a booking command or query failed.
#[derive(Debug, thiserror::Error)]
pub enum BookingServiceError {
    /// The booking refused the command; nothing was written.
    #[error("cannot {action} booking {id}: {reason}")]
    Refused {
        /// `reserve`, `complete`, …
        action: &'static str,
        /// The booking.
        id: Uuid,
        /// Why.
        reason: BookingError,
    },
    /// Other commands kept changing the booking while this one was decided.
    #[error(
        "cannot {action} booking {id}: it kept changing while the command was decided; try again"
    )]
    Conflict {
        /// `reserve`, `complete`, …
        action: &'static str,
        /// The booking.
        id: Uuid,
    },
    /// The slot is held by another booking (created or reserved); nothing
    /// was written.
    #[error("cannot create a booking for slot {slot}: booking {holder} holds it ({status}); it frees the slot when it is completed")]
    SlotTaken {
        /// The slot asked for.
        slot: Uuid,
        /// The booking that holds it.
        holder: Uuid,
        /// That booking's status.
        status: BookingStatus,
    },
    /// No booking has this id.
    #[error("no booking {0}")]
    NotFound(Uuid),
    /// The event store failed.
    #[error("event store: {0}")]
    Store(#[from] StoreError),
    /// The projection failed.
    #[error("booking projection: {0}")]
    Projection(#[from] ProjectionError),
    /// The projector database failed.
    #[error("projector database: {0}")]
    Views(#[from] sqlx::Error),
    /// The booking id cannot name a stream.
    #[error("booking id refused: {0}")]
    InvalidId(#[from] InvalidInput),
    /// The command failed in a way this service does not tell apart.
    #[error("cannot {action} booking {id}: {source}")]
    Failed {
        /// `reserve`, `complete`, …
        action: &'static str,
        /// The booking.
        id: Uuid,
        /// What the repository said.
        #[source]
        source: Box<ExecuteError<BookingError>>,
    },
}

/// Commands and queries of the Booking service.
pub struct BookingService<S, C> {
    repository: Repository<Booking, S>,
    projector: ProjectionRunner<S, C, BookingProjection>,
    views: BookingViews,
}

impl<S, C> BookingService<S, C>
where
    S: DcbStore + Clone + 'static,
    C: CheckpointStore + 'static,
    BookingProjection: Projection<C::Transaction>,
{
    /// A service over `store`, projecting into `checkpoints`' database, read through `views`.
    ///
    /// # Errors
    ///
    /// The projection's name is refused by [`ProjectionRunner::new`].
    pub fn new(store: S, checkpoints: C, views: BookingViews) -> Result<Self, BookingServiceError> {
        // A conflict means another command changed the booking first: decide
        // again on the fresh state, which turns a lost race into a clear
        // refusal ("the booking is reserved; …") instead of a retry prompt.
        let repository = Repository::new(store.clone()).with_retry(RetryPolicy::attempts(5));
        let projector = ProjectionRunner::new(store, checkpoints, BookingProjection)?;
        Ok(Self {
            repository,
            projector,
            views,
        })
    }

    /// The projection runner (what `booking serve` runs).
    pub fn projector(&self) -> &ProjectionRunner<S, C, BookingProjection> {
        &self.projector
    }

    /// `create_booking_request`: a new booking for `parking_slot_ref_no`,
    /// in the trace `trace`, unless another booking holds the slot
    /// ([`BookingServiceError::SlotTaken`]; see
    /// [`slot_boundary`](super::slot_boundary)).
    pub async fn create(
        &self,
        parking_slot_ref_no: Uuid,
        trace: TraceContext,
    ) -> Result<Answered<Uuid>, BookingServiceError> {
        let id = Uuid::new_v4();
        let stream_id = Repository::<Booking, S>::stream_id(id)?;
        let tag = slot_tag(parking_slot_ref_no)?;
        let query = slot_bookings(&tag);
        let created = BookingEvent::BookingCreated {
            parking_slot_ref_no,
        };
        // One event id for every attempt: an attempt that committed but
        // whose reply was lost is found again, not written twice.
        let event = TaggedEvent::from_domain(&created, [tag])?;
        let event = TaggedEvent {
            event: event
                .event
                .with_metadata(Metadata::default().with_trace_context(trace)),
            ..event
        };
        let store = self.repository.store();
        for _ in 0..CREATE_ATTEMPTS {
            let read = store.read_query(&query, None, None).await?;
            for earlier in read.events.iter().rev() {
                let holder = earlier
                    .event
                    .stream_id
                    .aggregate_id()
                    .and_then(|id| Uuid::parse_str(id).ok());
                let Some(holder) = holder else { continue };
                let loaded = self.repository.load(holder).await?;
                if let Some(booking) = loaded.state {
                    if matches!(
                        booking.status,
                        BookingStatus::Created | BookingStatus::Reserved
                    ) {
                        return Err(BookingServiceError::SlotTaken {
                            slot: parking_slot_ref_no,
                            holder,
                            status: booking.status,
                        });
                    }
                }
            }
            let condition = AppendCondition::new(query.clone(), read.head);
            let appended = store
                .append_tagged(
                    &stream_id,
                    ExpectedVersion::NoStream,
                    vec![event.clone()],
                    Some(&condition),
                )
                .await;
            match appended {
                Ok(outcome) => {
                    // Stored: the request has succeeded, whatever the read
                    // model does.
                    let behind = match outcome.last_position {
                        Some(position) => self.project_up_to(position).await,
                        None => None,
                    };
                    return Ok(Answered { value: id, behind });
                }
                Err(error) if error.is_condition_failed() => continue,
                Err(error) => return Err(error.into()),
            }
        }
        Err(BookingServiceError::Conflict {
            action: "create",
            id,
        })
    }

    /// `reserve_booking`, in the trace `trace`.
    pub async fn reserve(
        &self,
        id: Uuid,
        trace: TraceContext,
    ) -> Result<Answered<()>, BookingServiceError> {
        self.execute("reserve", id, BookingCommand::Reserve, trace)
            .await
    }

    /// `complete_booking`, in the trace `trace`.
    pub async fn complete(
        &self,
        id: Uuid,
        trace: TraceContext,
    ) -> Result<Answered<()>, BookingServiceError> {
        self.execute("complete", id, BookingCommand::Complete, trace)
            .await
    }

    /// `get_booking_details`, from the projection (with its lag if it
    /// could not show everything committed).
    pub async fn details(&self, id: Uuid) -> Result<Answered<BookingRow>, BookingServiceError> {
        let behind = self.catch_up().await?;
        let row = self
            .views
            .details(id)
            .await?
            .ok_or(BookingServiceError::NotFound(id))?;
        Ok(Answered { value: row, behind })
    }

    /// `get_booking_list`, from the projection (with its lag if it could
    /// not show everything committed).
    pub async fn list(&self) -> Result<Answered<Vec<BookingRow>>, BookingServiceError> {
        let behind = self.catch_up().await?;
        Ok(Answered {
            value: self.views.list().await?,
            behind,
        })
    }

    /// Catches the projection up before a query; the read model's lag if
    /// committed events remain after its checkpoint (events a transaction
    /// still writing the log holds back, or events committed meanwhile).
    async fn catch_up(&self) -> Result<Option<ReadModelLag>, BookingServiceError> {
        let reached = self.projector.catch_up().await?;
        let remaining = self.repository.store().count_after(reached).await?;
        Ok(remaining.filter(|&n| n > 0).map(|events| ReadModelLag {
            events: Some(events),
            reason: "committed events are held back by a transaction still writing the event \
                     log, or were committed while the query ran"
                .to_owned(),
        }))
    }

    /// `get_booking_events`: `(version, event)` pairs from the event store.
    pub async fn history(&self, id: Uuid) -> Result<Vec<(u64, BookingEvent)>, BookingServiceError> {
        let stream_id = Repository::<Booking, S>::stream_id(id)?;
        let recorded: Vec<_> = self
            .repository
            .store()
            .read_stream(&stream_id, 1)
            .try_collect()
            .await?;
        if recorded.is_empty() {
            return Err(BookingServiceError::NotFound(id));
        }
        recorded
            .iter()
            .map(|event| {
                Ok((
                    event.version,
                    event.decode::<BookingEvent>().map_err(StoreError::from)?,
                ))
            })
            .collect()
    }

    async fn execute(
        &self,
        action: &'static str,
        id: Uuid,
        command: BookingCommand,
        trace: TraceContext,
    ) -> Result<Answered<()>, BookingServiceError> {
        let executed = self
            .repository
            .execute_with(id, command, Metadata::default().with_trace_context(trace))
            .await
            .map_err(|error| match error {
                ExecuteError::Rejected(reason) => {
                    BookingServiceError::Refused { action, id, reason }
                }
                ExecuteError::Conflict { .. } => BookingServiceError::Conflict { action, id },
                ExecuteError::Store(error) => BookingServiceError::Store(error),
                ExecuteError::InvalidId(error) => BookingServiceError::InvalidId(error),
                other => BookingServiceError::Failed {
                    action,
                    id,
                    source: Box::new(other),
                },
            })?;
        // The events are stored: from here on the command has succeeded,
        // whatever the read model does.
        let behind = match executed.outcome.last_position {
            Some(position) => self.project_up_to(position).await,
            None => None,
        };
        Ok(Answered { value: (), behind })
    }

    /// Runs the projection until it has applied `position` (another runner,
    /// such as `booking serve`, may get there first: that counts too), for
    /// at most [`PROJECTION_TIMEOUT`]; otherwise the read model's lag.
    async fn project_up_to(&self, position: Position) -> Option<ReadModelLag> {
        let caught_up = async {
            tokio::select! {
                result = self.projector.run() => result,
                result = self.projector.wait_for(position) => result,
            }
        };
        let reason = match tokio::time::timeout(PROJECTION_TIMEOUT, caught_up).await {
            Ok(Ok(())) => return None,
            Ok(Err(error)) => format!("the projection failed: {error}"),
            Err(_) => format!("it did not show the command's events within {PROJECTION_TIMEOUT:?}"),
        };
        let checkpoint = self
            .projector
            .checkpoints()
            .load_checkpoint(self.projector.projection().name())
            .await
            .ok();
        let events = match checkpoint {
            Some(checkpoint) => self
                .repository
                .store()
                .count_after(checkpoint)
                .await
                .ok()
                .flatten(),
            None => None,
        };
        Some(ReadModelLag { events, reason })
    }
}

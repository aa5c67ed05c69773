//! "Cannot apply this yet": what a handler returns for an event that arrived
//! before an earlier event of its stream it depends on.
//!
//! A stream's events normally reach a consumer in version order, but not
//! always: a dead letter moved back to its queue arrives after the events
//! that followed it, and a consumer group changing its partition count can
//! hand a stream's events over from two queues at once. A handler that gets
//! version 2 before version 1 must neither succeed (the
//! [`IdempotentHandler`](crate::IdempotentHandler) would record version 2 as
//! processed although nothing was applied, and its redelivery would then be
//! skipped as a duplicate) nor pretend to be broken. It returns [`NotYet`]
//! as its error: the transaction is rolled back (nothing is recorded), the
//! [`Consumer`](crate::Consumer) retries the event in place like a failure,
//! and when it still cannot be applied after the last attempt, the consumer
//! *parks* it: dead-letters it with the [`NotYet`] text (what it waits for)
//! in [`HEADER_FAILURE`](crate::wire::HEADER_FAILURE) and counts it in
//! [`ConsumerStats::parked`](crate::ConsumerStats::parked), so the events
//! behind it (the one it waits for among them) keep flowing. Moving the
//! dead letters back once the missing event was applied (`es dead-letters
//! redrive` moves them in per-stream version order) applies the parked event
//! in order.

use es_core::{RecordedEvent, StreamId};
use uuid::Uuid;

/// The handler cannot apply the event yet: an earlier event of its stream,
/// version [`waiting_for`](Self::waiting_for), must be applied first.
///
/// Return it as the handler's error (or as an error's
/// [`source`](std::error::Error::source)); the consumer finds it with
/// [`NotYet::find`], retries the event in place and then parks it in the
/// dead-letter queue instead of counting it as a failure. With an
/// [`IdempotentHandler`](crate::IdempotentHandler), check with
/// [`NotYet::check_next`] against the `previous_version` it passes:
///
/// ```
/// use es_amqp::{InMemoryTransaction, NotYet, TransactionalHandler};
/// use es_core::{async_trait, BoxError, RecordedEvent};
///
/// /// Applies each stream's events strictly in version order.
/// struct InOrder;
/// #[async_trait]
/// impl TransactionalHandler<InMemoryTransaction<u64>> for InOrder {
///     async fn apply(&self, tx: &mut InMemoryTransaction<u64>, event: &RecordedEvent,
///         previous_version: Option<u64>) -> Result<(), BoxError> {
///         NotYet::check_next(event, previous_version)?;
///         tx.update(|applied| *applied += 1);
///         Ok(())
///     }
/// }
/// ```
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
#[error(
    "not applied yet: event {event_id} (version {version} of stream {stream_id}) \
     waits for version {waiting_for} of its stream to be applied first"
)]
pub struct NotYet {
    /// The event that cannot be applied yet.
    pub event_id: Uuid,
    /// Its stream.
    pub stream_id: StreamId,
    /// Its version.
    pub version: u64,
    /// The version of the same stream that must be applied before it.
    pub waiting_for: u64,
}

impl NotYet {
    /// `event` waits for version `waiting_for` of its stream.
    pub fn new(event: &RecordedEvent, waiting_for: u64) -> Self {
        Self {
            event_id: event.event_id,
            stream_id: event.stream_id.clone(),
            version: event.version,
            waiting_for,
        }
    }

    /// `Ok` unless an earlier version of `event`'s stream is missing: with
    /// `previous_version` the stream's highest applied version (`None`:
    /// none), `event` may be applied when its version is at most
    /// `previous_version + 1`; a later one waits for `previous_version + 1`.
    ///
    /// An event at or below `previous_version` passes: it is not missing
    /// anything (an event already applied never gets here, the
    /// [`IdempotentHandler`](crate::IdempotentHandler) drops it as a
    /// duplicate by its id); whether to apply it is the handler's call.
    pub fn check_next(event: &RecordedEvent, previous_version: Option<u64>) -> Result<(), Self> {
        let next = previous_version.map_or(1, |previous| previous.saturating_add(1));
        if event.version > next {
            Err(Self::new(event, next))
        } else {
            Ok(())
        }
    }

    /// The [`NotYet`] in `error` or in its chain of
    /// [`source`](std::error::Error::source)s, if any.
    pub fn find<'a>(error: &'a (dyn std::error::Error + 'static)) -> Option<&'a Self> {
        std::iter::successors(Some(error), |e| e.source()).find_map(|e| e.downcast_ref())
    }
}

#[cfg(test)]
mod tests {
    use es_core::BoxError;

    use super::*;

    fn event(version: u64) -> RecordedEvent {
        crate::test_events::event("booking-1", version)
    }

    #[test]
    fn the_next_version_passes_and_a_later_one_waits_for_it() {
        assert_eq!(NotYet::check_next(&event(1), None), Ok(()));
        assert_eq!(NotYet::check_next(&event(3), Some(2)), Ok(()));
        let v2 = event(2);
        assert_eq!(
            NotYet::check_next(&v2, None),
            Err(NotYet {
                event_id: v2.event_id,
                stream_id: v2.stream_id.clone(),
                version: 2,
                waiting_for: 1
            })
        );
        assert_eq!(
            NotYet::check_next(&event(7), Some(4)).map_err(|n| n.waiting_for),
            Err(5)
        );
    }

    #[test]
    fn an_older_version_is_not_missing_anything() {
        assert_eq!(NotYet::check_next(&event(1), Some(3)), Ok(()));
        assert_eq!(NotYet::check_next(&event(3), Some(3)), Ok(()));
        assert_eq!(NotYet::check_next(&event(u64::MAX), Some(u64::MAX)), Ok(()));
    }

    #[test]
    fn the_text_names_the_event_and_what_it_waits_for() {
        let v3 = event(3);
        let text = NotYet::new(&v3, 2).to_string();
        assert!(text.contains(&v3.event_id.to_string()), "{text}");
        assert!(text.contains("version 3 of stream booking-1"), "{text}");
        assert!(text.contains("waits for version 2"), "{text}");
    }

    #[derive(Debug, thiserror::Error)]
    #[error("the handler gave up")]
    struct Wrapper(#[source] NotYet);

    #[test]
    fn it_is_found_in_an_error_or_among_its_sources() {
        let not_yet = NotYet::new(&event(2), 1);
        let direct: BoxError = Box::new(not_yet.clone());
        assert_eq!(NotYet::find(&*direct), Some(&not_yet));
        let wrapped: BoxError = Box::new(Wrapper(not_yet.clone()));
        assert_eq!(NotYet::find(&*wrapped), Some(&not_yet));
        let other: BoxError = "a plain failure".into();
        assert_eq!(NotYet::find(&*other), None);
    }
}

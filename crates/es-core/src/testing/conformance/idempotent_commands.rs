//! A keyed command re-sent after an ambiguous failure (committed, reply
//! lost) returns its original outcome and is in the stream once.

use uuid::Uuid;

use crate::{
    Aggregate, EventStore, ExecuteError, ExecuteOptions, Executed, IdempotencyKey, Repository,
    RetryPolicy, StreamId,
};

use super::{
    lost_reply::LostReplyStore,
    support::read_stream,
    ticket::{
        Ticket, TicketCommand, TicketCommand::*, TicketEvent, TicketRefusal, TicketState,
        TicketStatus,
    },
};

/// A keyed command whose commit's reply was lost, sent again through the
/// same repository (stale cache), a cold one, one whose cache is ahead, one
/// with a retry policy, after other commands landed, as `execute_at`, and
/// when the re-sent command would now be refused, be a no-op or produce
/// other events: each time the original outcome, and the events once.
pub async fn a_resent_command_is_applied_once<S: EventStore + Clone + 'static>(store: S) {
    let store = LostReplyStore::new(store);
    let r1 = Repository::<Ticket, _>::new(store.clone());
    let cold = || Repository::<Ticket, _>::new(store.clone());
    let cold_loading = || {
        Repository::<Ticket, _>::new(store.clone())
            .with_cache_capacity(0)
            .with_assume_new_on_miss(false)
    };
    let check = Check { store: &store };

    // Through the same repository, whose cache is behind the commit.
    let id = Uuid::now_v7();
    r1.execute(id, Open).await.expect("open");
    let (key, original) = check.lose_reply(&r1, id, Comment("a".into()), None).await;
    for again in [
        r1.execute_with_options(id, Comment("a".into()), keyed(&key))
            .await,
        cold()
            .execute_with_options(id, Comment("a".into()), keyed(&key))
            .await,
        cold_loading()
            .execute_with_options(id, Comment("a".into()), keyed(&key))
            .await,
    ] {
        check.is_original(id, &key, again, &original).await;
    }
    check
        .stream_is(id, &["Opened", "Commented"], "a re-sent comment")
        .await;

    // Another command landed in between: the retry through a stale cache, a
    // cache ahead of the command, a cold repository, a retry policy.
    let id = Uuid::now_v7();
    r1.execute(id, Open).await.expect("open");
    let r2 = cold();
    let (key, original) = check.lose_reply(&r1, id, Comment("b".into()), None).await;
    r2.execute(id, Comment("other".into()))
        .await
        .expect("another command lands (r2 caches it)");
    let retrying = cold_loading().with_retry(RetryPolicy::attempts(3));
    for again in [
        r1.execute_with_options(id, Comment("b".into()), keyed(&key))
            .await,
        r2.execute_with_options(id, Comment("b".into()), keyed(&key))
            .await,
        cold()
            .execute_with_options(id, Comment("b".into()), keyed(&key))
            .await,
        retrying
            .execute_with_options(id, Comment("b".into()), keyed(&key))
            .await,
    ] {
        check.is_original(id, &key, again, &original).await;
        assert_eq!(original.state.comments, 1, "the state after the original");
    }
    check
        .stream_is(id, &["Opened", "Commented", "Commented"], "comments")
        .await;
    // A new key is a new command.
    let new = r1
        .execute_with_options(id, Comment("b".into()), keyed(&new_key("new")))
        .await
        .expect("a new command");
    assert_eq!((new.version, new.state.comments), (4, 3));

    // Re-sent, the command would now be refused ("already open"): through
    // the guess that the aggregate is new, a cold load, and a warm cache.
    let id = Uuid::now_v7();
    let (key, original) = check.lose_reply(&r1, id, Open, None).await;
    r2.execute(id, Reserve)
        .await
        .expect("another command lands");
    let warm = cold();
    warm.load(id).await.expect("warm up");
    for again in [
        cold().execute_with_options(id, Open, keyed(&key)).await,
        cold_loading()
            .execute_with_options(id, Open, keyed(&key))
            .await,
        warm.execute_with_options(id, Open, keyed(&key)).await,
    ] {
        check.is_original(id, &key, again, &original).await;
    }
    check
        .stream_is(id, &["Opened", "Reserved"], "a re-sent opening")
        .await;

    // Re-sent, the command would now be a no-op ("already reserved"),
    // through a warm cache that holds the command's own event.
    let id = Uuid::now_v7();
    r1.execute(id, Open).await.expect("open");
    let (key, original) = check.lose_reply(&r1, id, Reserve, None).await;
    let warm = cold();
    warm.load(id).await.expect("warm up");
    let again = warm.execute_with_options(id, Reserve, keyed(&key)).await;
    check.is_original(id, &key, again, &original).await;
    check
        .stream_is(id, &["Opened", "Reserved"], "a re-sent reservation")
        .await;

    // Re-sent on another state, the command produces other events: here two
    // where the original produced one.
    let id = Uuid::now_v7();
    r1.execute(id, Open).await.expect("open");
    let stale = cold();
    stale.load(id).await.expect("caches the open ticket");
    r1.execute(id, Reserve).await.expect("reserve");
    let (key, original) = check.lose_reply(&r1, id, Finish, None).await;
    assert_eq!(original.events, vec![TicketEvent::Completed]);
    let again = stale.execute_with_options(id, Finish, keyed(&key)).await;
    check.is_original(id, &key, again, &original).await;
    check
        .stream_is(id, &["Opened", "Reserved", "Completed"], "a re-sent finish")
        .await;

    // execute_at: the retry at the version the command was decided at
    // returns the original outcome, not a conflict.
    let id = Uuid::now_v7();
    r1.execute(id, Open).await.expect("open");
    let (key, original) = check.lose_reply(&r1, id, Reserve, Some(1)).await;
    r2.execute(id, Comment("c".into()))
        .await
        .expect("another command lands");
    for again in [
        r1.execute_with_options(id, Reserve, keyed(&key).expected_version(1))
            .await,
        cold()
            .execute_with_options(id, Reserve, keyed(&key).expected_version(1))
            .await,
    ] {
        check.is_original(id, &key, again, &original).await;
    }
    check
        .stream_is(
            id,
            &["Opened", "Reserved", "Commented"],
            "a re-sent execute_at",
        )
        .await;
    assert_eq!(original.state.status, TicketStatus::Reserved);
}

/// The assertions, over the wrapped store.
struct Check<'a, S> {
    store: &'a LostReplyStore<S>,
}

impl<S: EventStore + Clone + 'static> Check<'_, S> {
    /// Executes `command` with a fresh key through `repository` while the
    /// store loses the commit's reply; returns the key and the outcome as
    /// the stream holds it.
    async fn lose_reply<T: EventStore>(
        &self,
        repository: &Repository<Ticket, T>,
        id: Uuid,
        command: TicketCommand,
        at: Option<u64>,
    ) -> (IdempotencyKey, Executed<Ticket>) {
        let key = new_key("command");
        let mut options = keyed(&key);
        if let Some(version) = at {
            options = options.expected_version(version);
        }
        let lost = self.store.replies_lost();
        self.store.lose_next_reply();
        match repository
            .execute_with_options(id, command.clone(), options)
            .await
        {
            Err(ExecuteError::Store(error)) if error.is_transient() => {}
            other => panic!(
                "expected a transient store error, got {:?}",
                other.map(|e| e.version)
            ),
        }
        assert_eq!(self.store.replies_lost(), lost + 1, "the append committed");
        // What the original reply would have said, read from the stream.
        let loaded = Repository::<Ticket, _>::new(self.store.inner().clone())
            .with_cache_capacity(0)
            .with_assume_new_on_miss(false);
        let original = loaded
            .execute_with_options(id, command, keyed(&key))
            .await
            .expect("the committed command is recognised on a fresh load");
        (key, original)
    }

    /// `again` is `original`: the same events, state, version and positions,
    /// which are where the key's events are in the stream.
    async fn is_original(
        &self,
        id: Uuid,
        key: &IdempotencyKey,
        again: Result<Executed<Ticket>, ExecuteError<TicketRefusal>>,
        original: &Executed<Ticket>,
    ) {
        let again = again.expect("a re-sent command returns the original outcome");
        assert_eq!(again.events, original.events);
        assert_eq!(again.state, original.state);
        assert_eq!(again.version, original.version);
        assert_eq!(again.outcome, original.outcome);
        let stream_id = stream_id(id);
        let stored = read_stream(self.store.inner(), &stream_id).await;
        let keyed: Vec<_> = stored
            .iter()
            .filter(|e| (0..stored.len()).any(|i| e.event_id == key.event_id(&stream_id, i)))
            .collect();
        assert_eq!(
            keyed.len(),
            original.events.len(),
            "the command's events, once"
        );
        assert_eq!(
            original.outcome.first_position,
            keyed.first().map(|e| e.position)
        );
        assert_eq!(
            original.outcome.last_position,
            keyed.last().map(|e| e.position)
        );
        assert_eq!(Some(original.version), keyed.last().map(|e| e.version));
        let decoded: Vec<TicketEvent> = stored
            .iter()
            .map(|e| e.decode().expect("decodes"))
            .collect();
        let index = |e: &&crate::RecordedEvent| (e.version - 1) as usize;
        assert_eq!(
            keyed
                .iter()
                .map(|e| decoded[index(e)].clone())
                .collect::<Vec<_>>(),
            original.events,
            "the original events are the key's events in the stream"
        );
        let before: &[TicketEvent] = &decoded[..original.version as usize];
        assert_eq!(
            Ticket::fold(TicketState::default(), before),
            original.state,
            "the original state is the stream's state after the key's events"
        );
    }

    /// The stream holds exactly events of `types`, in order.
    async fn stream_is(&self, id: Uuid, types: &[&str], what: &str) {
        let stored = read_stream(self.store.inner(), &stream_id(id)).await;
        let found: Vec<&str> = stored.iter().map(|e| e.event_type.as_str()).collect();
        assert_eq!(found, types, "{what}: applied once");
    }
}

fn stream_id(id: Uuid) -> StreamId {
    StreamId::for_aggregate(Ticket::TYPE, id).expect("stream id")
}

fn new_key(name: &str) -> IdempotencyKey {
    IdempotencyKey::new(format!("{name}-{}", Uuid::now_v7())).expect("a valid key")
}

fn keyed(key: &IdempotencyKey) -> ExecuteOptions {
    ExecuteOptions::new().idempotency_key(key.clone())
}

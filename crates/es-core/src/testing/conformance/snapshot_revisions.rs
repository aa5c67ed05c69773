//! Snapshots carry the revision of the state they hold: one of another
//! revision (or one that no longer decodes) is ignored and replaced; and a
//! keyed command is recognised even when a snapshot was taken after it.

use serde::{Deserialize, Serialize};
use serde_json::json;
use uuid::Uuid;

use crate::{
    Aggregate, EventStore, ExecuteOptions, IdempotencyKey, Repository, Snapshot, SnapshotPolicy,
    SnapshotStore, StreamId,
};

use super::{
    counter::{CounterCommand, CounterEvent, NegativeIncrement},
    lost_reply::LostReplyStore,
    support::read_stream,
    ticket::{Ticket, TicketCommand},
};

/// A tally as older code kept it: how many increments.
struct TallyV1;

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
struct CountOnly {
    count: u64,
}

/// The same tally after its state gained a field (with a serde default, so
/// an old snapshot still decodes: only the revision tells it is stale).
struct TallyV2;

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
struct CountAndSum {
    count: u64,
    #[serde(default)]
    sum: i64,
}

fn decide(by: CounterCommand) -> Result<Vec<CounterEvent>, NegativeIncrement> {
    match by {
        CounterCommand::Increment(by) if by < 0 => Err(NegativeIncrement),
        CounterCommand::Increment(by) => Ok(vec![CounterEvent::Incremented { by }]),
    }
}

impl Aggregate for TallyV1 {
    const TYPE: &'static str = "tally";
    type State = CountOnly;
    type Command = CounterCommand;
    type Event = CounterEvent;
    type Error = NegativeIncrement;
    fn handle(
        _: &CountOnly,
        command: CounterCommand,
    ) -> Result<Vec<CounterEvent>, NegativeIncrement> {
        decide(command)
    }
    fn apply(state: CountOnly, _: &CounterEvent) -> CountOnly {
        CountOnly {
            count: state.count + 1,
        }
    }
}

impl Aggregate for TallyV2 {
    const TYPE: &'static str = "tally";
    const SNAPSHOT_REVISION: u32 = 2;
    type State = CountAndSum;
    type Command = CounterCommand;
    type Event = CounterEvent;
    type Error = NegativeIncrement;
    fn handle(
        _: &CountAndSum,
        command: CounterCommand,
    ) -> Result<Vec<CounterEvent>, NegativeIncrement> {
        decide(command)
    }
    fn apply(state: CountAndSum, event: &CounterEvent) -> CountAndSum {
        let CounterEvent::Incremented { by } = event;
        CountAndSum {
            count: state.count + 1,
            sum: state.sum + by,
        }
    }
}

/// Snapshots written by older state code are not reused once the aggregate
/// declares another [`SNAPSHOT_REVISION`](Aggregate::SNAPSHOT_REVISION):
/// the stream is replayed and the snapshot replaced; a snapshot of the
/// current revision is used; an older version never replaces a newer one.
/// A keyed command re-sent after a later snapshot is still recognised.
pub async fn snapshots_follow_the_state_revision<S>(store: S)
where
    S: EventStore + SnapshotStore + Clone + 'static,
{
    let policy = SnapshotPolicy::EveryN(5);
    let old = Repository::<TallyV1, S>::new(store.clone())
        .with_cache_capacity(0)
        .with_snapshots(store.clone(), policy);
    let new = Repository::<TallyV2, S>::new(store.clone())
        .with_cache_capacity(0)
        .with_snapshots(store.clone(), policy);
    let id = Uuid::now_v7();
    let stream = StreamId::for_aggregate(TallyV1::TYPE, id).expect("stream id");
    for by in 1..=10 {
        old.execute(id, CounterCommand::Increment(by))
            .await
            .expect("increment");
    }
    let snapshot = store
        .load_snapshot(&stream)
        .await
        .expect("load snapshot")
        .expect("a snapshot at version 10");
    assert_eq!(
        (snapshot.version, snapshot.revision, snapshot.state),
        (10, 1, json!({ "count": 10 }))
    );

    // The new code replays instead of reading {count} as {count, sum: 0} ...
    let loaded = new.load(id).await.expect("load");
    assert_eq!(
        (loaded.state.clone(), loaded.version),
        (CountAndSum { count: 10, sum: 55 }, 10)
    );
    // ... and replaces the snapshot with one of its revision.
    let snapshot = store
        .load_snapshot(&stream)
        .await
        .expect("load snapshot")
        .expect("the snapshot");
    assert_eq!(
        (snapshot.version, snapshot.revision, snapshot.state),
        (10, 2, json!({ "count": 10, "sum": 55 }))
    );

    // A snapshot of the current revision is used (a doctored one shows through).
    save(&store, &stream, 10, 2, json!({ "count": 10, "sum": 1000 })).await;
    let loaded = new.load(id).await.expect("load");
    assert_eq!(loaded.state.sum, 1000, "the snapshot was used");
    // Older code ignores it too, and puts back one of its own revision.
    let loaded = old.load(id).await.expect("load");
    assert_eq!(loaded.state, CountOnly { count: 10 });
    let snapshot = store
        .load_snapshot(&stream)
        .await
        .expect("load")
        .expect("the snapshot");
    assert_eq!(
        (snapshot.revision, snapshot.state),
        (1, json!({ "count": 10 }))
    );

    // A snapshot that no longer decodes is ignored and replaced as well.
    save(&store, &stream, 10, 2, json!("not a state")).await;
    let loaded = new.load(id).await.expect("load");
    assert_eq!(loaded.state, CountAndSum { count: 10, sum: 55 });
    let snapshot = store
        .load_snapshot(&stream)
        .await
        .expect("load")
        .expect("the snapshot");
    assert_eq!(
        (snapshot.revision, snapshot.state),
        (2, json!({ "count": 10, "sum": 55 }))
    );

    // An older version never replaces a newer one.
    save(&store, &stream, 5, 2, json!({ "count": 5, "sum": 15 })).await;
    let snapshot = store
        .load_snapshot(&stream)
        .await
        .expect("load")
        .expect("the snapshot");
    assert_eq!(snapshot.version, 10);

    keyed_command_across_a_snapshot(store).await;
}

/// A keyed command whose reply was lost, with a snapshot taken after it by
/// the time it is re-sent: the store recognises its ids, and the repository
/// reads past the snapshot to return the original outcome.
async fn keyed_command_across_a_snapshot<S>(store: S)
where
    S: EventStore + SnapshotStore + Clone + 'static,
{
    let policy = SnapshotPolicy::EveryN(3);
    let lossy = LostReplyStore::new(store.clone());
    let repository = || {
        Repository::<Ticket, _>::new(lossy.clone())
            .with_cache_capacity(0)
            .with_snapshots(store.clone(), policy)
    };
    let id = Uuid::now_v7();
    let stream = StreamId::for_aggregate(Ticket::TYPE, id).expect("stream id");
    repository()
        .execute(id, TicketCommand::Open)
        .await
        .expect("open");
    let key = IdempotencyKey::new(format!("comment-{id}")).expect("key");
    let keyed = ExecuteOptions::new().idempotency_key(key.clone());
    lossy.lose_next_reply();
    let lost = repository()
        .execute_with_options(id, TicketCommand::Comment("a".into()), keyed.clone())
        .await;
    assert!(matches!(lost, Err(crate::ExecuteError::Store(ref e)) if e.is_transient()));
    repository()
        .execute(id, TicketCommand::Comment("b".into()))
        .await
        .expect("another comment: a snapshot at version 3");
    let snapshot = store
        .load_snapshot(&stream)
        .await
        .expect("load")
        .expect("a snapshot");
    assert_eq!(snapshot.version, 3);
    let again = repository()
        .execute_with_options(id, TicketCommand::Comment("a".into()), keyed)
        .await
        .expect("the re-sent command");
    assert_eq!((again.version, again.state.comments), (2, 1));
    let stored = read_stream(&store, &stream).await;
    assert_eq!(stored.len(), 3, "the comment is in the stream once");
    assert_eq!(stored[1].event_id, key.event_id(&stream, 0));
    assert_eq!(again.outcome.last_position, Some(stored[1].position));
}

async fn save<S: SnapshotStore>(
    store: &S,
    stream: &StreamId,
    version: u64,
    revision: u32,
    state: serde_json::Value,
) {
    store
        .save_snapshot(Snapshot {
            stream_id: stream.clone(),
            version,
            revision,
            state,
        })
        .await
        .expect("save snapshot");
}

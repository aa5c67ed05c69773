//! A stored event that cannot be decoded is a non-transient error naming
//! stream, version and type; subscriptions and projection runners stop before
//! it by default, or skip it (and move their checkpoint past it) when told to.

use es_core::{
    async_trait, BoxError, CheckpointStore, EventStore, ExpectedVersion, InMemoryProjectionStore,
    InMemoryStore, NewEvent, Position, Projection, ProjectionError, ProjectionRunner,
    RecordedEvent, StoreError, StreamId, Subscription, UndecodablePolicy,
};

/// A store holding: a good event, an undecodable one, a good one.
async fn store_with_a_bad_event() -> (InMemoryStore, StreamId, Position) {
    let store = InMemoryStore::new();
    let stream = StreamId::new(format!("door-{}", uuid::Uuid::now_v7())).unwrap();
    let good = || vec![NewEvent::raw("Opened", serde_json::json!({}))];
    store
        .append(&stream, ExpectedVersion::NoStream, good())
        .await
        .unwrap();
    let bad = store.plant_undecodable(&stream, "Corrupt").await.unwrap();
    store
        .append(&stream, ExpectedVersion::Exact(2), good())
        .await
        .unwrap();
    (store, stream, bad)
}

fn assert_names_the_bad_event(error: &StoreError, stream: &StreamId, bad: Position) {
    match error {
        StoreError::Decode(decode) => {
            assert_eq!(&decode.stream_id, stream);
            assert_eq!(decode.version, 2);
            assert_eq!(decode.event_type, "Corrupt");
            assert_eq!(decode.position, Some(bad));
            let message = error.to_string();
            assert!(
                message.contains(stream.as_str()) && message.contains("Corrupt"),
                "{message}"
            );
        }
        other => panic!("expected a decode error, got {other:?}"),
    }
    assert!(!error.is_transient(), "a decode error is never transient");
}

#[tokio::test]
async fn reads_name_the_undecodable_event() {
    let (store, stream, bad) = store_with_a_bad_event().await;
    let error = store.read_all(Position::START, 10).await.unwrap_err();
    assert_names_the_bad_event(&error, &stream, bad);
    let mut read = store.read_stream(&stream, 1);
    use futures::StreamExt;
    assert!(read.next().await.unwrap().is_ok());
    assert_names_the_bad_event(&read.next().await.unwrap().unwrap_err(), &stream, bad);
}

#[tokio::test]
async fn a_subscription_stops_before_an_undecodable_event_by_default() {
    let (store, stream, bad) = store_with_a_bad_event().await;
    let mut subscription = Subscription::new(store, Position::START);
    let first = subscription.next().await.unwrap();
    assert_eq!(first.version, 1);
    for _ in 0..2 {
        let error = subscription.next().await.unwrap_err();
        assert_names_the_bad_event(&error, &stream, bad);
        assert_eq!(subscription.position(), first.position, "stays before it");
    }
}

#[tokio::test]
async fn a_subscription_told_to_skip_moves_past_an_undecodable_event() {
    let (store, _stream, bad) = store_with_a_bad_event().await;
    let mut subscription = Subscription::new(store.clone(), Position::START)
        .with_undecodable_policy(UndecodablePolicy::Skip);
    assert_eq!(subscription.next().await.unwrap().version, 1);
    let third = subscription.next().await.unwrap();
    assert_eq!(third.version, 3);
    assert!(third.position > bad);

    let mut batches =
        Subscription::new(store, Position::START).with_undecodable_policy(UndecodablePolicy::Skip);
    let first = batches.next_batch().await.unwrap();
    assert_eq!(first.iter().map(|e| e.version).collect::<Vec<_>>(), [1]);
    let rest = batches.next_batch().await.unwrap();
    assert_eq!(rest.iter().map(|e| e.version).collect::<Vec<_>>(), [3]);
}

/// Records the versions it applies.
struct Versions;

#[async_trait]
impl Projection<Vec<u64>> for Versions {
    fn name(&self) -> &str {
        "versions"
    }
    async fn apply(&self, tx: &mut Vec<u64>, event: &RecordedEvent) -> Result<(), BoxError> {
        tx.push(event.version);
        Ok(())
    }
}

#[tokio::test]
async fn a_projection_stops_with_the_checkpoint_before_an_undecodable_event() {
    let (store, stream, bad) = store_with_a_bad_event().await;
    let checkpoints = InMemoryProjectionStore::<Vec<u64>>::new();
    let runner = ProjectionRunner::new(store, checkpoints.clone(), Versions)
        .expect("a valid projection name");
    match runner.catch_up().await {
        Err(ProjectionError::Store(error)) => assert_names_the_bad_event(&error, &stream, bad),
        other => panic!("expected the decode error, got {other:?}"),
    }
    assert_eq!(checkpoints.snapshot(), [1]);
    let checkpoint = checkpoints.load_checkpoint("versions").await.unwrap();
    assert!(checkpoint < bad && checkpoint > Position::START);
}

#[tokio::test]
async fn a_projection_told_to_skip_moves_its_checkpoint_past_an_undecodable_event() {
    let (store, _stream, bad) = store_with_a_bad_event().await;
    let checkpoints = InMemoryProjectionStore::<Vec<u64>>::new();
    let runner = ProjectionRunner::new(store.clone(), checkpoints.clone(), Versions)
        .expect("a valid projection name")
        .with_undecodable_policy(UndecodablePolicy::Skip);
    let reached = runner.catch_up().await.unwrap();
    assert_eq!(checkpoints.snapshot(), [1, 3]);
    assert!(reached > bad);
    assert_eq!(
        checkpoints.load_checkpoint("versions").await.unwrap(),
        reached
    );

    // An undecodable event at the end of the log: the checkpoint still moves past it.
    let stream = StreamId::new(format!("door-{}", uuid::Uuid::now_v7())).unwrap();
    let last = store.plant_undecodable(&stream, "Corrupt").await.unwrap();
    assert_eq!(runner.catch_up().await.unwrap(), last);
    assert_eq!(checkpoints.load_checkpoint("versions").await.unwrap(), last);
    assert_eq!(checkpoints.snapshot(), [1, 3]);
}

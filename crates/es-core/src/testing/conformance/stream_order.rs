//! Each stream reads back in version order, from any version.

use futures::TryStreamExt;

use crate::{EventStore, ExpectedVersion, RecordedEvent, ReplayEvent, StreamId};

use super::support::*;

/// Each stream reads back in version order 1, 2, 3, … without holes, and
/// reading from a version starts there.
pub async fn per_stream_order<S: EventStore>(store: S) {
    let streams: Vec<StreamId> = (0..3).map(|i| stream(&format!("ordered{i}"))).collect();
    for round in 0..5 {
        for s in &streams {
            store
                .append(s, ExpectedVersion::Exact(round * 2), events(2))
                .await
                .expect("append");
        }
    }
    for s in &streams {
        let all = read_stream(&store, s).await;
        assert_versions(&all, 1..=10);
        assert!(all.iter().all(|e| &e.stream_id == s));
        let tail: Vec<RecordedEvent> = store
            .read_stream(s, 7)
            .try_collect()
            .await
            .expect("read from version");
        assert_versions(&tail, 7..=10);
        assert_eq!(store.stream_version(s).await.expect("version"), 10);
        // Replay yields the same events, reduced to what replay needs.
        let replayed: Vec<ReplayEvent> = store
            .replay_stream(s, 7)
            .try_collect()
            .await
            .expect("replay from version");
        let expected: Vec<ReplayEvent> = tail.into_iter().map(ReplayEvent::from).collect();
        assert_eq!(replayed, expected);
    }
    assert!(store
        .replay_stream(&stream("unknown"), 1)
        .try_collect::<Vec<_>>()
        .await
        .expect("replay an unknown stream")
        .is_empty());
    assert!(read_stream(&store, &stream("unknown")).await.is_empty());
    let log = read_whole_log(&store, 7).await;
    assert_eq!(log.len(), 30);
    assert!(log.windows(2).all(|w| w[0].position < w[1].position));
}

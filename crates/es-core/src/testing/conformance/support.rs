//! Helpers shared by the conformance checks: fresh stream ids, small
//! batches, whole reads, and the assertions most checks make.

use std::{
    collections::{HashMap, HashSet},
    time::Duration,
};

use futures::TryStreamExt;
use serde_json::json;
use uuid::Uuid;

use crate::{EventStore, NewEvent, Position, RecordedEvent, ReplayEvent, StoreError, StreamId};

pub(super) const WAIT: Duration = Duration::from_secs(30);

pub(super) fn stream(name: &str) -> StreamId {
    StreamId::new(format!("{name}-{}", Uuid::now_v7())).expect("valid stream id")
}

pub(super) fn events(n: usize) -> Vec<NewEvent> {
    (0..n)
        .map(|i| NewEvent::raw("Incremented", json!({ "by": i })))
        .collect()
}

pub(super) async fn read_stream<S: EventStore>(
    store: &S,
    stream_id: &StreamId,
) -> Vec<RecordedEvent> {
    store
        .read_stream(stream_id, 1)
        .try_collect()
        .await
        .expect("read_stream failed")
}

pub(super) async fn read_whole_log<S: EventStore>(store: &S, page: usize) -> Vec<RecordedEvent> {
    let mut all = Vec::new();
    let mut after = Position::START;
    loop {
        let batch = store.read_all(after, page).await.expect("read_all failed");
        assert!(batch.len() <= page, "read_all returned more than the limit");
        match batch.last() {
            None => return all,
            Some(last) => after = last.position,
        }
        all.extend(batch);
    }
}

pub(super) fn assert_versions(events: &[RecordedEvent], expected: std::ops::RangeInclusive<u64>) {
    let versions: Vec<u64> = events.iter().map(|e| e.version).collect();
    let expected: Vec<u64> = expected.collect();
    assert_eq!(
        versions, expected,
        "stream versions are not 1, 2, 3, … without holes"
    );
}

pub(super) fn assert_conflict<T: std::fmt::Debug>(
    result: Result<T, StoreError>,
    actual_version: u64,
) {
    match result {
        Err(StoreError::Conflict { actual, .. }) => assert_eq!(actual, actual_version),
        other => panic!("expected a conflict at version {actual_version}, got {other:?}"),
    }
}

pub(super) fn check_exactly_once_in_order(received: &[RecordedEvent], total: usize) {
    assert_eq!(received.len(), total);
    let ids: HashSet<Uuid> = received.iter().map(|e| e.event_id).collect();
    assert_eq!(ids.len(), total, "an event was delivered twice");
    assert!(
        received.windows(2).all(|w| w[0].position < w[1].position),
        "events were not delivered in global order"
    );
    let mut last: HashMap<&StreamId, u64> = HashMap::new();
    for e in received {
        let previous = last.insert(&e.stream_id, e.version).unwrap_or(0);
        assert_eq!(
            e.version,
            previous + 1,
            "stream {} out of order",
            e.stream_id
        );
    }
}

/// Every event of `stream_id` as each read path returns it: `read_stream`,
/// the global log (`read_all`, paged) and `replay_stream` (made into full
/// events' payloads only). Panics unless all three agree on the payloads.
pub(super) async fn read_back_everywhere<S: EventStore>(
    store: &S,
    stream_id: &StreamId,
) -> Vec<RecordedEvent> {
    let by_stream = read_stream(store, stream_id).await;
    let from_log: Vec<RecordedEvent> = read_whole_log(store, 50)
        .await
        .into_iter()
        .filter(|e| &e.stream_id == stream_id)
        .collect();
    assert_eq!(by_stream, from_log, "read_all and read_stream disagree");
    let replayed: Vec<ReplayEvent> = store
        .replay_stream(stream_id, 1)
        .try_collect()
        .await
        .expect("replay_stream failed");
    let expected: Vec<ReplayEvent> = by_stream.iter().cloned().map(ReplayEvent::from).collect();
    assert_eq!(replayed, expected, "replay_stream and read_stream disagree");
    by_stream
}

/// A small deterministic generator (xorshift64), so a failure reproduces.
pub(super) struct Rng(pub(super) u64);

impl Rng {
    /// The next 64 random bits.
    pub(super) fn next_u64(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }

    /// A random finite `f64` from its bit pattern.
    pub(super) fn finite_f64(&mut self) -> f64 {
        loop {
            let f = f64::from_bits(self.next_u64());
            if f.is_finite() {
                return f;
            }
        }
    }

    /// Random UTF-8 of exactly `bytes` bytes, mostly 2-, 3- and 4-byte
    /// characters (so a database cannot compress it), never NUL.
    pub(super) fn multi_byte_text(&mut self, bytes: usize) -> String {
        let mut text = String::with_capacity(bytes);
        while bytes - text.len() >= 4 {
            let candidate = match self.next_u64() % 3 {
                0 => 0x80 + self.next_u64() % (0x800 - 0x80),
                1 => 0x800 + self.next_u64() % (0x1_0000 - 0x800),
                _ => 0x1_0000 + self.next_u64() % (0x11_0000 - 0x1_0000),
            };
            if let Some(c) = u32::try_from(candidate).ok().and_then(char::from_u32) {
                text.push(c);
            }
        }
        while text.len() < bytes {
            text.push(char::from(b'a' + (self.next_u64() % 26) as u8));
        }
        text
    }
}

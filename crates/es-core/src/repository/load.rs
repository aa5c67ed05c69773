//! Loading an aggregate: the latest snapshot if any, then the stream's tail;
//! for a keyed command, also whether the key's events are among them.
//!
//! A snapshot of another [`Aggregate::SNAPSHOT_REVISION`], or one that no
//! longer decodes, is ignored: the stream is replayed from the start and the
//! replayed state saved as the stream's snapshot in its place.

use futures::{stream::BoxStream, StreamExt, TryStreamExt};
use uuid::Uuid;

use crate::{
    Aggregate, AppendOutcome, EventStore, Position, ReplayEvent, Snapshot, StoreError, StreamId,
};

use super::{Executed, IdempotencyKey, Loaded, Repository};

/// What a keyed load found: the stream's current state, and the original
/// outcome of the keyed command when its events are in the loaded tail.
pub(super) struct Recognised<A: Aggregate> {
    /// The current state.
    pub(super) loaded: Loaded<A>,
    /// The keyed command's events, the state after them, and where they landed.
    pub(super) applied: Option<Executed<A>>,
}

/// A stream's tail as a load reads it: each event, with its id and position
/// when the load looks for a key.
type Tail<'a> = BoxStream<'a, Result<(Option<(Uuid, Position)>, ReplayEvent), StoreError>>;

/// Where a keyed load looks for the key's events.
pub(super) struct KeyScan<'a> {
    /// The command's key.
    pub(super) key: &'a IdempotencyKey,
    /// The version of the key's first event, when the store told us (a
    /// snapshot at or after it is skipped so that the events are read).
    pub(super) at: Option<u64>,
}

/// The key's events as they are found, in order.
struct Match<A: Aggregate> {
    events: Vec<A::Event>,
    next_id: Uuid,
    first_position: Position,
    last: (Position, u64, A::State),
    open: bool,
}

impl<A: Aggregate, S: EventStore> Repository<A, S> {
    /// The current state of `stream_id` (snapshot + tail).
    pub(super) async fn load_stream(&self, stream_id: &StreamId) -> Result<Loaded<A>, StoreError> {
        Ok(self.load_scanning(stream_id, None).await?.loaded)
    }

    /// The current state of `stream_id`, and with `scan`, the outcome of the
    /// keyed command if its events are in the tail read (after the snapshot
    /// used, if any).
    pub(super) async fn load_scanning(
        &self,
        stream_id: &StreamId,
        scan: Option<KeyScan<'_>>,
    ) -> Result<Recognised<A>, StoreError> {
        let (mut loaded, replace_snapshot) = self
            .start_state(stream_id, scan.as_ref().and_then(|scan| scan.at))
            .await?;
        let key = scan.as_ref().map(|scan| scan.key);
        let first_id = key.map(|key| key.event_id(stream_id, 0));
        // A keyed load needs the ids and positions, which replay leaves out.
        let mut tail: Tail<'_> = if key.is_some() {
            self.store
                .read_stream(stream_id, loaded.version + 1)
                .map_ok(|event| (Some((event.event_id, event.position)), event.into()))
                .boxed()
        } else {
            self.store
                .replay_stream(stream_id, loaded.version + 1)
                .map_ok(|event| (None, event))
                .boxed()
        };
        let mut found: Option<Match<A>> = None;
        while let Some((identity, stored)) = tail.try_next().await? {
            let version = stored.version;
            let event = stored.decode_with::<A::Event>(stream_id, &self.upcasters)?;
            loaded.state = A::apply(loaded.state, &event);
            loaded.version = version;
            let (Some((event_id, position)), Some(key)) = (identity, key) else {
                continue;
            };
            match &mut found {
                Some(found) if found.open && found.next_id == event_id => {
                    found.events.push(event);
                    found.next_id = key.event_id(stream_id, found.events.len());
                    found.last = (position, version, loaded.state.clone());
                }
                Some(found) => found.open = false,
                None if first_id == Some(event_id) => {
                    found = Some(Match {
                        events: vec![event],
                        next_id: key.event_id(stream_id, 1),
                        first_position: position,
                        last: (position, version, loaded.state.clone()),
                        open: true,
                    })
                }
                None => {}
            }
        }
        if replace_snapshot {
            self.save_snapshot(stream_id, &loaded).await;
        }
        let applied = found.map(|found| {
            let (last_position, version, state) = found.last;
            Executed {
                stream_id: stream_id.clone(),
                events: found.events,
                state,
                version,
                outcome: AppendOutcome {
                    version,
                    first_position: Some(found.first_position),
                    last_position: Some(last_position),
                    resent: true,
                },
            }
        });
        Ok(Recognised { loaded, applied })
    }

    /// The state to replay the tail onto: the stream's snapshot when it is
    /// usable (this revision, decodes, before `before` if given), else the
    /// default state; and whether the snapshot should be replaced.
    async fn start_state(
        &self,
        stream_id: &StreamId,
        before: Option<u64>,
    ) -> Result<(Loaded<A>, bool), StoreError> {
        let fresh = Loaded::<A> {
            state: A::State::default(),
            version: 0,
        };
        let Some((snapshots, _)) = &self.snapshots else {
            return Ok((fresh, false));
        };
        let Some(snapshot) = snapshots.load_snapshot(stream_id).await? else {
            return Ok((fresh, false));
        };
        if before.is_some_and(|before| snapshot.version >= before) {
            return Ok((fresh, false));
        }
        if snapshot.revision != A::SNAPSHOT_REVISION {
            tracing::warn!(
                %stream_id,
                snapshot_revision = snapshot.revision,
                revision = A::SNAPSHOT_REVISION,
                "ignoring a snapshot of another state revision; replaying the stream"
            );
            return Ok((fresh, true));
        }
        match serde_json::from_value(snapshot.state) {
            Ok(state) => Ok((
                Loaded {
                    state,
                    version: snapshot.version,
                },
                false,
            )),
            Err(error) => {
                tracing::warn!(
                    %stream_id, %error,
                    "ignoring a snapshot that no longer decodes; replaying the stream"
                );
                Ok((fresh, true))
            }
        }
    }

    /// Saves `loaded` as the snapshot of `stream_id`, if snapshots are on.
    /// A failure is logged only: a snapshot is an optimisation.
    pub(super) async fn save_snapshot(&self, stream_id: &StreamId, loaded: &Loaded<A>) {
        let Some((snapshots, _)) = &self.snapshots else {
            return;
        };
        if loaded.version == 0 {
            return;
        }
        if let Err(found) = crate::exact_json::check(&loaded.state) {
            tracing::warn!(
                %stream_id, path = %found.path, value = found.value,
                "the state holds a value JSON cannot carry (it would read back as another); no snapshot"
            );
            return;
        }
        let state = match serde_json::to_value(&loaded.state) {
            Ok(state) => state,
            Err(error) => {
                tracing::warn!(%stream_id, %error, "cannot serialize state for a snapshot");
                return;
            }
        };
        let snapshot = Snapshot {
            stream_id: stream_id.clone(),
            version: loaded.version,
            revision: A::SNAPSHOT_REVISION,
            state,
        };
        if let Err(error) = snapshots.save_snapshot(snapshot).await {
            tracing::warn!(%stream_id, %error, "saving a snapshot failed");
        }
    }
}

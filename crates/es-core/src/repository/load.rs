//! Loading an aggregate: the latest snapshot if any, then the stream's tail.

use futures::TryStreamExt;

use crate::{Aggregate, EventStore, StoreError, StreamId};

use super::{Loaded, Repository};

impl<A: Aggregate, S: EventStore> Repository<A, S> {
    pub(super) async fn load_stream(&self, stream_id: &StreamId) -> Result<Loaded<A>, StoreError> {
        let mut loaded = Loaded::<A> {
            state: A::State::default(),
            version: 0,
        };
        if let Some((snapshots, _)) = &self.snapshots {
            if let Some(snapshot) = snapshots.load_snapshot(stream_id).await? {
                match serde_json::from_value(snapshot.state) {
                    Ok(state) => {
                        loaded = Loaded {
                            state,
                            version: snapshot.version,
                        }
                    }
                    Err(error) => tracing::warn!(
                        %stream_id, %error,
                        "ignoring a snapshot that no longer decodes; replaying the stream"
                    ),
                }
            }
        }
        let mut tail = self.store.replay_stream(stream_id, loaded.version + 1);
        while let Some(stored) = tail.try_next().await? {
            let version = stored.version;
            let event = stored.decode_with::<A::Event>(stream_id, &self.upcasters)?;
            loaded.state = A::apply(loaded.state, &event);
            loaded.version = version;
        }
        Ok(loaded)
    }
}

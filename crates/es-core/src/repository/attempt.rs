//! One decision of a command and what the store makes of it.
//!
//! The state a command is decided from may be stale (a cached state, or the
//! guess that an uncached aggregate is new). An append decided from it is
//! safe: the store checks the version. A refusal or a no-op writes nothing,
//! so nothing checks it: before one is returned, it is confirmed against the
//! stream's current version (one `stream_version` call), and decided again
//! on the current state if the stream moved.
//!
//! A keyed command ([`IdempotencyKey`]) that had committed already is
//! recognised instead of applied again: by the store, which answers an exact
//! re-send of its event ids with the earlier outcome or refuses ids it holds
//! elsewhere, and by the load, which finds the key's events in the stream.

use crate::{Aggregate, EventStore, StoreError, StreamId};

use super::{
    load::KeyScan, ExecuteError, ExecuteOptions, Executed, IdempotencyKey, Loaded, Repository,
};

/// Where the state a command is decided from came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Source {
    /// The warm-state cache (may be stale).
    Cache,
    /// Not cached: guessed to be a new aggregate (checked by `NoStream`).
    Guess,
    /// Loaded from the store just now (for a keyed command: the key is not
    /// among the events loaded).
    Store,
}

/// What one decision came to.
pub(super) enum Attempt<A: Aggregate> {
    /// The command's answer: committed, a confirmed refusal or no-op, or the
    /// original outcome of a keyed command that had committed already.
    Answer(Result<Executed<A>, ExecuteError<A::Error>>),
    /// The state decided from was not the stream's current one.
    Stale {
        /// The current state, when it was loaded on the way.
        fresh: Option<Loaded<A>>,
        /// The stream's current version, when known.
        actual: Option<u64>,
        /// Whether the store refused the append (a conflict), rather than
        /// a refusal or no-op being found stale before it was returned.
        refused_append: bool,
    },
}

/// What the stream says of a cached state.
enum Confirmation<A: Aggregate> {
    /// The stream is still at the cached version.
    Current,
    /// The keyed command had committed already: its original outcome.
    Applied(Executed<A>),
    /// The stream moved on.
    Moved {
        fresh: Option<Loaded<A>>,
        actual: u64,
    },
}

/// The result of loading an aggregate for a command.
pub(super) enum Loading<A: Aggregate> {
    /// The current state, to decide on.
    Loaded(Loaded<A>),
    /// The keyed command had committed already: its original outcome.
    Applied(Executed<A>),
}

impl<A: Aggregate, S: EventStore> Repository<A, S> {
    /// Loads the aggregate to decide a command on it: for a keyed command,
    /// looking for the key's events on the way.
    pub(super) async fn load_for(
        &self,
        stream_id: &StreamId,
        key: Option<&IdempotencyKey>,
    ) -> Result<Loading<A>, StoreError> {
        let scan = key.map(|key| KeyScan { key, at: None });
        let found = self.load_scanning(stream_id, scan).await?;
        self.cache.remember(stream_id, &found.loaded);
        Ok(match found.applied {
            Some(executed) => Loading::Applied(executed),
            None => Loading::Loaded(found.loaded),
        })
    }

    /// Decides `command` on `loaded` (from `source`), confirms a refusal or
    /// no-op, appends the events, and recognises a keyed command that had
    /// committed already.
    pub(super) async fn attempt(
        &self,
        stream_id: &StreamId,
        loaded: Loaded<A>,
        source: Source,
        command: A::Command,
        options: &ExecuteOptions,
    ) -> Result<Attempt<A>, ExecuteError<A::Error>> {
        let key = options.get_idempotency_key();
        let before = loaded.version;
        let events = match A::handle(&loaded.state, command) {
            Ok(events) if !events.is_empty() => events,
            decision => {
                match source {
                    Source::Store => {}
                    // The guess may simply be wrong: decide again on the real state.
                    Source::Guess => {
                        return Ok(Attempt::Stale {
                            fresh: None,
                            actual: None,
                            refused_append: false,
                        })
                    }
                    Source::Cache => match self.confirm(stream_id, before, key).await? {
                        Confirmation::Current => {}
                        Confirmation::Applied(executed) => {
                            return Ok(Attempt::Answer(Ok(executed)))
                        }
                        Confirmation::Moved { fresh, actual } => {
                            return Ok(Attempt::Stale {
                                fresh,
                                actual: Some(actual),
                                refused_append: false,
                            })
                        }
                    },
                }
                // "Already done" may be the keyed command's own commit, from
                // before the snapshot the load started at.
                if let Some(executed) = self.recognise_before_snapshot(stream_id, key).await? {
                    return Ok(Attempt::Answer(Ok(executed)));
                }
                return Ok(Attempt::Answer(match decision {
                    Ok(_) => Ok(Self::nothing_to_append(stream_id, loaded)),
                    Err(rejected) => Err(ExecuteError::Rejected(rejected)),
                }));
            }
        };
        let count = events.len() as u64;
        let appended = self
            .append_events(stream_id, before, &events, key, options.get_metadata())
            .await;
        match (appended, key) {
            // The store answered with an earlier append of the key's ids: the
            // command had committed, decided on another state, or decided
            // otherwise on this one (the key re-used with another command, or
            // a decision that changed): its original outcome, not this one.
            (Ok(outcome), Some(key)) if outcome.resent || outcome.version != before + count => {
                let at = (outcome.version + 1).saturating_sub(count);
                self.recognise(stream_id, key, at).await
            }
            (Ok(outcome), _) => Ok(Attempt::Answer(Ok(self
                .committed(stream_id, loaded, events, outcome)
                .await))),
            (Err(StoreError::Conflict { actual, .. }), key) => {
                self.cache.forget(stream_id);
                let Some(key) = key else {
                    return Ok(Attempt::Stale {
                        fresh: None,
                        actual: Some(actual),
                        refused_append: true,
                    });
                };
                let fresh = match self.load_for(stream_id, Some(key)).await? {
                    Loading::Applied(executed) => return Ok(Attempt::Answer(Ok(executed))),
                    Loading::Loaded(fresh) => fresh,
                };
                if let Some(executed) = self.recognise_before_snapshot(stream_id, Some(key)).await?
                {
                    return Ok(Attempt::Answer(Ok(executed)));
                }
                Ok(Attempt::Stale {
                    actual: Some(fresh.version),
                    fresh: Some(fresh),
                    refused_append: true,
                })
            }
            // Some of the key's ids are recorded, but not as this batch: the
            // command had committed with other events.
            (
                Err(StoreError::DuplicateEventId {
                    event_id,
                    existing_stream,
                    existing_version,
                }),
                Some(key),
            ) if existing_stream == *stream_id => {
                match (0..events.len()).find(|&i| key.event_id(stream_id, i) == event_id) {
                    Some(index) => {
                        let at = existing_version.saturating_sub(index as u64);
                        self.recognise(stream_id, key, at).await
                    }
                    None => Err(ExecuteError::Store(StoreError::DuplicateEventId {
                        event_id,
                        existing_stream,
                        existing_version,
                    })),
                }
            }
            (Err(error), _) => Err(error.into()),
        }
    }

    /// Checks a refusal or no-op decided from the cached state at
    /// `cached_version`: one `stream_version` call, or for a keyed command a
    /// load that also looks for the key's events (a refusal such as "already
    /// done" may be the command's own earlier commit).
    async fn confirm(
        &self,
        stream_id: &StreamId,
        cached_version: u64,
        key: Option<&IdempotencyKey>,
    ) -> Result<Confirmation<A>, StoreError> {
        let Some(key) = key else {
            let actual = self.store.stream_version(stream_id).await?;
            if actual == cached_version {
                return Ok(Confirmation::Current);
            }
            self.cache.forget(stream_id);
            return Ok(Confirmation::Moved {
                fresh: None,
                actual,
            });
        };
        Ok(match self.load_for(stream_id, Some(key)).await? {
            Loading::Applied(executed) => Confirmation::Applied(executed),
            Loading::Loaded(fresh) if fresh.version == cached_version => Confirmation::Current,
            Loading::Loaded(fresh) => Confirmation::Moved {
                actual: fresh.version,
                fresh: Some(fresh),
            },
        })
    }

    /// The original outcome of the keyed command `key` if its events lie
    /// before the snapshot a load starts at: a replay of the whole stream
    /// that looks for them. Without snapshots (or without a key) every load
    /// already read the whole stream, so this reads nothing. Called only for
    /// an answer that would otherwise be a refusal, a no-op or a conflict,
    /// so a keyed command that appends never pays for it.
    pub(super) async fn recognise_before_snapshot(
        &self,
        stream_id: &StreamId,
        key: Option<&IdempotencyKey>,
    ) -> Result<Option<Executed<A>>, StoreError> {
        let (Some(key), Some(_)) = (key, &self.snapshots) else {
            return Ok(None);
        };
        // `at: Some(1)`: every snapshot is at or after version 1, so none is used.
        let found = self
            .load_scanning(stream_id, Some(KeyScan { key, at: Some(1) }))
            .await?;
        Ok(found.applied)
    }

    /// The original outcome of the keyed command whose first event the store
    /// says is at version `at` (read from there, past any later snapshot).
    async fn recognise(
        &self,
        stream_id: &StreamId,
        key: &IdempotencyKey,
        at: u64,
    ) -> Result<Attempt<A>, ExecuteError<A::Error>> {
        let found = self
            .load_scanning(stream_id, Some(KeyScan { key, at: Some(at) }))
            .await?;
        self.cache.remember(stream_id, &found.loaded);
        match found.applied {
            Some(executed) => Ok(Attempt::Answer(Ok(executed))),
            None => Err(ExecuteError::Store(StoreError::DuplicateEventId {
                event_id: key.event_id(stream_id, 0),
                existing_stream: stream_id.clone(),
                existing_version: at,
            })),
        }
    }
}

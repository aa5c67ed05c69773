//! Upcasting: reading events written with an older payload schema.
//!
//! Events are immutable, so when an event type's payload changes shape the old
//! rows stay as they are and are converted on read. Each step is typed: it
//! reads the old payload into the old Rust type and returns the new one, so a
//! mistake is a compile error or a [`DecodeFailure::Upcast`], never silent.
//!
//! The chain must end exactly at the event type's current schema version
//! (what [`DomainEvent::schema_version`] says of the decoded event, or what
//! [`Upcasters::current_version`] declares): a payload the steps cannot bring
//! there (a step is missing, or the row was written by newer code) is a
//! [`DecodeFailure::SchemaVersionGap`], never a payload decoded in the wrong
//! shape. [`decode_current`] is that rule; every decode path calls it.

use std::{collections::HashMap, fmt, sync::Arc};

use serde::{de::DeserializeOwned, Serialize};
use serde_json::Value;

use crate::{DecodeFailure, DomainEvent};

type Step = Arc<dyn Fn(Value) -> Result<Value, serde_json::Error> + Send + Sync>;

/// What is known of one event type: its steps by source version, and the
/// declared current version.
#[derive(Clone, Default)]
struct Chain {
    steps: HashMap<u32, Step>,
    current: Option<u32>,
}

impl Chain {
    /// The version the chain must reach: the declared one, else one past
    /// the newest step (the current version is at least that).
    fn target(&self) -> Option<u32> {
        self.current.or_else(|| {
            self.steps
                .keys()
                .max()
                .map(|newest| newest.saturating_add(1))
        })
    }
}

/// A chain of typed upcasters, keyed by event type and schema version.
///
/// ```
/// use es_core::{DecodeFailure, Upcasters};
/// use serde::{Deserialize, Serialize};
///
/// #[derive(Deserialize)]
/// struct CreatedV1 { slot: String }
/// #[derive(Serialize)]
/// struct CreatedV2 { slot: String, note: Option<String> }
///
/// let upcasters = Upcasters::new().register("BookingCreated", 1, |old: CreatedV1| CreatedV2 {
///     slot: old.slot,
///     note: None,
/// });
/// let v2 = upcasters
///     .upcast("BookingCreated", 1, serde_json::json!({ "slot": "A1" }))
///     .unwrap();
/// assert_eq!(v2, serde_json::json!({ "slot": "A1", "note": null }));
///
/// // Once version 3 is current, a v1 payload needs a 2→3 step too.
/// let upcasters = upcasters.current_version("BookingCreated", 3);
/// let gap = upcasters.upcast("BookingCreated", 1, serde_json::json!({ "slot": "A1" }));
/// assert!(matches!(
///     gap,
///     Err(DecodeFailure::SchemaVersionGap { stored: 1, reached: 2, current: 3, .. })
/// ));
/// ```
#[derive(Clone, Default)]
pub struct Upcasters {
    chains: HashMap<String, Chain>,
}

impl Upcasters {
    /// No upcasters.
    pub fn new() -> Self {
        Self::default()
    }

    /// Registers the step from `from_version` to `from_version + 1` of
    /// `event_type`, as a function from the old payload type to the new one.
    ///
    /// Registering a step also says that `event_type`'s current version is at
    /// least `from_version + 1`.
    #[must_use]
    pub fn register<Old, New, F>(mut self, event_type: &str, from_version: u32, step: F) -> Self
    where
        Old: DeserializeOwned,
        New: Serialize,
        F: Fn(Old) -> New + Send + Sync + 'static,
    {
        let step: Step = Arc::new(move |payload| {
            let old = Old::deserialize(payload)?;
            crate::exact_json::to_value(&step(old), crate::InputField::Payload, "")
        });
        self.chains
            .entry(event_type.to_owned())
            .or_default()
            .steps
            .insert(from_version, step);
        self
    }

    /// Declares `version` the current schema version of `event_type`: the
    /// version every stored payload of that type must be brought to (steps
    /// from `version` on are not applied), and the newest one accepted.
    ///
    /// Optional: decoding also checks the chain's end against the decoded
    /// event's [`DomainEvent::schema_version`]. Declaring it names the gap
    /// even when the payload would not decode at all.
    #[must_use]
    pub fn current_version(mut self, event_type: &str, version: u32) -> Self {
        self.chains
            .entry(event_type.to_owned())
            .or_default()
            .current = Some(version);
        self
    }

    /// Applies the registered steps from `schema_version` on, returning the
    /// payload at the current version of this type (declared with
    /// [`current_version`](Self::current_version), else one past the newest
    /// registered step). A type nothing is known of comes back unchanged.
    ///
    /// Fails with [`DecodeFailure::SchemaVersionGap`] when a step is missing
    /// on the way or `schema_version` is newer than the declared current one,
    /// and with [`DecodeFailure::Upcast`] when a step cannot read its input.
    pub fn upcast(
        &self,
        event_type: &str,
        schema_version: u32,
        payload: Value,
    ) -> Result<Value, DecodeFailure> {
        self.apply(event_type, schema_version, payload)
            .map(|(payload, _)| payload)
    }

    /// [`upcast`](Self::upcast), also returning the version reached.
    fn apply(
        &self,
        event_type: &str,
        stored: u32,
        mut payload: Value,
    ) -> Result<(Value, u32), DecodeFailure> {
        let Some(chain) = self.chains.get(event_type) else {
            return Ok((payload, stored));
        };
        let gap = |reached, current| DecodeFailure::SchemaVersionGap {
            stored,
            reached,
            current,
        };
        if let Some(current) = chain.current.filter(|current| stored > *current) {
            return Err(gap(stored, current));
        }
        let mut version = stored;
        while chain.current.is_none_or(|current| version < current) {
            let Some(step) = chain.steps.get(&version) else {
                break;
            };
            payload = step(payload).map_err(|source| DecodeFailure::Upcast {
                from: version,
                source,
            })?;
            // A step registered at u32::MAX leads nowhere: stop there (the
            // decoded event's own version check then refuses it).
            let Some(next) = version.checked_add(1) else {
                break;
            };
            version = next;
        }
        match chain.target() {
            Some(target) if version < target => Err(gap(version, target)),
            _ => Ok((payload, version)),
        }
    }

    /// Whether no upcaster is registered and no current version declared.
    pub fn is_empty(&self) -> bool {
        self.chains.is_empty()
    }
}

/// Brings a stored payload of `event_type` at `stored` schema version to the
/// current version with `upcasters`, decodes it as `E`, and checks that the
/// version reached is the decoded event's
/// [`schema_version`](DomainEvent::schema_version): a payload one step short
/// of it (or written by newer code) is a [`DecodeFailure::SchemaVersionGap`],
/// even when it happens to decode.
pub(crate) fn decode_current<E: DomainEvent>(
    upcasters: &Upcasters,
    event_type: &str,
    stored: u32,
    payload: Value,
) -> Result<E, DecodeFailure> {
    let (payload, reached) = upcasters.apply(event_type, stored, payload)?;
    let event = E::decode(event_type, payload).map_err(DecodeFailure::Payload)?;
    let current = event.schema_version();
    if reached != current {
        return Err(DecodeFailure::SchemaVersionGap {
            stored,
            reached,
            current,
        });
    }
    Ok(event)
}

impl fmt::Debug for Upcasters {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut steps: Vec<(&str, u32)> = self
            .chains
            .iter()
            .flat_map(|(event_type, chain)| {
                chain
                    .steps
                    .keys()
                    .map(move |from| (event_type.as_str(), *from))
            })
            .collect();
        steps.sort_unstable();
        let mut current: Vec<(&str, u32)> = self
            .chains
            .iter()
            .filter_map(|(event_type, chain)| Some((event_type.as_str(), chain.current?)))
            .collect();
        current.sort_unstable();
        f.debug_struct("Upcasters")
            .field("steps", &steps)
            .field("current", &current)
            .finish()
    }
}

//! Upcasting: reading events written with an older payload schema.
//!
//! Events are immutable, so when an event type's payload changes shape the old
//! rows stay as they are and are converted on read. Each step is typed: it
//! reads the old payload into the old Rust type and returns the new one, so a
//! mistake is a compile error or a [`DecodeFailure::Upcast`], never silent.

use std::{collections::HashMap, fmt, sync::Arc};

use serde::{de::DeserializeOwned, Serialize};
use serde_json::Value;

use crate::DecodeFailure;

type Step = Arc<dyn Fn(Value) -> Result<Value, serde_json::Error> + Send + Sync>;

/// A chain of typed upcasters, keyed by event type and schema version.
///
/// ```
/// use es_core::Upcasters;
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
/// ```
#[derive(Clone, Default)]
pub struct Upcasters {
    steps: HashMap<(String, u32), Step>,
}

impl Upcasters {
    /// No upcasters.
    pub fn new() -> Self {
        Self::default()
    }

    /// Registers the step from `from_version` to `from_version + 1` of
    /// `event_type`, as a function from the old payload type to the new one.
    #[must_use]
    pub fn register<Old, New, F>(mut self, event_type: &str, from_version: u32, step: F) -> Self
    where
        Old: DeserializeOwned,
        New: Serialize,
        F: Fn(Old) -> New + Send + Sync + 'static,
    {
        let step: Step = Arc::new(move |payload| {
            let old = Old::deserialize(payload)?;
            serde_json::to_value(step(old))
        });
        self.steps
            .insert((event_type.to_owned(), from_version), step);
        self
    }

    /// Applies every registered step from `schema_version` on, returning the
    /// payload at the newest version known for this type.
    pub fn upcast(
        &self,
        event_type: &str,
        schema_version: u32,
        mut payload: Value,
    ) -> Result<Value, DecodeFailure> {
        if self.steps.is_empty() {
            return Ok(payload);
        }
        let mut version = schema_version;
        while let Some(step) = self.steps.get(&(event_type.to_owned(), version)) {
            payload = step(payload).map_err(|source| DecodeFailure::Upcast {
                from: version,
                source,
            })?;
            version += 1;
        }
        Ok(payload)
    }

    /// Whether no upcaster is registered.
    pub fn is_empty(&self) -> bool {
        self.steps.is_empty()
    }
}

impl fmt::Debug for Upcasters {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut keys: Vec<_> = self.steps.keys().collect();
        keys.sort();
        f.debug_struct("Upcasters").field("steps", &keys).finish()
    }
}

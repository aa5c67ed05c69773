//! The aggregate abstraction.
//!
//! An aggregate is pure: it decides from its current state and a command which
//! events happen (or why not), and its state is a left fold of those events.
//! No I/O, no store types, so its logic is tested with the given/when/then kit
//! alone. Domain errors ([`Aggregate::Error`]) stay separate from store errors.

use serde::{de::DeserializeOwned, Serialize};

use crate::DomainEvent;

/// A consistency boundary: state, commands, events and the rules between them.
///
/// ```
/// use es_core::{Aggregate, DomainEvent};
/// use serde::{Deserialize, Serialize};
///
/// struct Counter;
///
/// #[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
/// enum CounterEvent { Incremented }
/// impl DomainEvent for CounterEvent {
///     fn event_type(&self) -> &'static str { "Incremented" }
/// }
///
/// #[derive(Debug, thiserror::Error)]
/// #[error("the counter is full")]
/// struct Full;
///
/// impl Aggregate for Counter {
///     const TYPE: &'static str = "counter";
///     type State = u32;
///     type Command = ();
///     type Event = CounterEvent;
///     type Error = Full;
///     fn handle(state: &u32, _: ()) -> Result<Vec<CounterEvent>, Full> {
///         if *state >= 3 { Err(Full) } else { Ok(vec![CounterEvent::Incremented]) }
///     }
///     fn apply(state: u32, _: &CounterEvent) -> u32 { state + 1 }
/// }
/// assert_eq!(Counter::fold(0, &[CounterEvent::Incremented, CounterEvent::Incremented]), 2);
/// ```
pub trait Aggregate: Send + Sync + 'static {
    /// The aggregate type name; streams are named `"{TYPE}-{id}"`.
    const TYPE: &'static str;
    /// The state folded from the events. `Default` is the state of a new stream.
    type State: Default + Clone + Send + Sync + Serialize + DeserializeOwned + 'static;
    /// What callers ask for.
    type Command: Send;
    /// What happened.
    type Event: DomainEvent + Clone;
    /// Why a command was refused.
    type Error: std::error::Error + Send + Sync + 'static;

    /// The revision of [`State`](Aggregate::State)'s shape and meaning,
    /// saved with every [`Snapshot`](crate::Snapshot). Bump it whenever the
    /// state's serialized form or the way [`apply`](Aggregate::apply) builds
    /// it changes (a field added with a serde default, say): snapshots of
    /// another revision are then ignored and replaced by a full replay,
    /// instead of being read into a state the events would not have built.
    /// Snapshots written before revisions existed count as revision 1.
    const SNAPSHOT_REVISION: u32 = 1;

    /// Decides which events a command produces from the current state.
    fn handle(state: &Self::State, command: Self::Command)
        -> Result<Vec<Self::Event>, Self::Error>;

    /// Applies one event to the state.
    fn apply(state: Self::State, event: &Self::Event) -> Self::State;

    /// Folds events into a state.
    fn fold<'a>(
        state: Self::State,
        events: impl IntoIterator<Item = &'a Self::Event>,
    ) -> Self::State {
        events.into_iter().fold(state, Self::apply)
    }
}

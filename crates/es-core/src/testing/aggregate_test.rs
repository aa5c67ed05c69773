//! Given/when/then tests for aggregates, in the style of cqrs-es.

use std::fmt::Debug;

use crate::Aggregate;

/// The "given" of an aggregate test: the events that already happened.
///
/// ```
/// use es_core::{testing::AggregateTest, Aggregate, DomainEvent};
/// # use serde::{Deserialize, Serialize};
/// # struct Counter;
/// # #[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
/// # enum CounterEvent { Incremented }
/// # impl DomainEvent for CounterEvent { fn event_type(&self) -> &'static str { "Incremented" } }
/// # #[derive(Debug, thiserror::Error)] #[error("the counter is full")] struct Full;
/// # impl Aggregate for Counter {
/// #     const TYPE: &'static str = "counter";
/// #     type State = u32; type Command = (); type Event = CounterEvent; type Error = Full;
/// #     fn handle(s: &u32, _: ()) -> Result<Vec<CounterEvent>, Full> {
/// #         if *s >= 2 { Err(Full) } else { Ok(vec![CounterEvent::Incremented]) } }
/// #     fn apply(s: u32, _: &CounterEvent) -> u32 { s + 1 }
/// # }
/// AggregateTest::<Counter>::given_no_previous_events()
///     .when(())
///     .then_expect_events(vec![CounterEvent::Incremented]);
///
/// AggregateTest::<Counter>::given(vec![CounterEvent::Incremented, CounterEvent::Incremented])
///     .when(())
///     .then_expect_error_message("the counter is full");
/// ```
pub struct AggregateTest<A: Aggregate> {
    given: Vec<A::Event>,
}

impl<A: Aggregate> AggregateTest<A> {
    /// A new aggregate with no history.
    pub fn given_no_previous_events() -> Self {
        Self { given: Vec::new() }
    }

    /// An aggregate whose history is `events`.
    pub fn given(events: impl IntoIterator<Item = A::Event>) -> Self {
        Self {
            given: events.into_iter().collect(),
        }
    }

    /// Decides `command` on the state folded from the given events.
    pub fn when(self, command: A::Command) -> AggregateTestResult<A> {
        let state = A::fold(A::State::default(), &self.given);
        AggregateTestResult {
            result: A::handle(&state, command),
        }
    }
}

/// The "then" of an aggregate test.
pub struct AggregateTestResult<A: Aggregate> {
    result: Result<Vec<A::Event>, A::Error>,
}

impl<A: Aggregate> AggregateTestResult<A> {
    /// Asserts that the command produced exactly `expected`.
    ///
    /// # Panics
    /// When it did not (this is an assertion).
    #[track_caller]
    pub fn then_expect_events(self, expected: Vec<A::Event>)
    where
        A::Event: PartialEq + Debug,
    {
        match self.result {
            Ok(events) => assert_eq!(events, expected, "the command produced other events"),
            Err(error) => {
                panic!("expected events {expected:?}, but the command was refused: {error}")
            }
        }
    }

    /// Asserts that the command was refused with an error matching `check`.
    ///
    /// # Panics
    /// When it was not.
    #[track_caller]
    pub fn then_expect_error(self, check: impl FnOnce(&A::Error) -> bool)
    where
        A::Event: Debug,
    {
        match self.result {
            Ok(events) => panic!("expected a refusal, but the command produced {events:?}"),
            Err(error) => assert!(
                check(&error),
                "the command was refused with another error: {error}"
            ),
        }
    }

    /// Asserts that the command was refused with this error message.
    ///
    /// # Panics
    /// When it was not.
    #[track_caller]
    pub fn then_expect_error_message(self, message: &str)
    where
        A::Event: Debug,
    {
        match self.result {
            Ok(events) => {
                panic!("expected the refusal {message:?}, but the command produced {events:?}")
            }
            Err(error) => assert_eq!(error.to_string(), message),
        }
    }

    /// The raw outcome, for assertions of your own.
    pub fn into_result(self) -> Result<Vec<A::Event>, A::Error> {
        self.result
    }
}

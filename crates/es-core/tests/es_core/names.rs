//! Every name a worker goes by is checked once, where it is built, by one
//! rule (`check_name`: 1 to `MAX_NAME_BYTES` bytes, not blank, no control
//! character): here a projection's, when its runner is built (a lease's and
//! a holder's, when a `Leader` is built, in es-lease). A name at the limit is accepted; one
//! byte past it, a NUL or another control character is a typed error before
//! anything runs.

use es_core::{
    async_trait,
    backend::{check_name, limits::MAX_NAME_BYTES},
    BoxError, InMemoryProjectionStore, InMemoryStore, InputField, InvalidInput, Projection,
    ProjectionError, ProjectionRunner, RecordedEvent,
};

use es_test_support::text::of_bytes as name_of;

/// Names one past the limit or with a character no downstream can keep,
/// with the refusal each gets.
fn refused_names(field: InputField) -> Vec<(String, InvalidInput)> {
    vec![
        (
            name_of(MAX_NAME_BYTES + 1),
            InvalidInput::TooLong {
                field,
                len: MAX_NAME_BYTES + 1,
                max: MAX_NAME_BYTES,
            },
        ),
        ("a\0b".into(), InvalidInput::Nul { field }),
        (
            "a\nb".into(),
            InvalidInput::ForbiddenCharacter {
                field,
                character: '\n',
            },
        ),
        (
            "\u{1b}[31mred".into(),
            InvalidInput::ForbiddenCharacter {
                field,
                character: '\u{1b}',
            },
        ),
        (" \t ".into(), InvalidInput::Blank { field }),
        (String::new(), InvalidInput::Empty { field }),
    ]
}

#[test]
fn one_rule_for_every_name() {
    for field in [
        InputField::ProjectionName,
        InputField::RelayName,
        InputField::ConsumerName,
        InputField::LeaseName,
        InputField::LeaseHolder,
    ] {
        assert_eq!(check_name(field, &name_of(MAX_NAME_BYTES)), Ok(()));
        assert_eq!(check_name(field, "it's \"ünïcödé\" 流 🦀 \u{202e}"), Ok(()));
        for (name, refusal) in refused_names(field) {
            assert_eq!(check_name(field, &name), Err(refusal), "{name:?}");
        }
    }
}

/// A projection with the given name that applies nothing.
struct Named(String);

#[async_trait]
impl Projection<()> for Named {
    fn name(&self) -> &str {
        &self.0
    }

    async fn apply(&self, _: &mut (), _: &RecordedEvent) -> Result<(), BoxError> {
        Ok(())
    }
}

fn runner(
    name: String,
) -> Result<ProjectionRunner<InMemoryStore, InMemoryProjectionStore<()>, Named>, ProjectionError> {
    ProjectionRunner::new(
        InMemoryStore::new(),
        InMemoryProjectionStore::<()>::new(),
        Named(name),
    )
}

#[test]
fn a_projection_name_is_checked_when_the_runner_is_built() {
    let at_limit = runner(name_of(MAX_NAME_BYTES)).expect("a name at the limit");
    assert_eq!(at_limit.projection().name().len(), MAX_NAME_BYTES);
    for (name, refusal) in refused_names(InputField::ProjectionName) {
        match runner(name.clone()) {
            Err(ProjectionError::InvalidName(invalid)) => assert_eq!(invalid, refusal),
            Err(other) => panic!("{name:?}: {other}"),
            Ok(_) => panic!("{name:?} was accepted"),
        }
    }
}

//! Aggregate stream ids are injective: distinct (aggregate type, id) pairs
//! never name one stream; anything that cannot be told apart is refused,
//! never trimmed, and what is accepted parses back exactly.

use std::collections::HashMap;

use es_core::backend::limits::{MAX_CATEGORY_BYTES, MAX_STREAM_ID_BYTES};
use es_core::{
    testing::conformance::{Counter, CounterCommand},
    ExecuteError, InMemoryStore, InputField, InvalidInput, Repository, StoreError, StreamId,
};

/// A small deterministic generator (xorshift), so failures reproduce.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }
    /// A string of `len` characters drawn from ASCII and multi-byte ones,
    /// with `rare` put in one place of one string in eight.
    fn text(&mut self, len: usize, rare: char) -> String {
        const ALPHABET: [char; 9] = ['a', 'k', 'B', '-', 'é', '流', '🦀', '_', ' '];
        let mut chars: Vec<char> = (0..len)
            .map(|_| ALPHABET[self.below(ALPHABET.len())])
            .filter(|c| *c != '-' || rare != '-')
            .collect();
        if !chars.is_empty() && self.below(8) == 0 {
            let at = self.below(chars.len());
            chars[at] = rare;
        }
        chars.into_iter().collect()
    }
    fn length(&mut self) -> usize {
        match self.below(4) {
            0 => self.below(4),
            1 => self.below(80),
            2 => MAX_STREAM_ID_BYTES / 4 - 8 + self.below(16),
            _ => MAX_STREAM_ID_BYTES - 16 + self.below(32),
        }
    }
}

#[test]
fn distinct_pairs_give_distinct_stream_ids_or_an_error() {
    let mut rng = Rng(0x9e37_79b9_7f4a_7c15);
    let mut seen: HashMap<StreamId, (String, String)> = HashMap::new();
    let mut accepted = 0;
    for _ in 0..4000 {
        let aggregate_type = match rng.below(3) {
            0 => {
                let len = rng.below(MAX_CATEGORY_BYTES / 4 + 2);
                let rare = if rng.below(2) == 0 { '-' } else { '\0' };
                rng.text(len, rare)
            }
            1 => "counter".to_owned(),
            _ => {
                let len = MAX_CATEGORY_BYTES / 4 + rng.below(4);
                rng.text(len, '-')
            }
        };
        let len = rng.length();
        let id = rng.text(len, '\0');
        match StreamId::for_aggregate(&aggregate_type, &id) {
            Ok(stream) => {
                accepted += 1;
                assert_eq!(stream.category(), aggregate_type);
                assert_eq!(stream.aggregate_id(), Some(id.as_str()));
                assert_eq!(stream.as_str(), format!("{aggregate_type}-{id}"));
                assert_eq!(StreamId::new(stream.as_str()).unwrap(), stream);
                if let Some(other) =
                    seen.insert(stream.clone(), (aggregate_type.clone(), id.clone()))
                {
                    assert_eq!(other, (aggregate_type, id), "two pairs named {stream}");
                }
            }
            Err(error) => {
                let refused_for_a_reason = aggregate_type.is_empty()
                    || aggregate_type.contains(['-', '\0'])
                    || aggregate_type.len() > MAX_CATEGORY_BYTES
                    || id.contains('\0')
                    || aggregate_type.len() + 1 + id.len() > MAX_STREAM_ID_BYTES;
                assert!(refused_for_a_reason, "refused ({error}) without cause");
            }
        }
    }
    assert!(
        accepted > 500,
        "the generator must exercise accepted ids too: {accepted}"
    );
}

#[test]
fn long_or_nul_ids_are_refused_not_trimmed() {
    let long_a = format!("{}A", "k".repeat(5000));
    let long_b = format!("{}B", "k".repeat(5000));
    for id in [&long_a, &long_b] {
        assert!(matches!(
            StreamId::for_aggregate("counter", id),
            Err(InvalidInput::TooLong {
                field: InputField::StreamId,
                max: MAX_STREAM_ID_BYTES,
                ..
            })
        ));
    }
    assert_eq!(
        StreamId::for_aggregate("counter", "a\0b"),
        Err(InvalidInput::Nul {
            field: InputField::AggregateId
        })
    );
    assert_ne!(
        StreamId::for_aggregate("counter", "ab").unwrap(),
        StreamId::for_aggregate("counter", "a b").unwrap()
    );
    let exactly = "x".repeat(MAX_STREAM_ID_BYTES - "counter-".len());
    let at_limit = StreamId::for_aggregate("counter", &exactly).unwrap();
    assert_eq!(at_limit.as_str().len(), MAX_STREAM_ID_BYTES);
    assert_eq!(at_limit.aggregate_id(), Some(exactly.as_str()));
}

#[test]
fn aggregate_types_that_would_blur_the_split_are_refused() {
    assert_eq!(
        StreamId::for_aggregate("", "1"),
        Err(InvalidInput::Empty {
            field: InputField::Category
        })
    );
    assert_eq!(
        StreamId::for_aggregate("room-booking", "1"),
        Err(InvalidInput::ForbiddenCharacter {
            field: InputField::Category,
            character: '-'
        })
    );
    assert!(matches!(
        StreamId::for_aggregate(&"c".repeat(MAX_CATEGORY_BYTES + 1), "1"),
        Err(InvalidInput::TooLong {
            field: InputField::Category,
            max: MAX_CATEGORY_BYTES,
            ..
        })
    ));
    assert!(StreamId::for_aggregate(&"c".repeat(MAX_CATEGORY_BYTES), "1").is_ok());
    // Ids may contain '-': the split is at the first one, inside the type's end.
    let stream = StreamId::for_aggregate("booking", "2024-01-01").unwrap();
    assert_eq!(
        (stream.category(), stream.aggregate_id()),
        ("booking", Some("2024-01-01"))
    );
}

#[tokio::test]
async fn the_repository_refuses_ids_that_cannot_name_a_stream() {
    let repository = Repository::<Counter, _>::new(InMemoryStore::new());
    let executed = repository
        .execute("a\0b", CounterCommand::Increment(1))
        .await;
    assert!(matches!(
        executed,
        Err(ExecuteError::InvalidId(InvalidInput::Nul {
            field: InputField::AggregateId
        }))
    ));
    let at = repository
        .execute_at(
            "k".repeat(5000),
            0,
            CounterCommand::Increment(1),
            Default::default(),
        )
        .await;
    assert!(matches!(
        at,
        Err(ExecuteError::InvalidId(InvalidInput::TooLong { .. }))
    ));
    assert!(matches!(
        repository.load("a\0b").await,
        Err(StoreError::InvalidInput(InvalidInput::Nul { .. }))
    ));
    assert!(matches!(
        Repository::<Counter, InMemoryStore>::stream_id("a\0b"),
        Err(InvalidInput::Nul { .. })
    ));
    // The NUL-free neighbour is a different, untouched aggregate.
    repository
        .execute("ab", CounterCommand::Increment(1))
        .await
        .unwrap();
    assert_eq!(repository.load("ab").await.unwrap().version, 1);
}

//! No value changes on the way: a typed value JSON cannot carry as it is (a
//! NaN or infinite float, a `Some` of something written as `null`) is
//! refused wherever it sits, with the path, and nothing is written; the
//! repository's cache never says what a replay would not.

use std::collections::BTreeMap;

use es_core::{
    Aggregate, DomainEvent, ExecuteError, InMemoryStore, InputField, InvalidInput, Metadata,
    Repository, SnapshotPolicy, SnapshotStore, StoreError, Upcasters,
};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

struct Gauge;

#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
struct Celsius(f64);

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
enum GaugeEvent {
    Measured {
        value: Option<f64>,
    },
    Calibrated(Option<Celsius>),
    Noted {
        limits: BTreeMap<String, Vec<Option<f32>>>,
    },
    Reset {
        previous: Option<Option<u32>>,
    },
    /// Divides the last value by `by` (so the state may hold NaN while
    /// every event is finite).
    Divided {
        by: f64,
    },
}

impl DomainEvent for GaugeEvent {
    fn event_type(&self) -> &'static str {
        match self {
            GaugeEvent::Measured { .. } => "Measured",
            GaugeEvent::Calibrated(_) => "Calibrated",
            GaugeEvent::Noted { .. } => "Noted",
            GaugeEvent::Reset { .. } => "Reset",
            GaugeEvent::Divided { .. } => "Divided",
        }
    }
}

#[derive(Debug, thiserror::Error)]
#[error("never")]
struct Never;

impl Aggregate for Gauge {
    const TYPE: &'static str = "gauge";
    type State = Option<f64>;
    type Command = GaugeEvent;
    type Event = GaugeEvent;
    type Error = Never;

    fn handle(_: &Option<f64>, command: GaugeEvent) -> Result<Vec<GaugeEvent>, Never> {
        Ok(vec![command])
    }

    fn apply(state: Option<f64>, event: &GaugeEvent) -> Option<f64> {
        match event {
            GaugeEvent::Measured { value } => *value,
            GaugeEvent::Divided { by } => state.map(|v| v / by),
            _ => state,
        }
    }
}

/// `command` is refused at execute naming `path` and `value`; nothing is
/// written and a cold load agrees with the warm repository.
async fn refused(command: GaugeEvent, path: &str, value: &str) {
    let store = InMemoryStore::new();
    let repository = Repository::<Gauge, _>::new(store.clone());
    let id = Uuid::now_v7();
    repository
        .execute(id, GaugeEvent::Measured { value: Some(1.0) })
        .await
        .expect("a finite value");
    match repository.execute(id, command.clone()).await {
        Err(ExecuteError::Store(StoreError::InvalidInput(InvalidInput::NotRepresentable {
            field: InputField::Payload,
            path: found_path,
            value: found_value,
        }))) => {
            assert_eq!(
                (found_path.as_str(), found_value),
                (path, value),
                "{command:?}"
            );
        }
        other => panic!("{command:?} was not refused: {other:?}"),
    }
    let warm = repository.load(id).await.expect("warm load");
    let cold = Repository::<Gauge, _>::new(store)
        .with_cache_capacity(0)
        .load(id)
        .await
        .expect("cold load");
    assert_eq!((warm.version, warm.state), (1, Some(1.0)), "{command:?}");
    assert_eq!((cold.version, cold.state), (1, Some(1.0)), "{command:?}");
}

#[tokio::test]
async fn a_non_finite_float_is_refused_wherever_it_sits() {
    for (value, name) in [
        (f64::NAN, "NaN"),
        (f64::INFINITY, "inf"),
        (f64::NEG_INFINITY, "-inf"),
    ] {
        refused(
            GaugeEvent::Measured { value: Some(value) },
            "Measured.value",
            name,
        )
        .await;
        refused(
            GaugeEvent::Calibrated(Some(Celsius(value))),
            "Calibrated",
            name,
        )
        .await;
    }
    let limits = BTreeMap::from([
        ("low".to_owned(), vec![Some(0.5)]),
        ("high".to_owned(), vec![None, Some(f32::INFINITY)]),
    ]);
    refused(
        GaugeEvent::Noted { limits },
        "Noted.limits[\"high\"][1]",
        "inf",
    )
    .await;
}

#[tokio::test]
async fn a_some_that_would_read_back_as_none_is_refused() {
    refused(
        GaugeEvent::Reset {
            previous: Some(None),
        },
        "Reset.previous",
        "Some(null)",
    )
    .await;
}

#[tokio::test]
async fn finite_and_absent_values_read_back_as_written() {
    let store = InMemoryStore::new();
    let repository = Repository::<Gauge, _>::new(store.clone());
    let id = Uuid::now_v7();
    let events = [
        GaugeEvent::Measured { value: None },
        GaugeEvent::Measured {
            value: Some(f64::MAX),
        },
        GaugeEvent::Calibrated(None),
        GaugeEvent::Reset {
            previous: Some(Some(3)),
        },
        GaugeEvent::Reset { previous: None },
    ];
    for event in &events {
        repository.execute(id, event.clone()).await.expect("stored");
    }
    let stored = es_core::EventStore::read_all(&store, es_core::Position::START, 100)
        .await
        .expect("read");
    let decoded: Vec<GaugeEvent> = stored
        .iter()
        .map(|e| GaugeEvent::decode(&e.event_type, e.payload.clone()).expect("decodes"))
        .collect();
    assert_eq!(decoded, events);
}

#[test]
fn extra_metadata_that_json_cannot_carry_is_refused_with_its_path() {
    let error = Metadata::default()
        .with_extra(&BTreeMap::from([("ratio", f64::NAN)]))
        .expect_err("NaN in the extra metadata");
    assert!(
        error.to_string().contains("extra[\"ratio\"]"),
        "the message names the path: {error}"
    );
    let error = Metadata::default()
        .with_extra(&Some(()))
        .expect_err("Some(()) in the extra metadata");
    assert!(error.to_string().contains("Some(null)"), "{error}");
    let error = Metadata::default()
        .with_extra(&None::<u32>)
        .expect_err("a null extra would read back as no extra");
    assert!(error.to_string().contains("extra"), "{error}");
    assert!(Metadata::default().with_extra(&[1.5, -0.0]).is_ok());
}

/// A state that holds NaN (every event finite) is not snapshotted: its
/// snapshot would read back as `None`; loads replay and agree.
#[tokio::test]
async fn a_state_json_cannot_carry_is_not_snapshotted() {
    let store = InMemoryStore::new();
    let repository = Repository::<Gauge, _>::new(store.clone())
        .with_snapshots(store.clone(), SnapshotPolicy::EveryN(1));
    let id = Uuid::now_v7();
    let stream = es_core::StreamId::for_aggregate(Gauge::TYPE, id).expect("stream id");
    repository
        .execute(id, GaugeEvent::Measured { value: Some(0.0) })
        .await
        .expect("stored");
    assert!(store.load_snapshot(&stream).await.expect("load").is_some());
    let divided = repository
        .execute(id, GaugeEvent::Divided { by: 0.0 })
        .await
        .expect("a finite event");
    assert!(divided.state.is_some_and(f64::is_nan));
    let snapshot = store.load_snapshot(&stream).await.expect("load");
    assert_eq!(
        snapshot.map(|s| s.version),
        Some(1),
        "the NaN state was not snapshotted"
    );
    let cold = Repository::<Gauge, _>::new(store.clone())
        .with_snapshots(store, SnapshotPolicy::EveryN(1))
        .with_cache_capacity(0)
        .load(id)
        .await
        .expect("load");
    assert_eq!(cold.version, 2);
    assert!(cold.state.is_some_and(f64::is_nan), "{:?}", cold.state);
}

/// An upcaster whose output JSON cannot carry fails the decode, naming the
/// path, instead of handing the handler a `null`.
#[test]
fn an_upcaster_output_json_cannot_carry_fails_the_decode() {
    #[derive(Deserialize)]
    struct V1 {
        value: f64,
    }
    #[derive(Serialize)]
    struct V2 {
        value: Option<f64>,
    }
    let upcasters = Upcasters::new().register("Measured", 1, |old: V1| V2 {
        value: Some(old.value / 0.0),
    });
    let error = upcasters
        .upcast("Measured", 1, serde_json::json!({ "value": 1.0 }))
        .expect_err("inf is refused");
    assert!(error.to_string().contains("inf at value"), "{error}");
}

//! The spans of one command and of the projection batch that applies it:
//! `es.execute` and `es.append` name the stream, the versions, the positions
//! and the command's trace id; `es.projection.batch` the checkpoint it moves
//! and the traces of its events.

use es_core::{
    async_trait, Aggregate, BoxError, DomainEvent, InMemoryProjectionStore, InMemoryStore,
    Metadata, Projection, ProjectionRunner, RecordedEvent, Repository, TraceContext,
};
use es_test_support::span_capture;
use serde::{Deserialize, Serialize};

struct Door;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
enum DoorEvent {
    Opened,
}

impl DomainEvent for DoorEvent {
    fn event_type(&self) -> &'static str {
        "Opened"
    }
}

#[derive(Debug, thiserror::Error)]
#[error("already open")]
struct AlreadyOpen;

impl Aggregate for Door {
    const TYPE: &'static str = "door";
    type State = bool;
    type Command = ();
    type Event = DoorEvent;
    type Error = AlreadyOpen;

    fn handle(open: &bool, (): ()) -> Result<Vec<DoorEvent>, AlreadyOpen> {
        if *open {
            return Err(AlreadyOpen);
        }
        Ok(vec![DoorEvent::Opened])
    }

    fn apply(_: bool, _: &DoorEvent) -> bool {
        true
    }
}

struct Count;

#[async_trait]
impl Projection<u64> for Count {
    fn name(&self) -> &str {
        "door-count"
    }

    async fn apply(&self, tx: &mut u64, _: &RecordedEvent) -> Result<(), BoxError> {
        *tx += 1;
        Ok(())
    }
}

#[tokio::test]
async fn a_command_and_its_projection_batch_carry_stream_versions_positions_and_trace() {
    let spans = span_capture::spans();
    let store = InMemoryStore::new();
    let repository = Repository::<Door, _>::new(store.clone());
    let trace = TraceContext::new_root();
    let door = uuid::Uuid::new_v4().to_string();
    let executed = repository
        .execute_with(&door, (), Metadata::default().with_trace_context(trace))
        .await
        .expect("opens");
    let position = executed.outcome.last_position.expect("a position");
    let trace_id = trace.trace_id_hex();

    let execute = spans.named_with("es.execute", "trace_id", &trace_id);
    assert_eq!(execute.len(), 1, "one execute span in the trace");
    let fields = &execute[0].fields;
    assert_eq!(fields.get("stream_id"), Some(&format!("door-{door}")));
    assert_eq!(fields.get("parent_id"), Some(&trace.parent_id_hex()));
    assert_eq!(fields.get("version").map(String::as_str), Some("1"));

    let append = spans.named_with("es.append", "trace_id", &trace_id);
    assert_eq!(append.len(), 1, "one append span in the trace");
    let fields = &append[0].fields;
    assert_eq!(fields.get("stream_id"), Some(&format!("door-{door}")));
    assert_eq!(
        fields.get("expected_version").map(String::as_str),
        Some("0")
    );
    assert_eq!(fields.get("version").map(String::as_str), Some("1"));
    assert_eq!(fields.get("first_position"), Some(&position.to_string()));
    assert_eq!(fields.get("last_position"), Some(&position.to_string()));

    let runner = ProjectionRunner::new(store, InMemoryProjectionStore::<u64>::new(), Count)
        .expect("a valid projection name");
    runner.catch_up().await.expect("catch up");
    let batches = spans.named_with("es.projection.batch", "trace_ids", &trace_id);
    assert_eq!(batches.len(), 1, "one batch holds the command's event");
    let fields = &batches[0].fields;
    assert_eq!(
        fields.get("projection").map(String::as_str),
        Some("door-count")
    );
    assert_eq!(fields.get("to"), Some(&position.to_string()));
    assert_eq!(fields.get("events").map(String::as_str), Some("1"));
}

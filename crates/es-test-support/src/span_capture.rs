//! A tracing subscriber that keeps the name and fields (those given at
//! creation and those recorded later) of every span of the `es-*` crates, installed once per test binary as
//! the global subscriber, so tests can check what the spans of a command, a
//! projection batch, the relay or the consumer said.
//!
//! ```
//! let spans = es_test_support::span_capture::spans();
//! tracing::info_span!("es.work", item = 7).in_scope(|| {});
//! assert_eq!(spans.named_with("es.work", "item", "7").len(), 1);
//! ```

use std::{
    collections::HashMap,
    fmt,
    sync::{
        atomic::{AtomicU64, Ordering},
        Arc, Mutex, OnceLock,
    },
};

use tracing::{
    field::{Field, Visit},
    span, Event, Metadata as TracingMetadata, Subscriber,
};

/// One captured span: its name and its fields, as displayed.
#[derive(Debug, Clone)]
pub struct CapturedSpan {
    /// The span's name.
    pub name: String,
    /// Its fields (name to value, displayed), as recorded so far.
    pub fields: HashMap<String, String>,
}

/// Every span created in this process since the capture was installed.
#[derive(Default)]
pub struct Spans {
    next: AtomicU64,
    spans: Mutex<HashMap<u64, CapturedSpan>>,
}

impl Spans {
    /// The spans named `name` whose field `field` is `value`.
    pub fn named_with(&self, name: &str, field: &str, value: &str) -> Vec<CapturedSpan> {
        self.spans
            .lock()
            .expect("lock")
            .values()
            .filter(|span| {
                span.name == name && span.fields.get(field).map(String::as_str) == Some(value)
            })
            .cloned()
            .collect()
    }
}

/// The process's span capture, installed as the global subscriber on first
/// use.
///
/// # Panics
///
/// If another global subscriber was installed first (a test-only helper).
pub fn spans() -> Arc<Spans> {
    static SPANS: OnceLock<Arc<Spans>> = OnceLock::new();
    SPANS
        .get_or_init(|| {
            let spans = Arc::new(Spans::default());
            tracing::subscriber::set_global_default(Collector(spans.clone()))
                .expect("the only global subscriber");
            spans
        })
        .clone()
}

struct Fields<'a>(&'a mut HashMap<String, String>);

impl Visit for Fields<'_> {
    fn record_str(&mut self, field: &Field, value: &str) {
        self.0.insert(field.name().to_owned(), value.to_owned());
    }
    fn record_debug(&mut self, field: &Field, value: &dyn fmt::Debug) {
        self.0.insert(field.name().to_owned(), format!("{value:?}"));
    }
}

struct Collector(Arc<Spans>);

impl Subscriber for Collector {
    /// Only the workspace's own spans (`es.*`, `es_amqp.*`): nothing else
    /// is kept, so a long test binary neither grows nor slows.
    fn enabled(&self, metadata: &TracingMetadata<'_>) -> bool {
        metadata.is_span() && metadata.name().starts_with("es")
    }
    fn new_span(&self, attributes: &span::Attributes<'_>) -> span::Id {
        let mut fields = HashMap::new();
        attributes.record(&mut Fields(&mut fields));
        let id = self.0.next.fetch_add(1, Ordering::Relaxed) + 1;
        self.0.spans.lock().expect("lock").insert(
            id,
            CapturedSpan {
                name: attributes.metadata().name().to_owned(),
                fields,
            },
        );
        span::Id::from_u64(id)
    }
    fn record(&self, id: &span::Id, values: &span::Record<'_>) {
        if let Some(span) = self.0.spans.lock().expect("lock").get_mut(&id.into_u64()) {
            values.record(&mut Fields(&mut span.fields));
        }
    }
    fn record_follows_from(&self, _: &span::Id, _: &span::Id) {}
    fn event(&self, _: &Event<'_>) {}
    fn enter(&self, _: &span::Id) {}
    fn exit(&self, _: &span::Id) {}
}

//! A tracing subscriber for test binaries, installed once per binary as the
//! global subscriber: it keeps the name and fields (those given at creation
//! and those recorded later) of every span of the `es-*` crates, so tests can
//! check what the spans of a command, a projection batch, the relay or the
//! consumer said; and it writes the `es_*` crates' warnings (reconnects,
//! retries, dead letters) to the test's captured output (`RUST_LOG`
//! overrides the level), so a failing test shows what its workers went
//! through. One subscriber does both because a process has only one global
//! subscriber.
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
    span, Subscriber,
};
use tracing_subscriber::{
    layer::{Context, SubscriberExt},
    registry::LookupSpan,
    EnvFilter, Layer,
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

/// The process's span capture, installed (with the warnings' output, see
/// the module docs) as the global subscriber on first use.
///
/// # Panics
///
/// If another global subscriber was installed first (a test-only helper).
pub fn spans() -> Arc<Spans> {
    static SPANS: OnceLock<Arc<Spans>> = OnceLock::new();
    SPANS
        .get_or_init(|| {
            let spans = Arc::new(Spans::default());
            let warnings = EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| EnvFilter::new("es_amqp=warn,es_core=warn,es_postgres=warn"));
            let subscriber = tracing_subscriber::registry()
                .with(Collector(spans.clone()))
                .with(
                    tracing_subscriber::fmt::layer()
                        .with_test_writer()
                        .with_filter(warnings),
                );
            tracing::subscriber::set_global_default(subscriber)
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

/// The key of a captured span in [`Spans`], kept in the span's extensions:
/// the registry reuses span ids once a span closes, the capture keeps every
/// span.
struct CaptureKey(u64);

struct Collector(Arc<Spans>);

impl<S: Subscriber + for<'a> LookupSpan<'a>> Layer<S> for Collector {
    /// Only the workspace's own spans (`es.*`, `es_amqp.*`) are kept, so a
    /// long test binary neither grows nor slows much.
    fn on_new_span(&self, attributes: &span::Attributes<'_>, id: &span::Id, ctx: Context<'_, S>) {
        let name = attributes.metadata().name();
        if !name.starts_with("es") {
            return;
        }
        let mut fields = HashMap::new();
        attributes.record(&mut Fields(&mut fields));
        let key = self.0.next.fetch_add(1, Ordering::Relaxed) + 1;
        self.0.spans.lock().expect("lock").insert(
            key,
            CapturedSpan {
                name: name.to_owned(),
                fields,
            },
        );
        if let Some(span) = ctx.span(id) {
            span.extensions_mut().insert(CaptureKey(key));
        }
    }

    fn on_record(&self, id: &span::Id, values: &span::Record<'_>, ctx: Context<'_, S>) {
        let Some(span) = ctx.span(id) else { return };
        let Some(&CaptureKey(key)) = span.extensions().get::<CaptureKey>() else {
            return;
        };
        if let Some(captured) = self.0.spans.lock().expect("lock").get_mut(&key) {
            values.record(&mut Fields(&mut captured.fields));
        }
    }
}

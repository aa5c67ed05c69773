//! The metrics of the `es-*` crates: every name, unit and label in one place.
//!
//! Operators need counters and lag to see a service working; call sites need
//! one line each so instrumentation does not bury the logic. Every helper
//! here is that line. With the `metrics` cargo feature off (the default) the
//! helpers compile to nothing; with it on they record through the
//! [`metrics`](https://docs.rs/metrics) facade, so whichever recorder the
//! application installs (for example a Prometheus exporter) receives them.
//! `es-core`, `es-postgres` and `es-amqp` forward their own `metrics` feature here.
//!
//! | name | kind | unit | labels | what |
//! |---|---|---|---|---|
//! | `es_appends_total` | counter | appends | – | appends an `es_core::Repository` committed |
//! | `es_append_conflicts_total` | counter | appends | – | appends refused by optimistic concurrency |
//! | `es_append_duration_seconds` | histogram | seconds | – | time of one append, committed or not |
//! | `es_projection_events_total` | counter | events | `projection` | events a projection runner applied |
//! | `es_projection_lag_events` | gauge | events | `projection` | committed events after the projection's checkpoint |
//! | `es_projection_lag_seconds` | gauge | seconds | `projection` | age of the oldest of them |
//! | `es_relay_lag_events` | gauge | events | `relay` | committed events after the relay's checkpoint |
//! | `es_relay_lag_seconds` | gauge | seconds | `relay` | age of the oldest of them |
//! | `es_relay_published_total` | counter | messages | `relay` | messages the relay published |
//! | `es_relay_confirmed_total` | counter | messages | `relay` | publishes the broker confirmed |
//! | `es_relay_returned_total` | counter | messages | `relay` | publishes the broker returned as unroutable |
//! | `es_consumer_handled_total` | counter | messages | `queue` | messages handled and acknowledged |
//! | `es_consumer_retried_total` | counter | attempts | `queue` | handler failures retried in place |
//! | `es_consumer_dead_lettered_total` | counter | messages | `queue` | messages dead-lettered |
//! | `es_consumer_subscribed` | gauge | 0 or 1 | `queue`, `role` (`preferred`, `standby`) | 1 while this process holds a subscription to the queue (a consumer group's partition: `preferred` when the process normally is its active consumer) |
//! | `es_reconnects_total` | counter | reconnects | `component` (`relay`, `consumer`), `name` | broker reconnects |
//! | `es_postgres_horizon_age_seconds` | gauge | seconds | – | age of the oldest open PostgreSQL transaction writing the event log (the only kind that holds back the global log) |

use std::time::Instant;

use crate::Lag;

/// Appends an `es_core::Repository` committed.
pub const APPENDS: &str = "es_appends_total";
/// Appends refused because the stream moved (optimistic concurrency).
pub const APPEND_CONFLICTS: &str = "es_append_conflicts_total";
/// Seconds one append took, committed or not.
pub const APPEND_DURATION: &str = "es_append_duration_seconds";
/// Events a projection runner applied; label `projection`.
pub const PROJECTION_EVENTS: &str = "es_projection_events_total";
/// Committed events after a projection's checkpoint; label `projection`.
pub const PROJECTION_LAG_EVENTS: &str = "es_projection_lag_events";
/// Age of the oldest event a projection has not applied; label `projection`.
pub const PROJECTION_LAG_SECONDS: &str = "es_projection_lag_seconds";
/// Committed events after a relay's checkpoint; label `relay`.
pub const RELAY_LAG_EVENTS: &str = "es_relay_lag_events";
/// Age of the oldest event a relay has not had confirmed; label `relay`.
pub const RELAY_LAG_SECONDS: &str = "es_relay_lag_seconds";
/// Messages a relay published; label `relay`.
pub const RELAY_PUBLISHED: &str = "es_relay_published_total";
/// Publishes the broker confirmed; label `relay`.
pub const RELAY_CONFIRMED: &str = "es_relay_confirmed_total";
/// Publishes the broker returned as unroutable; label `relay`.
pub const RELAY_RETURNED: &str = "es_relay_returned_total";
/// Messages a consumer handled and acknowledged; label `queue`.
pub const CONSUMER_HANDLED: &str = "es_consumer_handled_total";
/// Handler failures a consumer retried in place; label `queue`.
pub const CONSUMER_RETRIED: &str = "es_consumer_retried_total";
/// Messages a consumer dead-lettered; label `queue`.
pub const CONSUMER_DEAD_LETTERED: &str = "es_consumer_dead_lettered_total";
/// 1 while a process holds a subscription to a queue, else 0; labels
/// `queue` and `role` (`preferred` or `standby`).
pub const CONSUMER_SUBSCRIBED: &str = "es_consumer_subscribed";
/// Broker reconnects; labels `component` and `name`.
pub const RECONNECTS: &str = "es_reconnects_total";
/// Age of the oldest open PostgreSQL transaction that holds back the
/// global log's visibility horizon.
pub const POSTGRES_HORIZON_AGE: &str = "es_postgres_horizon_age_seconds";

/// Which part of a service reconnected (the `component` label of
/// [`RECONNECTS`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum Component {
    /// The relay to the broker.
    Relay,
    /// A consumer of a queue.
    Consumer,
}

impl Component {
    /// The label value.
    pub fn as_str(self) -> &'static str {
        match self {
            Component::Relay => "relay",
            Component::Consumer => "consumer",
        }
    }
}

/// How an append ended, for [`append_finished`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum AppendEnd {
    /// The store committed it (counted in [`APPENDS`]).
    Committed,
    /// Refused by optimistic concurrency (counted in [`APPEND_CONFLICTS`]).
    Conflict,
    /// Failed otherwise (only its duration is recorded).
    Failed,
}

/// Records one append that started at `started` and ended as `end`.
pub fn append_finished(started: Instant, end: AppendEnd) {
    record::histogram(APPEND_DURATION, started.elapsed().as_secs_f64());
    match end {
        AppendEnd::Committed => record::count(APPENDS, &[], 1),
        AppendEnd::Conflict => record::count(APPEND_CONFLICTS, &[], 1),
        AppendEnd::Failed => {}
    }
}

/// Records that `projection` applied `events` events.
pub fn projection_applied(projection: &str, events: usize) {
    record::count(
        PROJECTION_EVENTS,
        &[("projection", projection)],
        events as u64,
    );
}

/// Records how far `projection` is behind.
pub fn projection_lag(projection: &str, lag: Lag) {
    record::lag(
        [PROJECTION_LAG_EVENTS, PROJECTION_LAG_SECONDS],
        ("projection", projection),
        lag,
    );
}

/// Records how far `relay` is behind.
pub fn relay_lag(relay: &str, lag: Lag) {
    record::lag([RELAY_LAG_EVENTS, RELAY_LAG_SECONDS], ("relay", relay), lag);
}

/// Records that `relay` published one message.
pub fn relay_published(relay: &str) {
    record::count(RELAY_PUBLISHED, &[("relay", relay)], 1);
}

/// Records that the broker confirmed one of `relay`'s publishes.
pub fn relay_confirmed(relay: &str) {
    record::count(RELAY_CONFIRMED, &[("relay", relay)], 1);
}

/// Records that the broker returned one of `relay`'s publishes.
pub fn relay_returned(relay: &str) {
    record::count(RELAY_RETURNED, &[("relay", relay)], 1);
}

/// Records that the consumer of `queue` handled one message.
pub fn consumer_handled(queue: &str) {
    record::count(CONSUMER_HANDLED, &[("queue", queue)], 1);
}

/// Records that the consumer of `queue` retried a failed handler.
pub fn consumer_retried(queue: &str) {
    record::count(CONSUMER_RETRIED, &[("queue", queue)], 1);
}

/// Records that the consumer of `queue` dead-lettered one message.
pub fn consumer_dead_lettered(queue: &str) {
    record::count(CONSUMER_DEAD_LETTERED, &[("queue", queue)], 1);
}

/// Records whether this process holds a subscription to `queue`, on which
/// it has `role` (`preferred` or `standby`).
pub fn consumer_subscribed(queue: &str, role: &str, subscribed: bool) {
    record::gauge(
        CONSUMER_SUBSCRIBED,
        &[("queue", queue), ("role", role)],
        if subscribed { 1.0 } else { 0.0 },
    );
}

/// Records that `component` named `name` reconnected to the broker.
pub fn reconnected(component: Component, name: &str) {
    record::count(
        RECONNECTS,
        &[("component", component.as_str()), ("name", name)],
        1,
    );
}

/// Records the age of the oldest PostgreSQL transaction holding back the
/// global log (`0.0` when none is open).
pub fn postgres_horizon_age(seconds: f64) {
    record::gauge(POSTGRES_HORIZON_AGE, &[], seconds);
}

/// The recording itself: through the `metrics` facade, or nothing.
#[cfg(feature = "metrics")]
mod record {
    use crate::Lag;

    fn labels(labels: &[(&'static str, &str)]) -> Vec<metrics::Label> {
        labels
            .iter()
            .map(|(key, value)| metrics::Label::new(*key, (*value).to_owned()))
            .collect()
    }

    pub(super) fn count(name: &'static str, with: &[(&'static str, &str)], by: u64) {
        metrics::counter!(name, labels(with)).increment(by);
    }

    pub(super) fn gauge(name: &'static str, with: &[(&'static str, &str)], value: f64) {
        metrics::gauge!(name, labels(with)).set(value);
    }

    pub(super) fn histogram(name: &'static str, value: f64) {
        metrics::histogram!(name).record(value);
    }

    pub(super) fn lag(names: [&'static str; 2], label: (&'static str, &str), lag: Lag) {
        gauge(names[0], &[label], lag.events as f64);
        gauge(names[1], &[label], lag.seconds);
    }
}

/// The recording itself: through the `metrics` facade, or nothing.
#[cfg(not(feature = "metrics"))]
mod record {
    use crate::Lag;

    pub(super) fn count(_: &'static str, _: &[(&'static str, &str)], _: u64) {}

    pub(super) fn gauge(_: &'static str, _: &[(&'static str, &str)], _: f64) {}

    pub(super) fn histogram(_: &'static str, _: f64) {}

    pub(super) fn lag(_: [&'static str; 2], _: (&'static str, &str), _: Lag) {}
}

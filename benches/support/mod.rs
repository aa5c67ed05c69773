//! Shared pieces of the benchmarks: a Booking-like lifecycle aggregate and the
//! ratio report read from criterion's own estimates.
#![allow(dead_code)]

pub mod lifecycle;

use std::{path::PathBuf, time::Duration};

use criterion::{measurement::WallTime, BenchmarkGroup, Criterion, Throughput};

/// A criterion group sized for a shared machine: 10 samples after 1 s of
/// warm-up, `measurement` of timing, `elements` handled per iteration.
pub fn short_group<'a>(
    c: &'a mut Criterion,
    name: &str,
    elements: u64,
    measurement: Duration,
) -> BenchmarkGroup<'a, WallTime> {
    let mut group = c.benchmark_group(name);
    group.throughput(Throughput::Elements(elements));
    group.sample_size(10);
    group.warm_up_time(Duration::from_secs(1));
    group.measurement_time(measurement);
    group
}

/// Criterion's mean estimate (nanoseconds per iteration) of `group/function`.
pub fn mean_ns(group: &str, function: &str) -> Option<f64> {
    let dir = std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("target"));
    let path = dir
        .join("criterion")
        .join(group)
        .join(function)
        .join("new")
        .join("estimates.json");
    let text = std::fs::read_to_string(path).ok()?;
    let json: serde_json::Value = serde_json::from_str(&text).ok()?;
    json["mean"]["point_estimate"].as_f64()
}

/// Prints `ours` against `baseline` as throughput and ratio, e.g.
/// `RATIO sqlite_lifecycle: ours 2,345 events/s, raw 2,500 events/s, 0.94x (goal >= 0.9x)`.
/// `per_iteration` is the number of events (or messages) one iteration handles.
pub fn report(group: &str, ours: &str, baseline: &str, per_iteration: f64, goal: &str) {
    match (mean_ns(group, ours), mean_ns(group, baseline)) {
        (Some(o), Some(b)) => {
            let ours_rate = per_iteration * 1e9 / o;
            let raw_rate = per_iteration * 1e9 / b;
            println!(
                "RATIO {group}: {ours} {ours_rate:.0}/s, {baseline} {raw_rate:.0}/s, ratio {:.2}x ({goal})",
                ours_rate / raw_rate
            );
        }
        _ => println!("RATIO {group}: no estimates found (was the group filtered out?)"),
    }
}

//! Shared pieces of the benchmarks: a Booking-like lifecycle aggregate and the
//! ratio report read from criterion's own estimates.
#![allow(dead_code)]

pub mod lifecycle;

use std::{
    path::{Path, PathBuf},
    sync::OnceLock,
    time::Duration,
};

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

/// Where criterion writes its estimates: `$CRITERION_HOME`, else the
/// `criterion` folder of the cargo target directory (`$CARGO_TARGET_DIR`, else
/// the workspace's, from `cargo metadata`), as criterion itself decides.
fn criterion_home() -> Option<&'static Path> {
    static HOME: OnceLock<Option<PathBuf>> = OnceLock::new();
    HOME.get_or_init(|| {
        if let Some(home) = std::env::var_os("CRITERION_HOME") {
            return Some(PathBuf::from(home));
        }
        let target = match std::env::var_os("CARGO_TARGET_DIR") {
            Some(dir) => PathBuf::from(dir),
            None => {
                let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
                let output = std::process::Command::new(cargo)
                    .args(["metadata", "--format-version", "1", "--no-deps"])
                    .current_dir(env!("CARGO_MANIFEST_DIR"))
                    .output()
                    .ok()?;
                let metadata: serde_json::Value = serde_json::from_slice(&output.stdout).ok()?;
                PathBuf::from(metadata["target_directory"].as_str()?)
            }
        };
        Some(target.join("criterion"))
    })
    .as_deref()
}

/// Criterion's mean estimate (nanoseconds per iteration) of `group/function`.
pub fn mean_ns(group: &str, function: &str) -> Option<f64> {
    let path = criterion_home()?
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

/// Runs `ours` and `raw` alternately (in A B / B A order), `rounds` times
/// each, after a short warm-up, prints the median time of each and the
/// throughput ratio (with `goal`, if not empty, for the report's verdict),
/// and returns our median time in seconds.
///
/// Criterion measures one function after the other; on a shared machine
/// whose load (and fsync latency) drifts, that biases the ratio. Alternating
/// the two exposes them to the same conditions.
pub fn interleaved<A, AF, B, BF>(
    runtime: &tokio::runtime::Runtime,
    group: &str,
    rounds: usize,
    per_iteration: f64,
    goal: &str,
    mut ours: A,
    mut raw: B,
) -> f64
where
    A: FnMut() -> AF,
    AF: std::future::Future<Output = ()>,
    B: FnMut() -> BF,
    BF: std::future::Future<Output = ()>,
{
    async fn timed(work: impl std::future::Future<Output = ()>) -> std::time::Duration {
        let start = std::time::Instant::now();
        work.await;
        start.elapsed()
    }
    interleaved_timed(
        runtime,
        group,
        rounds,
        per_iteration,
        goal,
        || timed(ours()),
        || timed(raw()),
    )
}

/// [`interleaved`] for rounds that time themselves (each returns the time
/// of its measured part, leaving set-up and clean-up out).
pub fn interleaved_timed<A, AF, B, BF>(
    runtime: &tokio::runtime::Runtime,
    group: &str,
    rounds: usize,
    per_iteration: f64,
    goal: &str,
    mut ours: A,
    mut raw: B,
) -> f64
where
    A: FnMut() -> AF,
    AF: std::future::Future<Output = std::time::Duration>,
    B: FnMut() -> BF,
    BF: std::future::Future<Output = std::time::Duration>,
{
    runtime.block_on(async {
        for _ in 0..rounds.div_ceil(10) {
            ours().await;
            raw().await;
        }
        let (mut a, mut b) = (Vec::with_capacity(rounds), Vec::with_capacity(rounds));
        // A B, then B A: neither side always runs first (right after the
        // other's clean-up).
        for round in 0..rounds {
            if round % 2 == 0 {
                a.push(ours().await.as_secs_f64());
                b.push(raw().await.as_secs_f64());
            } else {
                b.push(raw().await.as_secs_f64());
                a.push(ours().await.as_secs_f64());
            }
        }
        let median = |v: &mut Vec<f64>| {
            v.sort_by(f64::total_cmp);
            v[v.len() / 2]
        };
        let (a, b) = (median(&mut a), median(&mut b));
        let goal = if goal.is_empty() {
            String::new()
        } else {
            format!("; {goal}")
        };
        println!(
            "RATIO {group} (interleaved medians): ours {:.0}/s (median {:.3} ms), raw {:.0}/s (median {:.3} ms), ratio {:.2}x (over {rounds} alternating rounds{goal})",
            per_iteration / a,
            a * 1e3,
            per_iteration / b,
            b * 1e3,
            b / a
        );
        a
    })
}

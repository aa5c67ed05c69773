//! The one text form of a progress sample, used by log lines and bar messages.

use std::time::Duration;

use es_core::projection::CatchUpProgress;

/// `label: done/total events (pct), rate events/s, time left` — with what
/// is known: `bookings: 250/1000 events (25.0%), 50 events/s, 15s left`,
/// `bookings: 300 events, 100 events/s` (no total),
/// `bookings: caught up, 1000 events in 4s (250 events/s)`.
pub fn line(label: &str, progress: &CatchUpProgress) -> String {
    format!("{label}: {}", status(progress))
}

/// [`line`] without its label: what a progress bar shows beside the bar.
pub(crate) fn status(progress: &CatchUpProgress) -> String {
    let rate = rate(progress);
    if progress.caught_up {
        let rate = rate.map(|r| format!(" ({r})")).unwrap_or_default();
        return format!(
            "caught up, {} events in {}{rate}",
            progress.done,
            duration(progress.elapsed)
        );
    }
    let done = match (progress.total, progress.fraction()) {
        (Some(total), Some(fraction)) => format!(
            "{}/{total} events ({:.1}%)",
            progress.done,
            fraction * 100.0
        ),
        _ => format!("{} events", progress.done),
    };
    let rest = rate_and_time_left(progress);
    if rest.is_empty() {
        done
    } else {
        format!("{done}, {rest}")
    }
}

/// `50 events/s, 15s left`, with what is known (empty when nothing is).
fn rate_and_time_left(progress: &CatchUpProgress) -> String {
    let mut parts = Vec::new();
    parts.extend(rate(progress));
    if let Some(left) = progress.time_left() {
        parts.push(format!("{} left", duration(left)));
    }
    parts.join(", ")
}

fn rate(progress: &CatchUpProgress) -> Option<String> {
    progress.rate().map(|rate| format!("{rate:.0} events/s"))
}

/// A duration for people, to the second: `0s`, `42s`, `3m 07s`, `2h 05m`.
pub fn duration(duration: Duration) -> String {
    let seconds = duration.as_secs_f64().round() as u64;
    match seconds {
        0..60 => format!("{seconds}s"),
        60..3600 => format!("{}m {:02}s", seconds / 60, seconds % 60),
        _ => format!("{}h {:02}m", seconds / 3600, seconds % 3600 / 60),
    }
}

#[cfg(test)]
mod tests {
    use std::time::Instant;

    use es_core::projection::CatchUpMeter;
    use es_core::Position;

    use super::*;

    #[test]
    fn durations_read_to_the_second() {
        let d = Duration::from_secs;
        assert_eq!(duration(Duration::from_millis(400)), "0s");
        assert_eq!(duration(d(42)), "42s");
        assert_eq!(duration(d(187)), "3m 07s");
        assert_eq!(duration(d(7_500)), "2h 05m");
    }

    #[test]
    fn lines_say_what_is_known() {
        let t0 = Instant::now();
        let mut meter = CatchUpMeter::start(Position::START, None, t0);
        meter.advance(300, Position::new(0, 300));
        let at = t0 + Duration::from_secs(3);
        assert_eq!(
            line("p", &meter.progress(at)),
            "p: 300 events, 100 events/s"
        );
        meter.finish();
        assert_eq!(
            line("p", &meter.progress(at)),
            "p: caught up, 300 events in 3s (100 events/s)"
        );
        let idle = CatchUpMeter::start(Position::START, Some(0), t0).progress(t0);
        assert_eq!(line("p", &idle), "p: 0/0 events (100.0%), 0s left");
    }
}

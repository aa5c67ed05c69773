//! Progress of long work on the log: events done, events in all, rate and
//! time left, computed in one place.
//!
//! A projection catching up after downtime, or rebuilt from the start, can
//! take minutes; operators want to see that it moves and when it will be
//! done. [`CatchUpMeter`] counts what was done against a target and turns it
//! into a [`CatchUpProgress`] at a given instant (the clock is the caller's,
//! so rate and time left are testable with a fake one).
//! [`ProjectionRunner::catch_up_progress`](crate::ProjectionRunner::catch_up_progress)
//! publishes them on a `watch` channel; tools that follow a checkpoint from
//! outside (`es projection watch`) feed a meter themselves. Rendering (bars,
//! log lines) is left to the binaries: this crate only carries the numbers.

use std::time::{Duration, Instant};

use serde::Serialize;

use crate::Position;

/// How far some catch-up work has come, at one instant.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
#[non_exhaustive]
pub struct CatchUpProgress {
    /// Where the work is in the log (the last position done).
    pub position: Position,
    /// Events done since the work started.
    pub done: u64,
    /// Events done plus those still to do, when known.
    pub total: Option<u64>,
    /// Time since the work started.
    pub elapsed: Duration,
    /// Whether the work has reached the head of the log.
    pub caught_up: bool,
}

impl CatchUpProgress {
    /// Events still to do, when the total is known (`0` once caught up).
    pub fn remaining(&self) -> Option<u64> {
        if self.caught_up {
            return Some(0);
        }
        self.total.map(|total| total.saturating_sub(self.done))
    }

    /// Events per second since the start; `None` before the first event or
    /// the first instant has passed.
    pub fn rate(&self) -> Option<f64> {
        let seconds = self.elapsed.as_secs_f64();
        (self.done > 0 && seconds > 0.0).then(|| self.done as f64 / seconds)
    }

    /// The time left at the rate so far: zero once caught up, `None` while
    /// the total or the rate is unknown.
    pub fn time_left(&self) -> Option<Duration> {
        let remaining = self.remaining()?;
        if remaining == 0 {
            return Some(Duration::ZERO);
        }
        let rate = self.rate()?;
        Duration::try_from_secs_f64(remaining as f64 / rate).ok()
    }

    /// The share done, from `0.0` to `1.0`, when the total is known.
    pub fn fraction(&self) -> Option<f64> {
        if self.caught_up {
            return Some(1.0);
        }
        let total = self.total?;
        Some(if total == 0 {
            1.0
        } else {
            (self.done as f64 / total as f64).min(1.0)
        })
    }
}

/// Counts catch-up work against its target and reports it as
/// [`CatchUpProgress`].
///
/// ```
/// use std::time::{Duration, Instant};
/// use es_core::{projection::CatchUpMeter, Position};
///
/// let start = Instant::now();
/// let mut meter = CatchUpMeter::start(Position::START, Some(1_000), start);
/// meter.advance(250, Position::new(0, 250));
/// let progress = meter.progress(start + Duration::from_secs(5));
/// assert_eq!(progress.rate(), Some(50.0));
/// assert_eq!(progress.time_left(), Some(Duration::from_secs(15)));
/// ```
#[derive(Debug, Clone)]
pub struct CatchUpMeter {
    started: Instant,
    position: Position,
    done: u64,
    total: Option<u64>,
    caught_up: bool,
}

impl CatchUpMeter {
    /// Work starting at `position` at `now`, with `remaining` events to do
    /// when known.
    pub fn start(position: Position, remaining: Option<u64>, now: Instant) -> Self {
        Self {
            started: now,
            position,
            done: 0,
            total: remaining,
            caught_up: false,
        }
    }

    /// `events` more done, up to `position`. Events appended after the
    /// start make the work longer than its target: the total then grows
    /// with what was done.
    pub fn advance(&mut self, events: u64, position: Position) {
        self.done = self.done.saturating_add(events);
        self.position = self.position.max(position);
        self.total = self.total.map(|total| total.max(self.done));
    }

    /// `remaining` events still to do after what was done so far: the
    /// target, once counted.
    pub fn set_remaining(&mut self, remaining: u64) {
        self.total = Some(self.done.saturating_add(remaining));
    }

    /// The work as seen from outside: `done` since the start, `remaining`
    /// still to do, at `position`.
    pub fn observe(&mut self, done: u64, remaining: u64, position: Position) {
        self.done = done;
        self.position = position;
        self.total = Some(done.saturating_add(remaining));
        self.caught_up = remaining == 0;
    }

    /// The work reached the head of the log.
    pub fn finish(&mut self) {
        self.caught_up = true;
        self.total = Some(self.done);
    }

    /// The progress at `now`.
    pub fn progress(&self, now: Instant) -> CatchUpProgress {
        CatchUpProgress {
            position: self.position,
            done: self.done,
            total: self.total,
            elapsed: now.saturating_duration_since(self.started),
            caught_up: self.caught_up,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn secs(s: u64) -> Duration {
        Duration::from_secs(s)
    }

    #[test]
    fn rate_and_time_left_follow_the_clock() {
        let t0 = Instant::now();
        let mut meter = CatchUpMeter::start(Position::START, Some(10_000), t0);
        let at_start = meter.progress(t0);
        assert_eq!(at_start.rate(), None, "nothing done yet");
        assert_eq!(at_start.time_left(), None);
        assert_eq!(at_start.fraction(), Some(0.0));

        meter.advance(2_000, Position::new(0, 2_000));
        let p = meter.progress(t0 + secs(4));
        assert_eq!(p.rate(), Some(500.0));
        assert_eq!(p.remaining(), Some(8_000));
        assert_eq!(p.time_left(), Some(secs(16)));
        assert_eq!(p.fraction(), Some(0.2));
        assert_eq!(p.position, Position::new(0, 2_000));

        // Slower later: the average rate drops and the estimate grows.
        meter.advance(2_000, Position::new(0, 4_000));
        let p = meter.progress(t0 + secs(16));
        assert_eq!(p.rate(), Some(250.0));
        assert_eq!(p.time_left(), Some(secs(24)));
    }

    #[test]
    fn an_unknown_total_gives_a_rate_but_no_time_left() {
        let t0 = Instant::now();
        let mut meter = CatchUpMeter::start(Position::START, None, t0);
        meter.advance(300, Position::new(0, 300));
        let p = meter.progress(t0 + secs(3));
        assert_eq!(p.rate(), Some(100.0));
        assert_eq!(
            (p.remaining(), p.time_left(), p.fraction()),
            (None, None, None)
        );
        meter.finish();
        let p = meter.progress(t0 + secs(3));
        assert_eq!(
            (p.remaining(), p.time_left()),
            (Some(0), Some(Duration::ZERO))
        );
        assert_eq!(
            (p.total, p.fraction(), p.caught_up),
            (Some(300), Some(1.0), true)
        );
    }

    #[test]
    fn appends_during_the_work_grow_the_total() {
        let t0 = Instant::now();
        let mut meter = CatchUpMeter::start(Position::START, Some(100), t0);
        meter.advance(150, Position::new(0, 150));
        let p = meter.progress(t0 + secs(1));
        assert_eq!(
            (p.total, p.remaining(), p.fraction()),
            (Some(150), Some(0), Some(1.0))
        );
        assert!(!p.caught_up, "only finish() or an observed zero says so");
    }

    #[test]
    fn an_outside_observer_sets_done_and_remaining() {
        let t0 = Instant::now();
        let mut meter = CatchUpMeter::start(Position::new(0, 10), Some(90), t0);
        meter.observe(30, 60, Position::new(0, 40));
        let p = meter.progress(t0 + secs(2));
        assert_eq!((p.done, p.total, p.rate()), (30, Some(90), Some(15.0)));
        assert_eq!(p.time_left(), Some(secs(4)));
        meter.observe(90, 0, Position::new(0, 100));
        assert!(meter.progress(t0 + secs(6)).caught_up);
    }

    #[test]
    fn a_clock_that_goes_back_counts_as_no_time() {
        let t0 = Instant::now() + secs(10);
        let meter = CatchUpMeter::start(Position::START, Some(1), t0);
        assert_eq!(meter.progress(t0 - secs(5)).elapsed, Duration::ZERO);
    }
}

//! Where progress goes: an indicatif bar on a terminal, log lines otherwise.

use std::{
    future::Future,
    io::{IsTerminal, Write},
    pin::pin,
    time::{Duration, Instant},
};

use es_core::projection::CatchUpProgress;
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use tokio::sync::watch;

use crate::format::{line, status};

/// The default pause between two log lines when stderr is not a terminal.
pub const DEFAULT_LINE_INTERVAL: Duration = Duration::from_secs(5);

/// The bar: label, bar, then the sample as a log line says it (done of
/// total as far as known, rate, time left), so the first frame never reads
/// `0/0 events, ` before a total is known.
const BAR_TEMPLATE: &str = "{prefix} [{wide_bar}] {msg}";

/// Renders progress samples of one piece of work to stderr.
pub struct ProgressView {
    label: String,
    output: Output,
}

enum Output {
    Bar(ProgressBar),
    Lines {
        every: Duration,
        last: Option<Instant>,
        to: Box<dyn FnMut(&str) + Send>,
    },
}

impl std::fmt::Debug for ProgressView {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let output = match self.output {
            Output::Bar(_) => "bar",
            Output::Lines { .. } => "lines",
        };
        f.debug_struct("ProgressView")
            .field("label", &self.label)
            .field("output", &output)
            .finish()
    }
}

impl ProgressView {
    /// A bar if stderr is a terminal, else a log line on stderr at most
    /// every `every` (and always the last one).
    pub fn for_stderr(label: impl Into<String>, every: Duration) -> Self {
        if std::io::stderr().is_terminal() {
            Self::bar(label)
        } else {
            Self::lines(label, every, Box::new(std::io::stderr()))
        }
    }

    /// A bar on stderr (hidden by indicatif if stderr is not a terminal).
    pub fn bar(label: impl Into<String>) -> Self {
        let label = label.into();
        let bar = ProgressBar::with_draw_target(None, ProgressDrawTarget::stderr());
        if let Ok(style) = ProgressStyle::with_template(BAR_TEMPLATE) {
            bar.set_style(style.progress_chars("=> "));
        }
        bar.set_prefix(label.clone());
        Self {
            label,
            output: Output::Bar(bar),
        }
    }

    /// Log lines to `to`, at most one every `every` (and always the last).
    pub fn lines(label: impl Into<String>, every: Duration, mut to: Box<dyn Write + Send>) -> Self {
        // Progress is a courtesy: a closed output must not fail the work.
        Self::log_with(label, every, move |line| {
            let _ = writeln!(to, "{line}");
        })
    }

    /// Log lines handed to `log` (a service's `tracing::info!`, say), at
    /// most one every `every` (and always the last).
    pub fn log_with(
        label: impl Into<String>,
        every: Duration,
        log: impl FnMut(&str) + Send + 'static,
    ) -> Self {
        Self {
            label: label.into(),
            output: Output::Lines {
                every,
                last: None,
                to: Box::new(log),
            },
        }
    }

    /// Shows a sample: moves the bar, or writes a line if the last one is
    /// at least the interval old (the first sample always gets one).
    pub fn show(&mut self, progress: &CatchUpProgress) {
        self.show_at(progress, Instant::now());
    }

    /// [`show`](Self::show) at `now`.
    pub fn show_at(&mut self, progress: &CatchUpProgress, now: Instant) {
        match &mut self.output {
            Output::Bar(bar) => {
                if let Some(total) = progress.total {
                    bar.set_length(total);
                }
                bar.set_position(progress.done);
                bar.set_message(status(progress));
            }
            Output::Lines { every, last, to } => {
                if last.is_some_and(|last| now.saturating_duration_since(last) < *every) {
                    return;
                }
                *last = Some(now);
                to(&line(&self.label, progress));
            }
        }
    }

    /// Ends the view with the last sample: the bar is cleared (the caller
    /// prints its own summary on stdout), a log line is written whatever
    /// the interval.
    pub fn finish(&mut self, progress: &CatchUpProgress) {
        match &mut self.output {
            Output::Bar(bar) => bar.finish_and_clear(),
            Output::Lines { to, last, .. } => {
                to(&line(&self.label, progress));
                // The next piece of work starts with a line of its own.
                *last = None;
            }
        }
    }
}

/// Runs `work` while showing the samples `progress` receives on `view`;
/// when `work` ends, shows the last sample with [`ProgressView::finish`]
/// and returns `work`'s output. Samples already there when it starts (from
/// earlier work) are not shown.
pub async fn follow_while<T>(
    mut progress: watch::Receiver<Option<CatchUpProgress>>,
    view: &mut ProgressView,
    work: impl Future<Output = T>,
) -> T {
    progress.borrow_and_update();
    let mut work = pin!(work);
    let output = loop {
        tokio::select! {
            output = &mut work => break output,
            changed = progress.changed() => match changed {
                Ok(()) => {
                    let sample = *progress.borrow_and_update();
                    if let Some(sample) = sample {
                        view.show(&sample);
                    }
                }
                // Nobody reports any more: just let the work finish.
                Err(_) => break work.await,
            },
        }
    };
    let last = *progress.borrow();
    if let Some(last) = last {
        view.finish(&last);
    }
    output
}

/// Shows every sample `progress` receives on `view`, for the life of the
/// sender (a runner that catches up at each start, as under a lease): a
/// sample that says caught up ends that piece of work with
/// [`ProgressView::finish`]. Samples already there when it starts are shown
/// too. Returns when the sender is gone.
pub async fn follow(
    mut progress: watch::Receiver<Option<CatchUpProgress>>,
    view: &mut ProgressView,
) {
    loop {
        let sample = *progress.borrow_and_update();
        if let Some(sample) = sample {
            if sample.caught_up {
                view.finish(&sample);
            } else {
                view.show(&sample);
            }
        }
        if progress.changed().await.is_err() {
            return;
        }
    }
}

#[cfg(test)]
mod tests {
    use std::sync::{Arc, Mutex};

    use es_core::projection::CatchUpMeter;
    use es_core::Position;

    use super::*;

    #[derive(Clone, Default)]
    struct Captured(Arc<Mutex<Vec<u8>>>);

    impl Write for Captured {
        fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
            self.0.lock().expect("lock").extend_from_slice(bytes);
            Ok(bytes.len())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }

    impl Captured {
        fn lines(&self) -> Vec<String> {
            let bytes = self.0.lock().expect("lock").clone();
            String::from_utf8(bytes)
                .expect("utf-8")
                .lines()
                .map(str::to_owned)
                .collect()
        }
    }

    #[test]
    fn log_lines_come_at_most_once_per_interval_and_always_at_the_end() {
        let out = Captured::default();
        let mut view = ProgressView::lines("p", Duration::from_secs(5), Box::new(out.clone()));
        let t0 = Instant::now();
        let mut meter = CatchUpMeter::start(Position::START, Some(100), t0);
        for second in 0..12u64 {
            meter.advance(5, Position::new(0, 5 * (second + 1)));
            let now = t0 + Duration::from_secs(second + 1);
            view.show_at(&meter.progress(now), now);
        }
        meter.finish();
        view.finish(&meter.progress(t0 + Duration::from_secs(12)));
        let lines = out.lines();
        // Seconds 1, 6 and 11, then the end.
        assert_eq!(lines.len(), 4, "{lines:?}");
        assert_eq!(lines[0], "p: 5/100 events (5.0%), 5 events/s, 19s left");
        assert_eq!(lines[3], "p: caught up, 60 events in 12s (5 events/s)");
    }

    #[tokio::test]
    async fn follow_ends_each_catch_up_with_its_last_line() {
        let out = Captured::default();
        let mut view = ProgressView::lines("p", Duration::from_secs(3600), Box::new(out.clone()));
        let t0 = Instant::now();
        let (tx, rx) = watch::channel(None);
        let seen = out.clone();
        let feed = async move {
            // A watch keeps only the latest sample: wait until each is shown.
            let shown = async |lines: usize| {
                while seen.lines().len() < lines {
                    tokio::task::yield_now().await;
                }
            };
            for (round, events) in [3, 5].into_iter().enumerate() {
                let mut meter = CatchUpMeter::start(Position::START, Some(events), t0);
                tx.send_replace(Some(meter.progress(t0)));
                shown(2 * round + 1).await;
                meter.advance(events, Position::new(0, events));
                meter.finish();
                tx.send_replace(Some(meter.progress(t0)));
                shown(2 * round + 2).await;
            }
        };
        tokio::join!(follow(rx, &mut view), feed);
        // Each start gets a line despite the hour-long interval, each end too.
        assert_eq!(
            out.lines(),
            [
                "p: 0/3 events (0.0%)",
                "p: caught up, 3 events in 0s",
                "p: 0/5 events (0.0%)",
                "p: caught up, 5 events in 0s",
            ]
        );
    }

    #[tokio::test]
    async fn follow_while_shows_new_samples_and_the_last_one() {
        let out = Captured::default();
        let mut view = ProgressView::lines("p", Duration::ZERO, Box::new(out.clone()));
        let t0 = Instant::now();
        let stale = CatchUpMeter::start(Position::START, Some(9), t0).progress(t0);
        let (tx, rx) = watch::channel(Some(stale));
        let work = async move {
            let mut meter = CatchUpMeter::start(Position::START, Some(2), t0);
            for n in 1..=2 {
                meter.advance(1, Position::new(0, n));
                tx.send_replace(Some(meter.progress(t0)));
                tokio::task::yield_now().await;
            }
            meter.finish();
            tx.send_replace(Some(meter.progress(t0)));
            42
        };
        assert_eq!(follow_while(rx, &mut view, work).await, 42);
        let lines = out.lines();
        assert!(!lines.iter().any(|l| l.contains("/9 events")), "{lines:?}");
        assert!(
            lines
                .last()
                .is_some_and(|l| l.starts_with("p: caught up, 2 events")),
            "{lines:?}"
        );
    }
}

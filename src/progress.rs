//! Progress of runs on standard error: bars on a terminal, status lines at a fixed interval
//! elsewhere (a pipe, a log file, `nohup`), or nothing with `--quiet`.
//!
//! The experiments report each phase of work through [`Progress`]: `start(label, total)`, then
//! `advance(n)` as units are done, then `finish()`. A [`Display`] hands out one [`RunProgress`]
//! per run, so that the runs of `--seeds` each show their own bar or status line.

use std::io::Write;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::mpsc::{self, RecvTimeoutError, Sender};
use std::sync::{Arc, Mutex, PoisonError};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use apical::sim::experiments::Progress;
use indicatif::{MultiProgress, ProgressBar, ProgressDrawTarget, ProgressStyle};

/// The interval between status lines when standard error is not a terminal.
pub const STATUS_INTERVAL: Duration = Duration::from_secs(10);

/// The environment variable that sets another interval between status lines, in milliseconds.
pub const INTERVAL_VARIABLE: &str = "APICAL_PROGRESS_INTERVAL_MS";

/// One phase of work: its label, size, count and start.
struct Phase {
    label: String,
    total: u64,
    done: AtomicU64,
    started: Instant,
}

impl Phase {
    /// The phase as one status line: label, done/total, percent, elapsed time and, once work has
    /// been done, the estimated time left.
    fn status(&self) -> String {
        let done = self.done.load(Ordering::Relaxed).min(self.total);
        let elapsed = self.started.elapsed();
        let percent = if self.total == 0 { 100.0 } else { 100.0 * done as f64 / self.total as f64 };
        let mut line = format!("{} {done}/{} ({percent:.1} %), elapsed {}", self.label, self.total, duration(elapsed));
        if done > 0 && done < self.total {
            let left = elapsed.mul_f64((self.total - done) as f64 / done as f64);
            line.push_str(&format!(", eta {}", duration(left)));
        }
        line
    }
}

/// A duration as `4.2s`, `42s`, `3m07s` or `2h05m`.
fn duration(d: Duration) -> String {
    let s = d.as_secs();
    match s {
        0..10 => format!("{:.1}s", d.as_secs_f64()),
        10..60 => format!("{s}s"),
        60..3600 => format!("{}m{:02}s", s / 60, s % 60),
        _ => format!("{}h{:02}m", s / 3600, s % 3600 / 60),
    }
}

/// The phases in progress, printed by a thread at a fixed interval.
struct Ticker {
    phases: Arc<Mutex<Vec<Arc<Phase>>>>,
    stop: Option<Sender<()>>,
    thread: Option<JoinHandle<()>>,
}

impl Ticker {
    fn new(interval: Duration) -> Self {
        let phases: Arc<Mutex<Vec<Arc<Phase>>>> = Arc::default();
        let (stop, stopped) = mpsc::channel::<()>();
        let shown = Arc::clone(&phases);
        let thread = std::thread::spawn(move || {
            while let Err(RecvTimeoutError::Timeout) = stopped.recv_timeout(interval) {
                let phases = shown.lock().unwrap_or_else(PoisonError::into_inner);
                for phase in phases.iter() {
                    status_line(&phase.status());
                }
            }
        });
        Ticker { phases, stop: Some(stop), thread: Some(thread) }
    }
}

impl Drop for Ticker {
    fn drop(&mut self) {
        // Closing the channel wakes the thread, which then ends.
        self.stop.take();
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

/// How progress is shown.
enum Mode {
    Quiet,
    Bars(MultiProgress),
    Lines(Ticker),
}

/// The progress display of one invocation, shared by its runs.
pub struct Display(Mode);

impl Display {
    /// Nothing with `quiet`; bars when standard error is a terminal; status lines otherwise, every
    /// [`STATUS_INTERVAL`] or every `APICAL_PROGRESS_INTERVAL_MS` milliseconds.
    pub fn new(quiet: bool) -> Self {
        use std::io::IsTerminal;
        if quiet {
            return Display(Mode::Quiet);
        }
        if std::io::stderr().is_terminal() {
            return Display(Mode::Bars(MultiProgress::with_draw_target(ProgressDrawTarget::stderr())));
        }
        let interval = std::env::var(INTERVAL_VARIABLE)
            .ok()
            .and_then(|v| v.trim().parse::<u64>().ok())
            .filter(|&ms| ms > 0)
            .map_or(STATUS_INTERVAL, Duration::from_millis);
        Display(Mode::Lines(Ticker::new(interval)))
    }

    /// Whether progress is shown at all.
    pub fn is_quiet(&self) -> bool {
        matches!(self.0, Mode::Quiet)
    }

    /// The progress of one run; `prefix` (such as `seed 3`) tells runs apart.
    pub fn run(&self, prefix: Option<String>) -> RunProgress<'_> {
        RunProgress { display: self, prefix, current: Mutex::new(None) }
    }
}

/// The phase a run is in, with its bar on a terminal.
struct Current {
    phase: Arc<Phase>,
    bar: Option<ProgressBar>,
    /// Whether the bar shows an estimate of the time left yet, which it does only once work has
    /// been done.
    eta_shown: AtomicBool,
}

/// The progress of one run.
pub struct RunProgress<'a> {
    display: &'a Display,
    prefix: Option<String>,
    current: Mutex<Option<Current>>,
}

/// A bar's layout, with or without the estimate of the time left.
fn bar_style(eta: bool) -> ProgressStyle {
    let template = if eta {
        "{msg} [{bar:40}] {percent:>3}% {elapsed_precise} (eta {eta})"
    } else {
        "{msg} [{bar:40}] {percent:>3}% {elapsed_precise}"
    };
    ProgressStyle::with_template(template).unwrap_or_else(|_| ProgressStyle::default_bar()).progress_chars("=> ")
}

impl Progress for RunProgress<'_> {
    fn start(&self, label: &str, total: u64) {
        let label = match &self.prefix {
            Some(prefix) => format!("{prefix}: {label}"),
            None => label.to_string(),
        };
        let phase = Arc::new(Phase { label, total, done: AtomicU64::new(0), started: Instant::now() });
        let bar = match &self.display.0 {
            Mode::Quiet => None,
            Mode::Bars(multi) => {
                let bar = multi.add(ProgressBar::new(total).with_style(bar_style(false)));
                bar.set_message(phase.label.clone());
                bar.enable_steady_tick(Duration::from_millis(200));
                Some(bar)
            }
            Mode::Lines(ticker) => {
                ticker.phases.lock().unwrap_or_else(PoisonError::into_inner).push(Arc::clone(&phase));
                None
            }
        };
        let previous = self.current.lock().unwrap_or_else(PoisonError::into_inner).replace(Current {
            phase,
            bar,
            eta_shown: AtomicBool::new(false),
        });
        if let Some(previous) = previous {
            self.end(previous, true);
        }
    }

    fn advance(&self, n: u64) {
        let current = self.current.lock().unwrap_or_else(PoisonError::into_inner);
        let Some(current) = current.as_ref() else { return };
        current.phase.done.fetch_add(n, Ordering::Relaxed);
        if let Some(bar) = &current.bar {
            if !current.eta_shown.swap(true, Ordering::Relaxed) {
                bar.set_style(bar_style(true));
            }
            bar.inc(n);
        }
    }

    fn finish(&self) {
        let current = self.current.lock().unwrap_or_else(PoisonError::into_inner).take();
        if let Some(current) = current {
            self.end(current, true);
        }
    }
}

impl RunProgress<'_> {
    /// Ends a phase: its bar is cleared and it leaves the status lines, after a last one if the
    /// phase was `finished` rather than cut short by an error.
    fn end(&self, current: Current, finished: bool) {
        if let Some(bar) = current.bar {
            bar.finish_and_clear();
        }
        if let Mode::Lines(ticker) = &self.display.0 {
            ticker.phases.lock().unwrap_or_else(PoisonError::into_inner).retain(|p| !Arc::ptr_eq(p, &current.phase));
            if finished {
                status_line(&current.phase.status());
            }
        }
    }
}

impl Drop for RunProgress<'_> {
    fn drop(&mut self) {
        let current = self.current.get_mut().unwrap_or_else(PoisonError::into_inner).take();
        if let Some(current) = current {
            self.end(current, false);
        }
    }
}

/// Writes a line to standard error: progress, notes and the final error line. A reader that went
/// away (`2>&1 | head`) is no reason to stop a run whose results go to files, so a failed write
/// is ignored where `eprintln!` would panic.
pub fn status_line(text: &str) {
    let _ = writeln!(std::io::stderr().lock(), "{text}");
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn status_shows_an_estimate_only_after_work_started() {
        let phase = Phase {
            label: "fig-s1".into(),
            total: 200,
            done: AtomicU64::new(0),
            started: Instant::now() - Duration::from_secs(10),
        };
        assert_eq!(phase.status(), "fig-s1 0/200 (0.0 %), elapsed 10s");
        phase.done.store(50, Ordering::Relaxed);
        assert_eq!(phase.status(), "fig-s1 50/200 (25.0 %), elapsed 10s, eta 30s");
        phase.done.store(200, Ordering::Relaxed);
        assert_eq!(phase.status(), "fig-s1 200/200 (100.0 %), elapsed 10s");
    }

    #[test]
    fn durations_read_at_a_glance() {
        assert_eq!(duration(Duration::from_millis(4_240)), "4.2s");
        assert_eq!(duration(Duration::from_millis(42_900)), "42s");
        assert_eq!(duration(Duration::from_secs(187)), "3m07s");
        assert_eq!(duration(Duration::from_secs(7500)), "2h05m");
    }
}

//! `run_experiment`: one experiment of a configuration into an output folder, as `apical run`
//! runs it, with its progress written to Python's `sys.stderr` and Ctrl-C honoured at the run's
//! next resume checkpoint.

use std::path::PathBuf;
use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use apical_sim::experiments::{self, Progress, RunContext};
use pyo3::prelude::*;
use pyo3::types::PyDict;

use crate::config::Config;
use crate::sim_error;

/// How often a run looks for Ctrl-C, and how often it prints its progress.
const CHECK_EVERY: Duration = Duration::from_millis(100);
const PRINT_EVERY: Duration = Duration::from_secs(2);

/// Progress that prints status lines to Python's `sys.stderr` (so that a notebook shows them) and
/// asks the run to stop at its next checkpoint once Ctrl-C was pressed. The run itself goes on
/// with the interpreter released; this takes it back only every [`CHECK_EVERY`].
struct PythonProgress {
    show: bool,
    interrupted: AtomicBool,
    label: Mutex<String>,
    total: AtomicU64,
    done: AtomicU64,
    /// When the interpreter was last asked for signals, and when a line was last printed.
    last: Mutex<(Instant, Instant)>,
}

impl PythonProgress {
    fn new(show: bool) -> Self {
        let now = Instant::now();
        PythonProgress {
            show,
            interrupted: AtomicBool::new(false),
            label: Mutex::new(String::new()),
            total: AtomicU64::new(0),
            done: AtomicU64::new(0),
            last: Mutex::new((now, now)),
        }
    }

    /// Writes one status line, such as `fig1 1200/5000 (24.0 %)`, to `sys.stderr`.
    fn print(&self, py: Python<'_>) {
        let label = self.label.lock().map(|l| l.clone()).unwrap_or_default();
        let (done, total) = (self.done.load(Ordering::Relaxed), self.total.load(Ordering::Relaxed));
        let pct = if total > 0 { 100.0 * done as f64 / total as f64 } else { 100.0 };
        let line = format!("{label} {done}/{total} ({pct:.1} %)\n");
        // Progress is best effort: a closed or missing stderr does not stop the run.
        let _ = py.import("sys").and_then(|sys| sys.getattr("stderr")?.call_method1("write", (line,)));
    }
}

impl Progress for PythonProgress {
    fn start(&self, label: &str, total: u64) {
        if let Ok(mut l) = self.label.lock() {
            *l = label.to_string();
        }
        self.total.store(total, Ordering::Relaxed);
        self.done.store(0, Ordering::Relaxed);
    }

    fn advance(&self, n: u64) {
        self.done.fetch_add(n, Ordering::Relaxed);
        let Ok(mut last) = self.last.lock() else { return };
        let now = Instant::now();
        if now.duration_since(last.0) < CHECK_EVERY {
            return;
        }
        last.0 = now;
        let print = self.show && now.duration_since(last.1) >= PRINT_EVERY;
        if print {
            last.1 = now;
        }
        drop(last);
        Python::attach(|py| {
            if let Err(e) = py.check_signals() {
                // The exception is raised again, as the run's, once the run has stopped.
                drop(e);
                self.interrupted.store(true, Ordering::Relaxed);
            }
            if print {
                self.print(py);
            }
        });
    }

    fn finish(&self) {
        if self.show {
            self.done.store(self.total.load(Ordering::Relaxed), Ordering::Relaxed);
            Python::attach(|py| self.print(py));
        }
    }

    fn stop_after_checkpoint(&self) -> bool {
        self.interrupted.load(Ordering::Relaxed)
    }
}

/// Runs the experiment of `config` into the folder `out` and returns its report as a dict:
/// `experiment`, `table` (the printed rows), `values` (the table's numbers) and `files`.
/// `data` is the folder holding `mnist/` (default: `$APICAL_DATA_DIR`); `resume` continues from
/// the checkpoint in `out`. Ctrl-C stops the run at its next resume checkpoint with
/// `KeyboardInterrupt`; `resume=True` continues it from there.
#[pyfunction]
#[pyo3(signature = (config, out, data=None, resume=false, progress=true))]
pub fn run_experiment<'py>(
    py: Python<'py>,
    config: &Config,
    out: PathBuf,
    data: Option<PathBuf>,
    resume: bool,
    progress: bool,
) -> PyResult<Bound<'py, PyDict>> {
    let data_dir = data.or_else(|| std::env::var_os("APICAL_DATA_DIR").filter(|v| !v.is_empty()).map(PathBuf::from));
    let reporter = PythonProgress::new(progress);
    let ctx = RunContext { out_dir: out, data_dir, resume, progress: &reporter };
    let cfg = &config.cfg;
    let report = py.detach(|| experiments::run(cfg, &ctx)).map_err(|e| sim_error(&e))?;
    let result = PyDict::new(py);
    result.set_item("experiment", &report.experiment)?;
    result.set_item("table", &report.rows)?;
    let values = PyDict::new(py);
    for (k, v) in &report.values {
        values.set_item(k, v)?;
    }
    result.set_item("values", values)?;
    result.set_item("files", &report.files)?;
    Ok(result)
}

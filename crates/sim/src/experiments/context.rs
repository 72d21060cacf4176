//! What every experiment is handed and hands back: where it writes, how it reports progress, and
//! the report of a finished run.

use std::path::PathBuf;

use serde::Serialize;
use sha2::{Digest, Sha256};

/// Progress of a long run, shown by the command-line tool as a bar.
pub trait Progress: Sync {
    /// A new phase with `total` units of work begins.
    fn start(&self, label: &str, total: u64);
    /// `n` more units are done.
    fn advance(&self, n: u64);
    /// The phase is over.
    fn finish(&self);
    /// Asked after a run has saved a resume checkpoint that is not its last: true stops the run
    /// there with [`SimError::Stopped`](crate::experiments::error::SimError::Stopped), to be
    /// continued with `resume`. By default a run goes on.
    fn stop_after_checkpoint(&self) -> bool {
        false
    }
}

/// Progress that goes nowhere (tests, library use).
#[derive(Debug, Clone, Copy, Default)]
pub struct NoProgress;

impl Progress for NoProgress {
    fn start(&self, _label: &str, _total: u64) {}
    fn advance(&self, _n: u64) {}
    fn finish(&self) {}
}

/// Where a run writes and reads, and how it reports progress.
pub struct RunContext<'a> {
    /// The output folder (created if missing).
    pub out_dir: PathBuf,
    /// The folder holding data sets (`mnist/` inside it), if any.
    pub data_dir: Option<PathBuf>,
    /// Continue from the checkpoint in the output folder.
    pub resume: bool,
    /// Progress display.
    pub progress: &'a dyn Progress,
}

impl RunContext<'_> {
    /// The path of a file in the output folder.
    pub fn file(&self, name: &str) -> PathBuf {
        self.out_dir.join(name)
    }
}

/// The summary of a finished run.
#[derive(Debug, Clone, PartialEq)]
pub struct Report {
    /// The experiment's name.
    pub experiment: String,
    /// (quantity, value) lines of the result table.
    pub rows: Vec<(String, String)>,
    /// The table's numbers as numbers, under `snake_case` keys, for `summary.json`.
    pub values: Vec<(String, f64)>,
    /// The files written.
    pub files: Vec<PathBuf>,
}

impl std::fmt::Display for Report {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let width = self.rows.iter().map(|(k, _)| k.chars().count()).max().unwrap_or(0);
        writeln!(f, "{} results", self.experiment)?;
        for (k, v) in &self.rows {
            writeln!(f, "  {k:<width$}  {v}")?;
        }
        writeln!(f, "files:")?;
        for file in &self.files {
            writeln!(f, "  {}", file.display())?;
        }
        Ok(())
    }
}

/// What `summary.json` holds: the result table's numbers as numbers, with what identifies the run.
#[derive(Debug, Serialize)]
pub struct Summary<'a> {
    /// The version of Apical that ran it.
    pub apical_version: &'static str,
    /// The experiment's name.
    pub experiment: &'a str,
    /// The run's seed.
    pub seed: u64,
    /// SHA-256 of the run's configuration as TOML, as stored in its checkpoint.
    pub config_sha256: String,
    /// The run's wall time in seconds.
    pub wall_time_s: f64,
    /// The table's numbers; a non-finite number is written as `null`.
    pub values: serde_json::Map<String, serde_json::Value>,
    /// The table as printed, (quantity, value) pairs of text.
    pub table: &'a [(String, String)],
    /// The files written, `summary.json` not included.
    pub files: Vec<String>,
}

impl Report {
    /// The run's `summary.json` for the configuration `config_toml`, seed `seed` and wall time.
    pub fn summary_json(&self, config_toml: &str, seed: u64, wall_time_s: f64) -> String {
        let values = self.values.iter().map(|(k, v)| (k.clone(), serde_json::Value::from(*v))).collect();
        let summary = Summary {
            apical_version: env!("CARGO_PKG_VERSION"),
            experiment: &self.experiment,
            seed,
            config_sha256: format!("{:x}", Sha256::digest(config_toml.as_bytes())),
            wall_time_s,
            values,
            table: &self.rows,
            files: self.files.iter().map(|f| f.display().to_string()).collect(),
        };
        serde_json::to_string_pretty(&summary).expect("a summary of strings and numbers serialises") + "\n"
    }
}

/// Formats a number for a report.
pub(crate) fn fmt_sci(x: f64) -> String {
    format!("{x:.3e}")
}

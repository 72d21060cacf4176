//! What every experiment is handed and hands back: where it writes, how it reports progress, and
//! the report of a finished run.

use std::path::PathBuf;

/// Progress of a long run, shown by the command-line tool as a bar.
pub trait Progress: Sync {
    /// A new phase with `total` units of work begins.
    fn start(&self, label: &str, total: u64);
    /// `n` more units are done.
    fn advance(&self, n: u64);
    /// The phase is over.
    fn finish(&self);
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

/// Formats a number for a report.
pub(crate) fn fmt_sci(x: f64) -> String {
    format!("{x:.3e}")
}

//! The paper's experiments. Each is a configuration section and a function that runs it, writes
//! its metrics (CSV), plots (PNG) and final checkpoint into an output folder, and returns a
//! short report.

mod fig1;
mod fig2;
mod fig_s1;
mod mnist;
mod probe;

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

pub use fig_s1::FigS1Config;
pub use fig1::Fig1Config;
pub use fig2::{Fig2Config, Fig2Learner};
pub use mnist::{Misclassified, MnistConfig, SavedModel, load_mnist};
pub use probe::{ProbeMetrics, probe};

use crate::SimError;
use crate::config::{ConfigError, RunConfig};

/// The experiment of a run, with its own settings.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case", deny_unknown_fields)]
pub enum ExperimentConfig {
    /// Learn the self-predicting state from random lateral weights, with no target (Fig. S1).
    FigS1(FigS1Config),
    /// One input→target association from a self-predicting start (Fig. 1).
    Fig1(Fig1Config),
    /// Nonlinear regression against a teacher network from a random start, with baselines (Fig. 2).
    Fig2(Fig2Config),
    /// MNIST with the simplified two-step dynamics, or its baselines.
    Mnist(MnistConfig),
}

impl ExperimentConfig {
    /// The experiment's name, as in `--preset`.
    pub fn name(&self) -> &'static str {
        match self {
            ExperimentConfig::FigS1(_) => "fig-s1",
            ExperimentConfig::Fig1(_) => "fig1",
            ExperimentConfig::Fig2(_) => "fig2",
            ExperimentConfig::Mnist(_) => "mnist",
        }
    }

    /// Checks the experiment's settings against the rest of the configuration.
    pub fn validate(&self, cfg: &RunConfig) -> Result<(), ConfigError> {
        match self {
            ExperimentConfig::FigS1(e) => e.validate(cfg),
            ExperimentConfig::Fig1(e) => e.validate(cfg),
            ExperimentConfig::Fig2(e) => e.validate(cfg),
            ExperimentConfig::Mnist(e) => e.validate(cfg),
        }
    }
}

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

/// The summary of a finished run.
#[derive(Debug, Clone, PartialEq)]
pub struct Report {
    /// The experiment's name.
    pub experiment: String,
    /// (quantity, value) lines of the result table.
    pub rows: Vec<(String, String)>,
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

impl RunContext<'_> {
    /// The path of a file in the output folder.
    pub fn file(&self, name: &str) -> PathBuf {
        self.out_dir.join(name)
    }
}

/// Runs the experiment of a validated configuration.
pub fn run(cfg: &RunConfig, ctx: &RunContext<'_>) -> Result<Report, SimError> {
    cfg.validate()?;
    std::fs::create_dir_all(&ctx.out_dir)
        .map_err(|source| crate::files::WriteError { path: ctx.out_dir.clone(), source })?;
    match &cfg.experiment {
        ExperimentConfig::FigS1(e) => fig_s1::run(cfg, e, ctx),
        ExperimentConfig::Fig1(e) => fig1::run(cfg, e, ctx),
        ExperimentConfig::Fig2(e) => fig2::run(cfg, e, ctx),
        ExperimentConfig::Mnist(e) => mnist::run(cfg, e, ctx),
    }
}

/// Formats a number for a report.
pub(crate) fn fmt_sci(x: f64) -> String {
    format!("{x:.3e}")
}

/// Saves a run's final checkpoint with no resume payload and returns its path.
pub(crate) fn save_final(cfg: &RunConfig, weights: &crate::network::Weights, dir: &Path) -> Result<PathBuf, SimError> {
    let path = dir.join("checkpoint.bin");
    save_checkpoint(cfg, weights, Vec::new(), &path)?;
    Ok(path)
}

/// Saves a checkpoint with the experiment's resume payload to `path` (atomically).
pub(crate) fn save_checkpoint(
    cfg: &RunConfig,
    weights: &crate::network::Weights,
    resume: Vec<u8>,
    path: &Path,
) -> Result<(), SimError> {
    let config =
        toml::to_string(cfg).map_err(|e| SimError::Other(format!("cannot serialise the configuration: {e}")))?;
    crate::checkpoint::Checkpoint { config, weights: weights.clone(), resume }.save(path)
}

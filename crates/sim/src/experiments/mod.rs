//! The paper's experiments and the run configuration that composes them with the model.
//!
//! Each experiment is a folder: its `mod.rs` holds the configuration section and its validation
//! against the model, its `run.rs` runs it, writes its metrics (CSV), plots (PNG) and final
//! checkpoint into an output folder, and returns a short [`Report`]. The checkpoint holds what
//! the run needs to continue bit-identically with `resume`, and is saved at intervals while it
//! runs. [`config`] composes the
//! sections into one [`RunConfig`]; [`run`] dispatches on it.

pub mod checkpoint;
pub mod classify;
pub mod config;
pub mod context;
pub mod error;
pub mod fig1;
pub mod fig2;
pub mod fig_s1;
pub mod load;
pub mod mnist;
pub mod presets;
pub mod probe;
pub mod summary;

pub use classify::ClassifyConfig;
pub use config::{ExperimentConfig, RunConfig};
pub use context::{NoProgress, Progress, Report, RunContext, Summary};
pub use fig_s1::FigS1Config;
pub use fig1::Fig1Config;
pub use fig2::{Fig2Config, Fig2Learner};
pub use mnist::MnistConfig;
pub use mnist::run::{Misclassified, SavedModel, check_sizes, initial_weights as mnist_initial_weights, load_data};
pub use probe::{ProbeMetrics, probe};

use std::time::Instant;

use crate::experiments::error::SimError;
use crate::io::files::{WriteError, write_atomic};

/// Runs the experiment of a validated configuration and writes its `summary.json` beside the
/// other files, which the report lists last. With `resume` every experiment continues from the
/// resume checkpoint in the output folder; a missing checkpoint, or one of another
/// configuration, is refused with one line.
pub fn run(cfg: &RunConfig, ctx: &RunContext<'_>) -> Result<Report, SimError> {
    cfg.validate()?;
    let checkpoint = ctx.file("checkpoint.bin");
    if ctx.resume && !checkpoint.is_file() {
        return Err(SimError::Other(format!(
            "--resume: there is no checkpoint {} to continue from",
            checkpoint.display()
        )));
    }
    std::fs::create_dir_all(&ctx.out_dir).map_err(|source| WriteError { path: ctx.out_dir.clone(), source })?;
    let started = Instant::now();
    let mut report = match &cfg.experiment {
        ExperimentConfig::FigS1(e) => fig_s1::run::run(cfg, e, ctx),
        ExperimentConfig::Fig1(e) => fig1::run::run(cfg, e, ctx),
        ExperimentConfig::Fig2(e) => fig2::run::run(cfg, e, ctx),
        ExperimentConfig::Mnist(e) => mnist::run::run(cfg, e, ctx),
        ExperimentConfig::Classify(e) => classify::run::run(cfg, e, ctx),
    }?;
    let config =
        toml::to_string(cfg).map_err(|e| SimError::Other(format!("cannot serialise the configuration: {e}")))?;
    let path = ctx.file("summary.json");
    write_atomic(&path, report.summary_json(&config, cfg.seed, started.elapsed().as_secs_f64()).as_bytes())?;
    report.files.push(path);
    Ok(report)
}

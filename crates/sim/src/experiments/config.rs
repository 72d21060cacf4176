//! A run's configuration: what a TOML file under `configs/` holds. It composes the model
//! ([`ModelConfig`], the engine's part) with the experiment ([`ExperimentConfig`], whose sections
//! live with their experiments), so that neither the engine nor `io` knows any experiment.
//!
//! The file format is flat: `seed`, `[network]`, `[dynamics]`, `[plasticity]`, `[init]` and
//! `[experiment.<name>]` side by side, with unknown fields refused. [`RunConfig`] dereferences to
//! its [`ModelConfig`], so `cfg.network` reads the same whether `cfg` is a whole run or a model.

use std::ops::{Deref, DerefMut};

use serde::{Deserialize, Serialize};

pub use crate::engine::config::{
    ConfigError, DynamicsConfig, InitConfig, LateralInit, ModelConfig, NetworkConfig, NoiseScheme, PlasticityConfig,
    Precision, Stage, invalid,
};
use crate::experiments::classify::ClassifyConfig;
use crate::experiments::fig_s1::FigS1Config;
use crate::experiments::fig1::Fig1Config;
use crate::experiments::fig2::Fig2Config;
use crate::experiments::mnist::MnistConfig;

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
    /// Yin-Yang or Bars classification with the continuous-time engine.
    Classify(ClassifyConfig),
}

impl ExperimentConfig {
    /// The experiment's name, as in `--preset`.
    pub fn name(&self) -> &'static str {
        match self {
            ExperimentConfig::FigS1(_) => "fig-s1",
            ExperimentConfig::Fig1(_) => "fig1",
            ExperimentConfig::Fig2(_) => "fig2",
            ExperimentConfig::Mnist(_) => "mnist",
            ExperimentConfig::Classify(_) => "classify",
        }
    }

    /// Checks the experiment's settings against the model they run on.
    pub fn validate(&self, model: &ModelConfig) -> Result<(), ConfigError> {
        if model.plasticity.precision == Precision::F32 && matches!(self, ExperimentConfig::Classify(_)) {
            let problem = "\"f32\" is available for the fig-s1, fig1, fig2 and mnist experiments; classify stores f64";
            return Err(invalid("plasticity.precision", problem));
        }
        match self {
            ExperimentConfig::FigS1(e) => e.validate(model),
            ExperimentConfig::Fig1(e) => e.validate(model),
            ExperimentConfig::Fig2(e) => e.validate(model),
            ExperimentConfig::Mnist(e) => e.validate(model),
            ExperimentConfig::Classify(e) => e.validate(model),
        }
    }
}

/// A whole run: the model and the experiment.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(from = "RunConfigFile", into = "RunConfigFile")]
pub struct RunConfig {
    /// The network, its dynamics and plasticity, and how it starts.
    pub model: ModelConfig,
    /// The experiment and its schedule.
    pub experiment: ExperimentConfig,
}

/// The flat layout of a configuration file, field for field.
#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct RunConfigFile {
    #[serde(default)]
    seed: u64,
    network: NetworkConfig,
    #[serde(default)]
    dynamics: DynamicsConfig,
    plasticity: PlasticityConfig,
    init: InitConfig,
    experiment: ExperimentConfig,
}

impl From<RunConfigFile> for RunConfig {
    fn from(f: RunConfigFile) -> Self {
        let model = ModelConfig {
            seed: f.seed,
            network: f.network,
            dynamics: f.dynamics,
            plasticity: f.plasticity,
            init: f.init,
        };
        RunConfig { model, experiment: f.experiment }
    }
}

impl From<RunConfig> for RunConfigFile {
    fn from(c: RunConfig) -> Self {
        let m = c.model;
        RunConfigFile {
            seed: m.seed,
            network: m.network,
            dynamics: m.dynamics,
            plasticity: m.plasticity,
            init: m.init,
            experiment: c.experiment,
        }
    }
}

impl Deref for RunConfig {
    type Target = ModelConfig;
    fn deref(&self) -> &ModelConfig {
        &self.model
    }
}

impl DerefMut for RunConfig {
    fn deref_mut(&mut self) -> &mut ModelConfig {
        &mut self.model
    }
}

impl RunConfig {
    /// Checks every value once: the model, then the experiment against it.
    pub fn validate(&self) -> Result<(), ConfigError> {
        self.model.validate()?;
        self.experiment.validate(&self.model)
    }

    /// The number of consecutive seeds one run covers: `experiment.fig2.seeds` for Fig. 2 (the
    /// run's seed and the ones after it), 1 for every other experiment.
    pub fn seeds_per_run(&self) -> u64 {
        match &self.experiment {
            ExperimentConfig::Fig2(e) => e.seeds,
            _ => 1,
        }
    }

    /// The same run with another seed.
    pub fn with_seed(&self, seed: u64) -> RunConfig {
        let mut cfg = self.clone();
        cfg.model.seed = seed;
        cfg
    }
}

//! Classification with the continuous-time microcircuit: the Yin-Yang data set (Kriener et al.,
//! 2021) and the Bars of the Latent Equilibrium paper (Haider et al., NeurIPS 2021).
//!
//! Training shows every training sample once per epoch, in an order shuffled anew each epoch,
//! for `pattern_ms` while the output is nudged towards the target potential of its class:
//!
//! ```text
//! u_trgt,i = target_potentials[1] for the sample's class i, target_potentials[0] otherwise,
//! i_N = g_som (u_trgt − u_N),
//! ```
//!
//! with plasticity on (after the learning lag of each pattern) and the engine's input and target
//! filters carrying over from one pattern to the next. After every epoch the network is measured
//! on the training, validation and test sets at the noise-free steady state without a target
//! (the fixed point of spec §3): a sample counts as right when its class's output potential
//! u_N,i is the largest, which is the most active output neuron since φ is increasing. The run
//! keeps the weights of the epoch with the best validation accuracy (the earliest of equals) and
//! reports that epoch's test accuracy.
//!
//! At the end of every epoch the run saves what it needs to continue bit-identically with
//! `--resume`: weights, traces and state, the noise and shuffle generators, the metrics rows and
//! the best model so far.

pub(crate) mod run;

use apical_datasets::{Labelled, bars, yin_yang};
use apical_numerics::Real;
use serde::{Deserialize, Serialize};

use crate::engine::config::{
    ConfigError, ModelConfig, at_most, check_memory, check_settles, check_steps, invalid, time_ms,
};

/// The most epochs of a run.
pub const MAX_EPOCHS: usize = 100_000;
/// The most samples of one split of a generated data set.
pub const MAX_SAMPLES: usize = 1_000_000;

/// The data set of a classification run.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case", deny_unknown_fields)]
pub enum Task {
    /// Yin-Yang: three splits generated with the seeds `data_seed`, `data_seed + 1` and
    /// `data_seed + 2`, the same for every seed of the network.
    YinYang {
        /// Training samples.
        train: usize,
        /// Validation samples, for choosing the best epoch.
        validation: usize,
        /// Test samples.
        test: usize,
        /// The seed of the training split.
        data_seed: u64,
    },
    /// The eight Bars patterns, which serve as training, validation and test set alike, as in the
    /// Latent Equilibrium paper's code.
    Bars,
}

impl Task {
    /// The training, validation and test sets.
    pub fn splits(&self) -> [Labelled; 3] {
        match *self {
            Task::YinYang { train, validation, test, data_seed } => [
                yin_yang::generate(train, data_seed),
                yin_yang::generate(validation, data_seed.wrapping_add(1)),
                yin_yang::generate(test, data_seed.wrapping_add(2)),
            ],
            Task::Bars => [bars::patterns(), bars::patterns(), bars::patterns()],
        }
    }

    /// The number of inputs and of classes.
    fn sizes(&self) -> (usize, usize) {
        match self {
            Task::YinYang { .. } => (yin_yang::INPUTS, yin_yang::CLASSES),
            Task::Bars => (bars::INPUTS, bars::CLASSES),
        }
    }

    /// The sizes of the three splits.
    fn lengths(&self) -> [usize; 3] {
        match *self {
            Task::YinYang { train, validation, test, .. } => [train, validation, test],
            Task::Bars => [8; 3],
        }
    }
}

/// Settings of a classification run.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ClassifyConfig {
    /// The data set.
    pub task: Task,
    /// Passes through the training set.
    pub epochs: usize,
    /// How long each training sample is shown (ms).
    pub pattern_ms: Real,
    /// The target potentials of the wrong classes and of the right one, `[low, high]`.
    pub target_potentials: [Real; 2],
}

impl ClassifyConfig {
    pub(crate) fn validate(&self, cfg: &ModelConfig) -> Result<(), ConfigError> {
        let (inputs, classes) = self.task.sizes();
        let sizes = &cfg.network.sizes;
        if sizes[0] != inputs || sizes[sizes.len() - 1] != classes {
            let problem = format!("the task needs {inputs} inputs and {classes} outputs, the network has {sizes:?}");
            return Err(invalid("network.sizes", problem));
        }
        let lengths = self.task.lengths();
        for (name, n) in ["train", "validation", "test"].iter().zip(lengths) {
            let field = format!("experiment.classify.task.yin-yang.{name}");
            if n == 0 {
                return Err(invalid(&field, "needs at least one sample"));
            }
            at_most(&field, n, MAX_SAMPLES)?;
        }
        if self.epochs == 0 {
            return Err(invalid("experiment.classify.epochs", "needs at least one epoch"));
        }
        at_most("experiment.classify.epochs", self.epochs, MAX_EPOCHS)?;
        time_ms("experiment.classify.pattern_ms", self.pattern_ms)?;
        if self.pattern_ms < cfg.dynamics.dt {
            return Err(invalid("experiment.classify.pattern_ms", "must be at least one time step"));
        }
        let [low, high] = self.target_potentials;
        if !(low.is_finite() && high.is_finite() && low < high) {
            return Err(invalid(
                "experiment.classify.target_potentials",
                format!("needs finite [low, high] with low < high, got [{low}, {high}]"),
            ));
        }
        if !cfg.plasticity.has_default_schedule() {
            return Err(invalid("plasticity.schedule", "classify supports only the default, one stage ×1"));
        }
        let epochs = self.epochs as f64;
        let [train, validation, test] = lengths.map(|n| n as f64);
        let steps = epochs * train * (self.pattern_ms / cfg.dynamics.dt).round();
        check_steps("experiment.classify.epochs", steps, "epochs × train × pattern_ms / dt")?;
        let settles = (epochs + 1.0) * (train + validation + test);
        check_settles("experiment.classify.epochs", settles, "(epochs + 1) × all samples")?;
        let samples = (train + validation + test) * (inputs as f64 + 1.0) * 8.0;
        let rows = (epochs + 1.0) * (8.0 * 4.0 + 64.0);
        check_memory(&[
            ("network.sizes", "the network, its best copy and its probe", 3.0 * cfg.network_bytes()),
            ("experiment.classify.task", "the data set", samples),
            ("experiment.classify.epochs", "the metrics rows", rows),
        ])
    }
}

//! Fig. S1: the self-predicting state is learned from random lateral weights.
//!
//! The network receives random input patterns with no target; W and B are fixed, W^IP learns by
//! Eq. 8 and W^PI by Eq. 9. Both drive the lateral weights towards spec §5, where the apical
//! compartments fall silent (v_A → 0) and the interneurons copy the layer above (u^I_k → u_{k+1}).
//! Progress is measured on noise-free probe patterns, because training noise sets a floor.
//!
//! Every `checkpoint_every` patterns, and after the last, the run saves what it needs to continue
//! bit-identically with `--resume`: the network's weights, traces and state, the noise and input
//! generators, the recorded rows and the number of patterns done. The learning-rate schedule
//! (`plasticity.schedule`) multiplies η^IP and η^PI by the factor of the pattern's stage; the
//! factor is recorded as `eta_factor`.

pub(crate) mod run;

use apical_datasets::patterns::InputDistribution;
use apical_numerics::Real;
use serde::{Deserialize, Serialize};

use crate::engine::config::{
    ConfigError, ModelConfig, at_most, check_memory, check_settles, check_steps, invalid, time_ms,
};

/// The most input patterns; the Euler-step limit usually binds first.
pub const MAX_PATTERNS: u64 = 1_000_000_000;

/// The most probe patterns: every recording settles the network on each of them.
pub const MAX_PROBES: usize = 100_000;

/// Settings of the Fig. S1 experiment.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FigS1Config {
    /// The number of input patterns presented.
    pub patterns: u64,
    /// How long each pattern is shown (ms).
    #[serde(default = "default_pattern_ms")]
    pub pattern_ms: Real,
    /// Probe the network every this many patterns.
    pub record_every: u64,
    /// The number of noise-free probe patterns.
    #[serde(default = "default_probes")]
    pub probes: usize,
    /// The distribution of input rates.
    #[serde(default = "InputDistribution::symmetric")]
    pub inputs: InputDistribution,
    /// Save a resume checkpoint every this many patterns (and after the last).
    #[serde(default = "default_checkpoint_every")]
    pub checkpoint_every: u64,
}

/// The default interval between resume checkpoints (patterns), also Fig. 2's.
pub(crate) fn default_checkpoint_every() -> u64 {
    10_000
}

fn default_pattern_ms() -> Real {
    100.0
}
fn default_probes() -> usize {
    20
}

impl FigS1Config {
    pub(crate) fn validate(&self, cfg: &ModelConfig) -> Result<(), ConfigError> {
        if cfg.network.sizes.len() < 3 {
            return Err(invalid("network.sizes", "fig-s1 needs at least one hidden layer"));
        }
        if self.patterns == 0 || self.record_every == 0 || self.probes == 0 || self.checkpoint_every == 0 {
            return Err(invalid(
                "experiment.fig-s1",
                "patterns, record_every, probes and checkpoint_every must be ≥ 1",
            ));
        }
        at_most("experiment.fig-s1.patterns", self.patterns, MAX_PATTERNS)?;
        if self.record_every > self.patterns {
            return Err(invalid("experiment.fig-s1.record_every", "must not exceed patterns"));
        }
        at_most("experiment.fig-s1.probes", self.probes, MAX_PROBES)?;
        if !(self.pattern_ms.is_finite() && self.pattern_ms >= cfg.dynamics.dt) {
            return Err(invalid("experiment.fig-s1.pattern_ms", "must be at least one time step"));
        }
        time_ms("experiment.fig-s1.pattern_ms", self.pattern_ms)?;
        let steps = self.patterns as f64 * (self.pattern_ms / cfg.dynamics.dt).round();
        check_steps("experiment.fig-s1.patterns", steps, "patterns × pattern_ms / dt")?;
        // The first and the last pattern are recorded besides every record_every-th.
        let records = (self.patterns / self.record_every) as f64 + 2.0;
        let probes = self.probes as f64;
        check_settles("experiment.fig-s1.record_every", records * probes, "recordings × probes")?;
        let n0 = cfg.network.sizes[0] as f64;
        check_memory(&[
            ("network.sizes", "the network and its probe copy", 2.0 * cfg.network_bytes()),
            ("experiment.fig-s1.probes", "the probe patterns", probes * (8.0 * n0 + 64.0)),
            ("experiment.fig-s1.record_every", "the recorded rows", records * (8.0 * 7.0 + 64.0)),
        ])?;
        self.inputs.validate().map_err(|e| invalid("experiment.fig-s1.inputs", e.to_string()))
    }
}

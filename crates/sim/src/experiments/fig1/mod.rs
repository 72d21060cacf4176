//! Fig. 1: one input→target association learned from a self-predicting start.
//!
//! One input pattern is held throughout. At `target_on_ms` the teacher current switches on: the
//! output is nudged towards the target, the interneurons follow the output only partially, and
//! the mismatch appears as an apical error v_A in the hidden layer. W_1 and W_2 learn by Eq. 7
//! until the output predicts the target by itself; then the nudge has nothing to add and the
//! apical error vanishes. At `target_off_ms` the target switches off again and the output should
//! stay at the target.
//!
//! Every `checkpoint_ms` of simulated time, and at the end, the run saves what it needs to
//! continue bit-identically with `--resume`: weights, traces and state (the target's switches
//! included), the noise generator, the recorded rows and the number of steps done.

pub(crate) mod run;

use apical_datasets::patterns::InputDistribution;
use apical_numerics::Real;
use serde::{Deserialize, Serialize};

use crate::engine::config::{ConfigError, ModelConfig, check_memory, check_steps, invalid, time_ms};

/// Settings of the Fig. 1 experiment.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Fig1Config {
    /// Total simulated time (ms).
    pub duration_ms: Real,
    /// When the target switches on (ms).
    pub target_on_ms: Real,
    /// When the target switches off again (ms).
    pub target_off_ms: Real,
    /// Record every this many ms.
    pub record_ms: Real,
    /// The distribution of the input rates.
    #[serde(default = "InputDistribution::unit")]
    pub inputs: InputDistribution,
    /// Target rates are drawn from U(low, high) and turned into potentials with φ⁻¹.
    pub target_rates: InputDistribution,
    /// Save a resume checkpoint every this many ms of simulated time (and at the end).
    #[serde(default = "default_checkpoint_ms")]
    pub checkpoint_ms: Real,
}

fn default_checkpoint_ms() -> Real {
    5_000.0
}

impl Fig1Config {
    pub(crate) fn validate(&self, cfg: &ModelConfig) -> Result<(), ConfigError> {
        if cfg.network.sizes.len() < 3 {
            return Err(invalid("network.sizes", "fig1 needs at least one hidden layer"));
        }
        let ordered = 0.0 <= self.target_on_ms
            && self.target_on_ms < self.target_off_ms
            && self.target_off_ms <= self.duration_ms
            && self.duration_ms.is_finite();
        if !ordered {
            return Err(invalid("experiment.fig1", "needs 0 ≤ target_on_ms < target_off_ms ≤ duration_ms"));
        }
        time_ms("experiment.fig1.duration_ms", self.duration_ms)?;
        if !(self.record_ms >= cfg.dynamics.dt && self.record_ms.is_finite()) {
            return Err(invalid("experiment.fig1.record_ms", "must be at least one time step"));
        }
        if !(self.checkpoint_ms >= cfg.dynamics.dt && self.checkpoint_ms.is_finite()) {
            return Err(invalid("experiment.fig1.checkpoint_ms", "must be at least one time step"));
        }
        if !cfg.plasticity.has_default_schedule() {
            return Err(invalid("plasticity.schedule", "fig1 shows one pattern; leave the default, one stage ×1"));
        }
        if self.record_ms > self.duration_ms {
            return Err(invalid("experiment.fig1.record_ms", "must not exceed duration_ms"));
        }
        let steps = (self.duration_ms / cfg.dynamics.dt).round();
        check_steps("experiment.fig1.duration_ms", steps, "duration_ms / dt")?;
        let rows = steps / (self.record_ms / cfg.dynamics.dt).round().max(1.0);
        check_memory(&[
            ("network.sizes", "the network and its probe copy", 2.0 * cfg.network_bytes()),
            ("experiment.fig1.record_ms", "the recorded rows", rows * (8.0 * 7.0 + 64.0)),
        ])?;
        self.inputs.validate().map_err(|e| invalid("experiment.fig1.inputs", e.to_string()))?;
        self.target_rates.validate().map_err(|e| invalid("experiment.fig1.target_rates", e.to_string()))?;
        let InputDistribution::Uniform { low, high } = self.target_rates;
        for r in [low, high] {
            cfg.network.phi.inverse(r).map_err(|e| invalid("experiment.fig1.target_rates", e.to_string()))?;
        }
        Ok(())
    }
}

//! Fig. 2: nonlinear regression against a random teacher network, learned from a random start
//! with all plasticity on and no phases, compared with two baselines on the same task.
//!
//! The teacher (spec §8) maps an input r_0 to the target potential
//!
//! ```text
//! u_trgt = k_2 W^t_2 φ(k_1 W^t_1 r_0),    r_trgt = φ(u_trgt)
//! ```
//!
//! Every training pattern r_0 is shown for `pattern_ms` while the output is nudged towards
//! u_trgt (i_N = g_som (u_trgt − u_N)) and every plastic matrix learns by Eqs. 7–9. Three learners
//! see the same teacher, inputs, test set and initial weights:
//!
//! * `microcircuit`: W_1, W_2, W^IP and W^PI plastic, B fixed and random.
//! * `shallow`: the same microcircuit with only the output weights W_N plastic (W^IP and W^PI are
//!   frozen too, so the apical compartments keep their random input).
//! * `backprop`: the feedforward network u_k = c_k W_k φ(u_{k−1}) with the microcircuit's
//!   attenuations c_k, trained online with one gradient step per pattern on the microcircuit's
//!   own output error δ_N = D_N (u_trgt − u_N): W_k ← W_k + η^bp_k c_k δ_k r_{k−1}ᵀ. The rates are
//!   those the microcircuit's updates amount to per pattern by spec §6,
//!   η^bp_k = η_k T_pattern s_k with s_k = λ_N [λ_A (1 − λ_I)]^(N−k) / (c_k Π_{l>k} c_l).
//!
//! At intervals every learner is tested without noise and without target on held-out patterns
//! (the microcircuits at their steady states): the test error is the mean of ‖r_N − r_trgt‖² over
//! the test set, also smoothed as an exponential moving average e ← e + α (error − e) over the
//! evaluations; the mean hidden rate shows how far the hidden layer is from silence. The
//! microcircuits also record ‖v_A‖², the interneuron mismatch ‖u_{k+1} − u^I_k‖² and its rate
//! form ‖r_{k+1} − r^I_k‖², and the angle between W_2ᵀ and B_1 (all hidden layers' entries taken
//! together in deeper networks). Seeds run in parallel; each has its own random streams, so its
//! results do not depend on the others.

pub(crate) mod run;

use apical_datasets::patterns::InputDistribution;
use apical_numerics::Real;
use serde::{Deserialize, Serialize};

use crate::engine::config::{ConfigError, ModelConfig, invalid};

/// One of the learners compared in Fig. 2.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Fig2Learner {
    /// The dendritic microcircuit with every configured rule on.
    Microcircuit,
    /// The same microcircuit with only the output weights W_N plastic.
    Shallow,
    /// The feedforward network with the same architecture and φ, trained by online backprop.
    Backprop,
}

impl Fig2Learner {
    /// The learner's name, as in the configuration and the output files.
    pub fn name(self) -> &'static str {
        match self {
            Fig2Learner::Microcircuit => "microcircuit",
            Fig2Learner::Shallow => "shallow",
            Fig2Learner::Backprop => "backprop",
        }
    }
}

/// Settings of the Fig. 2 experiment.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Fig2Config {
    /// The number of training patterns; the run lasts `patterns × pattern_ms / dt` time steps.
    pub patterns: u64,
    /// How long each pattern is shown (ms).
    pub pattern_ms: Real,
    /// Test every learner every this many patterns.
    pub record_every: u64,
    /// The number of held-out test patterns.
    pub test_patterns: usize,
    /// Weight α of the newest evaluation in the moving average of the test error.
    pub ema_weight: Real,
    /// The distribution of the input rates.
    #[serde(default)]
    pub inputs: InputDistribution,
    /// The teacher's hidden layer widths (its input and output widths are the network's).
    pub teacher_hidden: Vec<usize>,
    /// The teacher's gains k_1 … k_M, one per teacher layer.
    pub teacher_gains: Vec<Real>,
    /// The learners to train, all on the same task.
    pub learners: Vec<Fig2Learner>,
    /// The number of seeds: the run's seed and the ones after it, each with its own teacher,
    /// inputs, test set and initial weights.
    pub seeds: u64,
    /// The number of test patterns in the before/after output trace.
    pub trace_patterns: usize,
}

impl Fig2Config {
    pub(crate) fn validate(&self, cfg: &ModelConfig) -> Result<(), ConfigError> {
        if cfg.network.sizes.len() < 3 {
            return Err(invalid("network.sizes", "fig2 needs at least one hidden layer"));
        }
        let counts = [self.patterns, self.record_every, self.test_patterns as u64, self.seeds];
        if counts.contains(&0) {
            return Err(invalid("experiment.fig2", "patterns, record_every, test_patterns and seeds must be ≥ 1"));
        }
        if cfg.seed.checked_add(self.seeds - 1).is_none() {
            return Err(invalid("experiment.fig2.seeds", "seed + seeds − 1 overflows a 64-bit seed"));
        }
        if self.trace_patterns > self.test_patterns {
            return Err(invalid("experiment.fig2.trace_patterns", "must not exceed test_patterns"));
        }
        if !(self.pattern_ms.is_finite() && self.pattern_ms >= cfg.dynamics.dt) {
            return Err(invalid("experiment.fig2.pattern_ms", "must be at least one time step"));
        }
        if !(self.ema_weight > 0.0 && self.ema_weight <= 1.0) {
            return Err(invalid("experiment.fig2.ema_weight", format!("must lie in (0, 1], got {}", self.ema_weight)));
        }
        self.inputs.validate().map_err(|e| invalid("experiment.fig2.inputs", e.to_string()))?;
        if self.teacher_hidden.contains(&0) {
            return Err(invalid("experiment.fig2.teacher_hidden", "every teacher layer needs neurons"));
        }
        if self.teacher_gains.len() != self.teacher_hidden.len() + 1 {
            let problem = format!("needs {} values (one per teacher layer)", self.teacher_hidden.len() + 1);
            return Err(invalid("experiment.fig2.teacher_gains", problem));
        }
        if let Some(k) = self.teacher_gains.iter().find(|k| !k.is_finite()) {
            return Err(invalid("experiment.fig2.teacher_gains", format!("gain {k} is not finite")));
        }
        if self.learners.is_empty() {
            return Err(invalid("experiment.fig2.learners", "name at least one learner"));
        }
        for (i, l) in self.learners.iter().enumerate() {
            if self.learners[..i].contains(l) {
                return Err(invalid("experiment.fig2.learners", format!("'{}' is listed twice", l.name())));
            }
        }
        Ok(())
    }

    pub(crate) fn teacher_sizes(&self, cfg: &ModelConfig) -> Vec<usize> {
        let sizes = &cfg.network.sizes;
        let mut t = vec![sizes[0]];
        t.extend(&self.teacher_hidden);
        t.push(sizes[sizes.len() - 1]);
        t
    }
}

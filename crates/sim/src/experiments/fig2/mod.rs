//! Fig. 2: nonlinear regression against a random teacher network, learned from a random start
//! with all plasticity on and no phases, compared with three baselines on the same task.
//!
//! The teacher (spec §8) maps an input r_0 to the target potential
//!
//! ```text
//! u_trgt = k_2 W^t_2 φ(k_1 W^t_1 r_0),    r_trgt = φ(u_trgt)
//! ```
//!
//! Every training pattern r_0 is shown for `pattern_ms` while the output is nudged towards
//! u_trgt (i_N = g_som (u_trgt − u_N)) and every plastic matrix learns by Eqs. 7–9. Four learners
//! see the same teacher, inputs, test set, initial weights, number of patterns and learning-rate
//! schedule:
//!
//! * `microcircuit`: W_1, W_2, W^IP and W^PI plastic, B fixed and random.
//! * `shallow`: the same microcircuit with only the output weights W_N plastic (W^IP and W^PI are
//!   frozen too, so the apical compartments keep their random input).
//! * `backprop`: the feedforward network u_k = c_k W_k φ(u_{k−1}) with the microcircuit's
//!   attenuations c_k, trained online with one gradient step per pattern on the microcircuit's
//!   own output error δ_N = D_N (u_trgt − u_N): W_k ← W_k + η^bp_k c_k δ_k r_{k−1}ᵀ. The rates are
//!   those the microcircuit's updates amount to per pattern by spec §6,
//!   η^bp_k = η_k T_pattern s_k with s_k = λ_N [λ_A (1 − λ_I)]^(N−k) / (c_k Π_{l>k} c_l).
//! * `feedback-alignment`: the same network and rates, with the errors sent down through the
//!   microcircuit's fixed random B_k instead of W_{k+1}ᵀ: δ_k = D_k B_k δ_{k+1}.
//!
//! The learning-rate schedule `plasticity.schedule` multiplies every η (and so every η^bp) by the
//! factor of the stage the pattern falls in: pattern i (counted from 0) trains with
//! η · factor(i), factor(i) being that of the last stage with `from_pattern ≤ i`. The factor is
//! recorded as `eta_factor`.
//!
//! At intervals every learner is tested without noise and without target on held-out patterns
//! (the microcircuits at their steady states): the test error is the mean of ‖r_N − r_trgt‖² over
//! the test set, also smoothed as an exponential moving average e ← e + α (error − e) over the
//! evaluations; the mean hidden rate shows how far the hidden layer is from silence. The
//! microcircuits also record ‖v_A‖², the interneuron mismatch ‖u_{k+1} − u^I_k‖² and its rate
//! form ‖r_{k+1} − r^I_k‖², and the microcircuits and the feedback-alignment learner the angle
//! between W_2ᵀ and B_1 (all hidden layers' entries taken together in deeper networks). Seeds and
//! learners run in parallel; each has its own random streams, so its results do not depend on the
//! others.
//!
//! Every `checkpoint_every` patterns, and after the last, all learners of all seeds wait for each
//! other and the run saves what it needs to continue bit-identically with `--resume`: for every
//! learner and seed its weights and traces (a microcircuit also its state and noise generator),
//! its input generator, its moving average and recorded rows, and its output trace before
//! learning; besides, the number of patterns done.

pub(crate) mod run;

use apical_datasets::patterns::InputDistribution;
use apical_numerics::Real;
use serde::{Deserialize, Serialize};

use crate::engine::config::{
    ConfigError, MAX_DEPTH, MAX_LAYER_WIDTH, MAX_WEIGHTS, ModelConfig, at_most, check_memory, check_settles,
    check_steps, invalid, time_ms,
};
use crate::experiments::fig_s1::default_checkpoint_every;

/// The most training patterns; the paper trains for 10⁷.
pub const MAX_PATTERNS: u64 = 1_000_000_000;

/// The most held-out test patterns: every recording settles each learner on each of them.
pub const MAX_TEST_PATTERNS: usize = 100_000;

/// The most seeds: every seed trains every learner from scratch.
pub const MAX_SEEDS: u64 = 1000;

/// Sample interval of the output trace (ms).
pub(crate) const TRACE_MS: Real = 1.0;

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
    /// The same feedforward network trained like backprop, but with the microcircuit's fixed
    /// random B_k carrying the errors down instead of W_{k+1}ᵀ.
    FeedbackAlignment,
}

impl Fig2Learner {
    /// The learner's name, as in the configuration and the output files.
    pub fn name(self) -> &'static str {
        match self {
            Fig2Learner::Microcircuit => "microcircuit",
            Fig2Learner::Shallow => "shallow",
            Fig2Learner::Backprop => "backprop",
            Fig2Learner::FeedbackAlignment => "feedback-alignment",
        }
    }

    /// Whether the learner is a microcircuit run in continuous time (else a feedforward network
    /// trained with one step per pattern).
    pub fn is_microcircuit(self) -> bool {
        matches!(self, Fig2Learner::Microcircuit | Fig2Learner::Shallow)
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
    /// Save a resume checkpoint every this many patterns (and after the last).
    #[serde(default = "default_checkpoint_every")]
    pub checkpoint_every: u64,
}

impl Fig2Config {
    pub(crate) fn validate(&self, cfg: &ModelConfig) -> Result<(), ConfigError> {
        if cfg.network.sizes.len() < 3 {
            return Err(invalid("network.sizes", "fig2 needs at least one hidden layer"));
        }
        let counts = [self.patterns, self.record_every, self.test_patterns as u64, self.seeds, self.checkpoint_every];
        if counts.contains(&0) {
            let problem = "patterns, record_every, test_patterns, seeds and checkpoint_every must be ≥ 1";
            return Err(invalid("experiment.fig2", problem));
        }
        at_most("experiment.fig2.patterns", self.patterns, MAX_PATTERNS)?;
        if self.record_every > self.patterns {
            return Err(invalid("experiment.fig2.record_every", "must not exceed patterns"));
        }
        at_most("experiment.fig2.test_patterns", self.test_patterns, MAX_TEST_PATTERNS)?;
        at_most("experiment.fig2.seeds", self.seeds, MAX_SEEDS)?;
        if cfg.seed.checked_add(self.seeds - 1).is_none() {
            return Err(invalid("experiment.fig2.seeds", "seed + seeds − 1 overflows a 64-bit seed"));
        }
        if self.trace_patterns > self.test_patterns {
            return Err(invalid("experiment.fig2.trace_patterns", "must not exceed test_patterns"));
        }
        if !(self.pattern_ms.is_finite() && self.pattern_ms >= cfg.dynamics.dt) {
            return Err(invalid("experiment.fig2.pattern_ms", "must be at least one time step"));
        }
        time_ms("experiment.fig2.pattern_ms", self.pattern_ms)?;
        if !(self.ema_weight > 0.0 && self.ema_weight <= 1.0) {
            return Err(invalid("experiment.fig2.ema_weight", format!("must lie in (0, 1], got {}", self.ema_weight)));
        }
        self.inputs.validate().map_err(|e| invalid("experiment.fig2.inputs", e.to_string()))?;
        if self.teacher_hidden.contains(&0) {
            return Err(invalid("experiment.fig2.teacher_hidden", "every teacher layer needs neurons"));
        }
        if self.teacher_hidden.len() >= MAX_DEPTH {
            let problem = format!("{} layers are more than the limit of {}", self.teacher_hidden.len(), MAX_DEPTH - 1);
            return Err(invalid("experiment.fig2.teacher_hidden", problem));
        }
        if let Some(&n) = self.teacher_hidden.iter().find(|&&n| n > MAX_LAYER_WIDTH) {
            let problem = format!("a layer of {n} neurons is more than the limit of {MAX_LAYER_WIDTH}");
            return Err(invalid("experiment.fig2.teacher_hidden", problem));
        }
        let teacher = self.teacher_sizes(cfg);
        let teacher_weights: f64 = teacher.windows(2).map(|w| w[0] as f64 * w[1] as f64).sum();
        if teacher_weights > MAX_WEIGHTS {
            let problem =
                format!("the teacher has {teacher_weights:.2e} weights, more than the limit of {MAX_WEIGHTS:e}");
            return Err(invalid("experiment.fig2.teacher_hidden", problem));
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
        self.check_cost(cfg, teacher_weights)
    }

    /// Refuses a run whose Euler steps, steady states or memory, all seeds and learners
    /// together, exceed the limits of `engine::config`.
    fn check_cost(&self, cfg: &ModelConfig, teacher_weights: f64) -> Result<(), ConfigError> {
        let seeds = self.seeds as f64;
        let jobs = self.learners.len() as f64 * seeds;
        let microcircuits = self.learners.iter().filter(|l| l.is_microcircuit()).count() as f64;
        let steps_per_pattern = (self.pattern_ms / cfg.dynamics.dt).round();
        let steps = self.patterns as f64 * steps_per_pattern * microcircuits * seeds;
        let how = format!("patterns × pattern_ms / dt × {microcircuits} microcircuit learners × {seeds} seeds");
        check_steps("experiment.fig2.patterns", steps, &how)?;
        // The first and the last pattern are recorded besides every record_every-th.
        let records = (self.patterns / self.record_every) as f64 + 2.0;
        let tests = self.test_patterns as f64;
        let how = format!("recordings × test_patterns × {microcircuits} microcircuit learners × {seeds} seeds");
        check_settles("experiment.fig2.record_every", records * tests * microcircuits * seeds, &how)?;
        let sizes = &cfg.network.sizes;
        let pattern_bytes = 8.0 * (sizes[0] + sizes[sizes.len() - 1]) as f64 + 128.0;
        let samples = self.trace_patterns as f64 * steps_per_pattern / (TRACE_MS / cfg.dynamics.dt).round().max(1.0);
        check_memory(&[
            ("network.sizes", "the learners' networks and their test copies", 2.0 * jobs * cfg.network_bytes()),
            ("experiment.fig2.teacher_hidden", "the teachers", 8.0 * jobs * teacher_weights),
            ("experiment.fig2.test_patterns", "the test sets", jobs * tests * pattern_bytes),
            ("experiment.fig2.record_every", "the recorded rows", 2.0 * jobs * records * (8.0 * 11.0 + 64.0)),
            ("experiment.fig2.trace_patterns", "the output traces", microcircuits * seeds * samples * 4.0 * 8.0),
        ])
    }

    pub(crate) fn teacher_sizes(&self, cfg: &ModelConfig) -> Vec<usize> {
        let sizes = &cfg.network.sizes;
        let mut t = vec![sizes[0]];
        t.extend(&self.teacher_hidden);
        t.push(sizes[sizes.len() - 1]);
        t
    }
}

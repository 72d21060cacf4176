//! The model's configuration: everything the engines need (seed, network, dynamics, plasticity,
//! initial weights), and its validation.
//!
//! A run's configuration (`experiments::config::ModelConfig`) is this model plus an experiment.
//! It is parsed with unknown fields refused, then checked once; the engines only accept networks
//! built from a checked [`ModelConfig`]. The engine knows nothing of experiments.
//!
//! Every size, count and time has an upper bound (the `MAX_*` constants here and in the
//! experiments' settings, listed with their reasons in `docs/limits.md`), and a run is refused
//! when its estimated memory or number of Euler steps is too large ([`check_memory`],
//! [`check_steps`]), so that no configuration fails on an allocation or runs for ever.

use std::path::PathBuf;

use apical_neuron::CompartmentParams;
use apical_numerics::{Real, kernels::UpdateOrder, rate::RateFn};
use serde::{Deserialize, Serialize};

/// The model of a run: the network, its dynamics and plasticity, and how it starts.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ModelConfig {
    /// The seed of every random stream of the run.
    #[serde(default)]
    pub seed: u64,
    /// Architecture and neuron model.
    pub network: NetworkConfig,
    /// Time step, filters and noise (defaults apply where the section is missing).
    #[serde(default)]
    pub dynamics: DynamicsConfig,
    /// Learning rates and traces.
    pub plasticity: PlasticityConfig,
    /// Initial weights.
    pub init: InitConfig,
}

/// The architecture: layer widths n_0 … n_N, rate function, neuron model, bias and conductances.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NetworkConfig {
    /// Layer widths from input to output; at least two layers. Hidden layer k gets n_{k+1} interneurons.
    pub sizes: Vec<usize>,
    /// The rate function φ.
    pub phi: RateFn,
    /// The registered neuron model (see `apical_neuron::MODELS`).
    #[serde(default = "default_neuron")]
    pub neuron: String,
    /// Append a constant input 1 as the last presynaptic entry of every W_k and W^IP_k.
    #[serde(default)]
    pub bias: bool,
    /// Conductances (paper defaults).
    #[serde(default)]
    pub conductances: CompartmentParams,
}

fn default_neuron() -> String {
    "dendritic".into()
}

/// How membrane noise is discretised.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum NoiseScheme {
    /// u ← u + dt·drift + σ √dt ξ, the correct discretisation of white noise.
    #[default]
    EulerMaruyama,
    /// u ← u + dt·drift + σ dt ξ, as every public reimplementation does.
    LegacyDt,
}

/// Time step, filters and noise.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DynamicsConfig {
    /// Euler time step (ms).
    #[serde(default = "default_dt")]
    pub dt: Real,
    /// Time constant of the input and target low-pass filters τ_0 (ms).
    #[serde(default = "default_tau_0")]
    pub tau_0: Real,
    /// Noise amplitude σ during training.
    #[serde(default)]
    pub sigma: Real,
    /// Noise discretisation.
    #[serde(default)]
    pub noise: NoiseScheme,
}

impl Default for DynamicsConfig {
    fn default() -> Self {
        DynamicsConfig { dt: default_dt(), tau_0: default_tau_0(), sigma: 0.0, noise: NoiseScheme::default() }
    }
}

fn default_dt() -> Real {
    0.1
}
fn default_tau_0() -> Real {
    3.0
}

/// Learning rates, one per matrix of each kind (layer order), and trace settings.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PlasticityConfig {
    /// η of W_1 … W_N (Eq. 7); 0 freezes a matrix.
    pub eta_up: Vec<Real>,
    /// η^IP of the hidden layers 1 … N−1 (Eq. 8).
    pub eta_ip: Vec<Real>,
    /// η^PI of the hidden layers 1 … N−1 (Eq. 9).
    pub eta_pi: Vec<Real>,
    /// η^B of the top-down weights B_1 … B_{N−1} (Eq. 10); empty means all fixed.
    #[serde(default)]
    pub eta_down: Vec<Real>,
    /// Trace time constant τ_w (ms).
    #[serde(default = "default_tau_w")]
    pub tau_w: Real,
    /// Trace update order.
    #[serde(default)]
    pub order: UpdateOrder,
    /// Plasticity (traces and weights) is frozen for this long after every pattern switch (ms).
    #[serde(default)]
    pub learning_lag: Real,
    /// Bounds on the magnitude of the weights of W_1 … W_N: after every plastic step each
    /// weight of W_k is clipped to [−w_up_max_k, w_up_max_k], as the Latent Equilibrium code does
    /// (4 for the hidden layer, 5 for the output). Empty (the default): no bounds.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub w_up_max: Vec<Real>,
    /// The learning-rate schedule: stages by training pattern, each multiplying every plastic η
    /// by its factor. The default is one stage ×1 from the first pattern.
    #[serde(default = "default_schedule")]
    pub schedule: Vec<Stage>,
    /// The type the engines store and update their weights in: "f64" (the default and the
    /// reference) or "f32". The continuous-time engine stores its traces in it too (half the
    /// memory traffic; see `apical_numerics::Element` for where sums accumulate), and its neuron
    /// states stay f64. The two-step engine (`mnist`) also stores its blocks of rates and
    /// potentials in it, so its gemms run and accumulate in f32; φ is evaluated in f64.
    #[serde(default, skip_serializing_if = "Precision::is_f64")]
    pub precision: Precision,
}

/// The floating-point type of a network's weights and traces.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Precision {
    /// f64, the reference.
    #[default]
    F64,
    /// f32 storage and kernel arithmetic.
    F32,
}

impl Precision {
    /// True for the default, f64.
    pub fn is_f64(&self) -> bool {
        *self == Precision::F64
    }
}

/// One stage of the learning-rate schedule: from training pattern `from_pattern` on (counted
/// from 0), every η of the plasticity section is multiplied by `factor`, until the next stage.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Stage {
    /// The first training pattern of the stage, counted from 0.
    pub from_pattern: u64,
    /// The factor applied to every learning rate during the stage.
    pub factor: Real,
}

/// The most stages of a learning-rate schedule.
pub const MAX_STAGES: usize = 1000;

/// The default schedule: one stage ×1 from the first pattern.
pub fn default_schedule() -> Vec<Stage> {
    vec![Stage { from_pattern: 0, factor: 1.0 }]
}

impl PlasticityConfig {
    /// The factor of the stage that training pattern `pattern` (counted from 0) falls in: that of
    /// the last stage with `from_pattern ≤ pattern`.
    pub fn eta_factor(&self, pattern: u64) -> Real {
        self.schedule.iter().take_while(|s| s.from_pattern <= pattern).last().map_or(1.0, |s| s.factor)
    }

    /// The training length in patterns at the unscaled rates that the first `patterns` patterns
    /// amount to: Σ_{i < patterns} factor(i), the η × length that sets how far a run has learned
    /// (spec §8). A run with the default schedule has `patterns` of them.
    pub fn equivalent_patterns(&self, patterns: u64) -> Real {
        let ends = self.schedule.iter().skip(1).map(|s| s.from_pattern).chain([u64::MAX]);
        self.schedule
            .iter()
            .zip(ends)
            .map(|(s, end)| s.factor * end.min(patterns).saturating_sub(s.from_pattern) as Real)
            .sum()
    }

    /// Whether the schedule is the default, one stage ×1.
    pub fn has_default_schedule(&self) -> bool {
        self.schedule == default_schedule()
    }

    /// Checks the schedule: at least one and at most [`MAX_STAGES`] stages, the first from
    /// pattern 0, strictly increasing starts, and finite positive factors.
    fn validate_schedule(&self) -> Result<(), ConfigError> {
        let field = "plasticity.schedule";
        let Some(first) = self.schedule.first() else {
            return Err(invalid(field, "needs at least one stage, e.g. [{ from_pattern = 0, factor = 1.0 }]"));
        };
        at_most(field, self.schedule.len(), MAX_STAGES)?;
        if first.from_pattern != 0 {
            return Err(invalid(field, format!("the first stage must start at pattern 0, not {}", first.from_pattern)));
        }
        for (i, pair) in self.schedule.windows(2).enumerate() {
            if pair[1].from_pattern <= pair[0].from_pattern {
                let problem = format!(
                    "stage {} starts at pattern {}, not after stage {} at {}",
                    i + 2,
                    pair[1].from_pattern,
                    i + 1,
                    pair[0].from_pattern
                );
                return Err(invalid(field, problem));
            }
        }
        if let Some((i, s)) = self.schedule.iter().enumerate().find(|(_, s)| !(s.factor.is_finite() && s.factor > 0.0))
        {
            return Err(invalid(
                field,
                format!("stage {} has factor {}; factors must be finite and positive", i + 1, s.factor),
            ));
        }
        Ok(())
    }
}

fn default_tau_w() -> Real {
    30.0
}

/// How the lateral (interneuron) weights start.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum LateralInit {
    /// Random like every other matrix.
    #[default]
    Random,
    /// The self-predicting state of spec §5: W^PI = −B, W^IP = (c_{k+1}/d) W_{k+1}.
    SelfPredicting,
}

/// Initial weights.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct InitConfig {
    /// Weights are drawn from U(−range, range).
    #[serde(default = "default_range")]
    pub range: Real,
    /// Where set, the forward weights W_k are drawn from U(−w_up_range, w_up_range) instead, and
    /// the others from U(−range, range). Each weight takes one draw either way, so the other
    /// matrices come out the same.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub w_up_range: Option<Real>,
    /// Lateral weights: random or self-predicting.
    #[serde(default)]
    pub lateral: LateralInit,
    /// A `.npz` file whose arrays (`w_up_1`, `w_down_1`, `w_ip_1`, `w_pi_1`, …) replace the drawn
    /// weights they name, before the lateral initialisation is applied. Relative paths are taken
    /// from the configuration file's folder.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub weights: Option<PathBuf>,
}

fn default_range() -> Real {
    1.0
}

impl Default for InitConfig {
    fn default() -> Self {
        InitConfig { range: default_range(), w_up_range: None, lateral: LateralInit::default(), weights: None }
    }
}

/// The widest layer. It keeps every width, and every product of two, far from overflowing; the
/// weight limit binds first wherever two wide layers meet.
pub const MAX_LAYER_WIDTH: usize = 100_000;

/// The most weight layers N (`network.sizes` has at most N + 1 entries).
pub const MAX_DEPTH: usize = 100;

/// The most weights of all matrices together: with their traces they take 16 bytes each, so one
/// network stays within 1.6 GB.
pub const MAX_WEIGHTS: f64 = 1e8;

/// The shortest Euler time step (ms). Below it a millisecond takes a million steps.
pub const MIN_DT: Real = 1e-6;

/// The longest time constant, time step, lag or duration (ms), about 11.6 days of simulated time.
pub const MAX_TIME_MS: Real = 1e9;

/// The widest range U(−range, range) of the initial weights; wider ones overflow the dendritic
/// potentials and their squares.
pub const MAX_INIT_RANGE: Real = 1e3;

/// The largest noise amplitude σ. Potentials live within a few units of rest; noise a thousand
/// times larger drowns every signal, so a larger σ is a typing error.
pub const MAX_SIGMA: Real = 1e3;

/// The largest learning rate. The largest preset rate is 10; at 10³ a weight driven by rates of
/// order one moves by the widest initial range within a millisecond. Far larger rates saturate a
/// bounded φ, and the run ends at chance with every value still finite, which no divergence check
/// can tell from slow learning.
pub const MAX_LEARNING_RATE: Real = 1e3;

/// The most memory a run may plan to use, in bytes (4 GiB).
pub const MAX_MEMORY_BYTES: f64 = 4.0 * 1024.0 * 1024.0 * 1024.0;

/// The most Euler steps a run may take, all seeds and learners together. The paper's Fig. 2
/// (10⁷ patterns of 1000 steps) takes 10¹⁰ steps per learner and seed.
pub const MAX_EULER_STEPS: f64 = 1e12;

/// The most steady states a run may solve (recordings × probe or test patterns, all seeds and
/// learners together); one takes up to 10 000 sweeps, each about as costly as an Euler step.
pub const MAX_SETTLES: f64 = 1e9;

/// A configuration value is out of range; the message names the field.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("invalid configuration: {field}: {problem}")]
pub struct ConfigError {
    /// The dotted path of the field, e.g. `plasticity.eta_up`.
    pub field: String,
    /// What is wrong with it.
    pub problem: String,
}

/// Builds a [`ConfigError`].
pub fn invalid(field: &str, problem: impl Into<String>) -> ConfigError {
    ConfigError { field: field.into(), problem: problem.into() }
}

fn positive(field: &str, x: Real) -> Result<(), ConfigError> {
    if x.is_finite() && x > 0.0 { Ok(()) } else { Err(invalid(field, format!("must be a positive number, got {x}"))) }
}

fn non_negative(field: &str, x: Real) -> Result<(), ConfigError> {
    if x.is_finite() && x >= 0.0 { Ok(()) } else { Err(invalid(field, format!("must be ≥ 0, got {x}"))) }
}

/// Refuses a value above its upper bound.
pub fn at_most<T: PartialOrd + std::fmt::Display>(field: &str, x: T, max: T) -> Result<(), ConfigError> {
    if x <= max { Ok(()) } else { Err(invalid(field, format!("{x} is more than the limit of {max}"))) }
}

/// Refuses a time (ms) that is negative, not finite or longer than [`MAX_TIME_MS`].
pub fn time_ms(field: &str, x: Real) -> Result<(), ConfigError> {
    non_negative(field, x)?;
    if x <= MAX_TIME_MS {
        Ok(())
    } else {
        Err(invalid(field, format!("{x} ms is more than the limit of {MAX_TIME_MS:e} ms")))
    }
}

/// A byte count for messages, in GiB or MiB.
fn bytes(x: f64) -> String {
    const MIB: f64 = 1024.0 * 1024.0;
    if x >= 1024.0 * MIB { format!("{:.1} GiB", x / (1024.0 * MIB)) } else { format!("{:.1} MiB", x / MIB) }
}

/// Refuses a run whose estimated memory exceeds [`MAX_MEMORY_BYTES`]. `parts` are the estimate's
/// terms, each with the field that sets it; the message names the field of the largest.
pub fn check_memory(parts: &[(&str, &str, f64)]) -> Result<(), ConfigError> {
    let total: f64 = parts.iter().map(|p| p.2).sum();
    let largest = parts.iter().copied().max_by(|a, b| a.2.total_cmp(&b.2));
    let Some((field, what, largest)) = largest.filter(|_| total > MAX_MEMORY_BYTES) else {
        return Ok(());
    };
    Err(invalid(
        field,
        format!(
            "the run would need about {} of memory ({} for {what}), more than the limit of {}",
            bytes(total),
            bytes(largest),
            bytes(MAX_MEMORY_BYTES)
        ),
    ))
}

/// Refuses a run whose number of Euler steps, `steps` as estimated by `how`, exceeds
/// [`MAX_EULER_STEPS`].
pub fn check_steps(field: &str, steps: f64, how: &str) -> Result<(), ConfigError> {
    too_many(field, steps, MAX_EULER_STEPS, "Euler steps", how)
}

/// Refuses a run that would solve more than [`MAX_SETTLES`] steady states, `settles` as
/// estimated by `how`.
pub fn check_settles(field: &str, settles: f64, how: &str) -> Result<(), ConfigError> {
    too_many(field, settles, MAX_SETTLES, "steady states", how)
}

fn too_many(field: &str, x: f64, limit: f64, what: &str, how: &str) -> Result<(), ConfigError> {
    if x <= limit {
        return Ok(());
    }
    Err(invalid(field, format!("the run would take {x:.1e} {what} ({how}), more than the limit of {limit:e}")))
}

fn rates(field: &str, etas: &[Real], expected: usize, allow_empty: bool) -> Result<(), ConfigError> {
    if !(etas.len() == expected || allow_empty && etas.is_empty()) {
        return Err(invalid(field, format!("needs {expected} values (one per matrix), got {}", etas.len())));
    }
    for &eta in etas {
        if !eta.is_finite() {
            return Err(invalid(field, format!("learning rate {eta} is not finite")));
        }
        // Every rule descends its error; a negative rate would climb it.
        if eta < 0.0 {
            return Err(invalid(field, format!("learning rate {eta} is negative (0 freezes a matrix)")));
        }
        if eta > MAX_LEARNING_RATE {
            return Err(invalid(field, format!("learning rate {eta} is more than the limit of {MAX_LEARNING_RATE:e}")));
        }
    }
    Ok(())
}

impl NetworkConfig {
    /// The number of weights of every matrix (W_k, B_k, W^IP_k, W^PI_k), counted in floating point
    /// so that no widths overflow it; the shapes are those of `network::Shape::named_shapes`.
    pub fn weight_count(&self) -> f64 {
        let n: Vec<f64> = self.sizes.iter().map(|&n| n as f64).collect();
        let b = if self.bias { 1.0 } else { 0.0 };
        let depth = n.len().saturating_sub(1);
        let up: f64 = (1..=depth).map(|k| n[k] * (n[k - 1] + b)).sum();
        let hidden: f64 = (1..depth).map(|k| 2.0 * n[k] * n[k + 1] + n[k + 1] * (n[k] + b)).sum();
        up + hidden
    }
}

impl ModelConfig {
    /// An estimate of the bytes of one continuous-time network: every weight with its trace, and
    /// the state's vectors (at most 14 per neuron, interneurons counted like pyramidal neurons).
    pub fn network_bytes(&self) -> f64 {
        let neurons: f64 = self.network.sizes.iter().map(|&n| 2.0 * n as f64).sum();
        16.0 * self.network.weight_count() + 14.0 * 8.0 * neurons
    }

    /// Checks every value once, so that the engines can rely on consistent sizes and ranges.
    pub fn validate(&self) -> Result<(), ConfigError> {
        let net = &self.network;
        if net.sizes.len() < 2 {
            return Err(invalid("network.sizes", "needs at least an input and an output layer"));
        }
        if let Some(k) = net.sizes.iter().position(|&n| n == 0) {
            return Err(invalid("network.sizes", format!("layer {k} has no neurons")));
        }
        if let Some(k) = net.sizes.iter().position(|&n| n > MAX_LAYER_WIDTH) {
            let problem = format!("layer {k} has {} neurons, more than the limit of {MAX_LAYER_WIDTH}", net.sizes[k]);
            return Err(invalid("network.sizes", problem));
        }
        if net.sizes.len() - 1 > MAX_DEPTH {
            let problem = format!("{} weight layers are more than the limit of {MAX_DEPTH}", net.sizes.len() - 1);
            return Err(invalid("network.sizes", problem));
        }
        let weights = net.weight_count();
        if weights > MAX_WEIGHTS {
            let problem = format!("the network has {weights:.2e} weights, more than the limit of {MAX_WEIGHTS:e}");
            return Err(invalid("network.sizes", problem));
        }
        if let RateFn::SoftRectifier { gamma, beta, theta } = net.phi {
            positive("network.phi.gamma", gamma)?;
            positive("network.phi.beta", beta)?;
            if !theta.is_finite() {
                return Err(invalid("network.phi.theta", format!("must be a finite number, got {theta}")));
            }
        }
        apical_neuron::build(&net.neuron, apical_neuron::Role::Pyramidal, &net.conductances)
            .map_err(|e| invalid("network.neuron", e.to_string()))?;
        let g = &net.conductances;
        for (name, x) in [("g_lk", g.g_lk), ("g_b", g.g_b), ("g_a", g.g_a), ("g_d", g.g_d)] {
            non_negative(&format!("network.conductances.{name}"), x)?;
        }
        for (name, x) in [("g_som", g.g_som), ("g_som_i", g.g_som_i)] {
            non_negative(&format!("network.conductances.{name}"), x)?;
        }
        positive("network.conductances.g_lk + g_b", g.g_lk + g.g_b)?;
        positive("network.conductances.g_lk + g_d", g.g_lk + g.g_d)?;
        let d = &self.dynamics;
        positive("dynamics.dt", d.dt)?;
        if d.dt < MIN_DT {
            return Err(invalid("dynamics.dt", format!("{} ms is below the limit of {MIN_DT:e} ms", d.dt)));
        }
        time_ms("dynamics.dt", d.dt)?;
        // τ_0 = 0 is allowed: the filters then follow their inputs at once.
        time_ms("dynamics.tau_0", d.tau_0)?;
        non_negative("dynamics.sigma", d.sigma)?;
        at_most("dynamics.sigma", d.sigma, MAX_SIGMA)?;
        let p = &self.plasticity;
        let layers = net.sizes.len() - 1;
        rates("plasticity.eta_up", &p.eta_up, layers, false)?;
        rates("plasticity.eta_ip", &p.eta_ip, layers - 1, false)?;
        rates("plasticity.eta_pi", &p.eta_pi, layers - 1, false)?;
        rates("plasticity.eta_down", &p.eta_down, layers - 1, true)?;
        if !(p.w_up_max.is_empty() || p.w_up_max.len() == layers) {
            let problem = format!("needs {layers} bounds (one per W_k) or none, got {}", p.w_up_max.len());
            return Err(invalid("plasticity.w_up_max", problem));
        }
        for &bound in &p.w_up_max {
            positive("plasticity.w_up_max", bound)?;
        }
        positive("plasticity.tau_w", p.tau_w)?;
        time_ms("plasticity.tau_w", p.tau_w)?;
        time_ms("plasticity.learning_lag", p.learning_lag)?;
        p.validate_schedule()?;
        non_negative("init.range", self.init.range)?;
        at_most("init.range", self.init.range, MAX_INIT_RANGE)?;
        if let Some(range) = self.init.w_up_range {
            non_negative("init.w_up_range", range)?;
            at_most("init.w_up_range", range, MAX_INIT_RANGE)?;
        }
        Ok(())
    }
}

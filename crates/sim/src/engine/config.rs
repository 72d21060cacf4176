//! The model's configuration: everything the engines need (seed, network, dynamics, plasticity,
//! initial weights), and its validation.
//!
//! A run's configuration (`experiments::config::ModelConfig`) is this model plus an experiment.
//! It is parsed with unknown fields refused, then checked once; the engines only accept networks
//! built from a checked [`ModelConfig`]. The engine knows nothing of experiments.

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
        InitConfig { range: default_range(), lateral: LateralInit::default(), weights: None }
    }
}

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

fn rates(field: &str, etas: &[Real], expected: usize, allow_empty: bool) -> Result<(), ConfigError> {
    if !(etas.len() == expected || allow_empty && etas.is_empty()) {
        return Err(invalid(field, format!("needs {expected} values (one per matrix), got {}", etas.len())));
    }
    for &eta in etas {
        if !eta.is_finite() {
            return Err(invalid(field, format!("learning rate {eta} is not finite")));
        }
    }
    Ok(())
}

impl ModelConfig {
    /// Checks every value once, so that the engines can rely on consistent sizes and ranges.
    pub fn validate(&self) -> Result<(), ConfigError> {
        let net = &self.network;
        if net.sizes.len() < 2 {
            return Err(invalid("network.sizes", "needs at least an input and an output layer"));
        }
        if let Some(k) = net.sizes.iter().position(|&n| n == 0) {
            return Err(invalid("network.sizes", format!("layer {k} has no neurons")));
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
        non_negative("dynamics.tau_0", d.tau_0)?;
        non_negative("dynamics.sigma", d.sigma)?;
        let p = &self.plasticity;
        let layers = net.sizes.len() - 1;
        rates("plasticity.eta_up", &p.eta_up, layers, false)?;
        rates("plasticity.eta_ip", &p.eta_ip, layers - 1, false)?;
        rates("plasticity.eta_pi", &p.eta_pi, layers - 1, false)?;
        rates("plasticity.eta_down", &p.eta_down, layers - 1, true)?;
        positive("plasticity.tau_w", p.tau_w)?;
        non_negative("plasticity.learning_lag", p.learning_lag)?;
        non_negative("init.range", self.init.range)
    }
}

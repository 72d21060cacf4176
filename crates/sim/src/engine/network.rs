//! The network's weights: shapes, random and self-predicting initialisation, and weight files.
//!
//! Layers are counted as in the paper, k = 0 … N. Matrices are stored per kind in vectors indexed
//! from 0, so `up[k − 1]` is W_k and `down[k − 1]`, `ip[k − 1]`, `pi[k − 1]` belong to hidden
//! layer k:
//!
//! ```text
//! W_k    = up[k−1]    n_k     × (n_{k−1} + b)    k = 1 … N
//! B_k    = down[k−1]  n_k     × n_{k+1}          k = 1 … N−1
//! W^IP_k = ip[k−1]    n_{k+1} × (n_k + b)        k = 1 … N−1
//! W^PI_k = pi[k−1]    n_k     × n_{k+1}          k = 1 … N−1
//! ```
//!
//! where b = 1 when a bias input is enabled (a constant 1 appended to every presynaptic rate
//! vector) and 0 otherwise.

use std::path::Path;

use apical_neuron::{CompartmentParams, Role};
use apical_numerics::{Element, Matrix, Real, rng};
use apical_rules::Synapses;
use serde::{Deserialize, Serialize};

use crate::engine::config::{LateralInit, ModelConfig, PlasticityConfig};
use crate::io::npy;

/// Every weight matrix of a network, with its trace and learning rate, stored in f64 (the
/// default) or f32.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(bound = "")]
pub struct Weights<T: Element = Real> {
    /// Bottom-up W_1 … W_N.
    pub up: Vec<Synapses<T>>,
    /// Top-down B_1 … B_{N−1}.
    pub down: Vec<Synapses<T>>,
    /// Pyramidal-to-interneuron W^IP_1 … W^IP_{N−1}.
    pub ip: Vec<Synapses<T>>,
    /// Interneuron-to-pyramidal W^PI_1 … W^PI_{N−1}.
    pub pi: Vec<Synapses<T>>,
}

/// The layer widths and the bias flag, which fix every matrix shape.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Shape {
    /// n_0 … n_N.
    pub sizes: Vec<usize>,
    /// Whether a constant 1 is appended to presynaptic rates.
    pub bias: bool,
}

impl Shape {
    /// N, the index of the output layer.
    pub fn depth(&self) -> usize {
        self.sizes.len() - 1
    }

    /// The number of presynaptic entries of a matrix reading layer k's rates bottom-up.
    pub fn pre(&self, k: usize) -> usize {
        self.sizes[k] + usize::from(self.bias)
    }

    /// The expected (rows, columns) of every matrix, keyed by its file name.
    pub fn named_shapes(&self) -> Vec<(String, (usize, usize))> {
        let n = &self.sizes;
        let mut out = Vec::new();
        for k in 1..=self.depth() {
            out.push((format!("w_up_{k}"), (n[k], self.pre(k - 1))));
        }
        for k in 1..self.depth() {
            out.push((format!("w_down_{k}"), (n[k], n[k + 1])));
            out.push((format!("w_ip_{k}"), (n[k + 1], self.pre(k))));
            out.push((format!("w_pi_{k}"), (n[k], n[k + 1])));
        }
        out
    }
}

/// A weight file does not fit the network.
#[derive(Debug, thiserror::Error)]
pub enum WeightFileError {
    /// The file could not be read.
    #[error(transparent)]
    Read(#[from] npy::NpyError),
    /// An array has a name the network does not use.
    #[error("{file}: unknown array '{name}' (expected names like w_up_1, w_down_1, w_ip_1, w_pi_1)")]
    UnknownName {
        /// The file.
        file: String,
        /// The array name.
        name: String,
    },
    /// An array has the wrong shape.
    #[error("{file}: array '{name}' is {found:?} but the network needs {expected:?} (rows, columns)")]
    Shape {
        /// The file.
        file: String,
        /// The array name.
        name: String,
        /// The required shape.
        expected: (usize, usize),
        /// The shape found.
        found: (usize, usize),
    },
    /// An array holds NaN or an infinity.
    #[error("{file}: array '{name}' holds a value that is not finite")]
    NonFinite {
        /// The file.
        file: String,
        /// The array name.
        name: String,
    },
}

impl<T: Element> Weights<T> {
    /// Draws every matrix from U(−range, range) with the run's weight stream, in f64 and then
    /// rounded to `T` (W_k from
    /// U(−w_up_range, w_up_range) where `init.w_up_range` is set) and sets the learning rates of
    /// the configuration. [`Weights::initial`] adds the weight file and the lateral
    /// initialisation.
    pub fn from_config(cfg: &ModelConfig, shape: &Shape) -> Self {
        let mut rng = rng::stream(cfg.seed, rng::Stream::Weights);
        let range = cfg.init.range;
        let up_range = cfg.init.w_up_range.unwrap_or(range);
        let n = &shape.sizes;
        let p = &cfg.plasticity;
        let mut draw = |rows, cols, range: Real| Matrix::uniform(rows, cols, -range, range, &mut rng);
        let depth = shape.depth();
        let up =
            (1..=depth).map(|k| Synapses::new(draw(n[k], shape.pre(k - 1), up_range), p.eta_up[k - 1], true)).collect();
        let mut down = Vec::new();
        let mut ip = Vec::new();
        let mut pi = Vec::new();
        for k in 1..depth {
            let eta_down = p.eta_down.get(k - 1).copied().unwrap_or(0.0);
            down.push(Synapses::new(draw(n[k], n[k + 1], range), eta_down, true));
            ip.push(Synapses::new(draw(n[k + 1], shape.pre(k), range), p.eta_ip[k - 1], true));
            pi.push(Synapses::new(draw(n[k], n[k + 1], range), p.eta_pi[k - 1], true));
        }
        Weights { up, down, ip, pi }
    }

    /// The same weights and traces converted to `U`. f32 → f64 → f32 gives back the same
    /// bits, so checkpoints keep f32 weights as f64.
    pub fn cast<U: Element>(&self) -> Weights<U> {
        let cast = |list: &[Synapses<T>]| list.iter().map(Synapses::cast).collect();
        Weights { up: cast(&self.up), down: cast(&self.down), ip: cast(&self.ip), pi: cast(&self.pi) }
    }

    /// Sets every learning rate to the configured one times `factor`: η = η_config · factor for
    /// W_k, B_k (0 where `eta_down` names none), W^IP_k and W^PI_k, as [`Weights::from_config`]
    /// assigns them.
    pub fn set_eta_factor(&mut self, p: &PlasticityConfig, factor: Real) {
        for (k, s) in self.up.iter_mut().enumerate() {
            s.eta = p.eta_up[k] * factor;
        }
        for k in 0..self.down.len() {
            self.down[k].eta = p.eta_down.get(k).copied().unwrap_or(0.0) * factor;
            self.ip[k].eta = p.eta_ip[k] * factor;
            self.pi[k].eta = p.eta_pi[k] * factor;
        }
    }

    /// Sets the lateral weights to the self-predicting state of spec §5:
    /// W^PI_k = −B_k and W^IP_k = (c_{k+1}/d) W_{k+1}, where c_{k+1} is the prediction gain of
    /// layer k+1 (an output layer has g_A = 0) and d that of the interneurons.
    pub fn make_self_predicting(&mut self, g: &CompartmentParams) {
        let depth = self.up.len();
        let d = g.role(Role::Interneuron).prediction_gain();
        for k in 1..depth {
            let role = if k + 1 == depth { Role::Output } else { Role::Pyramidal };
            let c_next = g.role(role).prediction_gain();
            self.pi[k - 1].w = self.down[k - 1].w.scaled(-1.0);
            self.ip[k - 1].w = self.up[k].w.scaled(c_next / d);
        }
    }

    /// The initial weights of a validated configuration: drawn at random, then replaced by the
    /// arrays of the configuration's weight file (if any), then the lateral initialisation.
    pub fn initial(cfg: &ModelConfig, shape: &Shape) -> Result<Self, WeightFileError> {
        let mut weights = Self::from_config(cfg, shape);
        if let Some(path) = &cfg.init.weights {
            weights.load_npz(path)?;
        }
        weights.init_lateral(cfg.init.lateral, &cfg.network.conductances);
        Ok(weights)
    }

    /// Applies the lateral initialisation of a configuration.
    pub fn init_lateral(&mut self, lateral: LateralInit, g: &CompartmentParams) {
        if lateral == LateralInit::SelfPredicting {
            self.make_self_predicting(g);
        }
    }

    /// Every weight matrix with its file name, in the order of [`Shape::named_shapes`].
    pub fn named(&self) -> Vec<(String, &Matrix<T>)> {
        let mut out: Vec<(String, &Matrix<T>)> =
            self.up.iter().enumerate().map(|(i, s)| (format!("w_up_{}", i + 1), &s.w)).collect();
        for i in 0..self.down.len() {
            out.push((format!("w_down_{}", i + 1), &self.down[i].w));
            out.push((format!("w_ip_{}", i + 1), &self.ip[i].w));
            out.push((format!("w_pi_{}", i + 1), &self.pi[i].w));
        }
        out
    }

    /// The matrix with the `.npz` key `name` (`w_up_1`, `w_pi_2`, …), if the network has it.
    pub fn by_name_mut(&mut self, name: &str) -> Option<&mut Matrix<T>> {
        let (kind, k) = name.rsplit_once('_')?;
        let k: usize = k.parse().ok()?;
        let list = match kind {
            "w_up" => &mut self.up,
            "w_down" => &mut self.down,
            "w_ip" => &mut self.ip,
            "w_pi" => &mut self.pi,
            _ => return None,
        };
        list.get_mut(k.checked_sub(1)?).map(|s| &mut s.w)
    }

    /// Replaces the matrices named in a `.npz` file, checking every name, shape and value first so
    /// that a bad file changes nothing.
    pub fn load_npz(&mut self, path: &Path) -> Result<(), WeightFileError> {
        let arrays = npy::read_npz(path)?;
        let file = path.display().to_string();
        for (name, m) in &arrays {
            let Some(current) = self.by_name_mut(name) else {
                return Err(WeightFileError::UnknownName { file, name: name.clone() });
            };
            if current.shape() != m.shape() {
                let expected = current.shape();
                return Err(WeightFileError::Shape { file, name: name.clone(), expected, found: m.shape() });
            }
            if !m.is_finite() {
                return Err(WeightFileError::NonFinite { file, name: name.clone() });
            }
        }
        for (name, m) in arrays {
            *self.by_name_mut(&name).expect("checked above") = m.cast();
        }
        Ok(())
    }

    /// Writes every weight matrix into one `.npz` file of f64 arrays (see [`npy`] for the key
    /// names).
    pub fn save_npz(&self, path: &Path) -> Result<(), npy::NpyError> {
        let named: Vec<(String, Matrix)> = self.named().into_iter().map(|(n, m)| (n, m.cast())).collect();
        let arrays: Vec<(&str, &Matrix)> = named.iter().map(|(n, m)| (n.as_str(), m)).collect();
        npy::write_npz(path, &arrays)
    }

    /// The Frobenius distances of the lateral weights from the self-predicting state, summed over
    /// hidden layers: (‖W^PI + B‖, ‖W^IP − (c_{k+1}/d) W_{k+1}‖).
    pub fn distance_from_self_predicting(&self, g: &CompartmentParams) -> (Real, Real) {
        let mut target = self.clone();
        target.make_self_predicting(g);
        let pi = self.pi.iter().zip(&target.pi).map(|(a, b)| a.w.distance(&b.w)).sum();
        let ip = self.ip.iter().zip(&target.ip).map(|(a, b)| a.w.distance(&b.w)).sum();
        (pi, ip)
    }
}

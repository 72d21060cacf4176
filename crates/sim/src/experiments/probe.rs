//! Noise-free probes of a network: steady states on fixed patterns, with plasticity off.

use apical_numerics::{Element, Real};

use crate::engine::microcircuit::Microcircuit;
use crate::engine::network::Weights;
use crate::experiments::config::RunConfig;

/// Averages over the probe patterns of the steady-state metrics of the self-predicting state.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ProbeMetrics {
    /// Mean ‖v_A‖² over patterns (summed over hidden layers).
    pub apical_sq: Real,
    /// Mean ‖u_{k+1} − u^I_k‖² over patterns (summed over hidden layers).
    pub mismatch: Real,
}

/// Settles a noise-free copy of the network on each pattern with no target and averages the
/// metrics. The training network itself is not touched.
pub fn probe<T: Element>(cfg: &RunConfig, weights: &Weights<T>, patterns: &[Vec<Real>]) -> ProbeMetrics {
    let mut net = Microcircuit::with_weights(cfg, weights.clone());
    net.set_sigma(0.0);
    let (mut apical_sq, mut mismatch) = (0.0, 0.0);
    for p in patterns {
        net.set_input(p);
        net.set_target(None);
        net.settle(1e-12, 10_000);
        apical_sq += net.apical_sq_norm();
        mismatch += net.interneuron_mismatch();
    }
    let n = patterns.len().max(1) as Real;
    ProbeMetrics { apical_sq: apical_sq / n, mismatch: mismatch / n }
}

use apical_numerics::kernels::{self, TraceStep, UpdateOrder};
use apical_numerics::{Matrix, Real};
use serde::{Deserialize, Serialize};

/// The trace parameters shared by all plastic matrices of a network.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct TraceParams {
    /// The trace time constant τ_w (ms).
    pub tau_w: Real,
    /// Whether the weight step uses the old or the new trace.
    pub order: UpdateOrder,
}

/// A weight matrix with its plasticity trace Δ and learning rate η.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Synapses {
    /// The weights, n_post × n_pre.
    pub w: Matrix,
    /// The low-pass filtered induction Δ, same shape as `w`.
    pub trace: Matrix,
    /// The learning rate η; 0 or `plastic = false` freezes the matrix.
    pub eta: Real,
    /// Whether the matrix learns at all.
    pub plastic: bool,
}

impl Synapses {
    /// Wraps a weight matrix with a zero trace.
    pub fn new(w: Matrix, eta: Real, plastic: bool) -> Self {
        let trace = Matrix::zeros(w.nrows(), w.ncols());
        Synapses { w, trace, eta, plastic }
    }

    /// True when this matrix changes during a plastic step.
    pub fn learns(&self) -> bool {
        self.plastic && self.eta != 0.0
    }

    /// One step of length `dt`: if the matrix learns, advance the trace towards post · preᵀ and
    /// the weights by dt η Δ; then set `out` ← W x for the next presynaptic rates `x`.
    pub fn step(&mut self, post: &[Real], pre: &[Real], dt: Real, trace: TraceParams, x: &[Real], out: &mut [Real]) {
        if self.learns() {
            let step = TraceStep { decay: dt / trace.tau_w, rate: dt * self.eta, order: trace.order };
            kernels::plasticity_pass(&mut self.w, &mut self.trace, post, pre, step, Some((x, out)));
        } else {
            kernels::gemv(out, &self.w, x);
        }
    }
}

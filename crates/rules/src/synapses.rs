use apical_numerics::kernels::{self, TraceStep, UpdateOrder};
use apical_numerics::{Element, Matrix, Real};
use serde::{Deserialize, Serialize};

/// The trace parameters shared by all plastic matrices of a network.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct TraceParams {
    /// The trace time constant τ_w (ms).
    pub tau_w: Real,
    /// Whether the weight step uses the old or the new trace.
    pub order: UpdateOrder,
}

/// A weight matrix with its plasticity trace Δ and learning rate η, stored in f64 (the default)
/// or f32 (see [`Element`]). The rates and potentials the matrix reads and writes are f64 in
/// either case; with f32 storage they are rounded to f32 on the way in and widened on the way out.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(bound = "")]
pub struct Synapses<T: Element = Real> {
    /// The weights, n_post × n_pre.
    pub w: Matrix<T>,
    /// The low-pass filtered induction Δ, same shape as `w`.
    pub trace: Matrix<T>,
    /// The learning rate η; 0 or `plastic = false` freezes the matrix.
    pub eta: Real,
    /// Whether the matrix learns at all.
    pub plastic: bool,
    /// The f32 copies of the vectors a step reads and writes (unused with f64 storage).
    #[serde(skip)]
    staging: Staging<T>,
}

/// Buffers for the f32 copies of a step's vectors, sized on first use. They hold no state between
/// steps, so every two of them compare equal.
#[derive(Debug, Clone, Default)]
struct Staging<T> {
    post: Vec<T>,
    pre: Vec<T>,
    x: Vec<T>,
    out: Vec<T>,
}

impl<T> PartialEq for Staging<T> {
    fn eq(&self, _: &Self) -> bool {
        true
    }
}

impl<T: Element> Synapses<T> {
    /// Wraps a weight matrix with a zero trace.
    pub fn new(w: Matrix<T>, eta: Real, plastic: bool) -> Self {
        let trace = Matrix::zeros(w.nrows(), w.ncols());
        Synapses { w, trace, eta, plastic, staging: Staging::default() }
    }

    /// True when this matrix changes during a plastic step.
    pub fn learns(&self) -> bool {
        self.plastic && self.eta != 0.0
    }

    /// One step of length `dt`: if the matrix learns, advance the trace towards post · preᵀ and
    /// the weights by dt η Δ; then set `out` ← W x for the next presynaptic rates `x`.
    pub fn step(&mut self, post: &[Real], pre: &[Real], dt: Real, trace: TraceParams, x: &[Real], out: &mut [Real]) {
        if !self.learns() {
            return self.product(x, out);
        }
        let step = TraceStep { decay: dt / trace.tau_w, rate: dt * self.eta, order: trace.order };
        let Synapses { w, trace, staging, .. } = self;
        let (post, pre, x) =
            (T::stage(post, &mut staging.post), T::stage(pre, &mut staging.pre), T::stage(x, &mut staging.x));
        T::write_through(out, &mut staging.out, |out| {
            kernels::plasticity_pass(w, trace, post, pre, step, Some((x, out)))
        });
    }

    /// out ← W x.
    pub fn product(&mut self, x: &[Real], out: &mut [Real]) {
        let Synapses { w, staging, .. } = self;
        let x = T::stage(x, &mut staging.x);
        T::write_through(out, &mut staging.out, |out| kernels::gemv(out, w, x));
    }

    /// The same synapses with weights and trace converted to `U` (exactly from f32 to f64).
    pub fn cast<U: Element>(&self) -> Synapses<U> {
        Synapses {
            w: self.w.cast(),
            trace: self.trace.cast(),
            eta: self.eta,
            plastic: self.plastic,
            staging: Staging::default(),
        }
    }
}

//! The simplified two-step dynamics of the paper's MNIST runs (spec §7), batched.
//!
//! A mini-batch of B inputs is a block of B matrix columns, so every product below is one gemm
//! (faer, on the threads of the current rayon pool) into a preallocated buffer, and every φ of a
//! block is split between the same threads. With a bias the presynaptic rate matrices carry a
//! last row of ones, and the last column of W_k and W^IP_k is the bias weight. Per mini-batch:
//!
//! ```text
//! 1. forward sweep, k = 1 … N:  v_B,k = W_k r_{k−1},  r_k = φ(c_k v_B,k);   v^I_k = W^IP_k r_k
//! 2. nudge the output:          u_N = (1 − λ_N) v_B,N + λ_N u_trgt
//! 3. downward sweep, k = N−1 … 1:
//!        u^I_k = (1 − λ_I) v^I_k + λ_I u_{k+1}
//!        v_A,k = B_k φ(u_{k+1}) + W^PI_k φ(u^I_k)                                    (Eq. 4)
//!        u_k   = (1 − λ_A) v_B,k + λ_A v_A,k
//! 4. plasticity, averaged over the batch, presynaptic rates from the forward sweep:
//!        ΔW_k    = (η_k / B)    (φ(u_k)   − φ(v̂_B,k)) r_{k−1}ᵀ,   v̂_B,k = (1 − λ_A) v_B,k, v̂_B,N = v_B,N   (Eq. 7)
//!        ΔW^IP_k = (η^IP_k / B) (φ(u^I_k) − φ(v^I_k))  r_kᵀ                                       (Eq. 8)
//!    and where W^PI_k and B_k learn (spec §7's reading), with the nudged state of steps 2–3:
//!        ΔW^PI_k = (η^PI_k / B) (0 − v_A,k) φ(u^I_k)ᵀ                                            (Eq. 9)
//!        ΔB_k    = (η^B_k / B)  (φ(u_k) − φ(B_k φ(u_{k+1}))) φ(u_{k+1})ᵀ                           (Eq. 10)
//! ```
//!
//! The engine stores its weights and every block of rates and potentials in `T`, f64 by default
//! or f32 (`plasticity.precision = "f32"`), so every product is one gemm of that type and its
//! sums accumulate in it. φ, φ′ and the mixtures of potentials are evaluated in f64 and rounded to
//! `T` once.
//!
//! All updates of a mini-batch are computed from the weights it started with. The rates of W^PI_k
//! and B_k are applied as configured: their teaching signals, v_A,k and the top-down
//! prediction error, are not diluted by the mixing the way the errors of Eqs. 7–8 are.
//!
//! The gain c_k of the forward rates is 1 for the output. For a hidden layer it is set by
//! [`HiddenRates`]: c_k = 1 in spec §7's reading (`Basal`), or c_k = 1 − λ_A (`Soma`). The second
//! makes r_k the hidden soma's potential without a target, (1 − λ_A) v_B,k = v̂_B,k, which is the
//! steady state of the continuous dynamics when g_lk = 0, and puts the rates where Eq. 7 compares
//! them: φ(u_k) − φ(v̂_B,k) ≈ λ_A φ′(v̂_B,k) v_A,k is then gated by the slope of φ at the
//! potential the layer actually fires at. In the `Basal` reading the slope is taken at
//! (1 − λ_A) v_B,k while the layer fires at v_B,k. The two readings agree as λ_A → 0.
//!
//! Unless `eta_pi` and `eta_down` are set, B_k and W^PI_k stay fixed. In the self-predicting state
//! of this convention,
//! W^PI_k = −B_k and W^IP_k = W_{k+1} if k + 1 = N, else (1 − λ_A) W_{k+1} ([`make_self_predicting`]),
//! every apical potential vanishes without a target and all updates are zero.
//!
//! To first order in λ the postsynaptic factors are diluted copies of the backprop errors:
//! φ(u_N) − φ(v_B,N) ≈ λ_N δ_N with δ_N = φ′(v_B,N)(u_trgt − v_B,N), and every hidden layer further
//! down multiplies the dilution by λ_A (1 − λ_I). [`Rates::new`] divides each learning rate by
//! its dilution when asked ("rescaled by the inverse mixing factor", spec §7):
//!
//! ```text
//! f_N = 1 / λ_N,   f_k = f_{k+1} / (λ_A (1 − λ_I)),   f^IP_k = f_{k+1} (1 − λ_{k+1}) / λ_I
//! ```
//!
//! where λ_{k+1} = λ_A for a hidden layer and 0 for the output. With these factors the updates of
//! W_k tend to η_k times the feedback-alignment gradient as λ → 0 (exactly backprop when
//! B_k = W_{k+1}ᵀ, with 1 − cos falling as λ²), and η^IP_k = η_{k+1} keeps W^IP_k at its
//! self-predicting value to first order.
//!
//! The same engine trains by plain backprop ([`Learner::Backprop`]), with the errors of the
//! analytic oracle [`apical_rules::backprop`] at gains c_k = 1:
//!
//! ```text
//! δ_N = φ′(v_B,N) ⊙ (u_trgt − v_B,N),   δ_k = φ′(v_B,k) ⊙ W_{k+1}ᵀ δ_{k+1},   ΔW_k = (η_k / B) δ_k r_{k−1}ᵀ
//! ```
//!
//! where W_{k+1}ᵀ leaves out the bias column. Feedback alignment ([`Learner::FeedbackAlignment`])
//! is the same with the fixed top-down B_k in place of W_{k+1}ᵀ, δ_k = φ′(v_B,k) ⊙ B_k δ_{k+1}:
//! the λ → 0 limit of the microcircuit, without its mixing and interneurons.

use apical_neuron::CompartmentParams;
use apical_numerics::{Element, Matrix, Real, kernels::gemm, rate::RateFn};
use rayon::prelude::*;
use serde::{Deserialize, Serialize};

use crate::engine::network::{Shape, Weights};

/// How the weights W_k learn.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Learner {
    /// The microcircuit's local rules (Eqs. 7–8) in the two-step dynamics.
    #[default]
    Microcircuit,
    /// Backprop on the same feedforward network, with the oracle's output error.
    Backprop,
    /// Feedback alignment: backprop's output error sent down through the fixed B_k instead of
    /// W_{k+1}ᵀ, the limit the microcircuit's updates approach as λ → 0.
    FeedbackAlignment,
}

impl Learner {
    /// The learner's name, as in configuration files.
    pub fn name(self) -> &'static str {
        match self {
            Learner::Microcircuit => "microcircuit",
            Learner::Backprop => "backprop",
            Learner::FeedbackAlignment => "feedback-alignment",
        }
    }
}

/// The mixing factors of the two-step dynamics.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Mixing {
    /// λ_A: the share of the apical potential in a hidden soma.
    pub lambda_a: Real,
    /// λ_N: the share of the target in the output soma.
    pub lambda_n: Real,
    /// λ_I: the share of the upper pyramidal soma in an interneuron.
    pub lambda_i: Real,
}

impl Mixing {
    /// The mixing factors of a set of conductances: λ_A = g_A/(g_lk + g_B + g_A),
    /// λ_N = g_som/(g_lk + g_B + g_som), λ_I = g_som^I/(g_lk + g_D + g_som^I).
    pub fn from_conductances(g: &CompartmentParams) -> Self {
        Mixing { lambda_a: g.lambda_a(), lambda_n: g.lambda_n(), lambda_i: g.lambda_i() }
    }
}

/// Sets the lateral weights to the self-predicting state of the two-step convention:
/// W^PI_k = −B_k, and W^IP_k = W_{k+1} if k + 1 = N, else (1 − λ_A) W_{k+1}.
pub fn make_self_predicting<T: Element>(weights: &mut Weights<T>, mixing: &Mixing) {
    let depth = weights.up.len();
    for k in 1..depth {
        let scale = if k + 1 == depth { 1.0 } else { 1.0 - mixing.lambda_a };
        weights.pi[k - 1].w = weights.down[k - 1].w.scaled(-1.0);
        weights.ip[k - 1].w = weights.up[k].w.scaled(scale);
    }
}

/// The learning rates a training step applies: η_k of W_k and η^IP_k of W^IP_k, already rescaled,
/// and η^PI_k of W^PI_k and η^B_k of B_k.
#[derive(Debug, Clone, PartialEq)]
pub struct Rates {
    /// The rates of W_1 … W_N.
    pub up: Vec<Real>,
    /// The rates of W^IP_1 … W^IP_{N−1} (zero for backprop).
    pub ip: Vec<Real>,
    /// The rates of W^PI_1 … W^PI_{N−1} (zero for backprop).
    pub pi: Vec<Real>,
    /// The rates of B_1 … B_{N−1} (zero for backprop).
    pub down: Vec<Real>,
}

impl Rates {
    /// The rates of the matrices that learn (`Synapses::learns`), each multiplied by its
    /// inverse dilution factor (module docs) when `rescale` is set and the learner is the
    /// microcircuit. Backprop and feedback alignment never update W^IP, W^PI or B; the rates of
    /// W^PI and B are never rescaled.
    pub fn new<T: Element>(weights: &Weights<T>, mixing: &Mixing, learner: Learner, rescale: bool) -> Self {
        let depth = weights.up.len();
        let mut f_up = vec![1.0; depth];
        let mut f_ip = vec![1.0; depth - 1];
        if rescale && learner == Learner::Microcircuit {
            let Mixing { lambda_a, lambda_n, lambda_i } = *mixing;
            f_up[depth - 1] = 1.0 / lambda_n;
            for k in (1..depth).rev() {
                f_up[k - 1] = f_up[k] / (lambda_a * (1.0 - lambda_i));
                let lambda_next = if k + 1 == depth { 0.0 } else { lambda_a };
                f_ip[k - 1] = f_up[k] * (1.0 - lambda_next) / lambda_i;
            }
        }
        let rate = |s: &apical_rules::Synapses<T>, f: Real| if s.learns() { s.eta * f } else { 0.0 };
        let up = weights.up.iter().zip(&f_up).map(|(s, &f)| rate(s, f)).collect();
        let lateral = |list: &[apical_rules::Synapses<T>], f: &[Real]| match learner {
            Learner::Microcircuit => list.iter().zip(f).map(|(s, &f)| rate(s, f)).collect(),
            Learner::Backprop | Learner::FeedbackAlignment => vec![0.0; depth - 1],
        };
        let ones = vec![1.0; depth - 1];
        Rates {
            up,
            ip: lateral(&weights.ip, &f_ip),
            pi: lateral(&weights.pi, &ones),
            down: lateral(&weights.down, &ones),
        }
    }

    /// Every rate multiplied by `factor` (a learning-rate schedule).
    pub fn scaled(&self, factor: Real) -> Rates {
        let scale = |rates: &[Real]| rates.iter().map(|r| r * factor).collect();
        Rates { up: scale(&self.up), ip: scale(&self.ip), pi: scale(&self.pi), down: scale(&self.down) }
    }

    /// Whether hidden layer k + 1's W^IP, W^PI or B learns, or W_{k+1}: the nudged sweep must
    /// reach that layer.
    fn reaches(&self, k: usize) -> bool {
        [self.up[k], self.ip[k], self.pi[k], self.down[k]].iter().any(|&r| r != 0.0)
    }
}

/// A rate matrix with `n` neuron rows, plus a row of ones where a bias is enabled.
fn rate_matrix<T: Element>(n: usize, cols: usize, bias: bool) -> Matrix<T> {
    let rows = n + usize::from(bias);
    Matrix::from_fn(rows, cols, |i, _| if i == n { T::from_f64(1.0) } else { T::ZERO })
}

/// The number of elements one task of a parallel map takes: about 10 µs of work for the slice
/// maps, far more than rayon needs to hand a task to another thread.
const MAP_GRAIN: usize = 4096;

/// out ← φ(x), split into tasks of [`MAP_GRAIN`] elements on the threads of the current rayon
/// pool. A block of one task runs on the calling thread, which spares a caller outside the pool
/// (the Python bindings) a hand-over for every small block. The slice maps give every element the
/// same bits wherever it lies in a slice, so the result does not depend on the number of threads.
/// φ is evaluated in f64 ([`Element::map_wide`]).
fn phi_par<T: Element>(phi: RateFn, x: &[T], out: &mut [T]) {
    let map = |x: &[T], out: &mut [T]| T::map_wide(x, out, |x, out| phi.apply_slice(x, out));
    if x.len() <= MAP_GRAIN {
        return map(x, out);
    }
    out.par_chunks_mut(MAP_GRAIN).zip(x.par_chunks(MAP_GRAIN)).for_each(|(out, x)| map(x, out));
}

/// x ← φ(x), in parallel as [`phi_par`].
fn phi_par_in_place<T: Element>(phi: RateFn, x: &mut [T]) {
    let map = |x: &mut [T]| T::map_wide_in_place(x, |x| phi.apply_slice_in_place(x));
    if x.len() <= MAP_GRAIN {
        return map(x);
    }
    x.par_chunks_mut(MAP_GRAIN).for_each(map);
}

/// r ← φ(gain · v) on the neuron rows of `r` (its bias row, if any, is left alone), columns in
/// parallel with the slice map; the product and φ are evaluated in f64.
fn rates_into<T: Element>(phi: RateFn, gain: Real, v: &Matrix<T>, r: &mut Matrix<T>) {
    let (n, rows) = (v.nrows(), r.nrows());
    if n == 0 {
        return;
    }
    let column = |(r, v): (&mut [T], &[T])| {
        T::map_wide(v, &mut r[..n], |v, r| {
            for (r, &v) in r.iter_mut().zip(v) {
                *r = gain * v;
            }
            phi.apply_slice_in_place(r);
        });
    };
    let (r, v) = (r.as_mut_slice(), v.as_slice());
    if v.len() <= MAP_GRAIN {
        r.chunks_mut(rows).zip(v.chunks(n)).for_each(column);
    } else {
        r.par_chunks_mut(rows).zip(v.par_chunks(n)).with_min_len(MAP_GRAIN.div_ceil(n)).for_each(column);
    }
}

/// post ← r − φ(v), the prediction error of Eqs. 7 and 8, with φ(v) from the slice map.
fn prediction_error<T: Element>(phi: RateFn, r: &[T], v: &[T], post: &mut [T]) {
    phi_par(phi, v, post);
    for (p, &r) in post.iter_mut().zip(r) {
        *p = r - *p;
    }
}

/// Which potential sets a hidden layer's rate in the forward sweep.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum HiddenRates {
    /// r_k = φ(v_B,k), step 1 of spec §7.
    #[default]
    Basal,
    /// r_k = φ((1 − λ_A) v_B,k) = φ(v̂_B,k): the hidden soma's potential without a target when
    /// g_lk = 0, the steady state of the continuous model. The rates then sit where Eq. 7
    /// compares them, φ(u_k) − φ(v̂_B,k).
    Soma,
}

impl HiddenRates {
    /// The rate of a hidden layer, as a formula.
    pub fn describe(self) -> &'static str {
        match self {
            HiddenRates::Basal => "φ(v_B,k) (basal)",
            HiddenRates::Soma => "φ((1 − λ_A) v_B,k) (soma)",
        }
    }

    /// The factor between v_B,k and the potential that sets a hidden rate.
    pub fn gain(self, mixing: &Mixing) -> Real {
        match self {
            HiddenRates::Basal => 1.0,
            HiddenRates::Soma => 1.0 - mixing.lambda_a,
        }
    }
}

/// The buffers of a forward pass over a block of columns, stored in f64 (the default) or f32.
#[derive(Debug, Clone)]
pub struct Forward<T: Element = Real> {
    /// n_0, the number of input neurons.
    n_input: usize,
    /// r_0 … r_N, each (n_k + b) × cols; a bias row holds ones.
    pub r: Vec<Matrix<T>>,
    /// v_B,1 … v_B,N, each n_k × cols.
    pub v_basal: Vec<Matrix<T>>,
    /// A hidden layer's rate is r_k = φ(hidden_gain · v_B,k); the output's is φ(v_B,N).
    hidden_gain: Real,
}

impl<T: Element> Forward<T> {
    /// Buffers for `cols` inputs at a time, with hidden rates r_k = φ(hidden_gain · v_B,k).
    pub fn new(shape: &Shape, cols: usize, hidden_gain: Real) -> Self {
        let r = shape.sizes.iter().map(|&n| rate_matrix(n, cols, shape.bias)).collect();
        let v_basal = shape.sizes[1..].iter().map(|&n| Matrix::zeros(n, cols)).collect();
        Forward { n_input: shape.sizes[0], r, v_basal, hidden_gain }
    }

    /// The number of inputs per pass.
    pub fn cols(&self) -> usize {
        self.r[0].ncols()
    }

    /// Copies the inputs, an n_0 × cols column-major block, into r_0 (rounded to `T`).
    ///
    /// # Panics
    /// If `x` has the wrong length.
    pub fn set_input(&mut self, x: &[Real]) {
        let n0 = self.n_input;
        assert_eq!(x.len(), n0 * self.cols(), "forward: input block length");
        for (j, column) in x.chunks_exact(n0).enumerate() {
            for (r, &x) in self.r[0].col_mut(j)[..n0].iter_mut().zip(column) {
                *r = T::from_f64(x);
            }
        }
    }

    /// The forward sweep: v_B,k = W_k r_{k−1}, r_k = φ(hidden_gain · v_B,k) for k = 1 … N − 1,
    /// r_N = φ(v_B,N).
    pub fn run(&mut self, weights: &Weights<T>, phi: RateFn) {
        let top = self.r.len() - 1;
        for k in 1..=top {
            let (below, above) = self.r.split_at_mut(k);
            gemm(
                &mut self.v_basal[k - 1],
                false,
                weights.up[k - 1].w.as_ref(),
                below[k - 1].as_ref(),
                T::from_f64(1.0),
            );
            let gain = if k == top { 1.0 } else { self.hidden_gain };
            rates_into(phi, gain, &self.v_basal[k - 1], &mut above[0]);
        }
    }

    /// The output potentials v_B,N (the output soma without a target), n_N × cols.
    pub fn output(&self) -> &Matrix<T> {
        self.v_basal.last().expect("at least one layer")
    }
}

/// The two-step engine: the forward buffers of one mini-batch and the buffers of the nudged sweep,
/// all stored in the weights' type `T`.
#[derive(Debug, Clone)]
pub struct TwoStep<T: Element = Real> {
    phi: RateFn,
    mixing: Mixing,
    /// The forward sweep of the current mini-batch.
    pub forward: Forward<T>,
    /// u_trgt, n_N × B.
    u_trgt: Matrix<T>,
    /// v^I_1 … v^I_{N−1}, each n_{k+1} × B.
    v_inter: Vec<Matrix<T>>,
    /// φ(u^I_1) … φ(u^I_{N−1}).
    r_inter: Vec<Matrix<T>>,
    /// The nudged somatic potentials u_1 … u_N.
    u: Vec<Matrix<T>>,
    /// φ(u_1) … φ(u_N) of the nudged potentials.
    r_nudged: Vec<Matrix<T>>,
    /// v_A,1 … v_A,{N−1}.
    v_apical: Vec<Matrix<T>>,
    /// The top-down parts B_k φ(u_{k+1}) of v_A,1 … v_A,{N−1}.
    v_top_down: Vec<Matrix<T>>,
    /// The postsynaptic factors of Eq. 7 (or the backprop errors δ_k), one per W_k.
    post_up: Vec<Matrix<T>>,
    /// The postsynaptic factors of Eq. 8, one per W^IP_k.
    post_ip: Vec<Matrix<T>>,
    /// The postsynaptic factors of Eq. 10, one per B_k (Eq. 9's is −v_A,k).
    post_down: Vec<Matrix<T>>,
}

impl<T: Element> TwoStep<T> {
    /// An engine for mini-batches of `batch` inputs.
    pub fn new(shape: &Shape, phi: RateFn, mixing: Mixing, hidden: HiddenRates, batch: usize) -> Self {
        let n = &shape.sizes;
        let depth = shape.depth();
        let per_layer = |range: std::ops::Range<usize>| range.map(|k| Matrix::zeros(n[k], batch)).collect::<Vec<_>>();
        TwoStep {
            phi,
            mixing,
            forward: Forward::new(shape, batch, hidden.gain(&mixing)),
            u_trgt: Matrix::zeros(n[depth], batch),
            v_inter: per_layer(2..depth + 1),
            r_inter: per_layer(2..depth + 1),
            u: per_layer(1..depth + 1),
            r_nudged: per_layer(1..depth + 1),
            v_apical: per_layer(1..depth),
            v_top_down: per_layer(1..depth),
            post_up: per_layer(1..depth + 1),
            post_ip: per_layer(2..depth + 1),
            post_down: per_layer(1..depth),
        }
    }

    /// The mini-batch size B.
    pub fn batch(&self) -> usize {
        self.forward.cols()
    }

    /// Sets the mini-batch: inputs (n_0 × B) and target potentials u_trgt (n_N × B), column-major,
    /// rounded to `T`.
    ///
    /// # Panics
    /// If a block has the wrong length.
    pub fn set_batch(&mut self, inputs: &[Real], u_trgt: &[Real]) {
        self.forward.set_input(inputs);
        assert_eq!(u_trgt.len(), self.u_trgt.as_slice().len(), "two-step: target block length");
        for (t, &x) in self.u_trgt.as_mut_slice().iter_mut().zip(u_trgt) {
            *t = T::from_f64(x);
        }
    }

    /// One training step on the current mini-batch: the forward sweep, then the learner's
    /// updates of W (and of W^IP, W^PI and B for the microcircuit, where their rates are not 0)
    /// with the given rates.
    pub fn train(&mut self, weights: &mut Weights<T>, learner: Learner, rates: &Rates) {
        self.forward.run(weights, self.phi);
        match learner {
            Learner::Microcircuit => self.nudged_sweep(weights, rates),
            Learner::Backprop | Learner::FeedbackAlignment => self.backprop_errors(weights, learner),
        }
        let scale = 1.0 / self.batch() as Real;
        for (k, syn) in weights.up.iter_mut().enumerate() {
            if rates.up[k] != 0.0 {
                let pre = self.forward.r[k].as_ref().transpose();
                gemm(&mut syn.w, true, self.post_up[k].as_ref(), pre, T::from_f64(rates.up[k] * scale));
            }
        }
        for (k, syn) in weights.ip.iter_mut().enumerate() {
            if rates.ip[k] != 0.0 {
                let pre = self.forward.r[k + 1].as_ref().transpose();
                gemm(&mut syn.w, true, self.post_ip[k].as_ref(), pre, T::from_f64(rates.ip[k] * scale));
            }
        }
        for (k, syn) in weights.pi.iter_mut().enumerate() {
            if rates.pi[k] != 0.0 {
                // Eq. 9: the postsynaptic factor 0 − v_A,k enters as the negative scale.
                let pre = self.r_inter[k].as_ref().transpose();
                gemm(&mut syn.w, true, self.v_apical[k].as_ref(), pre, T::from_f64(-rates.pi[k] * scale));
            }
        }
        for (k, syn) in weights.down.iter_mut().enumerate() {
            if rates.down[k] != 0.0 {
                let pre = self.r_nudged[k + 1].as_ref().transpose();
                gemm(&mut syn.w, true, self.post_down[k].as_ref(), pre, T::from_f64(rates.down[k] * scale));
            }
        }
    }

    /// Steps 2–3 of the module docs, leaving the postsynaptic factors of Eqs. 7, 8 and 10. The
    /// downward sweep stops below the lowest hidden layer whose W, W^IP, W^PI or B learns.
    fn nudged_sweep(&mut self, weights: &Weights<T>, rates: &Rates) {
        let phi = self.phi;
        let Mixing { lambda_a, lambda_n, lambda_i } = self.mixing;
        let depth = self.u.len();
        let top = depth - 1;
        let one = T::from_f64(1.0);
        // The mixtures of potentials are formed in f64 and rounded to T once.
        let mix = |a: Real, x: T, b: Real, y: T| T::from_f64(a * x.to_f64() + b * y.to_f64());
        let lowest = (0..top).find(|&k| rates.reaches(k)).unwrap_or(top);
        for k in lowest..top {
            gemm(&mut self.v_inter[k], false, weights.ip[k].w.as_ref(), self.forward.r[k + 1].as_ref(), one);
        }
        // Output: u_N = (1 − λ_N) v_B,N + λ_N u_trgt, and Eq. 7 with v̂_B,N = v_B,N. Every φ below
        // evaluates a whole n × B block at once.
        let v_out = self.forward.v_basal[top].as_slice();
        for ((u, &v), &t) in self.u[top].as_mut_slice().iter_mut().zip(v_out).zip(self.u_trgt.as_slice()) {
            *u = mix(1.0 - lambda_n, v, lambda_n, t);
        }
        phi_par(phi, self.u[top].as_slice(), self.r_nudged[top].as_mut_slice());
        prediction_error(phi, self.r_nudged[top].as_slice(), v_out, self.post_up[top].as_mut_slice());
        for k in (lowest..top).rev() {
            // Interneurons of hidden layer k + 1, nudged by the layer above.
            let u_above = self.u[k + 1].as_slice();
            let v_inter = self.v_inter[k].as_slice();
            let r_inter = self.r_inter[k].as_mut_slice();
            for ((r, &v), &u) in r_inter.iter_mut().zip(v_inter).zip(u_above) {
                *r = mix(1.0 - lambda_i, v, lambda_i, u);
            }
            phi_par_in_place(phi, r_inter);
            prediction_error(phi, r_inter, v_inter, self.post_ip[k].as_mut_slice());
            // Apical potential (Eq. 4) and the nudged hidden soma.
            gemm(&mut self.v_top_down[k], false, weights.down[k].w.as_ref(), self.r_nudged[k + 1].as_ref(), one);
            self.v_apical[k].as_mut_slice().copy_from_slice(self.v_top_down[k].as_slice());
            gemm(&mut self.v_apical[k], true, weights.pi[k].w.as_ref(), self.r_inter[k].as_ref(), one);
            // v̂_B,k waits in the postsynaptic factor until φ(v̂_B,k) replaces it.
            let v_basal = self.forward.v_basal[k].as_slice();
            let v_apical = self.v_apical[k].as_slice();
            let post = self.post_up[k].as_mut_slice();
            for (((u, v_hat), &v_b), &v_a) in
                self.u[k].as_mut_slice().iter_mut().zip(post.iter_mut()).zip(v_basal).zip(v_apical)
            {
                let hat = (1.0 - lambda_a) * v_b.to_f64();
                *v_hat = T::from_f64(hat);
                *u = T::from_f64(hat + lambda_a * v_a.to_f64());
            }
            let r = self.r_nudged[k].as_mut_slice();
            phi_par(phi, self.u[k].as_slice(), r);
            phi_par_in_place(phi, post);
            for (p, &r) in post.iter_mut().zip(r.iter()) {
                *p = r - *p;
            }
            if rates.down[k] != 0.0 {
                prediction_error(phi, r, self.v_top_down[k].as_slice(), self.post_down[k].as_mut_slice());
            }
        }
    }

    /// The errors δ_N … δ_1 of backprop or feedback alignment (module docs), left in the
    /// postsynaptic factors.
    fn backprop_errors(&mut self, weights: &Weights<T>, learner: Learner) {
        let phi = self.phi;
        let depth = self.post_up.len();
        let v_out = self.forward.v_basal[depth - 1].as_slice();
        for (i, d) in self.post_up[depth - 1].as_mut_slice().iter_mut().enumerate() {
            let (v, t) = (v_out[i].to_f64(), self.u_trgt.as_slice()[i].to_f64());
            *d = T::from_f64(phi.dphi(v) * (t - v));
        }
        for k in (0..depth - 1).rev() {
            let (below, above) = self.post_up.split_at_mut(k + 1);
            let n_k = below[k].nrows();
            let feedback = match learner {
                Learner::FeedbackAlignment => weights.down[k].w.as_ref(),
                _ => weights.up[k + 1].w.as_ref().subcols(0, n_k).transpose(),
            };
            gemm(&mut below[k], false, feedback, above[0].as_ref(), T::from_f64(1.0));
            for (d, &v) in below[k].as_mut_slice().iter_mut().zip(self.forward.v_basal[k].as_slice()) {
                *d = T::from_f64(d.to_f64() * phi.dphi(v.to_f64()));
            }
        }
    }

    /// The apical potentials v_A,1 … v_A,{N−1} of the last microcircuit step.
    pub fn v_apical(&self) -> &[Matrix<T>] {
        &self.v_apical
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use apical_numerics::stats;
    use apical_rules::backprop::{Feedback, Feedforward, spec_output_error};

    use apical_neuron::CompartmentParams;

    use crate::engine::config::{
        DynamicsConfig, InitConfig, LateralInit, ModelConfig, NetworkConfig, PlasticityConfig,
    };

    /// A model of the given widths with a bias, weights drawn from U(−range, range) and every rate
    /// 1; the engine tests read its weights only.
    fn model(sizes: &[usize], conductances: CompartmentParams, range: Real) -> ModelConfig {
        let layers = sizes.len() - 1;
        ModelConfig {
            seed: 0,
            network: NetworkConfig {
                sizes: sizes.to_vec(),
                phi: RateFn::Logistic,
                neuron: "dendritic".into(),
                bias: true,
                conductances,
            },
            dynamics: DynamicsConfig::default(),
            plasticity: PlasticityConfig {
                eta_up: vec![1.0; layers],
                eta_ip: vec![1.0; layers - 1],
                eta_pi: vec![0.0; layers - 1],
                eta_down: Vec::new(),
                tau_w: 30.0,
                order: Default::default(),
                learning_lag: 0.0,
                w_up_max: Vec::new(),
                schedule: crate::engine::config::default_schedule(),
                precision: Default::default(),
            },
            init: InitConfig { range, w_up_range: None, lateral: LateralInit::Random, weights: None },
        }
    }

    const SIZES: [usize; 4] = [6, 5, 4, 3];
    const BATCH: usize = 3;

    /// A small network with a bias, weights U(−1, 1), and a batch of inputs and targets.
    fn setup(lambda: Real) -> (Shape, Weights, Mixing, Vec<Real>, Vec<Real>) {
        let cfg = model(&SIZES, CompartmentParams::default(), 1.0);
        let shape = Shape { sizes: SIZES.to_vec(), bias: true };
        let weights = Weights::from_config(&cfg, &shape);
        let mixing = Mixing { lambda_a: lambda, lambda_n: lambda, lambda_i: lambda };
        let inputs: Vec<Real> = (0..SIZES[0] * BATCH).map(|i| (0.37 * i as Real).sin().abs()).collect();
        let u_trgt: Vec<Real> = (0..SIZES[3] * BATCH).map(|i| 2.0 * (1.3 * i as Real).cos()).collect();
        (shape, weights, mixing, inputs, u_trgt)
    }

    /// The updates one training step makes, per W_k, in f64.
    fn updates<T: Element>(
        weights: &Weights<T>,
        engine: &mut TwoStep<T>,
        learner: Learner,
        rates: &Rates,
    ) -> Vec<Matrix> {
        let mut after = weights.clone();
        engine.train(&mut after, learner, rates);
        let change = |a: &Matrix<T>, b: &Matrix<T>| {
            Matrix::from_fn(a.nrows(), a.ncols(), |i, j| a.get(i, j).to_f64() - b.get(i, j).to_f64())
        };
        after.up.iter().zip(&weights.up).map(|(a, b)| change(&a.w, &b.w)).collect()
    }

    /// In f32 a training step makes f64's updates up to the rounding of the weights they are
    /// added to: from the same weights (f32 values, so that only the arithmetic differs), every
    /// layer's update lies within 2⁻²³ ‖W_k‖ (the spacing of f32 near ‖W_k‖'s entries) of f64's,
    /// for each learner; measured: 3.1e-8 ‖W_k‖ at most. The updates do differ.
    #[test]
    fn f32_updates_are_f64_updates_to_single_precision() {
        for learner in [Learner::Microcircuit, Learner::Backprop, Learner::FeedbackAlignment] {
            let (shape, weights, mixing, inputs, u_trgt) = setup(0.3);
            let mut single = weights.cast::<f32>();
            make_self_predicting(&mut single, &mixing);
            let double = single.cast::<f64>();
            let rates = Rates::new(&double, &mixing, learner, false);
            let mut engine = TwoStep::new(&shape, RateFn::Logistic, mixing, HiddenRates::Soma, BATCH);
            engine.set_batch(&inputs, &u_trgt);
            let exact = updates(&double, &mut engine, learner, &rates);
            let mut engine = TwoStep::new(&shape, RateFn::Logistic, mixing, HiddenRates::Soma, BATCH);
            engine.set_batch(&inputs, &u_trgt);
            let rounded = updates(&single, &mut engine, learner, &rates);
            for (k, (a, b)) in rounded.iter().zip(&exact).enumerate() {
                let relative = a.distance(b) / double.up[k].w.sq_norm().sqrt();
                let bound = f64::from(f32::EPSILON);
                assert!(relative > 0.0 && relative < bound, "{learner:?}, W_{}: {relative:.2e} ‖W‖ apart", k + 1);
            }
        }
    }

    /// The oracle's batch-averaged −∂L/∂W_k at gains 1.
    fn oracle(weights: &Weights, feedback: Feedback<'_>, inputs: &[Real], u_trgt: &[Real]) -> Vec<Matrix> {
        let ws: Vec<Matrix> = weights.up.iter().map(|s| s.w.clone()).collect();
        let net = Feedforward { weights: &ws, gains: &[1.0; 3], phi: RateFn::Logistic, bias: true };
        let mut sum: Vec<Matrix> = ws.iter().map(|w| Matrix::zeros(w.nrows(), w.ncols())).collect();
        for b in 0..BATCH {
            let pass = net.forward(&inputs[b * SIZES[0]..(b + 1) * SIZES[0]]);
            let error = spec_output_error(&net.phi, &pass, &u_trgt[b * SIZES[3]..(b + 1) * SIZES[3]]);
            for (s, g) in sum.iter_mut().zip(net.gradient(&pass, &error, feedback)) {
                for (a, x) in s.as_mut_slice().iter_mut().zip(g.as_slice()) {
                    *a += x / BATCH as Real;
                }
            }
        }
        sum
    }

    /// One step of `learner` at unit rates on the test batch, and the oracle's updates with
    /// `feedback`: they must agree to 1e-13 in every layer. Returns the engine's updates.
    fn assert_learner_matches_the_oracle(learner: Learner, feedback: Feedback<'_>) -> Vec<Matrix> {
        let (shape, weights, mixing, inputs, u_trgt) = setup(0.1);
        let mut engine = TwoStep::new(&shape, RateFn::Logistic, mixing, HiddenRates::Basal, BATCH);
        engine.set_batch(&inputs, &u_trgt);
        let rates = Rates::new(&weights, &mixing, learner, true);
        assert_eq!((rates.up.clone(), rates.ip.clone()), (vec![1.0; 3], vec![0.0; 2]));
        let ours = updates(&weights, &mut engine, learner, &rates);
        let theirs = oracle(&weights, feedback, &inputs, &u_trgt);
        for (a, b) in ours.iter().zip(&theirs) {
            assert!(a.distance(b) < 1e-13 * (1.0 + b.sq_norm().sqrt()), "{} vs {}", a.distance(b), b.sq_norm());
        }
        ours
    }

    #[test]
    fn backprop_learner_matches_the_oracle() {
        assert_learner_matches_the_oracle(Learner::Backprop, Feedback::Transpose);
    }

    #[test]
    fn feedback_alignment_learner_matches_the_oracle() {
        let (_, weights, _, inputs, u_trgt) = setup(0.1);
        let down: Vec<Matrix> = weights.down.iter().map(|s| s.w.clone()).collect();
        let ours = assert_learner_matches_the_oracle(Learner::FeedbackAlignment, Feedback::Fixed(&down));
        // The hidden layers' updates differ from backprop's; the output layer's do not.
        let exact = oracle(&weights, Feedback::Transpose, &inputs, &u_trgt);
        assert!(ours[0].distance(&exact[0]) > 1e-3 * exact[0].sq_norm().sqrt());
        assert!(ours[2].distance(&exact[2]) < 1e-13 * (1.0 + exact[2].sq_norm().sqrt()));
    }

    #[test]
    fn self_predicting_state_is_silent_without_a_nudge() {
        for hidden in [HiddenRates::Basal, HiddenRates::Soma] {
            let (shape, mut weights, mixing, inputs, _) = setup(0.2);
            make_self_predicting(&mut weights, &mixing);
            let mut engine = TwoStep::new(&shape, RateFn::Logistic, mixing, hidden, BATCH);
            // A target equal to the output's own prediction nudges nothing.
            let mut forward = Forward::new(&shape, BATCH, hidden.gain(&mixing));
            forward.set_input(&inputs);
            forward.run(&weights, RateFn::Logistic);
            engine.set_batch(&inputs, forward.output().as_slice());
            let rates = Rates::new(&weights, &mixing, Learner::Microcircuit, true);
            let before = weights.clone();
            engine.train(&mut weights, Learner::Microcircuit, &rates);
            for v_a in engine.v_apical() {
                assert!(v_a.sq_norm() < 1e-28, "{hidden:?}: ‖v_A‖² = {}", v_a.sq_norm());
            }
            for (a, b) in weights.named().iter().zip(before.named()) {
                assert!(a.1.distance(b.1) < 1e-14, "{hidden:?}: {} moved", a.0);
            }
        }
    }

    /// With soma rates a hidden layer's forward rate is φ(v̂_B,k), the reference of Eq. 7, so
    /// ΔW_k is driven by φ(u_k) − r_k. With basal rates the two differ.
    #[test]
    fn soma_rates_are_the_reference_of_eq7() {
        for (hidden, same) in [(HiddenRates::Soma, true), (HiddenRates::Basal, false)] {
            let (shape, mut weights, mixing, inputs, u_trgt) = setup(0.3);
            make_self_predicting(&mut weights, &mixing);
            let mut engine = TwoStep::new(&shape, RateFn::Logistic, mixing, hidden, BATCH);
            engine.set_batch(&inputs, &u_trgt);
            let rates = Rates::new(&weights, &mixing, Learner::Microcircuit, true);
            engine.train(&mut weights, Learner::Microcircuit, &rates);
            for k in 0..2 {
                let n = SIZES[k + 1];
                let r_forward = Matrix::from_fn(n, BATCH, |i, j| engine.forward.r[k + 1].get(i, j));
                let post = Matrix::from_fn(n, BATCH, |i, j| engine.r_nudged[k].get(i, j) - r_forward.get(i, j));
                let gap = post.distance(&engine.post_up[k]);
                assert_eq!(gap < 1e-15, same, "{hidden:?}, hidden layer {}: gap {gap}", k + 1);
            }
        }
    }

    /// With B_k = W_{k+1}ᵀ and rescaled rates, the two-step updates tend to backprop's as λ → 0:
    /// the relative size of the difference falls linearly and 1 − cos falls as λ².
    #[test]
    fn two_step_updates_align_with_backprop_as_lambda_falls() {
        let mut errors = Vec::new();
        for lambda in [0.02, 0.01] {
            let (shape, mut weights, mixing, inputs, u_trgt) = setup(lambda);
            for k in 0..2 {
                let n_k = SIZES[k + 1];
                weights.down[k].w = Matrix::from_fn(n_k, SIZES[k + 2], |i, j| weights.up[k + 1].w.get(j, i));
            }
            make_self_predicting(&mut weights, &mixing);
            let mut engine = TwoStep::new(&shape, RateFn::Logistic, mixing, HiddenRates::Basal, BATCH);
            engine.set_batch(&inputs, &u_trgt);
            let rates = Rates::new(&weights, &mixing, Learner::Microcircuit, true);
            let ours = updates(&weights, &mut engine, Learner::Microcircuit, &rates);
            let theirs = oracle(&weights, Feedback::Transpose, &inputs, &u_trgt);
            let per_layer: Vec<(Real, Real)> = ours
                .iter()
                .zip(&theirs)
                .map(|(a, b)| {
                    let one_minus_cos = 1.0 - stats::cosine(a.as_slice(), b.as_slice());
                    (one_minus_cos, a.distance(b) / b.sq_norm().sqrt())
                })
                .collect();
            errors.push(per_layer);
        }
        for layer in 0..3 {
            let ((c1, d1), (c2, d2)) = (errors[0][layer], errors[1][layer]);
            assert!(d2 < 0.02, "layer {}: relative difference {d2} at λ = 0.01", layer + 1);
            assert!((1.7..2.3).contains(&(d1 / d2)), "layer {}: difference ratio {}", layer + 1, d1 / d2);
            assert!((3.0..5.0).contains(&(c1 / c2)), "layer {}: 1 − cos ratio {} ({c1}, {c2})", layer + 1, c1 / c2);
        }
    }

    /// The changes of W^PI_k and B_k over one training step of the two-step engine, divided by
    /// their rates (so the batch-averaged Eq. 9–10 inductions), and the same averages of the
    /// continuous-time engine's inductions at the steady state of each input and target. The
    /// continuous engine's induction is read from the trace one Euler step after its steady state:
    /// Δ = (dt / τ_w) I from a zero trace.
    fn lateral_inductions(sizes: &[usize], s: Real, edit: impl Fn(&mut Weights)) -> [(Matrix, Matrix); 2] {
        let g = CompartmentParams { g_lk: 0.0, g_b: 1.0, g_a: s, g_d: 1.0, g_som: s, g_som_i: s };
        let mut cfg = model(sizes, g, 1.0);
        let hidden = sizes.len() - 2;
        cfg.plasticity.eta_pi = vec![0.5; hidden];
        cfg.plasticity.eta_down = vec![0.25; hidden];
        cfg.dynamics.sigma = 0.0;
        let shape = Shape { sizes: sizes.to_vec(), bias: true };
        let mut weights = Weights::from_config(&cfg, &shape);
        edit(&mut weights);
        let (n_in, n_out) = (sizes[0], sizes[sizes.len() - 1]);
        let inputs: Vec<Real> = (0..n_in * BATCH).map(|i| (0.37 * i as Real).sin().abs()).collect();
        let u_trgt: Vec<Real> = (0..n_out * BATCH).map(|i| 2.0 * (1.3 * i as Real).cos()).collect();

        let mixing = Mixing::from_conductances(&cfg.network.conductances);
        let mut engine = TwoStep::new(&shape, RateFn::Logistic, mixing, HiddenRates::Soma, BATCH);
        engine.set_batch(&inputs, &u_trgt);
        let rates = Rates::new(&weights, &mixing, Learner::Microcircuit, true);
        assert_eq!((rates.pi.clone(), rates.down.clone()), (vec![0.5; hidden], vec![0.25; hidden]));
        let mut after = weights.clone();
        engine.train(&mut after, Learner::Microcircuit, &rates);
        let change = |a: &Matrix, b: &Matrix, eta: Real| {
            Matrix::from_fn(a.nrows(), a.ncols(), |i, j| (a.get(i, j) - b.get(i, j)) / eta)
        };
        let batched =
            (change(&after.pi[0].w, &weights.pi[0].w, 0.5), change(&after.down[0].w, &weights.down[0].w, 0.25));

        let (pi, down) = (&weights.pi[0].w, &weights.down[0].w);
        let mut sum = (Matrix::zeros(pi.nrows(), pi.ncols()), Matrix::zeros(down.nrows(), down.ncols()));
        for b in 0..BATCH {
            let mut circuit = crate::engine::microcircuit::Microcircuit::with_weights(&cfg, weights.clone());
            circuit.set_input(&inputs[b * n_in..(b + 1) * n_in]);
            circuit.set_target(Some(&u_trgt[b * n_out..(b + 1) * n_out]));
            assert!(circuit.settle(1e-14, 100_000).is_some(), "no steady state for input {b}");
            circuit.step(true).unwrap();
            let per_trace = cfg.plasticity.tau_w / cfg.dynamics.dt / BATCH as Real;
            for (total, trace) in
                [(&mut sum.0, &circuit.weights.pi[0].trace), (&mut sum.1, &circuit.weights.down[0].trace)]
            {
                for (t, x) in total.as_mut_slice().iter_mut().zip(trace.as_slice()) {
                    *t += x * per_trace;
                }
            }
        }
        [batched, sum]
    }

    /// Where the two states coincide, the two-step engine's Eq. 9–10 updates are the continuous
    /// engine's. With one hidden layer and W_2 = W^IP_1 = 0, the output and the interneurons see
    /// no hidden rate, so the forward sweep's rates (the two-step engine's only approximation) do
    /// not matter: v_B,2 = v^I_1 = 0 in both, and u_2, u^I_1, v_A,1 and u_1 agree.
    #[test]
    fn plastic_lateral_and_top_down_weights_learn_as_in_the_continuous_engine() {
        let [(pi, down), (pi_ct, down_ct)] = lateral_inductions(&[4, 5, 3], 0.8, |w| {
            w.up[1].w = Matrix::zeros(w.up[1].w.nrows(), w.up[1].w.ncols());
            w.ip[0].w = Matrix::zeros(w.ip[0].w.nrows(), w.ip[0].w.ncols());
        });
        for (name, a, b) in [("W^PI", &pi, &pi_ct), ("B", &down, &down_ct)] {
            let size = b.sq_norm().sqrt();
            assert!(size > 1e-2, "{name}: the continuous induction is {size}");
            assert!(a.distance(b) < 1e-10 * size, "{name}: {} apart, size {size}", a.distance(b));
        }
    }

    /// In general the two-step state approximates the continuous steady state to first order in
    /// the mixing, and so do the Eq. 9–10 updates: halving λ halves their relative difference.
    #[test]
    fn plastic_lateral_and_top_down_updates_approach_the_continuous_ones_as_lambda_falls() {
        let relative = |s: Real| {
            let [(pi, down), (pi_ct, down_ct)] = lateral_inductions(&SIZES, s, |_| {});
            [pi.distance(&pi_ct) / pi_ct.sq_norm().sqrt(), down.distance(&down_ct) / down_ct.sq_norm().sqrt()]
        };
        let (coarse, fine) = (relative(0.02), relative(0.01));
        for (i, name) in ["W^PI", "B"].iter().enumerate() {
            assert!(fine[i] < 0.05, "{name}: relative difference {} at s = 0.01", fine[i]);
            let ratio = coarse[i] / fine[i];
            assert!((1.7..2.3).contains(&ratio), "{name}: difference ratio {ratio} ({}, {})", coarse[i], fine[i]);
        }
    }

    #[test]
    fn rescaling_inverts_the_dilution() {
        let (_, weights, _, _, _) = setup(0.1);
        let mixing = Mixing { lambda_a: 0.2, lambda_n: 0.1, lambda_i: 0.5 };
        let rates = Rates::new(&weights, &mixing, Learner::Microcircuit, true);
        let f3 = 1.0 / 0.1;
        let f2 = f3 / (0.2 * 0.5);
        let f1 = f2 / (0.2 * 0.5);
        for (got, want) in rates.up.iter().zip([f1, f2, f3]) {
            assert!((got - want).abs() < 1e-9 * want);
        }
        for (got, want) in rates.ip.iter().zip([f2 * 0.8 / 0.5, f3 / 0.5]) {
            assert!((got - want).abs() < 1e-9 * want);
        }
        assert_eq!(Rates::new(&weights, &mixing, Learner::Microcircuit, false).up, vec![1.0; 3]);
    }

    /// faer splits a product between threads by blocks of its destination only, so training on
    /// the MNIST network gives the same bits on one thread as on two, in f64 and in f32.
    #[test]
    fn training_does_not_depend_on_the_number_of_threads() {
        assert_training_does_not_depend_on_the_number_of_threads::<f64>();
        assert_training_does_not_depend_on_the_number_of_threads::<f32>();
    }

    fn assert_training_does_not_depend_on_the_number_of_threads<T: Element>() {
        // The MNIST presets' network: 784-500-500-10 with strong mixing and wide initial weights.
        let mixing_conductances =
            CompartmentParams { g_lk: 0.0, g_b: 0.2, g_a: 0.8, g_d: 0.9, g_som: 0.8, g_som_i: 0.1 };
        let cfg = model(&[784, 500, 500, 10], mixing_conductances, 8.0);
        let shape = Shape { sizes: cfg.network.sizes.clone(), bias: true };
        let mixing = Mixing::from_conductances(&cfg.network.conductances);
        let mut start = Weights::<T>::from_config(&cfg, &shape);
        make_self_predicting(&mut start, &mixing);
        let batch = 10;
        let inputs: Vec<Real> = (0..784 * batch).map(|i| (0.37 * i as Real).sin().abs()).collect();
        let u_trgt: Vec<Real> = (0..10 * batch).map(|i| if i % 11 == 0 { 1.4 } else { -2.2 }).collect();
        let train = |threads: usize| {
            let pool = rayon::ThreadPoolBuilder::new().num_threads(threads).build().expect("pool");
            pool.install(|| {
                let mut weights = start.clone();
                let rates = Rates::new(&weights, &mixing, Learner::Microcircuit, true).scaled(1e-3);
                let mut engine = TwoStep::new(&shape, RateFn::Logistic, mixing, HiddenRates::Basal, batch);
                engine.set_batch(&inputs, &u_trgt);
                for _ in 0..3 {
                    engine.train(&mut weights, Learner::Microcircuit, &rates);
                }
                weights
            })
        };
        let (one, two) = (train(1), train(2));
        assert_ne!(one, start, "the weights learned");
        for ((name, a), (_, b)) in one.named().iter().zip(two.named()) {
            let same = a.as_slice().iter().zip(b.as_slice()).all(|(x, y)| x.to_f64().to_bits() == y.to_f64().to_bits());
            assert!(same, "{name} differs between one and two threads ({})", T::NAME);
        }
    }
}

//! Backprop equivalence (spec §6): the microcircuit's steady-state Eq. 7 updates compared with the
//! analytic backprop oracle of [`apical_rules::backprop`].
//!
//! A network starts in the self-predicting state (spec §5): W^PI_k = −B_k, W^IP_k = (c_{k+1}/d) W_{k+1}.
//! Without a target it then computes the feedforward network u^-_k = c_k W_k φ(u^-_{k−1}) and every
//! update vanishes. With the output nudged towards u_trgt, the steady state (spec §3) gives, with
//! e_k = u_k − c_k v_B,k the part of the soma its basal dendrite does not predict,
//!
//! ```text
//! e_N = λ_N (u_trgt − c_N v_B,N)                                   (exact)
//! u_{k+1} − u^I_k = (1 − λ_I) e_{k+1}                              (exact, since d v^I_k = c_{k+1} v_B,k+1)
//! e_k = λ_A v_A,k = λ_A B_k (φ(u_{k+1}) − φ(u^I_k)) ≈ λ_A (1 − λ_I) B_k D_{k+1} e_{k+1}
//! ΔW_k / η = (φ(u_k) − φ(c_k v_B,k)) r_{k−1}ᵀ ≈ D_k e_k r_{k−1}ᵀ
//! ```
//!
//! so that, to first order in the nudging strength,
//!
//! ```text
//! ΔW_k / η ≈ λ_N [λ_A (1 − λ_I)]^(N−k) D_k B_k D_{k+1} ⋯ B_{N−1} D_N (u_trgt − u^-_N) (r^-_{k−1})ᵀ
//!          = s_k G_k,    G_k = c_k δ_k (r^-_{k−1})ᵀ,   δ_k = D_k c_{k+1} B_k δ_{k+1},   δ_N = D_N (u_trgt − u^-_N)
//! s_k      = λ_N [λ_A (1 − λ_I)]^(N−k) / (c_k Π_{l=k+1..N} c_l)
//! ```
//!
//! G_k is the oracle's gradient with the error sent down through B (feedback alignment); with
//! B_k = W_{k+1}ᵀ it is exact backprop, −∂L/∂W_k. The gains are those of the simulation: c_k =
//! g_B/(g_lk + g_B + g_A) in hidden layers and c_N = g_B/(g_lk + g_B) at the output (g_som is not
//! part of the prediction); the interneuron gain d cancels, because W^IP carries c_{k+1}/d.
//! The terms left out are one order higher: the curvature of φ (relative size ½ (φ″/φ′) λ_N
//! (u_trgt − u^-_N)), presynaptic rates and D_k taken at the nudged rather than the free state,
//! and the loops by which a layer's nudge returns to it through the apical dendrites of the layer
//! below (relative size λ² Γ_k, Γ_k = c_{k+1} ‖W_{k+1} D_k B_k D_{k+1}‖). So the relative error of
//! the formula falls in proportion to λ, and ΔW_k/(η s_k) tends to G_k as λ → 0.
//!
//! Spec §6 sets g_lk = 0.1, g_B = g_D = 1 and g_A = g_som = g_som^I = s ([`conductances`]), so
//! λ_A = λ_N = λ_I = λ = s/(1.1 + s).
//!
//! The checks, shared by the property tests and `cargo xtask verify`:
//!
//! * [`OutputCheck`]: the output layer's relative error is at most twice its leading curvature
//!   and loop terms, λ L_φ max_i |u_trgt − u^-_N|_i plus 2 λ² Γ_{N−1}, with L_φ = sup |φ″/φ′|,
//!   plus its rounding error.
//! * [`error_ratio`]: shrinking λ 3× shrinks a layer's relative error 3× within a factor 1.5
//!   ([`MIN_ERROR_RATIO`] … [`MAX_ERROR_RATIO`]), wherever the first-order term decides it.
//! * [`limit`]: Richardson extrapolation of ΔW_k/(η s_k) from λ and λ/3 removes the first-order
//!   error; the extrapolated update is parallel to G_k (cosine ≥ [`LIMIT_MIN_COSINE`]) and as long
//!   (within [`LIMIT_MAX_NORM_DEVIATION`]).
//! * [`engine_agreement`]: the Euler engine settles on the same updates as the fixed-point solver.
//! * [`ReferenceTable`]: the table of spec §6 for the 4-5-4-3 network.
//!
//! Layers are compared only where the comparison means something. f64 must resolve the update:
//! the deep layers' updates scale like λ^(N−k+1) and at small λ sink below the rounding error of
//! the potentials they are a difference of ([`Measurement::resolution`]). And the error signal must
//! not be cancelled on its way down ([`Measurement::conditioning`]): where the sums B_l δ_{l+1}
//! nearly cancel, G_k is small against the terms neglected and a relative error says nothing.
//!
//! ```
//! use apical_sim::verify::{Case, Engine, compare};
//!
//! // The 4-5-4-3 reference network with B = Wᵀ, weakly nudged: the updates point along the
//! // backprop gradient and are s_k times as long.
//! let cmp = compare(&Case::reference(), 0.01, Engine::FixedPoint).unwrap();
//! for layer in &cmp.layers {
//!     assert!(layer.cosine_backprop > 0.99999);
//!     assert!((layer.norm_ratio / layer.s_k - 1.0).abs() < 1e-3);
//! }
//! ```

use std::ops::RangeInclusive;

use apical_neuron::{CompartmentParams, Role};
use apical_numerics::{Matrix, Real, rate::RateFn, rng, stats};
use apical_rules::backprop::{Feedback, Feedforward, ForwardPass, spec_output_error};
use apical_rules::{BottomUp, PostSignals, Rule, Synapses};
use rand::RngExt;

use crate::engine::microcircuit::Microcircuit;
use crate::engine::network::Weights;
use crate::experiments::config::{LateralInit, NetworkConfig, RunConfig};
use crate::experiments::error::SimError;
use crate::experiments::presets;

/// The somatic leak g_lk of the comparison.
pub const G_LK: Real = 0.1;
/// The basal and interneuron dendritic conductances g_B = g_D of the comparison.
pub const G_DEND: Real = 1.0;
/// The numbers of weight layers N of random cases.
pub const DEPTHS: RangeInclusive<usize> = 2..=4;
/// The layer widths of random cases.
pub const WIDTHS: RangeInclusive<usize> = 1..=8;
/// The rate functions of random cases: the smooth ones whose rates are positive, as firing rates
/// are. (Where rates change sign, as with tanh, a narrow layer's rates can all be near zero; the
/// first-order update of the layer above then nearly vanishes and its relative error says nothing.)
pub const RATE_FNS: [RateFn; 3] = [RateFn::Logistic, RateFn::Softplus, RateFn::PAPER_SOFT_RECTIFIER];
/// The widths of the reference network of spec §6.
pub const REFERENCE_SIZES: [usize; 4] = [4, 5, 4, 3];
/// The seed of the reference draw.
pub const REFERENCE_SEED: u64 = 0;
/// The nudging strengths s of the spec §6 table.
pub const TABLE_S: [Real; 4] = [0.8, 0.3, 0.1, 0.01];
/// The relative errors of layers 1, 2, 3 in the spec §6 table (another draw of the same network).
pub const SPEC_TABLE_ERRORS: [[Real; 3]; 4] =
    [[2.0e-2, 1.3e-2, 8.0e-3], [6.3e-3, 5.5e-3, 4.0e-3], [1.8e-3, 2.4e-3, 2.1e-3], [2.2e-4, 3.0e-4, 2.9e-4]];
/// The cosine with backprop that the reference network must reach at s = 0.8.
pub const TABLE_MIN_COSINE: Real = 0.9999;
/// The mixing factors λ at which random cases are measured: each a third of the one before.
pub const LAMBDAS: [Real; 3] = [0.03, 0.01, 0.01 / 3.0];
/// Shrinking λ 3× must shrink a layer's relative error at least this many times (an error of
/// order one would not shrink; one of order √λ would shrink 1.7×) ...
pub const MIN_ERROR_RATIO: Real = 2.0;
/// ... and at most this many times (one of order λ² would shrink 9×): 3× within a factor 1.5.
pub const MAX_ERROR_RATIO: Real = 4.5;
/// A relative error is used for a ratio only where it is at least this many times its
/// second-order terms.
pub const FIRST_ORDER_MARGIN: Real = 10.0;
/// The largest change of the output error u_trgt − u^-_N, relative to its size, between two λ
/// whose errors are compared.
pub const STABLE_OUTPUT_ERROR: Real = 0.1;
/// The ratio must be measurable in at least this share of random layers, lest its check be empty.
pub const MIN_MEASURED_SHARE: Real = 0.3;
/// The median ratio over random layers must be 3 within this relative tolerance.
pub const MEDIAN_RATIO_TOLERANCE: Real = 0.05;
/// The least κ_k at which a layer's error is compared: its error signal may be cancelled on the
/// way down by at most a factor 100 ([`Measurement::conditioning`]).
pub const MIN_CONDITIONING: Real = 0.01;
/// The least cosine between the λ → 0 extrapolated update and G_k.
pub const LIMIT_MIN_COSINE: Real = 1.0 - 1e-6;
/// The largest relative deviation of ‖ΔW_k‖/(η s_k ‖G_k‖) from 1 in the λ → 0 extrapolation.
pub const LIMIT_MAX_NORM_DEVIATION: Real = 1e-3;
/// The largest rounding error, relative to s_k ‖G_k‖, at which the extrapolation is made.
const LIMIT_MAX_RESOLUTION: Real = 1e-5;
/// A relative error is only used where the update's rounding error, relative to s_k ‖G_k‖, is
/// below this fraction of it.
const RESOLVED_FRACTION: Real = 0.01;
/// The Euler engine's update may differ from the fixed point's by this many rounding errors.
pub const ENGINE_AGREEMENT: Real = 10.0;

/// The conductances of spec §6 for nudging strength s: g_lk = 0.1, g_B = g_D = 1,
/// g_A = g_som = g_som^I = s.
pub fn conductances(s: Real) -> CompartmentParams {
    CompartmentParams { g_lk: G_LK, g_b: G_DEND, g_a: s, g_d: G_DEND, g_som: s, g_som_i: s }
}

/// The s at which λ_A = λ_N = λ_I = λ: s = (g_lk + g_B) λ / (1 − λ).
pub fn s_for_lambda(lambda: Real) -> Real {
    (G_LK + G_DEND) * lambda / (1.0 - lambda)
}

/// The prediction gains c_1 … c_N of a network with N weight layers.
pub fn gains(g: &CompartmentParams, depth: usize) -> Vec<Real> {
    (1..=depth).map(|k| g.role(if k == depth { Role::Output } else { Role::Pyramidal }).prediction_gain()).collect()
}

/// The factors s_k = λ_N [λ_A (1 − λ_I)]^(N−k) / (c_k Π_{l=k+1..N} c_l), k = 1 … N, by which
/// the first-order microcircuit update exceeds the oracle's gradient.
pub fn update_scales(g: &CompartmentParams, depth: usize) -> Vec<Real> {
    let c = gains(g, depth);
    let per_layer = g.lambda_a() * (1.0 - g.lambda_i());
    (1..=depth)
        .map(|k| g.lambda_n() * per_layer.powi((depth - k) as i32) / c[k - 1..].iter().product::<Real>())
        .collect()
}

/// sup_u |φ″(u)/φ′(u)|, the curvature that sets the first-order error; `None` where φ has a kink.
pub fn curvature_bound(phi: &RateFn) -> Option<Real> {
    match *phi {
        // φ″/φ′ = 1 − 2φ for the logistic, 1 − σ(u) for the softplus, β (1 − σ(β(u − θ))) for
        // the soft rectifier, −2 tanh(u) for tanh and 0 for the identity.
        RateFn::Logistic | RateFn::Softplus => Some(1.0),
        RateFn::SoftRectifier { beta, .. } => Some(beta.abs()),
        RateFn::Tanh => Some(2.0),
        RateFn::Linear => Some(0.0),
        RateFn::Relu => None,
    }
}

/// The median of a non-empty list of numbers (sorted in place).
///
/// # Panics
/// If the list is empty or holds a NaN.
pub fn median(x: &mut [Real]) -> Real {
    assert!(!x.is_empty(), "median of an empty list");
    x.sort_by(|a, b| a.partial_cmp(b).expect("no NaN"));
    let n = x.len();
    if n % 2 == 1 { x[n / 2] } else { 0.5 * (x[n / 2 - 1] + x[n / 2]) }
}

/// How the top-down weights of a case are chosen.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TopDown {
    /// B_k = W_{k+1}ᵀ (without a bias column): the update follows backprop.
    Transpose,
    /// B_k drawn like the forward weights: the update follows feedback alignment.
    Random,
}

impl TopDown {
    /// How the table and summaries name it.
    pub fn describe(self) -> &'static str {
        match self {
            TopDown::Transpose => "B = Wᵀ",
            TopDown::Random => "random B",
        }
    }
}

/// One network with an input and a target: everything a comparison needs.
#[derive(Debug, Clone, PartialEq)]
pub struct Case {
    /// n_0 … n_N.
    pub sizes: Vec<usize>,
    /// The rate function.
    pub phi: RateFn,
    /// Whether a constant 1 is appended to presynaptic rates.
    pub bias: bool,
    /// W_1 … W_N, n_k × (n_{k−1} + b).
    pub w_up: Vec<Matrix>,
    /// B_1 … B_{N−1}, n_k × n_{k+1}.
    pub w_down: Vec<Matrix>,
    /// The input rates r_0.
    pub input: Vec<Real>,
    /// The target potential u_trgt.
    pub u_trgt: Vec<Real>,
}

impl Case {
    /// Draws a case of the given shape from `seed`: every weight from U(−1, 1)/√fan-in (the
    /// number of presynaptic entries, bias included), input rates from U(0, 1) and target
    /// potentials from U(−1, 1), each from its own random stream.
    ///
    /// # Panics
    /// If there are fewer than three layers or a layer is empty.
    pub fn draw(sizes: &[usize], phi: RateFn, bias: bool, top_down: TopDown, seed: u64) -> Case {
        assert!(sizes.len() >= 3 && sizes.iter().all(|&n| n > 0), "a case needs a hidden layer and no empty layer");
        let depth = sizes.len() - 1;
        let b = usize::from(bias);
        let mut weights = rng::stream(seed, rng::Stream::Weights);
        let mut draw = |rows: usize, cols: usize| {
            let range = 1.0 / (cols as Real).sqrt();
            Matrix::uniform(rows, cols, -range, range, &mut weights)
        };
        let w_up: Vec<Matrix> = (1..=depth).map(|k| draw(sizes[k], sizes[k - 1] + b)).collect();
        let w_down = (1..depth)
            .map(|k| match top_down {
                TopDown::Transpose => Matrix::from_fn(sizes[k], sizes[k + 1], |i, j| w_up[k].get(j, i)),
                TopDown::Random => draw(sizes[k], sizes[k + 1]),
            })
            .collect();
        let mut inputs = rng::stream(seed, rng::Stream::Inputs);
        let input = (0..sizes[0]).map(|_| inputs.random::<Real>()).collect();
        let mut targets = rng::stream(seed, rng::Stream::Teacher);
        let u_trgt = (0..sizes[depth]).map(|_| 2.0 * targets.random::<Real>() - 1.0).collect();
        Case { sizes: sizes.to_vec(), phi, bias, w_up, w_down, input, u_trgt }
    }

    /// Draws a whole case from `seed`: N from [`DEPTHS`], widths from [`WIDTHS`], φ from
    /// [`RATE_FNS`], the bias flag, then [`Case::draw`].
    pub fn random(seed: u64, top_down: TopDown) -> Case {
        let mut rng = rng::stream(seed, rng::Stream::Shuffle);
        let depth = rng.random_range(DEPTHS);
        let sizes: Vec<usize> = (0..=depth).map(|_| rng.random_range(WIDTHS)).collect();
        let phi = RATE_FNS[rng.random_range(0..RATE_FNS.len())];
        let bias = rng.random::<bool>();
        Case::draw(&sizes, phi, bias, top_down, seed)
    }

    /// The reference network of spec §6: 4-5-4-3, logistic φ, no bias, B = Wᵀ, one fixed draw.
    pub fn reference() -> Case {
        Case::draw(&REFERENCE_SIZES, RateFn::Logistic, false, TopDown::Transpose, REFERENCE_SEED)
    }

    /// N, the number of weight layers.
    pub fn depth(&self) -> usize {
        self.sizes.len() - 1
    }

    /// A one-line description, e.g. `4-5-4-3 logistic, bias`.
    pub fn describe(&self) -> String {
        let sizes: Vec<String> = self.sizes.iter().map(usize::to_string).collect();
        format!("{} {}{}", sizes.join("-"), self.phi.name(), if self.bias { ", bias" } else { "" })
    }

    /// The validated run configuration of this network at nudging strength s: the conductances
    /// of [`conductances`], no noise, every learning rate 0, self-predicting lateral weights.
    pub fn config(&self, s: Real) -> Result<RunConfig, SimError> {
        let mut cfg = presets::preset("fig1").expect("the fig1 preset exists");
        let depth = self.depth();
        cfg.network = NetworkConfig {
            sizes: self.sizes.clone(),
            phi: self.phi,
            neuron: "dendritic".into(),
            bias: self.bias,
            conductances: conductances(s),
        };
        cfg.dynamics.sigma = 0.0;
        cfg.plasticity.eta_up = vec![0.0; depth];
        cfg.plasticity.eta_ip = vec![0.0; depth - 1];
        cfg.plasticity.eta_pi = vec![0.0; depth - 1];
        cfg.plasticity.eta_down = Vec::new();
        cfg.init.lateral = LateralInit::SelfPredicting;
        cfg.init.weights = None;
        cfg.validate()?;
        Ok(cfg)
    }

    /// The microcircuit of this case at nudging strength s, in the self-predicting state, with
    /// the input and the target presented.
    pub fn microcircuit(&self, s: Real) -> Result<Microcircuit, SimError> {
        let cfg = self.config(s)?;
        let frozen = |m: &Matrix| Synapses::new(m.clone(), 0.0, false);
        let mut weights = Weights {
            up: self.w_up.iter().map(frozen).collect(),
            down: self.w_down.iter().map(frozen).collect(),
            // Overwritten by the self-predicting initialisation below; only the shapes matter.
            ip: self.w_up[1..].iter().map(frozen).collect(),
            pi: self.w_down.iter().map(frozen).collect(),
        };
        weights.init_lateral(cfg.init.lateral, &cfg.network.conductances);
        let mut net = Microcircuit::with_weights(&cfg, weights);
        net.set_input(&self.input);
        net.set_target(Some(&self.u_trgt));
        Ok(net)
    }
}

/// How the steady state is reached.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Engine {
    /// The fixed-point solver [`Microcircuit::settle`].
    FixedPoint,
    /// The Euler engine, learning off and σ = 0, run until no drift is left.
    Euler,
}

/// The largest change per sweep at which the fixed-point solver stops.
const SETTLE_TOL: Real = 1e-14;
/// The fixed-point solver's sweep budget.
const SETTLE_SWEEPS: usize = 100_000;
/// Extra sweeps after convergence, which take the state from the tolerance down to rounding.
const POLISH_SWEEPS: usize = 20;
/// The drift |du/dt| below which the Euler engine counts as nearly settled.
const EULER_TOL: Real = 1e-13;
/// The Euler engine's step budget.
const EULER_STEPS: u64 = 200_000;

/// Runs the Euler engine without plasticity until the largest drift |du/dt| of any population is
/// at most `tol`, then as long again, which takes the remaining distance to the steady state
/// (falling geometrically) down to rounding. Returns the number of steps.
pub fn run_to_steady_state(net: &mut Microcircuit, tol: Real, max_steps: u64) -> Result<u64, SimError> {
    let largest_drift = |net: &Microcircuit| {
        let s = &net.state;
        let drift = s.pyramidal.iter().map(|l| &l.du).chain(s.inter.iter().map(|i| &i.du));
        drift.flat_map(|du| du.iter()).fold(0.0, |m: Real, x| m.max(x.abs()))
    };
    for steps in 1..=max_steps {
        net.step(false)?;
        if largest_drift(net) <= tol {
            net.run_steps(steps, false)?;
            return Ok(2 * steps);
        }
    }
    Err(SimError::Other(format!("the Euler engine did not settle to |du/dt| ≤ {tol} in {max_steps} steps")))
}

/// The microcircuit of a case at nudging strength s, brought to its steady state by `engine`.
pub fn steady_state(case: &Case, s: Real, engine: Engine) -> Result<Microcircuit, SimError> {
    let mut net = case.microcircuit(s)?;
    match engine {
        Engine::FixedPoint => {
            net.settle(SETTLE_TOL, SETTLE_SWEEPS).ok_or_else(|| {
                SimError::Other(format!(
                    "the fixed-point solver did not settle to {SETTLE_TOL} in {SETTLE_SWEEPS} sweeps"
                ))
            })?;
            net.settle(0.0, POLISH_SWEEPS);
        }
        Engine::Euler => {
            run_to_steady_state(&mut net, EULER_TOL, EULER_STEPS)?;
        }
    }
    Ok(net)
}

/// The Eq. 7 postsynaptic factors φ(u_k) − φ(c_k v_B,k), k = 1 … N, of the network's current
/// state, computed by the rule the engine uses, each with the norm of its rounding error: it is a
/// difference of rates and potentials that are exact only to the machine epsilon of their size.
fn bottom_up_post_factors(net: &Microcircuit) -> Vec<(Vec<Real>, Real)> {
    let c = gains(&net.conductances, net.depth());
    let phi = net.phi;
    net.state
        .pyramidal
        .iter()
        .zip(c)
        .map(|(layer, c_k)| {
            let prediction: Vec<Real> = layer.v_basal.iter().map(|v| c_k * v).collect();
            let n = layer.u.len();
            let mut post = vec![0.0; n];
            BottomUp.post_factor(&phi, &PostSignals { rate: &layer.r[..n], prediction: &prediction }, &mut post);
            let rounding: Vec<Real> = layer
                .u
                .iter()
                .zip(&prediction)
                .map(|(&u, &p)| {
                    let rates = phi.phi(u).abs().max(phi.phi(p).abs());
                    Real::EPSILON * (2.0 * rates + phi.dphi(u).abs() * (u.abs() + p.abs()))
                })
                .collect();
            (post, stats::sq_norm(&rounding).sqrt())
        })
        .collect()
}

/// The Eq. 7 inductions ΔW_k/η = (φ(u_k) − φ(c_k v_B,k)) r_{k−1}ᵀ, k = 1 … N, of the network's
/// current state, computed by the rule the engine uses.
pub fn bottom_up_inductions(net: &Microcircuit) -> Vec<Matrix> {
    let s = &net.state;
    bottom_up_post_factors(net)
        .into_iter()
        .enumerate()
        .map(|(i, (post, _))| {
            let pre = if i == 0 { &s.r0 } else { &s.pyramidal[i - 1].r };
            Matrix::from_fn(post.len(), pre.len(), |a, b| post[a] * pre[b])
        })
        .collect()
}

/// The steady-state updates of a case at one nudging strength, with the oracle's gradients.
#[derive(Debug, Clone, PartialEq)]
pub struct Measurement {
    /// s.
    pub s: Real,
    /// λ = λ_A = λ_N = λ_I.
    pub lambda: Real,
    /// ΔW_k/η, k = 1 … N, read from the steady state.
    pub updates: Vec<Matrix>,
    /// The norm of each update's rounding error, ‖·‖ / η.
    pub rounding: Vec<Real>,
    /// s_k, k = 1 … N.
    pub scales: Vec<Real>,
    /// G_k, the oracle's gradient with feedback through the case's B (feedback alignment;
    /// backprop when B = Wᵀ).
    pub alignment: Vec<Matrix>,
    /// Exact backprop −∂L/∂W_k of the feedforward network.
    pub backprop: Vec<Matrix>,
    /// u_trgt − u^-_N, the output error of the feedforward network.
    pub output_error: Vec<Real>,
    /// The rate function.
    pub phi: RateFn,
    /// Γ_k = c_{k+1} ‖W_{k+1} D_k B_k D_{k+1}‖_F, k = 1 … N−1: the gain of the loop by which a
    /// nudge of layer k+1 returns to it through the apical dendrites of layer k (bias column left
    /// out). It adds a relative error of order λ² Γ_k that does not scale with u_trgt − u^-_N.
    pub loop_gains: Vec<Real>,
    /// κ_k = ‖G_k‖ / ‖Ĝ_k‖ ∈ (0, 1], where Ĝ_k is G_k computed with |B_l| and |δ_N|: how much of
    /// the error signal survives the cancellations in the sums B_l δ_{l+1} on its way down.
    pub conditioning: Vec<Real>,
}

/// Solves the case's steady state at nudging strength s with `engine`, reads every layer's
/// update and computes the oracle's gradients of the same feedforward network.
pub fn measure(case: &Case, s: Real, engine: Engine) -> Result<Measurement, SimError> {
    Ok(measurement(case, s, &steady_state(case, s, engine)?))
}

/// Reads the updates of a network of the case at nudging strength s that has been brought to its
/// steady state, and computes the oracle's gradients of the case's feedforward network.
pub fn measurement(case: &Case, s: Real, net: &Microcircuit) -> Measurement {
    let g = conductances(s);
    let depth = case.depth();
    let c = gains(&g, depth);
    let oracle = Feedforward { weights: &case.w_up, gains: &c, phi: case.phi, bias: case.bias };
    let pass = oracle.forward(&case.input);
    let delta_n = spec_output_error(&case.phi, &pass, &case.u_trgt);
    let u_free = pass.u.last().expect("at least one layer");
    Measurement {
        s,
        lambda: g.lambda_n(),
        updates: bottom_up_inductions(net),
        rounding: bottom_up_post_factors(net)
            .iter()
            .enumerate()
            .map(|(i, (_, rounding))| {
                let pre = if i == 0 { &net.state.r0 } else { &net.state.pyramidal[i - 1].r };
                rounding * stats::sq_norm(pre).sqrt()
            })
            .collect(),
        scales: update_scales(&g, depth),
        alignment: oracle.gradient(&pass, &delta_n, Feedback::Fixed(&case.w_down)),
        backprop: oracle.gradient(&pass, &delta_n, Feedback::Transpose),
        output_error: case.u_trgt.iter().zip(u_free).map(|(t, u)| t - u).collect(),
        phi: case.phi,
        conditioning: conditioning(&oracle, &pass, &delta_n, &case.w_down),
        loop_gains: (1..depth).map(|k| loop_gain(case, &c, &pass, k)).collect(),
    }
}

/// Γ_k = c_{k+1} ‖W_{k+1} D_k B_k D_{k+1}‖_F of the feedforward pass.
fn loop_gain(case: &Case, c: &[Real], pass: &ForwardPass, k: usize) -> Real {
    let (w, b) = (&case.w_up[k], &case.w_down[k - 1]);
    let d_k: Vec<Real> = pass.u[k - 1].iter().map(|&u| case.phi.dphi(u)).collect();
    let d_above: Vec<Real> = pass.u[k].iter().map(|&u| case.phi.dphi(u)).collect();
    let n = d_above.len();
    let m = Matrix::from_fn(n, n, |i, j| {
        c[k] * (0..d_k.len()).map(|l| w.get(i, l) * d_k[l] * b.get(l, j)).sum::<Real>() * d_above[j]
    });
    m.sq_norm().sqrt()
}

/// κ_k = ‖δ_k‖ / ‖δ̂_k‖ for the errors δ_k sent down through B, where δ̂_k is sent down through
/// |B| from |δ_N| (φ′ ≥ 0 and c > 0, so δ̂_k bounds |δ_k| entry by entry).
fn conditioning(oracle: &Feedforward<'_>, pass: &ForwardPass, delta_n: &[Real], w_down: &[Matrix]) -> Vec<Real> {
    let abs = |m: &Matrix| Matrix::from_fn(m.nrows(), m.ncols(), |i, j| m.get(i, j).abs());
    let w_abs: Vec<Matrix> = w_down.iter().map(abs).collect();
    let delta_abs: Vec<Real> = delta_n.iter().map(|d| d.abs()).collect();
    let signed = oracle.deltas(pass, delta_n, Feedback::Fixed(w_down));
    let unsigned = oracle.deltas(pass, &delta_abs, Feedback::Fixed(&w_abs));
    signed.iter().zip(&unsigned).map(|(d, d_abs)| (stats::sq_norm(d) / stats::sq_norm(d_abs)).sqrt()).collect()
}

/// How one layer's update compares with the oracle.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct LayerComparison {
    /// s_k of the first-order formula.
    pub s_k: Real,
    /// ‖ΔW_k/η − s_k G_k‖ / ‖s_k G_k‖: the relative error of the first-order formula of spec §6.
    pub rel_error: Real,
    /// The cosine between ΔW_k/η and G_k.
    pub cosine: Real,
    /// ‖ΔW_k/η‖ / ‖G_k‖, which the formula predicts to be s_k.
    pub norm_ratio: Real,
    /// The cosine between ΔW_k/η and exact backprop −∂L/∂W_k (equal to `cosine` when B = Wᵀ).
    pub cosine_backprop: Real,
    /// The rounding error of ΔW_k/η relative to s_k ‖G_k‖ ([`Measurement::resolution`]).
    pub resolution: Real,
}

impl LayerComparison {
    /// Whether f64 resolves the relative error: the update's rounding error, relative to
    /// s_k ‖G_k‖, is below 1 % of it.
    pub fn resolved(&self) -> bool {
        self.resolution <= RESOLVED_FRACTION * self.rel_error
    }

    /// |‖ΔW_k/η‖ / (s_k ‖G_k‖) − 1|.
    pub fn norm_deviation(&self) -> Real {
        (self.norm_ratio / self.s_k - 1.0).abs()
    }
}

/// A whole network's comparison at one nudging strength.
#[derive(Debug, Clone, PartialEq)]
pub struct Comparison {
    /// s.
    pub s: Real,
    /// λ = λ_A = λ_N = λ_I.
    pub lambda: Real,
    /// Layers 1 … N.
    pub layers: Vec<LayerComparison>,
}

impl Measurement {
    /// The rounding error of layer k's update (k = 1 … N) relative to the first-order update
    /// s_k ‖G_k‖ it should be close to; where the update is lost to rounding, the measured update is
    /// noise and cannot serve as the yardstick.
    pub fn resolution(&self, k: usize) -> Real {
        self.rounding[k - 1] / (self.scales[k - 1] * self.alignment[k - 1].sq_norm().sqrt())
    }

    /// Every layer's update compared with the first-order formula and the oracle.
    pub fn compare(&self) -> Comparison {
        let layers = (0..self.updates.len())
            .map(|i| {
                let (dw, g, bp, s_k) = (&self.updates[i], &self.alignment[i], &self.backprop[i], self.scales[i]);
                let formula = g.scaled(s_k);
                LayerComparison {
                    s_k,
                    rel_error: dw.distance(&formula) / formula.sq_norm().sqrt(),
                    cosine: stats::cosine(dw.as_slice(), g.as_slice()),
                    norm_ratio: (dw.sq_norm() / g.sq_norm()).sqrt(),
                    cosine_backprop: stats::cosine(dw.as_slice(), bp.as_slice()),
                    resolution: self.resolution(i + 1),
                }
            })
            .collect();
        Comparison { s: self.s, lambda: self.lambda, layers }
    }

    /// The natural size of the first-order relative error, λ sup|φ″/φ′| max_i |u_trgt − u^-_N|_i:
    /// the curvature of φ over the largest nudge of the output.
    ///
    /// # Panics
    /// If φ has a kink (relu), where no such size exists.
    pub fn error_scale(&self) -> Real {
        let curvature = curvature_bound(&self.phi).expect("a smooth rate function");
        self.lambda * curvature * self.output_error.iter().fold(0.0, |m: Real, e| m.max(e.abs()))
    }

    /// The size of the second-order terms in layer k's relative error (k = 1 … N):
    /// λ² (max_l Γ_l + (sup|φ″/φ′| max_i |u_trgt − u^-_N|_i)²) / κ_k, the loops and the curvature
    /// one order further, both magnified where the error signal is cancelled on its way down.
    pub fn second_order_scale(&self, k: usize) -> Real {
        let loops = self.loop_gains.iter().fold(0.0, |m: Real, g| m.max(*g));
        let curvature = self.error_scale() / self.lambda;
        self.lambda.powi(2) * (loops + curvature.powi(2)) / self.conditioning[k - 1]
    }

    /// The output layer's relative error against its first-order bound.
    ///
    /// # Panics
    /// If φ has a kink (relu), where no such bound exists.
    pub fn output_check(&self) -> OutputCheck {
        let layer = self.compare().layers.pop().expect("at least one layer");
        let loop_gain = self.loop_gains.last().expect("a hidden layer");
        let bound = self.error_scale() + 2.0 * self.lambda.powi(2) * loop_gain;
        OutputCheck { rel_error: layer.rel_error, bound, resolution: layer.resolution }
    }
}

/// Solves the case's steady state at nudging strength s with `engine` and compares every layer's
/// update with the first-order formula and the oracle.
pub fn compare(case: &Case, s: Real, engine: Engine) -> Result<Comparison, SimError> {
    Ok(measure(case, s, engine)?.compare())
}

/// The output layer's update against λ_N D_N (u_trgt − u^-_N) (r^-_{N−1})ᵀ. Per neuron the update
/// is φ(â + h) − φ(â) with h = λ_N (u_trgt − â), a relative error of ½ (φ″/φ′) h against φ′(â) h.
/// And â = c_N v_B,N differs from u^-_N because the nudge returns through the apical dendrites of
/// layer N−1 and moves r_{N−1}: â − u^-_N ≈ λ_A (1 − λ_I) c_N W_N D_{N−1} B_{N−1} D_N e_N, which
/// changes e_N by a relative λ² Γ_{N−1} at most. The bound doubles both leading terms.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct OutputCheck {
    /// The output layer's relative error.
    pub rel_error: Real,
    /// λ sup|φ″/φ′| max_i |u_trgt − u^-_N|_i + 2 λ² Γ_{N−1}.
    pub bound: Real,
    /// The rounding error of the update relative to the formula, which the measured error may
    /// carry on top of the bound.
    pub resolution: Real,
}

impl OutputCheck {
    /// Whether the error is within the bound and the rounding error.
    pub fn holds(&self) -> bool {
        self.rel_error <= self.bound + self.resolution
    }
}

/// Measures a case at every λ of [`LAMBDAS`].
pub fn sweep(case: &Case, engine: Engine) -> Result<Vec<Measurement>, SimError> {
    LAMBDAS.iter().map(|&lambda| measure(case, s_for_lambda(lambda), engine)).collect()
}

/// Whether layer k's error signal survives its way down: κ_k ≥ [`MIN_CONDITIONING`].
pub fn well_conditioned(m: &Measurement, k: usize) -> bool {
    m.conditioning[k - 1] >= MIN_CONDITIONING
}

/// The factor by which layer `k` (1 … N) of a [`sweep`]'s relative error shrinks when λ shrinks
/// 3×, from the first pair of λ at which both errors are measurable. An error is measurable where
/// it is resolved by f64, [`well_conditioned`], and in the first-order regime: at least
/// [`FIRST_ORDER_MARGIN`] times the second-order terms ([`Measurement::second_order_scale`]) and
/// at most 1/[`FIRST_ORDER_MARGIN`], so that its own square is as small. (Where the first-order
/// coefficient happens to be small, or the target lies next to the free output, the next order
/// decides the ratio.) A pair is compared only where the output error u_trgt − u^-_N, which moves
/// with λ through the gains c_k, changes by less than [`STABLE_OUTPUT_ERROR`] between its two λ:
/// the claim is about one network. Where the ratio lies outside [`MIN_ERROR_RATIO`] …
/// [`MAX_ERROR_RATIO`] the next pair is taken, if measurable, since a large second-order term can
/// distort the ratio at the larger λ. `None` where no pair is measurable.
pub fn error_ratio(sweep: &[Measurement], k: usize) -> Option<Real> {
    let measurable = |m: &Measurement| {
        let e = m.compare().layers[k - 1];
        let first_order =
            (FIRST_ORDER_MARGIN * m.second_order_scale(k)..=1.0 / FIRST_ORDER_MARGIN).contains(&e.rel_error);
        e.resolved() && well_conditioned(m, k) && first_order
    };
    let stable = |a: &Measurement, b: &Measurement| {
        let change = a.output_error.iter().zip(&b.output_error).fold(0.0, |m: Real, (x, y)| m.max((x - y).abs()));
        let size = a.output_error.iter().fold(0.0, |m: Real, x| m.max(x.abs()));
        change <= STABLE_OUTPUT_ERROR * size
    };
    let ratios: Vec<Option<Real>> = sweep
        .windows(2)
        .map(|p| {
            let usable = measurable(&p[0]) && measurable(&p[1]) && stable(&p[0], &p[1]);
            usable.then(|| p[0].compare().layers[k - 1].rel_error / p[1].compare().layers[k - 1].rel_error)
        })
        .collect();
    let first = ratios.iter().position(Option::is_some)?;
    match (ratios[first], ratios.get(first + 1).copied().flatten()) {
        (Some(ratio), Some(refined)) if !(MIN_ERROR_RATIO..=MAX_ERROR_RATIO).contains(&ratio) => Some(refined),
        (ratio, _) => ratio,
    }
}

/// The λ → 0 limit of one layer's update, extrapolated from two measurements.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct LayerLimit {
    /// The cosine between the extrapolated ΔW_k/(η s_k) and the extrapolated G_k.
    pub cosine: Real,
    /// |‖ΔW_k/(η s_k)‖ / ‖G_k‖ − 1| for the extrapolated matrices.
    pub norm_deviation: Real,
    /// The cosine between the extrapolated update and extrapolated exact backprop.
    pub cosine_backprop: Real,
}

impl LayerLimit {
    /// Whether the limit is G_k within [`LIMIT_MIN_COSINE`] and [`LIMIT_MAX_NORM_DEVIATION`].
    pub fn holds(&self) -> bool {
        self.cosine >= LIMIT_MIN_COSINE && self.norm_deviation <= LIMIT_MAX_NORM_DEVIATION
    }
}

/// Richardson extrapolation to λ → 0 of layer `k` (1 … N) from measurements at λ and λ/3:
/// X(λ) = ΔW_k/(η s_k) = G_k + λ A + O(λ²), so (3 X(λ/3) − X(λ))/2 = G_k(0) + O(λ²). The gradients
/// are extrapolated the same way (c_k, and so G_k, depend on s). `None` where either update's
/// rounding error exceeds 10⁻⁵ of it or the layer is not [`well_conditioned`].
pub fn limit(at: &Measurement, third: &Measurement, k: usize) -> Option<LayerLimit> {
    let i = k - 1;
    let resolved = at.resolution(k) <= LIMIT_MAX_RESOLUTION && third.resolution(k) <= LIMIT_MAX_RESOLUTION;
    if !(resolved && well_conditioned(at, k) && well_conditioned(third, k)) {
        return None;
    }
    let extrapolate = |x: &Matrix, x_third: &Matrix, scale: Real, scale_third: Real| -> Vec<Real> {
        x.as_slice().iter().zip(x_third.as_slice()).map(|(a, b)| 1.5 * b / scale_third - 0.5 * a / scale).collect()
    };
    let update = extrapolate(&at.updates[i], &third.updates[i], at.scales[i], third.scales[i]);
    let gradient = extrapolate(&at.alignment[i], &third.alignment[i], 1.0, 1.0);
    let backprop = extrapolate(&at.backprop[i], &third.backprop[i], 1.0, 1.0);
    Some(LayerLimit {
        cosine: stats::cosine(&update, &gradient),
        norm_deviation: ((stats::sq_norm(&update) / stats::sq_norm(&gradient)).sqrt() - 1.0).abs(),
        cosine_backprop: stats::cosine(&update, &backprop),
    })
}

/// How far the Euler engine's steady-state update of one layer lies from the fixed point's.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct EngineAgreement {
    /// ‖ΔW_Euler − ΔW_fixed‖ / η.
    pub difference: Real,
    /// The sum of both updates' rounding errors, ‖·‖ / η.
    pub rounding: Real,
}

impl EngineAgreement {
    /// Whether the difference is within [`ENGINE_AGREEMENT`] rounding errors.
    pub fn holds(&self) -> bool {
        self.difference <= ENGINE_AGREEMENT * self.rounding
    }
}

/// Solves a case at nudging strength s with both engines and compares every layer's update.
pub fn engine_agreement(case: &Case, s: Real) -> Result<Vec<EngineAgreement>, SimError> {
    let fixed = measure(case, s, Engine::FixedPoint)?;
    let euler = measure(case, s, Engine::Euler)?;
    Ok((0..case.depth())
        .map(|i| EngineAgreement {
            difference: euler.updates[i].distance(&fixed.updates[i]),
            rounding: euler.rounding[i] + fixed.rounding[i],
        })
        .collect())
}

/// One row of the spec §6 table.
#[derive(Debug, Clone, PartialEq)]
pub struct ReferenceRow {
    /// The fixed-point comparison at this s.
    pub comparison: Comparison,
    /// The Euler engine against the fixed point, per layer.
    pub engines: Vec<EngineAgreement>,
}

impl ReferenceRow {
    /// The least cosine with backprop over the layers.
    pub fn min_cosine(&self) -> Real {
        self.comparison.layers.iter().map(|l| l.cosine_backprop).fold(1.0, Real::min)
    }
}

/// The spec §6 table for the reference network: one row per s of [`TABLE_S`].
#[derive(Debug, Clone, PartialEq)]
pub struct ReferenceTable {
    /// The network.
    pub case: Case,
    /// The rows, in the order of [`TABLE_S`].
    pub rows: Vec<ReferenceRow>,
}

impl ReferenceTable {
    /// Solves the reference network at every s of the table with both engines.
    pub fn compute() -> Result<ReferenceTable, SimError> {
        let case = Case::reference();
        let rows = TABLE_S
            .iter()
            .map(|&s| {
                Ok(ReferenceRow {
                    comparison: compare(&case, s, Engine::FixedPoint)?,
                    engines: engine_agreement(&case, s)?,
                })
            })
            .collect::<Result<_, SimError>>()?;
        Ok(ReferenceTable { case, rows })
    }

    /// The observed order p of the error between the two smallest s, E ∝ λ^p, per layer.
    pub fn observed_order(&self) -> Vec<Real> {
        let (a, b) = (&self.rows[self.rows.len() - 2].comparison, &self.rows[self.rows.len() - 1].comparison);
        a.layers
            .iter()
            .zip(&b.layers)
            .map(|(x, y)| (x.rel_error / y.rel_error).ln() / (a.lambda / b.lambda).ln())
            .collect()
    }

    /// Everything in which the table does not behave like the spec's, one line each: errors must
    /// fall with every smaller s, be first order (observed order 1 ± 0.2) between the two
    /// smallest, lie within a factor 10 of the spec's numbers (another draw), reach a cosine of
    /// [`TABLE_MIN_COSINE`] at s = 0.8, and at s = 0.01 (λ ≤ 0.03) have a cosine of at least
    /// [`LIMIT_MIN_COSINE`] with a norm within [`LIMIT_MAX_NORM_DEVIATION`] of s_k; the Euler
    /// engine must agree with the fixed point.
    pub fn violations(&self) -> Vec<String> {
        let mut out = Vec::new();
        for (row, spec) in self.rows.iter().zip(SPEC_TABLE_ERRORS) {
            let c = &row.comparison;
            for (k, (layer, spec)) in c.layers.iter().zip(spec).enumerate() {
                if !(spec / 10.0..=spec * 10.0).contains(&layer.rel_error) {
                    out.push(format!(
                        "s = {}, layer {}: error {:.1e} is not of the order of the spec's {spec:.1e}",
                        c.s,
                        k + 1,
                        layer.rel_error
                    ));
                }
            }
            for (k, e) in row.engines.iter().enumerate() {
                if !e.holds() {
                    out.push(format!(
                        "s = {}, layer {}: the Euler engine's update differs by {:.1e}",
                        c.s,
                        k + 1,
                        e.difference
                    ));
                }
            }
        }
        for pair in self.rows.windows(2) {
            let (a, b) = (&pair[0].comparison, &pair[1].comparison);
            for (k, (x, y)) in a.layers.iter().zip(&b.layers).enumerate() {
                if y.rel_error >= x.rel_error {
                    out.push(format!("layer {}: the error does not fall from s = {} to s = {}", k + 1, a.s, b.s));
                }
            }
        }
        for (k, p) in self.observed_order().into_iter().enumerate() {
            if !(0.8..=1.2).contains(&p) {
                out.push(format!(
                    "layer {}: the error falls like λ^{p:.2} between the two smallest s, not like λ",
                    k + 1
                ));
            }
        }
        let first = &self.rows[0];
        if first.min_cosine() < TABLE_MIN_COSINE {
            out.push(format!("s = {}: cosine {:.6} < {TABLE_MIN_COSINE}", first.comparison.s, first.min_cosine()));
        }
        let last = &self.rows[self.rows.len() - 1].comparison;
        for (k, layer) in last.layers.iter().enumerate() {
            if layer.cosine_backprop < LIMIT_MIN_COSINE || layer.norm_deviation() > LIMIT_MAX_NORM_DEVIATION {
                out.push(format!(
                    "s = {}, layer {}: cosine {:.8}, norm ratio / s_k − 1 = {:.1e}",
                    last.s,
                    k + 1,
                    layer.cosine_backprop,
                    layer.norm_ratio / layer.s_k - 1.0
                ));
            }
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mixing_factors_follow_s() {
        for lambda in LAMBDAS {
            let g = conductances(s_for_lambda(lambda));
            for x in [g.lambda_a(), g.lambda_n(), g.lambda_i()] {
                assert!((x - lambda).abs() < 1e-15);
            }
        }
    }

    #[test]
    fn without_a_target_every_update_vanishes() {
        let case = Case::reference();
        let mut net = case.microcircuit(0.8).unwrap();
        net.set_target(None);
        net.settle(SETTLE_TOL, SETTLE_SWEEPS).unwrap();
        for dw in bottom_up_inductions(&net) {
            assert!(dw.sq_norm().sqrt() < 1e-14, "{}", dw.sq_norm());
        }
    }

    #[test]
    fn transpose_feedback_is_backprop() {
        let m = measure(&Case::reference(), 0.3, Engine::FixedPoint).unwrap();
        assert_eq!(m.alignment, m.backprop);
    }
}

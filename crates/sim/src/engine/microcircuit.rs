//! The continuous-time microcircuit: its state, the explicit Euler engine and the fixed-point
//! steady-state solver.
//!
//! One Euler step advances every population synchronously from the time-t state (spec §2, §4):
//!
//! ```text
//! 1. drifts du_k, du^I_k and the plasticity inductions are computed from the time-t state;
//! 2. u ← u + dt du + σ √dt ξ  (or σ dt ξ with the legacy scheme), and r ← φ(u);
//! 3. the input and target filters advance: x̄ ← x̄ + (dt/τ_0)(x − x̄);
//! 4. every matrix takes one fused pass: Δ and W are updated from the time-t induction and the
//!    dendritic potential it drives is recomputed from the new rates, v ← W(t+dt) r(t+dt).
//! ```
//!
//! The steady-state solver iterates the zero-drift equations of spec §3 in sweeps until no
//! potential moves by more than a tolerance.
//!
//! Where `plasticity.w_up_max` is set, every weight of W_k is clipped to [−w_max,k, w_max,k]
//! after its plastic step, and v_B,k is recomputed from the clipped weights.
//!
//! The plasticity rules take the rate a neuron emits at the time-t potential and drift: φ(u) for
//! the paper's neurons, the prospective φ(u + τ_eff du/dt) for Latent Equilibrium.
//!
//! A learning lag of L ms freezes traces and weights for the first round(L/dt) steps after every
//! input switch; the steps are counted, not their summed durations, so no rounding error adds a
//! step.
//!
//! Every step checks that the somatic potentials are finite; [`Microcircuit::run_steps`] also
//! checks every dendritic potential, weight and trace once at its end. A non-finite weight or
//! dendritic potential reaches the somata within a step, so the cheap check catches it, and the
//! error then names the first bad matrix or population (e.g. `w_up_2`, `u_1` or `v_apical_1`).

use apical_neuron::{Drive, NeuronModel, Role};
use apical_numerics::{Element, Real, rate::RateFn, rng, stats};
use apical_rules::{BottomUp, InterneuronDown, InterneuronUp, PostSignals, Rule, TopDown, TraceParams};
use serde::{Deserialize, Serialize};

use crate::engine::config::{ModelConfig, NoiseScheme};
use crate::engine::network::{Shape, Weights};

/// The dynamic state of one pyramidal layer k = 1 … N.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PyramidalLayer {
    /// Somatic potentials u_k.
    pub u: Vec<Real>,
    /// The latest drift du_k/dt.
    pub du: Vec<Real>,
    /// Rates r_k = φ(u_k), followed by a constant 1 where a bias is enabled.
    pub r: Vec<Real>,
    /// The rates of the previous step (the presynaptic side of the induction).
    r_prev: Vec<Real>,
    /// Basal potentials v_B,k = W_k r_{k−1}.
    pub v_basal: Vec<Real>,
    /// Apical potentials v_A,k = B_k r_{k+1} + W^PI_k r^I_k (empty for the output layer).
    pub v_apical: Vec<Real>,
    /// The top-down part B_k r_{k+1}.
    v_top_down: Vec<Real>,
    /// The lateral part W^PI_k r^I_k.
    v_lateral: Vec<Real>,
    post_up: Vec<Real>,
    post_down: Vec<Real>,
    post_pi: Vec<Real>,
    /// The rate the model emits at the time-t potential and drift, for the plasticity rules,
    /// where that rate is not φ(u) (the prospective φ(u + τ_eff du/dt) of Latent Equilibrium).
    rule_rate: Vec<Real>,
    scratch: Vec<Real>,
}

/// The dynamic state of the interneurons of hidden layer k = 1 … N−1.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Interneurons {
    /// Somatic potentials u^I_k.
    pub u: Vec<Real>,
    /// The latest drift.
    pub du: Vec<Real>,
    /// Rates r^I_k.
    pub r: Vec<Real>,
    r_prev: Vec<Real>,
    /// Dendritic potentials v^I_k = W^IP_k r_k.
    pub v: Vec<Real>,
    post_ip: Vec<Real>,
    /// The interneurons' rate at the time-t potential and drift, for Eq. 8, where it is not φ(u).
    rule_rate: Vec<Real>,
    scratch: Vec<Real>,
}

/// The whole dynamic state of a microcircuit.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct State {
    /// Filtered input rates r_0, followed by a constant 1 where a bias is enabled.
    pub r0: Vec<Real>,
    r0_prev: Vec<Real>,
    /// The input pattern the filter moves towards.
    pub input: Vec<Real>,
    /// The target potential the target filter moves towards.
    pub target: Vec<Real>,
    /// The filtered target potential u_trgt that nudges the output.
    pub u_trgt: Vec<Real>,
    /// Whether the teacher current is on.
    pub target_on: bool,
    input_started: bool,
    target_started: bool,
    /// Pyramidal layers 1 … N.
    pub pyramidal: Vec<PyramidalLayer>,
    /// Interneurons of hidden layers 1 … N−1.
    pub inter: Vec<Interneurons>,
    /// Steps taken.
    pub step: u64,
    /// Steps taken since the last input switch.
    pub steps_since_switch: u64,
}

/// A snapshot does not fit the network it is restored into.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("the saved network does not fit the configuration: {0}")]
pub struct SnapshotMismatch(pub String);

/// The simulation blew up: a potential, weight or trace, or a metric computed from them, became
/// NaN or infinite.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("simulation diverged at step {step} (t = {} ms): {population} is not finite", milliseconds(*time_ms))]
pub struct Diverged {
    /// The step at which it was detected.
    pub step: u64,
    /// The simulated time.
    pub time_ms: Real,
    /// The population, matrix or metric, e.g. `u_2`, `v_apical_1`, `u_inter_1`, `w_up_2`,
    /// `the trace of w_pi_1` or `apical_sq`.
    pub population: String,
}

/// A microcircuit: checked parameters, neuron models, weights and state. `T` is the type its
/// weights and traces are stored in (`plasticity.precision`); every state vector is f64.
#[derive(Debug)]
pub struct Microcircuit<T: Element = Real> {
    /// Layer widths and bias.
    pub shape: Shape,
    /// The rate function.
    pub phi: RateFn,
    /// Conductances.
    pub conductances: apical_neuron::CompartmentParams,
    /// The weights.
    pub weights: Weights<T>,
    /// The dynamic state.
    pub state: State,
    pyramidal_models: Vec<Box<dyn NeuronModel>>,
    inter_models: Vec<Box<dyn NeuronModel>>,
    dt: Real,
    tau_0: Real,
    sigma: Real,
    noise: NoiseScheme,
    trace: TraceParams,
    /// The number of steps plasticity stays frozen after an input switch, round(L/dt).
    lag_steps: u64,
    /// The bound on |w| of each W_k, empty for none (`plasticity.w_up_max`).
    w_up_max: Vec<Real>,
    noise_rng: rng::Rng,
}

/// The parts of a microcircuit that a checkpoint must keep besides the configuration.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(bound = "")]
pub struct Snapshot<T: Element = Real> {
    /// The weights and traces.
    pub weights: Weights<T>,
    /// The dynamic state.
    pub state: State,
    /// The noise generator.
    pub noise_rng: rng::Rng,
}

impl<T: Element> Snapshot<T> {
    /// The same snapshot with weights and traces converted to `U`.
    pub fn cast<U: Element>(&self) -> Snapshot<U> {
        Snapshot { weights: self.weights.cast(), state: self.state.clone(), noise_rng: self.noise_rng.clone() }
    }
}

fn models(cfg: &ModelConfig, roles: impl Iterator<Item = Role>) -> Vec<Box<dyn NeuronModel>> {
    let net = &cfg.network;
    roles.map(|role| apical_neuron::build(&net.neuron, role, &net.conductances).expect("validated model")).collect()
}

impl State {
    /// The number of layers and the length of every vector, in a fixed order: two states of the
    /// same network agree.
    fn lengths(&self) -> Vec<usize> {
        let mut out = vec![self.pyramidal.len(), self.inter.len()];
        out.extend([&self.r0, &self.r0_prev, &self.input, &self.target, &self.u_trgt].map(Vec::len));
        for l in &self.pyramidal {
            let vectors = [&l.u, &l.du, &l.r, &l.r_prev, &l.v_basal, &l.v_apical, &l.v_top_down, &l.v_lateral];
            out.extend(vectors.map(Vec::len));
            out.extend([&l.post_up, &l.post_down, &l.post_pi, &l.rule_rate, &l.scratch].map(Vec::len));
        }
        for i in &self.inter {
            out.extend([&i.u, &i.du, &i.r, &i.r_prev, &i.v, &i.post_ip, &i.rule_rate, &i.scratch].map(Vec::len));
        }
        out
    }

    fn new(shape: &Shape) -> Self {
        let n = &shape.sizes;
        let depth = shape.depth();
        let b = usize::from(shape.bias);
        let rates = |len: usize| {
            let mut r = vec![0.0; len + b];
            if b == 1 {
                r[len] = 1.0;
            }
            r
        };
        let pyramidal = (1..=depth)
            .map(|k| {
                let apical = if k < depth { n[k] } else { 0 };
                PyramidalLayer {
                    u: vec![0.0; n[k]],
                    du: vec![0.0; n[k]],
                    r: rates(n[k]),
                    r_prev: rates(n[k]),
                    v_basal: vec![0.0; n[k]],
                    v_apical: vec![0.0; apical],
                    v_top_down: vec![0.0; apical],
                    v_lateral: vec![0.0; apical],
                    post_up: vec![0.0; n[k]],
                    post_down: vec![0.0; apical],
                    post_pi: vec![0.0; apical],
                    rule_rate: vec![0.0; n[k]],
                    scratch: vec![0.0; n[k]],
                }
            })
            .collect();
        let inter = (1..depth)
            .map(|k| Interneurons {
                u: vec![0.0; n[k + 1]],
                du: vec![0.0; n[k + 1]],
                r: vec![0.0; n[k + 1]],
                r_prev: vec![0.0; n[k + 1]],
                v: vec![0.0; n[k + 1]],
                post_ip: vec![0.0; n[k + 1]],
                rule_rate: vec![0.0; n[k + 1]],
                scratch: vec![0.0; n[k + 1]],
            })
            .collect();
        State {
            r0: rates(n[0]),
            r0_prev: rates(n[0]),
            input: vec![0.0; n[0]],
            target: vec![0.0; n[depth]],
            u_trgt: vec![0.0; n[depth]],
            target_on: false,
            input_started: false,
            target_started: false,
            pyramidal,
            inter,
            step: 0,
            steps_since_switch: 0,
        }
    }
}

impl<T: Element> Microcircuit<T> {
    /// Builds the network of a validated configuration with its initial weights
    /// ([`Weights::initial`]: drawn, replaced from the weight file it names, lateral
    /// initialisation), at rest.
    pub fn new(cfg: &ModelConfig) -> Result<Self, crate::engine::network::WeightFileError> {
        let shape = Shape { sizes: cfg.network.sizes.clone(), bias: cfg.network.bias };
        Ok(Self::with_weights(cfg, Weights::initial(cfg, &shape)?))
    }

    /// Builds a network of a validated configuration around given weights, at rest.
    ///
    /// # Panics
    /// If the weights do not have the configuration's shapes.
    pub fn with_weights(cfg: &ModelConfig, weights: Weights<T>) -> Self {
        let shape = Shape { sizes: cfg.network.sizes.clone(), bias: cfg.network.bias };
        let depth = shape.depth();
        for (name, m) in weights.named() {
            let expected = shape.named_shapes().into_iter().find(|(n, _)| *n == name).map(|(_, s)| s);
            assert_eq!(Some(m.shape()), expected, "weight matrix {name} has the wrong shape");
        }
        let roles = (1..=depth).map(|k| if k == depth { Role::Output } else { Role::Pyramidal });
        let mut circuit = Microcircuit {
            pyramidal_models: models(cfg, roles),
            inter_models: models(cfg, (1..depth).map(|_| Role::Interneuron)),
            state: State::new(&shape),
            shape,
            phi: cfg.network.phi,
            conductances: cfg.network.conductances,
            weights,
            dt: cfg.dynamics.dt,
            tau_0: cfg.dynamics.tau_0,
            sigma: cfg.dynamics.sigma,
            noise: cfg.dynamics.noise,
            trace: TraceParams { tau_w: cfg.plasticity.tau_w, order: cfg.plasticity.order },
            lag_steps: (cfg.plasticity.learning_lag / cfg.dynamics.dt).round() as u64,
            w_up_max: cfg.plasticity.w_up_max.clone(),
            noise_rng: rng::stream(cfg.seed, rng::Stream::Noise),
        };
        circuit.refresh();
        circuit
    }

    /// The parts a checkpoint keeps.
    pub fn snapshot(&self) -> Snapshot<T> {
        Snapshot { weights: self.weights.clone(), state: self.state.clone(), noise_rng: self.noise_rng.clone() }
    }

    /// Restores a snapshot taken from a network of the same configuration, or says which matrix
    /// or state vector does not fit the configuration's network (a snapshot read from a file
    /// is checked before it is run).
    pub fn restore(cfg: &ModelConfig, snapshot: Snapshot<T>) -> Result<Self, SnapshotMismatch> {
        let shape = Shape { sizes: cfg.network.sizes.clone(), bias: cfg.network.bias };
        let w = &snapshot.weights;
        let counts = [w.up.len(), w.down.len(), w.ip.len(), w.pi.len()];
        let depth = shape.depth();
        if counts != [depth, depth - 1, depth - 1, depth - 1] {
            return Err(SnapshotMismatch(format!("it has {counts:?} matrices of each kind")));
        }
        let synapses = w.up.iter().chain((0..w.down.len()).flat_map(|i| [&w.down[i], &w.ip[i], &w.pi[i]]));
        for ((name, expected), s) in shape.named_shapes().into_iter().zip(synapses) {
            let fits = |m: &apical_numerics::Matrix<T>| {
                m.shape() == expected && expected.0.checked_mul(expected.1) == Some(m.as_slice().len())
            };
            if !(fits(&s.w) && fits(&s.trace)) {
                return Err(SnapshotMismatch(format!("matrix {name} or its trace is not {expected:?}")));
            }
        }
        if snapshot.state.lengths() != State::new(&shape).lengths() {
            return Err(SnapshotMismatch("its state vectors do not have the network's sizes".into()));
        }
        let mut circuit = Self::with_weights(cfg, snapshot.weights);
        circuit.state = snapshot.state;
        circuit.noise_rng = snapshot.noise_rng;
        Ok(circuit)
    }

    /// The Euler time step (ms).
    pub fn dt(&self) -> Real {
        self.dt
    }

    /// The simulated time (ms).
    pub fn time_ms(&self) -> Real {
        self.state.step as Real * self.dt
    }

    /// N, the index of the output layer.
    pub fn depth(&self) -> usize {
        self.shape.depth()
    }

    /// Sets the noise amplitude σ (0 for noise-free test runs).
    pub fn set_sigma(&mut self, sigma: Real) {
        self.sigma = sigma;
    }

    /// Presents a new input pattern. The input filter moves towards it with τ_0; the very first
    /// pattern is taken over at once, so a run does not start from a zero input.
    ///
    /// # Panics
    /// If the pattern does not have n_0 entries.
    pub fn set_input(&mut self, pattern: &[Real]) {
        let s = &mut self.state;
        assert_eq!(pattern.len(), s.input.len(), "input pattern length");
        s.input.copy_from_slice(pattern);
        s.steps_since_switch = 0;
        if !s.input_started {
            s.input_started = true;
            s.r0[..pattern.len()].copy_from_slice(pattern);
            self.refresh();
        }
    }

    /// Switches the teacher current on with a target potential, or off with `None`. The target
    /// filter carries over between targets; the very first target is taken over at once.
    ///
    /// # Panics
    /// If the target does not have n_N entries.
    pub fn set_target(&mut self, target: Option<&[Real]>) {
        let s = &mut self.state;
        match target {
            Some(t) => {
                assert_eq!(t.len(), s.target.len(), "target length");
                s.target.copy_from_slice(t);
                if !s.target_started {
                    s.target_started = true;
                    s.u_trgt.copy_from_slice(t);
                }
                s.target_on = true;
            }
            None => s.target_on = false,
        }
    }

    /// Recomputes rates and every dendritic potential from the somatic potentials and weights.
    pub fn refresh(&mut self) {
        let depth = self.depth();
        for k in 1..=depth {
            let layer = &mut self.state.pyramidal[k - 1];
            let n = layer.u.len();
            self.pyramidal_models[k - 1].rate(&self.phi, &layer.u, &layer.du, &mut layer.r[..n]);
        }
        for k in 1..depth {
            let inter = &mut self.state.inter[k - 1];
            self.inter_models[k - 1].rate(&self.phi, &inter.u, &inter.du, &mut inter.r);
        }
        for k in 1..=depth {
            self.dendrites(k);
        }
    }

    /// Recomputes the dendritic potentials of layer k (and of its interneurons) from the rates.
    fn dendrites(&mut self, k: usize) {
        let depth = self.depth();
        let w = &mut self.weights;
        let (below, rest) = self.state.pyramidal.split_at_mut(k - 1);
        let pre = if k == 1 { &self.state.r0 } else { &below[k - 2].r };
        let (layer, above) = rest.split_first_mut().expect("layer exists");
        w.up[k - 1].product(pre, &mut layer.v_basal);
        if k < depth {
            let inter = &mut self.state.inter[k - 1];
            let n_up = above[0].u.len();
            w.down[k - 1].product(&above[0].r[..n_up], &mut layer.v_top_down);
            w.pi[k - 1].product(&inter.r, &mut layer.v_lateral);
            w.ip[k - 1].product(&layer.r, &mut inter.v);
            for i in 0..layer.v_apical.len() {
                layer.v_apical[i] = layer.v_top_down[i] + layer.v_lateral[i];
            }
        }
    }

    /// Advances the network by one Euler step, with plasticity if `learn` is set (and the
    /// learning lag has passed). Fails if a somatic potential is no longer finite.
    pub fn step(&mut self, learn: bool) -> Result<(), Diverged> {
        let depth = self.depth();
        let learn = learn && self.state.steps_since_switch >= self.lag_steps;
        let phi = self.phi;
        // 1. Drifts and inductions from the time-t state.
        for k in 1..=depth {
            let (layer, above) = self.state.pyramidal[k - 1..].split_first_mut().expect("layer exists");
            let model = &self.pyramidal_models[k - 1];
            let nudge = (k == depth && self.state.target_on).then_some(&self.state.u_trgt[..]);
            let v_apical = (k < depth).then_some(&layer.v_apical[..]);
            let drive = Drive { v_dend: &layer.v_basal, v_apical, nudge };
            model.drift(&layer.u, &drive, &mut layer.du);
            // Only the matrices that learn need their postsynaptic factors. The rules take the
            // rate the neuron emits at the time-t potential and drift: φ(u), which the population
            // already emits where that is the model's rate, or the prospective rate of Latent
            // Equilibrium, φ(u + τ_eff du/dt), as in that paper's code.
            let w = &self.weights;
            let n = layer.u.len();
            let needs_rate = w.up[k - 1].learns() || (k < depth && w.down[k - 1].learns());
            if learn && needs_rate && !model.rate_is_phi_of_u() {
                model.rate(&phi, &layer.u, &layer.du, &mut layer.rule_rate);
            }
            let rate = if model.rate_is_phi_of_u() { &layer.r[..n] } else { &layer.rule_rate[..] };
            if learn && w.up[k - 1].learns() {
                let c = model.prediction_gain();
                for (s, &v) in layer.scratch.iter_mut().zip(&layer.v_basal) {
                    *s = c * v;
                }
                let signals = PostSignals { rate, prediction: &layer.scratch };
                BottomUp.post_factor(&phi, &signals, &mut layer.post_up);
            }
            if learn && k < depth {
                if w.pi[k - 1].learns() {
                    let signals = PostSignals { rate, prediction: &layer.v_apical };
                    InterneuronDown.post_factor(&phi, &signals, &mut layer.post_pi);
                }
                if w.down[k - 1].learns() {
                    let signals = PostSignals { rate, prediction: &layer.v_top_down };
                    TopDown.post_factor(&phi, &signals, &mut layer.post_down);
                }
            }
            if k < depth {
                let inter = &mut self.state.inter[k - 1];
                let model = &self.inter_models[k - 1];
                let drive = Drive { v_dend: &inter.v, v_apical: None, nudge: Some(&above[0].u) };
                model.drift(&inter.u, &drive, &mut inter.du);
                if learn && w.ip[k - 1].learns() {
                    let d = model.prediction_gain();
                    for (s, &v) in inter.scratch.iter_mut().zip(&inter.v) {
                        *s = d * v;
                    }
                    if !model.rate_is_phi_of_u() {
                        model.rate(&phi, &inter.u, &inter.du, &mut inter.rule_rate);
                    }
                    let rate = if model.rate_is_phi_of_u() { &inter.r[..] } else { &inter.rule_rate[..] };
                    let signals = PostSignals { rate, prediction: &inter.scratch };
                    InterneuronUp.post_factor(&phi, &signals, &mut inter.post_ip);
                }
            }
        }
        // 2. Somatic potentials and rates.
        let dt = self.dt;
        let noise_scale = match self.noise {
            NoiseScheme::EulerMaruyama => self.sigma * dt.sqrt(),
            NoiseScheme::LegacyDt => self.sigma * dt,
        };
        for k in 1..=depth {
            let layer = &mut self.state.pyramidal[k - 1];
            euler_update(&mut layer.u, &layer.du, dt, noise_scale, &mut self.noise_rng, &mut layer.scratch);
            std::mem::swap(&mut layer.r, &mut layer.r_prev);
            let n = layer.u.len();
            self.pyramidal_models[k - 1].rate(&phi, &layer.u, &layer.du, &mut layer.r[..n]);
            if k < depth {
                let inter = &mut self.state.inter[k - 1];
                euler_update(&mut inter.u, &inter.du, dt, noise_scale, &mut self.noise_rng, &mut inter.scratch);
                std::mem::swap(&mut inter.r, &mut inter.r_prev);
                self.inter_models[k - 1].rate(&phi, &inter.u, &inter.du, &mut inter.r);
            }
        }
        // 3. Input and target filters.
        let s = &mut self.state;
        s.r0_prev.copy_from_slice(&s.r0);
        let n0 = s.input.len();
        let filter = apical_numerics::LowPass { tau: self.tau_0 };
        filter.step(&mut s.r0[..n0], &s.input, dt);
        filter.step(&mut s.u_trgt, &s.target, dt);
        // 4. One pass over every matrix: plasticity from the time-t induction, then new dendrites.
        let w = &mut self.weights;
        let trace = self.trace;
        let step = |syn: &mut apical_rules::Synapses<T>, post: &[Real], pre: &[Real], x: &[Real], out: &mut [Real]| {
            if learn {
                syn.step(post, pre, dt, trace, x, out);
            } else {
                syn.product(x, out);
            }
        };
        for k in 1..=depth {
            let (below, rest) = s.pyramidal.split_at_mut(k - 1);
            let (pre_prev, pre) =
                if k == 1 { (&s.r0_prev[..], &s.r0[..]) } else { (&below[k - 2].r_prev[..], &below[k - 2].r[..]) };
            let (layer, above) = rest.split_first_mut().expect("layer exists");
            step(&mut w.up[k - 1], &layer.post_up, pre_prev, pre, &mut layer.v_basal);
            if let Some(&bound) = self.w_up_max.get(k - 1)
                && learn
                && w.up[k - 1].learns()
            {
                // The fused pass drove v_B with the unclipped weights; redo it with the clipped.
                w.up[k - 1].w.clamp_entries(bound);
                w.up[k - 1].product(pre, &mut layer.v_basal);
            }
            if k < depth {
                let inter = &mut s.inter[k - 1];
                let n_up = above[0].u.len();
                let (up_prev, up) = (&above[0].r_prev[..n_up], &above[0].r[..n_up]);
                step(&mut w.down[k - 1], &layer.post_down, up_prev, up, &mut layer.v_top_down);
                step(&mut w.pi[k - 1], &layer.post_pi, &inter.r_prev, &inter.r, &mut layer.v_lateral);
                step(&mut w.ip[k - 1], &inter.post_ip, &layer.r_prev, &layer.r, &mut inter.v);
                for i in 0..layer.v_apical.len() {
                    layer.v_apical[i] = layer.v_top_down[i] + layer.v_lateral[i];
                }
            }
        }
        s.step += 1;
        s.steps_since_switch = s.steps_since_switch.saturating_add(1);
        if s.pyramidal.iter().all(|l| finite(&l.u)) && s.inter.iter().all(|i| finite(&i.u)) {
            Ok(())
        } else {
            Err(self.diverged())
        }
    }

    /// Runs `steps` Euler steps, then checks every potential, weight and trace.
    pub fn run_steps(&mut self, steps: u64, learn: bool) -> Result<(), Diverged> {
        for _ in 0..steps {
            self.step(learn)?;
        }
        self.check_finite()
    }

    /// The number of steps that cover `ms` milliseconds.
    pub fn steps_for(&self, ms: Real) -> u64 {
        (ms / self.dt).round() as u64
    }

    /// Checks that every potential, weight and trace is finite; the error names the first that
    /// is not, weights and traces first (a bad weight spoils the potentials it drives), then
    /// somatic and then dendritic potentials.
    pub fn check_finite(&self) -> Result<(), Diverged> {
        match self.first_non_finite() {
            Some(population) => Err(Diverged { step: self.state.step, time_ms: self.time_ms(), population }),
            None => Ok(()),
        }
    }

    /// The error of a step whose somatic potentials are not all finite.
    fn diverged(&self) -> Diverged {
        let population = self.first_non_finite().unwrap_or_else(|| "a somatic potential".into());
        Diverged { step: self.state.step, time_ms: self.time_ms(), population }
    }

    /// The name of the first matrix, trace or population holding a non-finite value, if any.
    fn first_non_finite(&self) -> Option<String> {
        let w = &self.weights;
        for (kind, list) in [("up", &w.up), ("down", &w.down), ("ip", &w.ip), ("pi", &w.pi)] {
            for (i, syn) in list.iter().enumerate() {
                if !syn.w.is_finite() {
                    return Some(format!("w_{kind}_{}", i + 1));
                }
                if !syn.trace.is_finite() {
                    return Some(format!("the trace of w_{kind}_{}", i + 1));
                }
            }
        }
        let s = &self.state;
        let pyramidal = |name, part: fn(&PyramidalLayer) -> &[Real]| {
            s.pyramidal.iter().position(|l| !finite(part(l))).map(|i| format!("{name}_{}", i + 1))
        };
        let inter = |name, part: fn(&Interneurons) -> &[Real]| {
            s.inter.iter().position(|l| !finite(part(l))).map(|i| format!("{name}_{}", i + 1))
        };
        pyramidal("u", |l| &l.u)
            .or_else(|| inter("u_inter", |l| &l.u))
            .or_else(|| pyramidal("v_basal", |l| &l.v_basal))
            .or_else(|| pyramidal("v_apical", |l| &l.v_apical))
            .or_else(|| inter("v_inter", |l| &l.v))
    }

    /// Solves the steady state of the current input and target by fixed-point sweeps of the
    /// zero-drift equations (spec §3), with no noise and no plasticity. Input and target filters
    /// are set to their patterns. Returns the number of sweeps, or `None` if `max_sweeps` did not
    /// bring the largest change below `tol`.
    pub fn settle(&mut self, tol: Real, max_sweeps: usize) -> Option<usize> {
        let depth = self.depth();
        let s = &mut self.state;
        let n0 = s.input.len();
        s.r0[..n0].copy_from_slice(&s.input);
        s.u_trgt.copy_from_slice(&s.target);
        for layer in &mut s.pyramidal {
            layer.du.fill(0.0);
        }
        for inter in &mut s.inter {
            inter.du.fill(0.0);
        }
        for sweep in 1..=max_sweeps {
            let mut change: Real = 0.0;
            for k in 1..=depth {
                self.dendrites(k);
                let s = &mut self.state;
                let (layer, above) = s.pyramidal[k - 1..].split_first_mut().expect("layer exists");
                let nudge = (k == depth && s.target_on).then_some(&s.u_trgt[..]);
                let v_apical = (k < depth).then_some(&layer.v_apical[..]);
                let drive = Drive { v_dend: &layer.v_basal, v_apical, nudge };
                self.pyramidal_models[k - 1].steady_state(&drive, &mut layer.scratch);
                change = change.max(max_abs_diff(&layer.scratch, &layer.u));
                layer.u.copy_from_slice(&layer.scratch);
                let n = layer.u.len();
                self.pyramidal_models[k - 1].rate(&self.phi, &layer.u, &layer.du, &mut layer.r[..n]);
                if k < depth {
                    let inter = &mut s.inter[k - 1];
                    self.weights.ip[k - 1].product(&layer.r, &mut inter.v);
                    let drive = Drive { v_dend: &inter.v, v_apical: None, nudge: Some(&above[0].u) };
                    self.inter_models[k - 1].steady_state(&drive, &mut inter.scratch);
                    change = change.max(max_abs_diff(&inter.scratch, &inter.u));
                    inter.u.copy_from_slice(&inter.scratch);
                    self.inter_models[k - 1].rate(&self.phi, &inter.u, &inter.du, &mut inter.r);
                }
            }
            if change <= tol {
                self.refresh();
                return Some(sweep);
            }
        }
        self.refresh();
        None
    }

    /// ‖v_A‖², summed over hidden layers.
    pub fn apical_sq_norm(&self) -> Real {
        self.state.pyramidal.iter().map(|l| stats::sq_norm(&l.v_apical)).sum()
    }

    /// ‖u_{k+1} − u^I_k‖², summed over hidden layers.
    pub fn interneuron_mismatch(&self) -> Real {
        let s = &self.state;
        s.inter.iter().enumerate().map(|(k, inter)| stats::sq_distance(&s.pyramidal[k + 1].u, &inter.u)).sum()
    }

    /// The output rates r_N.
    pub fn output_rates(&self) -> &[Real] {
        let layer = self.state.pyramidal.last().expect("at least one layer");
        &layer.r[..layer.u.len()]
    }

    /// The output potentials u_N.
    pub fn output_potentials(&self) -> &[Real] {
        &self.state.pyramidal.last().expect("at least one layer").u
    }
}

fn euler_update(u: &mut [Real], du: &[Real], dt: Real, noise_scale: Real, rng: &mut rng::Rng, noise: &mut [Real]) {
    if noise_scale > 0.0 {
        rng::fill_gaussian(rng, noise_scale, noise);
        for i in 0..u.len() {
            u[i] += dt * du[i] + noise[i];
        }
    } else {
        for i in 0..u.len() {
            u[i] += dt * du[i];
        }
    }
}

/// A time in ms with at most six decimals and no trailing zeros, so that step × dt reads 1.2, not
/// 1.2000000000000002.
fn milliseconds(t: Real) -> String {
    let text = format!("{t:.6}");
    let text = text.trim_end_matches('0');
    text.strip_suffix('.').unwrap_or(text).to_string()
}

fn finite(x: &[Real]) -> bool {
    x.iter().all(|x| x.is_finite())
}

fn max_abs_diff(a: &[Real], b: &[Real]) -> Real {
    a.iter().zip(b).map(|(x, y)| (x - y).abs()).fold(0.0, Real::max)
}

//! `Network`: the continuous-time microcircuit of `apical_sim::microcircuit` stepped from Python.
//!
//! One Euler step advances every population synchronously (spec §2, §4): the somatic potentials
//! follow du/dt = −g_l u + g_B (v_B − u) + g_A (v_A − u) (+ the nudge towards u_trgt at the
//! output, and towards u_{k+1} for the interneurons), with noise σ √dt ξ; the dendritic
//! potentials are v_B,k = W_k r_{k−1}, v_A,k = B_k r_{k+1} + W^PI_k r^I_k and v^I_k = W^IP_k r_k,
//! and the weights learn through their τ_w traces (Eqs. 7–10). The step is the engine's own; this
//! module only checks the arrays that go in and copies the ones that come out.

use std::collections::HashMap;

use apical_numerics::{Matrix, Real};
use apical_sim::config::Precision;
use apical_sim::microcircuit::{Microcircuit, State};
use numpy::PyArray2;
use numpy::ndarray::Array2;
use pyo3::exceptions::{PyKeyError, PyRuntimeError, PyValueError};
use pyo3::prelude::*;
use pyo3::types::{PyDict, PyList};

use crate::arrays::{matrix, vector, vector_to_numpy, weights_dict, with_matrix};
use crate::config::Config;
use crate::interruptible;

/// Calls shorter than this many steps keep the interpreter: releasing it costs more than they do.
const DETACH_FROM: u64 = 1024;
/// Steps between two checks for Ctrl-C in a long call (a few milliseconds of simulation).
const CHUNK: u64 = 8192;
/// The most memory `run_patterns` may fill with recordings.
const MAX_RECORD_BYTES: f64 = 4e9;

/// One state vector of the network, named as in `Network.state()`.
#[derive(Debug, Clone, Copy)]
enum Part {
    /// r_0, the filtered input rates.
    R0,
    /// The filtered target potential of the output layer.
    UTarget,
    /// u_k, the somatic potentials of pyramidal layer k (from 1).
    U(usize),
    /// v_B,k, the basal potentials.
    VBasal(usize),
    /// v_A,k, the apical potentials (hidden layers).
    VApical(usize),
    /// r_k = φ(u_k), the rates.
    R(usize),
    /// u^I_k, the interneurons' somatic potentials (hidden layers).
    UInter(usize),
    /// v^I_k, the interneurons' dendritic potentials.
    VInter(usize),
    /// r^I_k, the interneurons' rates.
    RInter(usize),
}

impl Part {
    /// Every state vector of a network of depth N, with its name.
    fn all(depth: usize) -> Vec<(String, Part)> {
        let mut out = vec![("r_0".to_string(), Part::R0)];
        for k in 1..=depth {
            out.push((format!("u_{k}"), Part::U(k)));
            out.push((format!("v_basal_{k}"), Part::VBasal(k)));
            if k < depth {
                out.push((format!("v_apical_{k}"), Part::VApical(k)));
            }
            out.push((format!("r_{k}"), Part::R(k)));
        }
        for k in 1..depth {
            out.push((format!("u_inter_{k}"), Part::UInter(k)));
            out.push((format!("v_inter_{k}"), Part::VInter(k)));
            out.push((format!("r_inter_{k}"), Part::RInter(k)));
        }
        out.push(("u_trgt".to_string(), Part::UTarget));
        out
    }

    /// The vector in `s`, without the constant bias rate.
    fn of(self, s: &State) -> &[Real] {
        match self {
            Part::R0 => &s.r0[..s.input.len()],
            Part::UTarget => &s.u_trgt,
            Part::U(k) => &s.pyramidal[k - 1].u,
            Part::VBasal(k) => &s.pyramidal[k - 1].v_basal,
            Part::VApical(k) => &s.pyramidal[k - 1].v_apical,
            Part::R(k) => {
                let l = &s.pyramidal[k - 1];
                &l.r[..l.u.len()]
            }
            Part::UInter(k) => &s.inter[k - 1].u,
            Part::VInter(k) => &s.inter[k - 1].v,
            Part::RInter(k) => &s.inter[k - 1].r,
        }
    }
}

/// The continuous-time microcircuit of a configuration's model (its experiment section is not
/// used): pyramidal layers 1 … N with soma `u_k`, basal `v_basal_k` and apical `v_apical_k`
/// compartments, interneurons `u_inter_k` in the hidden layers, the weights W_k (`w_up_k`), B_k
/// (`w_down_k`), W^IP_k (`w_ip_k`) and W^PI_k (`w_pi_k`), and noise from the configuration's seed.
/// With the same configuration and the same calls it gives bit for bit what the experiments of
/// `apical run` give.
#[pyclass(module = "apical._apical")]
pub struct Network {
    net: Microcircuit,
    parts: Vec<(String, Part)>,
}

impl Network {
    fn n_in(&self) -> usize {
        self.net.state.input.len()
    }

    fn n_out(&self) -> usize {
        self.net.state.target.len()
    }

    /// Presents `input` and `target` where given.
    fn present(&mut self, input: Option<&Bound<'_, PyAny>>, target: Option<&Bound<'_, PyAny>>) -> PyResult<()> {
        let input = input.map(|x| vector(x, "input", self.n_in())).transpose()?;
        let target = target.map(|t| vector(t, "target", self.n_out())).transpose()?;
        if let Some(x) = input {
            self.net.set_input(&x);
        }
        if let Some(t) = target {
            self.net.set_target(Some(&t));
        }
        Ok(())
    }

    /// The part named `name`, or an error listing the names.
    fn part(&self, name: &str) -> PyResult<Part> {
        self.parts.iter().find(|(n, _)| n == name).map(|(_, p)| *p).ok_or_else(|| {
            let names: Vec<&str> = self.parts.iter().map(|(n, _)| n.as_str()).collect();
            PyValueError::new_err(format!("record: no state vector '{name}' (the network has {})", names.join(", ")))
        })
    }
}

fn diverged(e: apical_sim::microcircuit::Diverged) -> PyErr {
    PyRuntimeError::new_err(e.to_string())
}

#[pymethods]
impl Network {
    /// The network of `config`'s model with its initial weights (drawn from the seed, read from
    /// `init.weights`, lateral weights as `init.lateral` says), at rest. Its weights are f64;
    /// a configuration with `plasticity.precision = "f32"` is refused.
    #[new]
    fn new(config: &Config) -> PyResult<Network> {
        if config.cfg.plasticity.precision != Precision::F64 {
            let problem = "plasticity.precision: a Network stores f64 weights; apical.run takes \"f32\" for fig-s1, fig1, fig2 and mnist";
            return Err(PyValueError::new_err(problem));
        }
        let net = Microcircuit::new(&config.cfg).map_err(|e| PyValueError::new_err(format!("init.weights: {e}")))?;
        let parts = Part::all(net.depth());
        Ok(Network { net, parts })
    }

    /// The layer sizes n_0 … n_N.
    #[getter]
    fn sizes(&self) -> Vec<usize> {
        self.net.shape.sizes.clone()
    }

    /// The Euler time step dt (ms).
    #[getter]
    fn dt(&self) -> Real {
        self.net.dt()
    }

    /// The simulated time (ms).
    #[getter]
    fn time_ms(&self) -> Real {
        self.net.time_ms()
    }

    /// The number of Euler steps taken.
    #[getter]
    fn steps(&self) -> u64 {
        self.net.state.step
    }

    /// Whether the teacher current nudges the output towards the target.
    #[getter]
    fn target_on(&self) -> bool {
        self.net.state.target_on
    }

    /// Sets the noise amplitude σ (0 for noise-free runs).
    fn set_sigma(&mut self, sigma: Real) -> PyResult<()> {
        if !(sigma.is_finite() && sigma >= 0.0) {
            return Err(PyValueError::new_err(format!("sigma: must be a finite number ≥ 0, got {sigma}")));
        }
        self.net.set_sigma(sigma);
        Ok(())
    }

    /// Presents a new input pattern (n_0 rates). The input filter moves towards it with τ_0, and
    /// the learning lag starts again.
    fn set_input(&mut self, input: &Bound<'_, PyAny>) -> PyResult<()> {
        self.present(Some(input), None)
    }

    /// Switches the teacher current on with a target potential u_trgt (n_N values), or off with
    /// `None`.
    fn set_target(&mut self, target: Option<&Bound<'_, PyAny>>) -> PyResult<()> {
        match target {
            Some(t) => self.present(None, Some(t)),
            None => {
                self.net.set_target(None);
                Ok(())
            }
        }
    }

    /// Advances the network by `n` Euler steps of dt, with plasticity if `learn`. `input` and
    /// `target`, if given, are presented first (as `set_input` and `set_target`); `None` keeps
    /// the current ones (switch the target off with `set_target(None)`). Raises `RuntimeError`
    /// naming the population or matrix if the simulation diverges: every step checks the somatic
    /// potentials, and a call of 1024 steps or more also every weight, trace and dendritic
    /// potential at its end. Such long calls release the interpreter and stop at Ctrl-C with
    /// `KeyboardInterrupt` within a few milliseconds, after a whole step.
    #[pyo3(signature = (n=1, *, input=None, target=None, learn=true))]
    fn step(
        &mut self,
        py: Python<'_>,
        n: u64,
        input: Option<&Bound<'_, PyAny>>,
        target: Option<&Bound<'_, PyAny>>,
        learn: bool,
    ) -> PyResult<()> {
        self.present(input, target)?;
        let net = &mut self.net;
        if n < DETACH_FROM {
            // Every step checks the somatic potentials, which a non-finite weight or dendritic
            // potential reaches within a step; the full check costs more than a short call.
            for _ in 0..n {
                net.step(learn).map_err(diverged)?;
            }
            return Ok(());
        }
        interruptible(
            py,
            n,
            CHUNK,
            |_, chunk| {
                for _ in 0..chunk {
                    net.step(learn)?;
                }
                Ok(())
            },
            diverged,
        )?;
        net.check_finite().map_err(diverged)
    }

    /// Solves the steady state of the current input and target (after presenting `input` and
    /// `target` where given) by fixed-point sweeps of the zero-drift equations, without noise or
    /// plasticity; returns the number of sweeps. Raises `RuntimeError` if `max_sweeps` sweeps do
    /// not bring the largest change of a potential below `tol`.
    #[pyo3(signature = (input=None, target=None, *, tol=1e-12, max_sweeps=10_000))]
    fn settle(
        &mut self,
        input: Option<&Bound<'_, PyAny>>,
        target: Option<&Bound<'_, PyAny>>,
        tol: Real,
        max_sweeps: usize,
    ) -> PyResult<usize> {
        if !(tol.is_finite() && tol >= 0.0) {
            return Err(PyValueError::new_err(format!("tol: must be a finite number ≥ 0, got {tol}")));
        }
        self.present(input, target)?;
        self.net.settle(tol, max_sweeps).ok_or_else(|| {
            PyRuntimeError::new_err(format!("settle: no steady state within {max_sweeps} sweeps (tol {tol})"))
        })
    }

    /// ‖v_A‖², the squared apical potentials summed over hidden layers.
    fn apical_sq_norm(&self) -> Real {
        self.net.apical_sq_norm()
    }

    /// ‖u_{k+1} − u^I_k‖², the interneurons' mismatch summed over hidden layers.
    fn interneuron_mismatch(&self) -> Real {
        self.net.interneuron_mismatch()
    }

    /// The network's state as a dict of new arrays: `r_0` (filtered input rates), `u_k`,
    /// `v_basal_k`, `v_apical_k` (hidden layers), `r_k` for the pyramidal layers, `u_inter_k`,
    /// `v_inter_k`, `r_inter_k` for the interneurons, and `u_trgt` (the filtered target).
    fn state<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyDict>> {
        let dict = PyDict::new(py);
        for (name, part) in &self.parts {
            dict.set_item(name, vector_to_numpy(py, part.of(&self.net.state)))?;
        }
        Ok(dict)
    }

    /// Every weight matrix as a new array under its `.npz` key (`w_up_k`, `w_down_k`, `w_ip_k`,
    /// `w_pi_k`; with a bias, its weights are the last column), as `apical export` writes them.
    fn weights<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyDict>> {
        weights_dict(py, &self.net.weights)
    }

    /// Replaces the weight matrices named in `weights` (keys as in `weights()`); every name,
    /// dtype, shape and value is checked before any matrix changes. The traces are kept and the
    /// dendritic potentials recomputed.
    fn set_weights(&mut self, weights: &Bound<'_, PyDict>) -> PyResult<()> {
        let shapes: HashMap<String, (usize, usize)> =
            self.net.weights.named().into_iter().map(|(n, m)| (n, m.shape())).collect();
        let mut new: Vec<(String, Matrix)> = Vec::with_capacity(weights.len());
        for (key, value) in weights.iter() {
            let name: String = key.extract()?;
            let Some(&shape) = shapes.get(&name) else {
                let names: Vec<String> = self.net.weights.named().into_iter().map(|(n, _)| n).collect();
                return Err(PyKeyError::new_err(format!(
                    "{name}: the network has no such weight matrix (it has {})",
                    names.join(", ")
                )));
            };
            new.push((name.clone(), matrix(&value, &name, shape)?));
        }
        for (name, m) in new {
            *self.net.weights.by_name_mut(&name).expect("checked above") = m;
        }
        self.net.refresh();
        Ok(())
    }

    /// Presents the rows of `inputs` (P × n_0) one after another, each for `pattern_ms`, with the
    /// matching row of `targets` (P × n_N) as the target, or no target if `targets` is `None`,
    /// and records the state vectors named in `record` (names as in `state()`) after every
    /// `every`-th step. Returns a dict of arrays: `t_ms` (the time of each recording) and one
    /// (recordings × size) array per name.
    #[pyo3(signature = (inputs, targets=None, *, pattern_ms=100.0, record=Vec::new(), every=1, learn=true))]
    fn run_patterns<'py>(
        &mut self,
        py: Python<'py>,
        inputs: &Bound<'py, PyAny>,
        targets: Option<&Bound<'py, PyAny>>,
        pattern_ms: Real,
        record: Vec<String>,
        every: u64,
        learn: bool,
    ) -> PyResult<Bound<'py, PyDict>> {
        let n_in = self.n_in();
        let inputs: Vec<Vec<Real>> = with_matrix(inputs, "inputs", None, Some(n_in), |v| {
            Ok(v.rows().into_iter().map(|r| r.to_vec()).collect())
        })?;
        let targets: Option<Vec<Vec<Real>>> = match targets {
            Some(t) => Some(with_matrix(t, "targets", Some(inputs.len()), Some(self.n_out()), |v| {
                Ok(v.rows().into_iter().map(|r| r.to_vec()).collect())
            })?),
            None => None,
        };
        if !(pattern_ms.is_finite() && pattern_ms > 0.0) || self.net.steps_for(pattern_ms) == 0 {
            return Err(PyValueError::new_err(format!(
                "pattern_ms: must be at least one time step ({} ms), got {pattern_ms}",
                self.net.dt()
            )));
        }
        if every == 0 {
            return Err(PyValueError::new_err("every: must be at least 1"));
        }
        let parts: Vec<Part> = record.iter().map(|name| self.part(name)).collect::<PyResult<_>>()?;
        let steps = self.net.steps_for(pattern_ms);
        let total = steps.saturating_mul(inputs.len() as u64);
        let rows = (total / every) as usize;
        let width: usize = parts.iter().map(|p| p.of(&self.net.state).len()).sum::<usize>() + 1;
        let bytes = 8.0 * rows as f64 * width as f64;
        if bytes > MAX_RECORD_BYTES {
            return Err(PyValueError::new_err(format!(
                "record: {rows} recordings of {width} values need {:.1} GB, more than the {:.0} GB allowed; raise every",
                bytes / 1e9,
                MAX_RECORD_BYTES / 1e9
            )));
        }
        let mut times: Vec<Real> = Vec::with_capacity(rows);
        let mut recorded: Vec<Vec<Real>> =
            parts.iter().map(|p| Vec::with_capacity(rows * p.of(&self.net.state).len())).collect();
        let net = &mut self.net;
        if targets.is_none() {
            net.set_target(None);
        }
        let patterns_per_chunk = (CHUNK / steps).max(1);
        let mut counter = 0u64;
        interruptible(
            py,
            inputs.len() as u64,
            patterns_per_chunk,
            |done, n| {
                for p in done as usize..(done + n) as usize {
                    net.set_input(&inputs[p]);
                    if let Some(t) = &targets {
                        net.set_target(Some(&t[p]));
                    }
                    for _ in 0..steps {
                        net.step(learn)?;
                        counter += 1;
                        if counter.is_multiple_of(every) {
                            times.push(net.time_ms());
                            for (part, out) in parts.iter().zip(&mut recorded) {
                                out.extend_from_slice(part.of(&net.state));
                            }
                        }
                    }
                }
                Ok(())
            },
            diverged,
        )?;
        net.check_finite().map_err(diverged)?;
        let dict = PyDict::new(py);
        dict.set_item("t_ms", vector_to_numpy(py, &times))?;
        for ((name, part), values) in record.iter().zip(&parts).zip(recorded) {
            let len = part.of(&net.state).len();
            let array = Array2::from_shape_vec((times.len(), len), values).expect("one row per recording");
            dict.set_item(name, PyArray2::from_owned_array(py, array))?;
        }
        Ok(dict)
    }

    /// The names that `state()` returns and `run_patterns` records.
    fn state_names<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyList>> {
        PyList::new(py, self.parts.iter().map(|(n, _)| n.as_str()))
    }

    fn __repr__(&self) -> String {
        format!("<apical.Network sizes {:?} at t = {} ms>", self.net.shape.sizes, self.net.time_ms())
    }
}

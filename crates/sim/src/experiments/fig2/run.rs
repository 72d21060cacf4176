//! Running the experiment whose settings the parent module defines.

use apical_datasets::patterns::{PatternStream, test_set};
use apical_datasets::teacher::Teacher;
use apical_neuron::Role;
use std::path::Path;

use apical_numerics::{Element, Matrix, Real, rate::RateFn, rng, stats};
use apical_plot::{LinePlot, Series};
use apical_rules::backprop::{Feedback, Feedforward, sgd_step, spec_output_error};
use rayon::prelude::*;
use serde::{Deserialize, Serialize};

use super::{Fig2Config, Fig2Learner, TRACE_MS};
use crate::engine::config::Precision;
use crate::engine::microcircuit::{Microcircuit, Snapshot};
use crate::engine::network::{Shape, Weights};
use crate::experiments::checkpoint::{check_length, check_schedule, load_resume, save_checkpoint};
use crate::experiments::config::{ExperimentConfig, RunConfig};
use crate::experiments::context::{Progress, Report, RunContext, fmt_sci};
use crate::experiments::error::SimError;
use crate::io::codec::encode;
use crate::io::record::Recorder;

/// The regression task of one seed: its teacher and its held-out test set.
struct Task {
    teacher: Teacher,
    phi: RateFn,
    test_inputs: Vec<Vec<Real>>,
    test_targets: Vec<Vec<Real>>,
}

impl Task {
    fn new(cfg: &RunConfig, e: &Fig2Config) -> Self {
        let phi = cfg.network.phi;
        let seed = rng::stream_seed(cfg.seed, rng::Stream::Teacher);
        let mut teacher = Teacher::new(&e.teacher_sizes(cfg), &e.teacher_gains, seed);
        let n0 = cfg.network.sizes[0];
        let test_inputs = test_set(n0, e.inputs, e.test_patterns, rng::stream_seed(cfg.seed, rng::Stream::TestInputs));
        let test_targets = test_inputs
            .iter()
            .map(|x| {
                let mut r = vec![0.0; teacher.output_size()];
                teacher.rate(x, |u| phi.phi(u), &mut r);
                r
            })
            .collect();
        Task { teacher, phi, test_inputs, test_targets }
    }

    /// Writes the teacher's output potential u_trgt for input `x` into `out`.
    fn target_potential(&mut self, x: &[Real], out: &mut [Real]) {
        let phi = self.phi;
        self.teacher.voltage(x, |u| phi.phi(u), out);
    }

    /// The mean of ‖r_N − r_trgt‖² over the test set, given a network's output rates for an input.
    fn error(&self, mut respond: impl FnMut(&[Real]) -> Vec<Real>) -> Real {
        let errors: Vec<Real> =
            self.test_inputs.iter().zip(&self.test_targets).map(|(x, t)| stats::sq_distance(&respond(x), t)).collect();
        stats::mean(&errors)
    }
}

/// The columns of a learner's metrics table.
const COLUMNS: [&str; 11] = [
    "seed",
    "pattern",
    "time_s",
    "test_error",
    "test_error_ema",
    "hidden_rate",
    "apical_sq",
    "mismatch",
    "rate_mismatch",
    "angle_deg",
    "eta_factor",
];

/// What a learner is tested for at one recording (NaN where a quantity does not apply).
struct Metrics {
    /// The mean of ‖r_N − r_trgt‖² over the test set.
    test_error: Real,
    /// The mean hidden rate over the test set and the hidden neurons.
    hidden_rate: Real,
    /// ‖v_A‖² at the test steady states.
    apical_sq: Real,
    /// ‖u_{k+1} − u^I_k‖² at the test steady states.
    mismatch: Real,
    /// ‖r_{k+1} − r^I_k‖², the same mismatch in rates.
    rate_mismatch: Real,
    /// The angle between W_2ᵀ and B_1 (degrees).
    angle: Real,
}

/// Output rate 1 against its target on a sequence of test patterns, noise-free and without target.
struct Trace {
    before: Vec<Real>,
    after: Vec<Real>,
    target: Vec<Real>,
}

/// A running moving average of the test error and the rows of the metrics table.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
struct Curve {
    ema: Option<Real>,
    rows: Vec<Vec<Real>>,
}

impl Curve {
    /// Adds a recording after `pattern` patterns, or fails if one of the `checked` metrics is not
    /// finite (the angle is undefined for zero weights, and the feedforward learners have no
    /// microcircuit metrics).
    fn push(&mut self, e: &Fig2Config, job: &JobId, pattern: u64, m: Metrics, factor: Real) -> Result<(), SimError> {
        let mut checked = vec![("test_error", m.test_error), ("hidden_rate", m.hidden_rate)];
        if job.learner.is_microcircuit() {
            checked.extend([("apical_sq", m.apical_sq), ("mismatch", m.mismatch), ("rate_mismatch", m.rate_mismatch)]);
        }
        if let Some((name, _)) = checked.iter().find(|(_, x)| !x.is_finite()) {
            return Err(SimError::Other(format!(
                "fig2 {} (seed {}), pattern {pattern}: the test metric {name} is not finite",
                job.learner.name(),
                job.seed
            )));
        }
        let ema = match self.ema {
            Some(ema) => ema + e.ema_weight * (m.test_error - ema),
            None => m.test_error,
        };
        self.ema = Some(ema);
        let time_s = pattern as Real * e.pattern_ms / 1000.0;
        self.rows.push(vec![
            job.seed as Real,
            pattern as Real,
            time_s,
            m.test_error,
            ema,
            m.hidden_rate,
            m.apical_sq,
            m.mismatch,
            m.rate_mismatch,
            m.angle,
            factor,
        ]);
        Ok(())
    }
}

/// Which learner on which seed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
struct JobId {
    learner: Fig2Learner,
    seed: u64,
}

/// A learner's network: a microcircuit in continuous time, or a feedforward network with its
/// weights W_1 … W_N and, for feedback alignment, the fixed B_1 … B_{N−1} (empty for backprop).
#[derive(Debug, Clone, Serialize, Deserialize)]
enum Learned {
    Microcircuit(Box<Snapshot>),
    Feedforward { up: Vec<Matrix>, feedback: Vec<Matrix> },
}

/// What a checkpoint keeps of one learner on one seed.
#[derive(Debug, Clone, Serialize, Deserialize)]
struct JobState {
    id: JobId,
    inputs: PatternStream,
    curve: Curve,
    /// The microcircuit's output trace before learning (empty for the feedforward learners).
    before: Vec<Real>,
    learned: Learned,
}

/// What `checkpoint.bin` keeps besides the weights of the first learner, so that a resumed run
/// continues exactly.
#[derive(Debug, Clone, Serialize, Deserialize)]
struct ResumeState {
    /// Patterns done by every learner.
    done: u64,
    /// Every learner on every seed, seeds outermost, learners in the configuration's order.
    jobs: Vec<JobState>,
}

/// A learner's network while it trains; a microcircuit stores its weights in `T`.
enum Engine<T: Element> {
    Microcircuit(Box<Microcircuit<T>>),
    Feedforward { up: Vec<Matrix>, feedback: Vec<Matrix> },
}

/// One learner on one seed: its configuration, task, inputs, curve and network.
struct Job<T: Element> {
    id: JobId,
    cfg: RunConfig,
    task: Task,
    inputs: PatternStream,
    curve: Curve,
    before: Vec<Real>,
    engine: Engine<T>,
}

/// The configuration of a learner: the shallow learner keeps only W_N plastic.
fn learner_config(cfg: &RunConfig, learner: Fig2Learner) -> RunConfig {
    let mut c = cfg.clone();
    if learner == Fig2Learner::Shallow {
        let p = &mut c.plasticity;
        let last = p.eta_up.len() - 1;
        p.eta_up[..last].fill(0.0);
        p.eta_ip.fill(0.0);
        p.eta_pi.fill(0.0);
        p.eta_down.clear();
    }
    c
}

/// The angle in degrees between the forward weights W_{k+1}ᵀ and the top-down weights B_k, with
/// the entries of all hidden layers taken together (W_2ᵀ against B_1 in a network with one);
/// `up` holds W_1 … W_N and `down` B_1 … B_{N−1}.
fn feedback_angle(up: &[&Matrix], down: &[&Matrix]) -> Real {
    let (mut forward, mut top_down) = (Vec::new(), Vec::new());
    for (k, b) in down.iter().enumerate() {
        let w = up[k + 1];
        for j in 0..b.ncols() {
            for i in 0..b.nrows() {
                forward.push(w.get(j, i));
                top_down.push(b.get(i, j));
            }
        }
    }
    stats::angle_degrees(&forward, &top_down)
}

/// The angle between W_2ᵀ and B_1 of a microcircuit.
fn microcircuit_angle<T: Element>(w: &Weights<T>) -> Real {
    let (up, down): (Vec<Matrix>, Vec<Matrix>) =
        (w.up.iter().map(|s| s.w.cast()).collect(), w.down.iter().map(|s| s.w.cast()).collect());
    feedback_angle(&up.iter().collect::<Vec<_>>(), &down.iter().collect::<Vec<_>>())
}

/// Tests a microcircuit at the noise-free steady states without target of the test patterns.
fn test_microcircuit<T: Element>(cfg: &RunConfig, weights: &Weights<T>, task: &Task) -> Metrics {
    let mut net = Microcircuit::with_weights(cfg, weights.clone());
    net.set_sigma(0.0);
    net.set_target(None);
    let (mut hidden_rate, mut apical_sq, mut mismatch, mut rate_mismatch) = (0.0, 0.0, 0.0, 0.0);
    let test_error = task.error(|x| {
        net.set_input(x);
        net.settle(1e-12, 10_000);
        let s = &net.state;
        let depth = s.pyramidal.len();
        let hidden: Vec<Real> = s.pyramidal[..depth - 1].iter().flat_map(|l| l.r[..l.u.len()].to_vec()).collect();
        hidden_rate += stats::mean(&hidden);
        apical_sq += net.apical_sq_norm();
        mismatch += net.interneuron_mismatch();
        for (k, inter) in s.inter.iter().enumerate() {
            let above = &s.pyramidal[k + 1];
            rate_mismatch += stats::sq_distance(&above.r[..above.u.len()], &inter.r);
        }
        net.output_rates().to_vec()
    });
    let n = task.test_inputs.len() as Real;
    Metrics {
        test_error,
        hidden_rate: hidden_rate / n,
        apical_sq: apical_sq / n,
        mismatch: mismatch / n,
        rate_mismatch: rate_mismatch / n,
        angle: microcircuit_angle(weights),
    }
}

/// Output rate 1 of a noise-free copy without target and without plasticity, run in continuous
/// time over the first `trace_patterns` test patterns and sampled every [`TRACE_MS`], with the
/// target rate r_trgt,1 of the pattern shown at each sample.
fn output_trace<T: Element>(
    cfg: &RunConfig,
    e: &Fig2Config,
    weights: &Weights<T>,
    task: &Task,
) -> Result<(Vec<Real>, Vec<Real>), SimError> {
    let mut net = Microcircuit::with_weights(cfg, weights.clone());
    net.set_sigma(0.0);
    let steps = net.steps_for(e.pattern_ms);
    let sample = net.steps_for(TRACE_MS).max(1);
    let (mut rates, mut targets) = (Vec::new(), Vec::new());
    for (x, r_trgt) in task.test_inputs.iter().zip(&task.test_targets).take(e.trace_patterns) {
        net.set_input(x);
        for step in 1..=steps {
            net.step(false)?;
            if step % sample == 0 {
                rates.push(net.output_rates()[0]);
                targets.push(r_trgt[0]);
            }
        }
    }
    Ok((rates, targets))
}

/// The attenuations c_1 … c_N of the microcircuit's layers.
fn gains(cfg: &RunConfig) -> Vec<Real> {
    let g = &cfg.network.conductances;
    let depth = cfg.network.sizes.len() - 1;
    (1..=depth).map(|k| g.role(if k == depth { Role::Output } else { Role::Pyramidal }).prediction_gain()).collect()
}

/// The per-pattern backprop rates that match the microcircuit's updates (spec §6):
/// η^bp_k = η_k T_pattern s_k, s_k = λ_N [λ_A (1 − λ_I)]^(N−k) / (c_k Π_{l>k} c_l).
fn backprop_rates(cfg: &RunConfig, pattern_ms: Real) -> Vec<Real> {
    let g = &cfg.network.conductances;
    let c = gains(cfg);
    let depth = c.len();
    (1..=depth)
        .map(|k| {
            let loss = (g.lambda_a() * (1.0 - g.lambda_i())).powi((depth - k) as i32);
            let s = g.lambda_n() * loss / c[k - 1..].iter().product::<Real>();
            cfg.plasticity.eta_up[k - 1] * pattern_ms * s
        })
        .collect()
}

/// Tests a feedforward network on the test set; the angle between W_2ᵀ and B_1 where it learns
/// through fixed feedback `feedback` (NaN for backprop, whose `feedback` is empty).
fn test_feedforward(cfg: &RunConfig, up: &[Matrix], feedback: &[Matrix], task: &Task) -> Metrics {
    let gains = gains(cfg);
    let net = Feedforward { weights: up, gains: &gains, phi: cfg.network.phi, bias: cfg.network.bias };
    let n_out = task.teacher.output_size();
    let mut hidden_rate = 0.0;
    let test_error = task.error(|x| {
        let pass = net.forward(x);
        let depth = pass.u.len();
        let hidden: Vec<Real> = (1..depth).flat_map(|k| pass.r[k][..pass.u[k - 1].len()].to_vec()).collect();
        hidden_rate += stats::mean(&hidden);
        pass.r[depth][..n_out].to_vec()
    });
    let hidden_rate = hidden_rate / task.test_inputs.len() as Real;
    let angle = if feedback.is_empty() {
        Real::NAN
    } else {
        feedback_angle(&up.iter().collect::<Vec<_>>(), &feedback.iter().collect::<Vec<_>>())
    };
    let nan = Real::NAN;
    Metrics { test_error, hidden_rate, apical_sq: nan, mismatch: nan, rate_mismatch: nan, angle }
}

/// Whether a matrix has the given shape and holds as many values as it says.
fn fits(m: &Matrix, (rows, cols): (usize, usize)) -> bool {
    m.shape() == (rows, cols) && rows.checked_mul(cols) == Some(m.as_slice().len())
}

impl<T: Element> Job<T> {
    /// A learner at its initial weights, tested once before any training.
    fn new(cfg: &RunConfig, e: &Fig2Config, id: JobId) -> Result<Self, SimError> {
        let cfg = learner_config(&cfg.with_seed(id.seed), id.learner);
        let task = Task::new(&cfg, e);
        let inputs =
            PatternStream::new(cfg.network.sizes[0], e.inputs, rng::stream_seed(cfg.seed, rng::Stream::Inputs));
        let engine = if id.learner.is_microcircuit() {
            Engine::Microcircuit(Box::new(Microcircuit::new(&cfg)?))
        } else {
            let shape = Shape { sizes: cfg.network.sizes.clone(), bias: cfg.network.bias };
            let w = Weights::initial(&cfg, &shape)?;
            let up = w.up.into_iter().map(|s| s.w).collect();
            let feedback = match id.learner {
                Fig2Learner::FeedbackAlignment => w.down.into_iter().map(|s| s.w).collect(),
                _ => Vec::new(),
            };
            Engine::Feedforward { up, feedback }
        };
        let mut job = Job { id, cfg, task, inputs, curve: Curve::default(), before: Vec::new(), engine };
        job.record(e, 0)?;
        if let Engine::Microcircuit(net) = &job.engine {
            job.before = output_trace(&job.cfg, e, &net.weights, &job.task)?.0;
        }
        Ok(job)
    }

    /// A learner as a checkpoint saved it, checked against the network of the configuration.
    fn restore(cfg: &RunConfig, e: &Fig2Config, state: JobState, path: &Path) -> Result<Self, SimError> {
        let id = state.id;
        let cfg = learner_config(&cfg.with_seed(id.seed), id.learner);
        let mismatch = |what: &str| {
            SimError::Other(format!(
                "--resume: {}: the saved {} (seed {}) {what}",
                path.display(),
                id.learner.name(),
                id.seed
            ))
        };
        let n0 = cfg.network.sizes[0];
        if state.inputs.dim() != n0 || state.inputs.distribution() != e.inputs {
            return Err(mismatch("draws other inputs than the configuration"));
        }
        let shape = Shape { sizes: cfg.network.sizes.clone(), bias: cfg.network.bias };
        let shapes = shape.named_shapes();
        let of =
            |prefix: &str| shapes.iter().filter(|(n, _)| n.starts_with(prefix)).map(|(_, s)| *s).collect::<Vec<_>>();
        let fit = |ms: &[Matrix], expected: &[(usize, usize)]| {
            ms.len() == expected.len() && ms.iter().zip(expected).all(|(m, &s)| fits(m, s))
        };
        let engine = match (state.learned, id.learner) {
            (Learned::Microcircuit(snapshot), l) if l.is_microcircuit() => {
                let net = Microcircuit::restore(&cfg, snapshot.cast()).map_err(|m| mismatch(&m.to_string()))?;
                Engine::Microcircuit(Box::new(net))
            }
            (Learned::Feedforward { up, feedback }, l) if !l.is_microcircuit() => {
                let down = if l == Fig2Learner::FeedbackAlignment { of("w_down_") } else { Vec::new() };
                if !(fit(&up, &of("w_up_")) && fit(&feedback, &down)) {
                    return Err(mismatch("has weights that do not fit the network"));
                }
                Engine::Feedforward { up, feedback }
            }
            _ => return Err(mismatch("is another kind of network")),
        };
        let task = Task::new(&cfg, e);
        Ok(Job { id, cfg, task, inputs: state.inputs, curve: state.curve, before: state.before, engine })
    }

    /// What a checkpoint keeps of the learner.
    fn save(&self) -> JobState {
        let learned = match &self.engine {
            Engine::Microcircuit(net) => Learned::Microcircuit(Box::new(net.snapshot().cast())),
            Engine::Feedforward { up, feedback } => Learned::Feedforward { up: up.clone(), feedback: feedback.clone() },
        };
        JobState {
            id: self.id,
            inputs: self.inputs.clone(),
            curve: self.curve.clone(),
            before: self.before.clone(),
            learned,
        }
    }

    /// The learner's weights as a whole network: the microcircuit's, or the initial network with
    /// the feedforward learner's W_k, in f64.
    fn weights(&self) -> Result<Weights, SimError> {
        Ok(match &self.engine {
            Engine::Microcircuit(net) => net.weights.cast(),
            Engine::Feedforward { up, .. } => {
                let shape = Shape { sizes: self.cfg.network.sizes.clone(), bias: self.cfg.network.bias };
                let mut w = Weights::initial(&self.cfg, &shape)?;
                for (s, m) in w.up.iter_mut().zip(up) {
                    s.w = m.clone();
                }
                w
            }
        })
    }

    /// Tests the learner after `pattern` patterns and records the result.
    fn record(&mut self, e: &Fig2Config, pattern: u64) -> Result<(), SimError> {
        let factor = self.cfg.plasticity.eta_factor(pattern.saturating_sub(1));
        let m = match &self.engine {
            Engine::Microcircuit(net) => test_microcircuit(&self.cfg, &net.weights, &self.task),
            Engine::Feedforward { up, feedback } => test_feedforward(&self.cfg, up, feedback, &self.task),
        };
        self.curve.push(e, &self.id, pattern, m, factor)
    }

    /// Trains on patterns `done` + 1 … `to`, each at the rates of its schedule stage, and tests
    /// after every `record_every`-th and the last. A microcircuit sees each pattern for
    /// `pattern_ms` with its output nudged towards u_trgt; a feedforward network takes one step
    /// W_k ← W_k + factor · η^bp_k c_k δ_k r_{k−1}ᵀ.
    fn advance(&mut self, e: &Fig2Config, done: u64, to: u64, progress: &dyn Progress) -> Result<(), SimError> {
        let (name, seed) = (self.id.learner.name(), self.id.seed);
        let mut x = vec![0.0; self.cfg.network.sizes[0]];
        let mut u_trgt = vec![0.0; self.task.teacher.output_size()];
        let (gains, rates) = (gains(&self.cfg), backprop_rates(&self.cfg, e.pattern_ms));
        let mut scaled = rates.clone();
        let (phi, bias) = (self.cfg.network.phi, self.cfg.network.bias);
        let plasticity = self.cfg.plasticity.clone();
        for p in done + 1..=to {
            let factor = plasticity.eta_factor(p - 1);
            self.inputs.next_into(&mut x);
            self.task.target_potential(&x, &mut u_trgt);
            match &mut self.engine {
                Engine::Microcircuit(net) => {
                    net.weights.set_eta_factor(&plasticity, factor);
                    net.set_input(&x);
                    net.set_target(Some(&u_trgt));
                    let steps = net.steps_for(e.pattern_ms);
                    net.run_steps(steps, true)
                        .map_err(|d| SimError::Other(format!("fig2 {name} (seed {seed}), pattern {p}: {d}")))?;
                }
                Engine::Feedforward { up, feedback } => {
                    for (s, r) in scaled.iter_mut().zip(&rates) {
                        *s = r * factor;
                    }
                    let net = Feedforward { weights: up, gains: &gains, phi, bias };
                    let pass = net.forward(&x);
                    let through = if feedback.is_empty() { Feedback::Transpose } else { Feedback::Fixed(feedback) };
                    let descent = net.gradient(&pass, &spec_output_error(&phi, &pass, &u_trgt), through);
                    sgd_step(up, &descent, &scaled);
                    if !up.iter().all(Matrix::is_finite) {
                        return Err(SimError::Other(format!(
                            "fig2 {name} (seed {seed}): weights diverged at pattern {p}"
                        )));
                    }
                }
            }
            if p % e.record_every == 0 || p == e.patterns {
                self.record(e, p)?;
            }
            progress.advance(1);
        }
        Ok(())
    }
}

/// The learners and progress stored in `path`; only the length, the checkpoint interval and
/// schedule stages after the stored position may differ from the stored run.
fn resume_from<T: Element>(
    cfg: &RunConfig,
    e: &Fig2Config,
    ids: &[JobId],
    path: &Path,
) -> Result<(Vec<Job<T>>, u64), SimError> {
    let same_run = |c: &RunConfig| {
        let mut c = c.clone();
        c.plasticity.schedule.clear();
        if let ExperimentConfig::Fig2(f) = &mut c.experiment {
            f.patterns = 0;
            f.checkpoint_every = 0;
        }
        c
    };
    let may_change = "experiment.fig2.patterns, experiment.fig2.checkpoint_every and later schedule stages";
    let (_, r, stored): (Weights, ResumeState, _) = load_resume(cfg, path, same_run, may_change)?;
    check_schedule(&stored.plasticity.schedule, &cfg.plasticity.schedule, r.done, path)?;
    check_length(r.done, e.patterns, "experiment.fig2.patterns", path)?;
    if r.jobs.iter().map(|j| j.id).collect::<Vec<_>>() != ids {
        return Err(SimError::Other(format!("--resume: {} holds other learners or seeds", path.display())));
    }
    let jobs = r.jobs.into_par_iter().map(|state| Job::restore(cfg, e, state, path)).collect::<Result<_, _>>()?;
    Ok((jobs, r.done))
}

/// Saves the resume checkpoint after `done` patterns; its weights are those of the first
/// microcircuit learner, or of the first learner if none is a microcircuit.
fn save<T: Element>(cfg: &RunConfig, jobs: &[Job<T>], done: u64, path: &Path) -> Result<(), SimError> {
    let first = jobs.iter().find(|j| j.id.learner.is_microcircuit()).unwrap_or(&jobs[0]);
    let resume = ResumeState { done, jobs: jobs.iter().map(Job::save).collect() };
    save_checkpoint(cfg, &first.weights()?, encode(&resume), path)
}

/// Mean and sample standard deviation of a column's last value over the runs of a learner.
fn final_stats<T: Element>(jobs: &[&Job<T>], column: usize) -> (Real, Real) {
    let last: Vec<Real> = jobs.iter().map(|j| j.curve.rows.last().expect("recorded")[column]).collect();
    (stats::mean(&last), stats::sd(&last))
}

/// The paper's unit of the x axis: training trials (patterns) in units of 10⁷.
const TRIALS_UNIT: Real = 1e7;

/// The mean over seeds of a column, row by row, against the trials in units of 10⁷.
fn mean_curve<T: Element>(jobs: &[&Job<T>], column: usize) -> Vec<(Real, Real)> {
    let rows = &jobs[0].curve.rows;
    (0..rows.len())
        .map(|i| {
            let values: Vec<Real> = jobs.iter().map(|j| j.curve.rows[i][column]).collect();
            (rows[i][1] / TRIALS_UNIT, stats::mean(&values))
        })
        .collect()
}

/// The last value of the seed-mean curve of a column over its largest value: how far the
/// quantity has fallen from its peak.
fn end_over_peak<T: Element>(jobs: &[&Job<T>], column: usize) -> Real {
    let curve = mean_curve(jobs, column);
    let peak = curve.iter().map(|&(_, y)| y).fold(Real::NEG_INFINITY, Real::max);
    curve.last().map_or(Real::NAN, |&(_, y)| y / peak)
}

fn column(name: &str) -> usize {
    COLUMNS.iter().position(|c| *c == name).expect("known column")
}

fn pm((mean, sd): (Real, Real)) -> String {
    format!("{} ± {}", fmt_sci(mean), fmt_sci(sd))
}

/// "first ± sd → last ± sd" of a column over the runs of a learner; the four numbers also go
/// into `values` as `<prefix>_<col>_{start,end}_{mean,sd}`.
fn start_end<T: Element>(jobs: &[&Job<T>], col: &str, prefix: &str, values: &mut Vec<(String, Real)>) -> String {
    let j = column(col);
    let first: Vec<Real> = jobs.iter().map(|o| o.curve.rows[0][j]).collect();
    let (start, end) = ((stats::mean(&first), stats::sd(&first)), final_stats(jobs, j));
    for (when, (mean, sd)) in [("start", start), ("end", end)] {
        values.push((format!("{prefix}_{col}_{when}_mean"), mean));
        values.push((format!("{prefix}_{col}_{when}_sd"), sd));
    }
    format!("{} → {}", pm(start), pm(end))
}

/// One acceptance check: its printed row and its numbers, `check_<name>` and
/// `check_<name>_pass` (1 or 0).
fn check(
    name: &str,
    label: &str,
    value: Real,
    bound: Real,
    rows: &mut Vec<(String, String)>,
    values: &mut Vec<(String, Real)>,
) {
    let pass = value <= bound;
    rows.push((format!("check: {label} ≤ {bound}"), format!("{value:.3} ({})", if pass { "pass" } else { "fail" })));
    values.push((format!("check_{name}"), value));
    values.push((format!("check_{name}_pass"), Real::from(u8::from(pass))));
}

/// Writes every learner's metrics table as recorded so far, `<learner>.csv`, with the column
/// `equivalent_trials` added: the patterns at the unscaled rates that the schedule's patterns
/// amount to (Σ factor), on which runs with different schedules compare. Written at every
/// checkpoint, so that a run of many hours can be looked at while it runs.
fn write_curves<T: Element>(
    cfg: &RunConfig,
    e: &Fig2Config,
    jobs: &[Job<T>],
    ctx: &RunContext<'_>,
) -> Result<(), SimError> {
    let columns: Vec<&str> = COLUMNS.iter().copied().chain(["equivalent_trials"]).collect();
    let pattern = column("pattern");
    for &learner in &e.learners {
        let mut rec = Recorder::new(&columns);
        for j in jobs.iter().filter(|j| j.id.learner == learner) {
            for row in &j.curve.rows {
                let trials = cfg.plasticity.equivalent_patterns(row[pattern] as u64);
                rec.push(row.iter().copied().chain([trials]).collect());
            }
        }
        rec.write_csv(&ctx.file(&format!("{}.csv", learner.name())))?;
    }
    Ok(())
}

pub(crate) fn run(cfg: &RunConfig, e: &Fig2Config, ctx: &RunContext<'_>) -> Result<Report, SimError> {
    match cfg.plasticity.precision {
        Precision::F64 => run_in::<f64>(cfg, e, ctx),
        Precision::F32 => run_in::<f32>(cfg, e, ctx),
    }
}

/// The run with the microcircuits' weights and traces stored in `T`.
fn run_in<T: Element>(cfg: &RunConfig, e: &Fig2Config, ctx: &RunContext<'_>) -> Result<Report, SimError> {
    let ids: Vec<JobId> = (0..e.seeds)
        .flat_map(|i| e.learners.iter().map(move |&learner| JobId { learner, seed: cfg.seed + i }))
        .collect();
    let checkpoint = ctx.file("checkpoint.bin");
    let (mut jobs, mut done) = if ctx.resume {
        resume_from(cfg, e, &ids, &checkpoint)?
    } else {
        (ids.par_iter().map(|&id| Job::new(cfg, e, id)).collect::<Result<Vec<Job<T>>, SimError>>()?, 0)
    };
    ctx.progress.start("fig2", jobs.len() as u64 * (e.patterns - done));
    // All learners train up to the next checkpoint in parallel, then wait for each other.
    while done < e.patterns {
        let to = done.saturating_add(e.checkpoint_every - done % e.checkpoint_every).min(e.patterns);
        jobs.par_iter_mut().map(|job| job.advance(e, done, to, ctx.progress)).collect::<Result<Vec<()>, SimError>>()?;
        done = to;
        save(cfg, &jobs, done, &checkpoint)?;
        if done < e.patterns {
            write_curves(cfg, e, &jobs, ctx)?;
            if ctx.progress.stop_after_checkpoint() {
                return Err(SimError::Stopped { experiment: "fig2".into(), at: format!("pattern {done}") });
            }
        }
    }
    ctx.progress.finish();
    write_curves(cfg, e, &jobs, ctx)?;
    let of = |learner: Fig2Learner| -> Vec<&Job<T>> { jobs.iter().filter(|j| j.id.learner == learner).collect() };

    let mut files = e.learners.iter().map(|l| ctx.file(&format!("{}.csv", l.name()))).collect::<Vec<_>>();

    let x_label = format!("training trial (×10^7; {} ms each)", e.pattern_ms);
    let curves = LinePlot {
        title: format!("Fig. 2: test error ‖r_N − r_trgt‖² (mean of {} seeds)", e.seeds),
        x_label: x_label.clone(),
        y_label: "test error".into(),
        log_y: true,
        series: e
            .learners
            .iter()
            .flat_map(|&l| {
                [
                    Series::new(format!("{} (moving average)", l.name()), mean_curve(&of(l), column("test_error_ema"))),
                    Series::new(format!("{} (raw)", l.name()), mean_curve(&of(l), column("test_error"))),
                ]
            })
            .collect(),
        ..Default::default()
    };
    let path = ctx.file("learning_curves.png");
    curves.save_png(&path)?;
    files.push(path);

    let stages: Vec<String> =
        cfg.plasticity.schedule.iter().map(|s| format!("×{} from {}", s.factor, s.from_pattern)).collect();
    let mut rows = vec![
        (
            "training per learner and seed".into(),
            format!(
                "{} patterns × {} ms = {:.2e} time steps",
                e.patterns,
                e.pattern_ms,
                e.patterns as Real * e.pattern_ms / cfg.dynamics.dt
            ),
        ),
        ("learning-rate schedule (patterns)".into(), stages.join(", ")),
    ];
    let mut values = vec![("patterns".to_string(), e.patterns as Real), ("seeds".to_string(), e.seeds as Real)];
    values.push(("eta_factor_end".into(), cfg.plasticity.eta_factor(e.patterns - 1)));
    let seeds = format!("mean ± sd over {} seeds", e.seeds);
    let err = column("test_error");
    for &l in &e.learners {
        let name = l.name();
        let test_error = start_end(&of(l), "test_error", name, &mut values);
        rows.push((format!("{name}: test error start → end ({seeds})"), test_error));
        let ratios: Vec<Real> =
            of(l).iter().map(|j| j.curve.rows.last().expect("recorded")[err] / j.curve.rows[0][err]).collect();
        rows.push((
            format!("{name}: test error end / start"),
            format!("{:.4} ± {:.4}", stats::mean(&ratios), stats::sd(&ratios)),
        ));
        values.push((format!("{name}_test_error_ratio_mean"), stats::mean(&ratios)));
        let hidden_rate = start_end(&of(l), "hidden_rate", name, &mut values);
        rows.push((format!("{name}: mean hidden rate start → end"), hidden_rate));
    }
    if e.learners.iter().any(|l| !l.is_microcircuit()) {
        let rates: Vec<String> = backprop_rates(cfg, e.pattern_ms).iter().map(|r| format!("{r:.4}")).collect();
        rows.push(("feedforward learners: rates per pattern η^bp_1 … η^bp_N (×1)".into(), rates.join(", ")));
    }
    let j = column("angle_deg");
    let fa = of(Fig2Learner::FeedbackAlignment);
    let fa_angle = if fa.is_empty() { Real::NAN } else { final_stats(&fa, j).0 };
    if !fa.is_empty() {
        let a0: Vec<Real> = fa.iter().map(|o| o.curve.rows[0][j]).collect();
        let a1 = final_stats(&fa, j);
        rows.push((
            "feedback-alignment: angle W_2ᵀ vs B_1 start → end (°)".into(),
            format!("{:.1} ± {:.1} → {:.1} ± {:.1}", stats::mean(&a0), stats::sd(&a0), a1.0, a1.1),
        ));
        values.push(("feedback_alignment_angle_deg_end_mean".into(), a1.0));
        values.push(("feedback_alignment_angle_deg_end_sd".into(), a1.1));
    }

    let micro = of(Fig2Learner::Microcircuit);
    if !micro.is_empty() {
        let angle_series = |jobs: &[&Job<T>], name: &str| -> Vec<Series> {
            jobs.iter()
                .map(|o| {
                    let points = o.curve.rows.iter().map(|r| (r[1] / TRIALS_UNIT, r[j]));
                    Series::new(format!("{name}, seed {}", o.id.seed), points)
                })
                .collect()
        };
        let per_seed = |cols: &[(&str, &str)]| -> Vec<Series> {
            micro
                .iter()
                .flat_map(|o| {
                    cols.iter().map(|&(col, label)| {
                        let j = column(col);
                        let points = o.curve.rows.iter().map(|r| (r[1] / TRIALS_UNIT, r[j]));
                        Series::new(format!("seed {}{label}", o.id.seed), points)
                    })
                })
                .collect()
        };
        let mut angles = angle_series(&micro, "microcircuit");
        angles.extend(angle_series(&fa, "feedback alignment"));
        for (series, title, y_label, log_y, file) in [
            (
                per_seed(&[("apical_sq", "")]),
                "microcircuit: ‖v_A‖² at the test steady states",
                "‖v_A‖²",
                true,
                "apical.png",
            ),
            (
                per_seed(&[("mismatch", ": ‖u_2 − u^I_1‖²"), ("rate_mismatch", ": ‖r_2 − r^I_1‖²")]),
                "microcircuit: interneuron mismatch at the test steady states",
                "squared mismatch",
                true,
                "mismatch.png",
            ),
            (angles, "angle between W_2ᵀ and B_1", "degrees", false, "angle.png"),
        ] {
            let plot = LinePlot {
                title: format!("Fig. 2: {title}"),
                x_label: x_label.clone(),
                y_label: y_label.into(),
                log_y,
                series,
                ..Default::default()
            };
            let path = ctx.file(file);
            plot.save_png(&path)?;
            files.push(path);
        }
        let m = "microcircuit";
        rows.push(("microcircuit: ‖v_A‖² start → end".into(), start_end(&micro, "apical_sq", m, &mut values)));
        let mismatch = start_end(&micro, "mismatch", m, &mut values);
        rows.push(("microcircuit: mismatch ‖u_2 − u^I_1‖² start → end".into(), mismatch));
        let rate_mismatch = start_end(&micro, "rate_mismatch", m, &mut values);
        rows.push(("microcircuit: mismatch ‖r_2 − r^I_1‖² start → end".into(), rate_mismatch));
        let jm = column("mismatch");
        let reduction = micro
            .iter()
            .map(|o| o.curve.rows[0][jm] / o.curve.rows.last().expect("recorded")[jm])
            .fold(Real::INFINITY, Real::min);
        rows.push(("microcircuit: mismatch start / end (smallest over seeds)".into(), format!("{reduction:.3}")));
        values.push(("microcircuit_mismatch_reduction_min".into(), reduction));
        let a0: Vec<Real> = micro.iter().map(|o| o.curve.rows[0][j]).collect();
        let a1 = final_stats(&micro, j);
        rows.push((
            "microcircuit: angle W_2ᵀ vs B_1 start → end (°)".into(),
            format!("{:.1} ± {:.1} → {:.1} ± {:.1}", stats::mean(&a0), stats::sd(&a0), a1.0, a1.1),
        ));
        values.push(("microcircuit_angle_deg_start_mean".into(), stats::mean(&a0)));
        values.push(("microcircuit_angle_deg_end_mean".into(), a1.0));
        values.push(("microcircuit_angle_deg_end_sd".into(), a1.1));

        if e.learners.contains(&Fig2Learner::Shallow) {
            let ratio = final_stats(&micro, err).0 / final_stats(&of(Fig2Learner::Shallow), err).0;
            values.push(("final_test_error_microcircuit_over_shallow".into(), ratio));
            let label = "final test error, microcircuit / shallow";
            check("error_ratio", label, ratio, 0.5, &mut rows, &mut values);
        }
        let apical = end_over_peak(&micro, column("apical_sq"));
        check("apical_end_over_peak", "microcircuit ‖v_A‖² end / peak", apical, 0.1, &mut rows, &mut values);
        let label = "microcircuit ‖u_2 − u^I_1‖² end / peak";
        check("mismatch_end_over_peak", label, end_over_peak(&micro, jm), 0.1, &mut rows, &mut values);
        check("angle_deg", "microcircuit final angle W_2ᵀ vs B_1 (°)", a1.0, 60.0, &mut rows, &mut values);
        rows.push(("feedback-alignment final angle beside it (°)".into(), format!("{fa_angle:.1}")));

        let o = micro[0];
        let Engine::Microcircuit(net) = &o.engine else { unreachable!("a microcircuit learner") };
        let (after, target) = output_trace(&o.cfg, e, &net.weights, &o.task)?;
        let trace = Trace { before: o.before.clone(), after, target };
        let t = |values: &[Real]| -> Vec<(Real, Real)> {
            values.iter().enumerate().map(|(i, &v)| ((i + 1) as Real * TRACE_MS, v)).collect()
        };
        let plot = LinePlot {
            title: format!("Fig. 2B: output rate r_N,1 on test patterns, no target (seed {})", o.id.seed),
            x_label: "time (ms)".into(),
            y_label: "rate".into(),
            log_y: false,
            series: vec![
                Series::new("before learning", t(&trace.before)),
                Series::new("after learning", t(&trace.after)),
                Series::new("target r_trgt,1", t(&trace.target)),
            ],
            ..Default::default()
        };
        let path = ctx.file("output.png");
        plot.save_png(&path)?;
        files.push(path);
    }
    files.push(checkpoint);
    Ok(Report { experiment: "fig2".into(), rows, values, files })
}

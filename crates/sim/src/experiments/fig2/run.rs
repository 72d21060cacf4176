//! Running the experiment whose settings the parent module defines.

use apical_datasets::patterns::{PatternStream, test_set};
use apical_datasets::teacher::Teacher;
use apical_neuron::Role;
use apical_numerics::{Matrix, Real, rate::RateFn, rng, stats};
use apical_plot::{LinePlot, Series};
use apical_rules::backprop::{Feedback, Feedforward, sgd_step, spec_output_error};
use rayon::prelude::*;

use super::{Fig2Config, Fig2Learner, TRACE_MS};
use crate::engine::microcircuit::Microcircuit;
use crate::engine::network::{Shape, Weights};
use crate::experiments::checkpoint::save_final;
use crate::experiments::config::RunConfig;
use crate::experiments::context::{Progress, Report, RunContext, fmt_sci};
use crate::experiments::error::SimError;
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
const COLUMNS: [&str; 10] = [
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

/// What one learner produced on one seed.
struct Outcome {
    learner: Fig2Learner,
    seed: u64,
    /// Rows of [`COLUMNS`].
    rows: Vec<Vec<Real>>,
    /// r_N,1 on the trace patterns before and after learning, with its target (microcircuits only).
    trace: Option<Trace>,
    /// The microcircuit's final weights.
    weights: Option<Weights>,
}

/// Output rate 1 against its target on a sequence of test patterns, noise-free and without target.
struct Trace {
    before: Vec<Real>,
    after: Vec<Real>,
    target: Vec<Real>,
}

/// A running moving average of the test error and the rows of the metrics table.
struct Curve<'a> {
    e: &'a Fig2Config,
    seed: u64,
    ema: Option<Real>,
    rows: Vec<Vec<Real>>,
}

impl Curve<'_> {
    /// Adds a recording, or fails if one of the `checked` metrics is not finite (the angle is
    /// undefined for zero weights, and the backprop learner has no microcircuit metrics).
    fn push(&mut self, learner: Fig2Learner, pattern: u64, m: Metrics) -> Result<(), SimError> {
        let mut checked = vec![("test_error", m.test_error), ("hidden_rate", m.hidden_rate)];
        if learner != Fig2Learner::Backprop {
            checked.extend([("apical_sq", m.apical_sq), ("mismatch", m.mismatch), ("rate_mismatch", m.rate_mismatch)]);
        }
        if let Some((name, _)) = checked.iter().find(|(_, x)| !x.is_finite()) {
            return Err(SimError::Other(format!(
                "fig2 {} (seed {}), pattern {pattern}: the test metric {name} is not finite",
                learner.name(),
                self.seed
            )));
        }
        let ema = match self.ema {
            Some(ema) => ema + self.e.ema_weight * (m.test_error - ema),
            None => m.test_error,
        };
        self.ema = Some(ema);
        let time_s = pattern as Real * self.e.pattern_ms / 1000.0;
        self.rows.push(vec![
            self.seed as Real,
            pattern as Real,
            time_s,
            m.test_error,
            ema,
            m.hidden_rate,
            m.apical_sq,
            m.mismatch,
            m.rate_mismatch,
            m.angle,
        ]);
        Ok(())
    }
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
/// the entries of all hidden layers taken together (W_2ᵀ against B_1 in a network with one).
fn feedback_angle(w: &Weights) -> Real {
    let (mut forward, mut top_down) = (Vec::new(), Vec::new());
    for (k, down) in w.down.iter().enumerate() {
        let up = &w.up[k + 1].w;
        for j in 0..down.w.ncols() {
            for i in 0..down.w.nrows() {
                forward.push(up.get(j, i));
                top_down.push(down.w.get(i, j));
            }
        }
    }
    stats::angle_degrees(&forward, &top_down)
}

/// Tests a microcircuit at the noise-free steady states without target of the test patterns.
fn test_microcircuit(cfg: &RunConfig, weights: &Weights, task: &Task) -> Metrics {
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
        angle: feedback_angle(weights),
    }
}

/// Output rate 1 of a noise-free copy without target and without plasticity, run in continuous
/// time over the first `trace_patterns` test patterns and sampled every [`TRACE_MS`], with the
/// target rate r_trgt,1 of the pattern shown at each sample.
fn output_trace(
    cfg: &RunConfig,
    e: &Fig2Config,
    weights: &Weights,
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

fn train_microcircuit(
    cfg: &RunConfig,
    e: &Fig2Config,
    learner: Fig2Learner,
    progress: &dyn Progress,
) -> Result<Outcome, SimError> {
    let cfg = &learner_config(cfg, learner);
    let mut task = Task::new(cfg, e);
    let mut net = Microcircuit::new(cfg)?;
    let n0 = cfg.network.sizes[0];
    let mut inputs = PatternStream::new(n0, e.inputs, rng::stream_seed(cfg.seed, rng::Stream::Inputs));
    let mut curve = Curve { e, seed: cfg.seed, ema: None, rows: Vec::new() };
    let mut record = |net: &Microcircuit, task: &Task, pattern: u64| {
        curve.push(learner, pattern, test_microcircuit(cfg, &net.weights, task))
    };
    record(&net, &task, 0)?;
    let (before, _) = output_trace(cfg, e, &net.weights, &task)?;
    let steps = net.steps_for(e.pattern_ms);
    let mut x = vec![0.0; n0];
    let mut u_trgt = vec![0.0; task.teacher.output_size()];
    for p in 1..=e.patterns {
        inputs.next_into(&mut x);
        task.target_potential(&x, &mut u_trgt);
        net.set_input(&x);
        net.set_target(Some(&u_trgt));
        net.run_steps(steps, true)
            .map_err(|d| SimError::Other(format!("fig2 {} (seed {}), pattern {p}: {d}", learner.name(), cfg.seed)))?;
        if p % e.record_every == 0 || p == e.patterns {
            record(&net, &task, p)?;
        }
        progress.advance(1);
    }
    let (after, target) = output_trace(cfg, e, &net.weights, &task)?;
    let trace = Trace { before, after, target };
    Ok(Outcome { learner, seed: cfg.seed, rows: curve.rows, trace: Some(trace), weights: Some(net.weights) })
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

fn train_backprop(cfg: &RunConfig, e: &Fig2Config, progress: &dyn Progress) -> Result<Outcome, SimError> {
    let mut task = Task::new(cfg, e);
    let shape = Shape { sizes: cfg.network.sizes.clone(), bias: cfg.network.bias };
    let mut weights: Vec<Matrix> = Weights::initial(cfg, &shape)?.up.into_iter().map(|s| s.w).collect();
    let (gains, rates) = (gains(cfg), backprop_rates(cfg, e.pattern_ms));
    let (phi, bias) = (cfg.network.phi, cfg.network.bias);
    let n_out = task.teacher.output_size();
    let mut curve = Curve { e, seed: cfg.seed, ema: None, rows: Vec::new() };
    let mut record = |weights: &[Matrix], task: &Task, pattern: u64| {
        let net = Feedforward { weights, gains: &gains, phi, bias };
        let mut hidden_rate = 0.0;
        let test_error = task.error(|x| {
            let pass = net.forward(x);
            let depth = pass.u.len();
            let hidden: Vec<Real> = (1..depth).flat_map(|k| pass.r[k][..pass.u[k - 1].len()].to_vec()).collect();
            hidden_rate += stats::mean(&hidden);
            pass.r[depth][..n_out].to_vec()
        });
        let hidden_rate = hidden_rate / task.test_inputs.len() as Real;
        let nan = Real::NAN;
        let m = Metrics { test_error, hidden_rate, apical_sq: nan, mismatch: nan, rate_mismatch: nan, angle: nan };
        curve.push(Fig2Learner::Backprop, pattern, m)
    };
    record(&weights, &task, 0)?;
    let mut inputs =
        PatternStream::new(cfg.network.sizes[0], e.inputs, rng::stream_seed(cfg.seed, rng::Stream::Inputs));
    let mut x = vec![0.0; cfg.network.sizes[0]];
    let mut u_trgt = vec![0.0; n_out];
    for p in 1..=e.patterns {
        inputs.next_into(&mut x);
        task.target_potential(&x, &mut u_trgt);
        let net = Feedforward { weights: &weights, gains: &gains, phi, bias };
        let pass = net.forward(&x);
        let descent = net.gradient(&pass, &spec_output_error(&phi, &pass, &u_trgt), Feedback::Transpose);
        sgd_step(&mut weights, &descent, &rates);
        if !weights.iter().all(Matrix::is_finite) {
            return Err(SimError::Other(format!("fig2 backprop (seed {}): weights diverged at pattern {p}", cfg.seed)));
        }
        if p % e.record_every == 0 || p == e.patterns {
            record(&weights, &task, p)?;
        }
        progress.advance(1);
    }
    Ok(Outcome { learner: Fig2Learner::Backprop, seed: cfg.seed, rows: curve.rows, trace: None, weights: None })
}

/// Mean and sample standard deviation of a column's last value over the outcomes of a learner.
fn final_stats(outcomes: &[&Outcome], column: usize) -> (Real, Real) {
    let last: Vec<Real> = outcomes.iter().map(|o| o.rows.last().expect("recorded")[column]).collect();
    (stats::mean(&last), stats::sd(&last))
}

/// The mean over seeds of a column, row by row.
fn mean_curve(outcomes: &[&Outcome], column: usize) -> Vec<(Real, Real)> {
    let rows = &outcomes[0].rows;
    (0..rows.len())
        .map(|i| {
            let values: Vec<Real> = outcomes.iter().map(|o| o.rows[i][column]).collect();
            (rows[i][1], stats::mean(&values))
        })
        .collect()
}

fn column(name: &str) -> usize {
    COLUMNS.iter().position(|c| *c == name).expect("known column")
}

fn pm((mean, sd): (Real, Real)) -> String {
    format!("{} ± {}", fmt_sci(mean), fmt_sci(sd))
}

/// "first ± sd → last ± sd" of a column over the outcomes of a learner; the four numbers also go
/// into `values` as `<prefix>_<col>_{start,end}_{mean,sd}`.
fn start_end(outcomes: &[&Outcome], col: &str, prefix: &str, values: &mut Vec<(String, Real)>) -> String {
    let j = column(col);
    let first: Vec<Real> = outcomes.iter().map(|o| o.rows[0][j]).collect();
    let (start, end) = ((stats::mean(&first), stats::sd(&first)), final_stats(outcomes, j));
    for (when, (mean, sd)) in [("start", start), ("end", end)] {
        values.push((format!("{prefix}_{col}_{when}_mean"), mean));
        values.push((format!("{prefix}_{col}_{when}_sd"), sd));
    }
    format!("{} → {}", pm(start), pm(end))
}

pub(crate) fn run(cfg: &RunConfig, e: &Fig2Config, ctx: &RunContext<'_>) -> Result<Report, SimError> {
    let jobs: Vec<(u64, Fig2Learner)> =
        (0..e.seeds).flat_map(|i| e.learners.iter().map(move |&l| (cfg.seed + i, l))).collect();
    ctx.progress.start("fig2", jobs.len() as u64 * e.patterns);
    let outcomes = jobs
        .par_iter()
        .map(|&(seed, learner)| {
            let cfg = cfg.with_seed(seed);
            match learner {
                Fig2Learner::Backprop => train_backprop(&cfg, e, ctx.progress),
                _ => train_microcircuit(&cfg, e, learner, ctx.progress),
            }
        })
        .collect::<Result<Vec<Outcome>, SimError>>()?;
    ctx.progress.finish();
    let of = |learner: Fig2Learner| -> Vec<&Outcome> { outcomes.iter().filter(|o| o.learner == learner).collect() };

    let mut files = Vec::new();
    for &learner in &e.learners {
        let mut rec = Recorder::new(&COLUMNS);
        for o in of(learner) {
            for row in &o.rows {
                rec.push(row.clone());
            }
        }
        let path = ctx.file(&format!("{}.csv", learner.name()));
        rec.write_csv(&path)?;
        files.push(path);
    }

    let x_label = format!("training patterns ({} ms each)", e.pattern_ms);
    let curves = LinePlot {
        title: format!("Fig. 2: test error ‖r_N − r_trgt‖² (moving average, mean of {} seeds)", e.seeds),
        x_label: x_label.clone(),
        y_label: "test error".into(),
        log_y: true,
        series: e
            .learners
            .iter()
            .map(|&l| Series::new(l.name(), mean_curve(&of(l), column("test_error_ema"))))
            .collect(),
        ..Default::default()
    };
    let path = ctx.file("learning_curves.png");
    curves.save_png(&path)?;
    files.push(path);

    let mut rows = vec![(
        "training per learner and seed".into(),
        format!(
            "{} patterns × {} ms = {:.2e} time steps",
            e.patterns,
            e.pattern_ms,
            e.patterns as Real * e.pattern_ms / cfg.dynamics.dt
        ),
    )];
    let mut values = vec![("patterns".to_string(), e.patterns as Real), ("seeds".to_string(), e.seeds as Real)];
    let seeds = format!("mean ± sd over {} seeds", e.seeds);
    let err = column("test_error");
    for &l in &e.learners {
        let name = l.name();
        let test_error = start_end(&of(l), "test_error", name, &mut values);
        rows.push((format!("{name}: test error start → end ({seeds})"), test_error));
        let ratios: Vec<Real> = of(l).iter().map(|o| o.rows.last().expect("recorded")[err] / o.rows[0][err]).collect();
        rows.push((
            format!("{name}: test error end / start"),
            format!("{:.4} ± {:.4}", stats::mean(&ratios), stats::sd(&ratios)),
        ));
        values.push((format!("{name}_test_error_ratio_mean"), stats::mean(&ratios)));
        let hidden_rate = start_end(&of(l), "hidden_rate", name, &mut values);
        rows.push((format!("{name}: mean hidden rate start → end"), hidden_rate));
    }
    if e.learners.contains(&Fig2Learner::Backprop) {
        let rates: Vec<String> = backprop_rates(cfg, e.pattern_ms).iter().map(|r| format!("{r:.4}")).collect();
        rows.push(("backprop: rates per pattern η^bp_1 … η^bp_N".into(), rates.join(", ")));
    }
    if e.learners.contains(&Fig2Learner::Microcircuit) && e.learners.contains(&Fig2Learner::Shallow) {
        let ratio = final_stats(&of(Fig2Learner::Microcircuit), err).0 / final_stats(&of(Fig2Learner::Shallow), err).0;
        rows.push(("final test error, microcircuit / shallow".into(), format!("{ratio:.3}")));
        values.push(("final_test_error_microcircuit_over_shallow".into(), ratio));
    }

    let micro = of(Fig2Learner::Microcircuit);
    if !micro.is_empty() {
        let per_seed = |cols: &[(&str, &str)]| -> Vec<Series> {
            micro
                .iter()
                .flat_map(|o| {
                    cols.iter().map(|&(col, label)| {
                        let j = column(col);
                        Series::new(format!("seed {}{label}", o.seed), o.rows.iter().map(|r| (r[1], r[j])))
                    })
                })
                .collect()
        };
        for (cols, title, y_label, log_y, file) in [
            (&[("apical_sq", "")][..], "‖v_A‖² at the test steady states", "‖v_A‖²", true, "apical.png"),
            (
                &[("mismatch", ": ‖u_2 − u^I_1‖²"), ("rate_mismatch", ": ‖r_2 − r^I_1‖²")][..],
                "interneuron mismatch at the test steady states",
                "squared mismatch",
                true,
                "mismatch.png",
            ),
            (&[("angle_deg", "")][..], "angle between W_2ᵀ and B_1", "degrees", false, "angle.png"),
        ] {
            let plot = LinePlot {
                title: format!("Fig. 2, microcircuit: {title}"),
                x_label: x_label.clone(),
                y_label: y_label.into(),
                log_y,
                series: per_seed(cols),
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
        let j = column("mismatch");
        let reduction =
            micro.iter().map(|o| o.rows[0][j] / o.rows.last().expect("recorded")[j]).fold(Real::INFINITY, Real::min);
        rows.push(("microcircuit: mismatch start / end (smallest over seeds)".into(), format!("{reduction:.3}")));
        values.push(("microcircuit_mismatch_reduction_min".into(), reduction));
        let j = column("angle_deg");
        let a0: Vec<Real> = micro.iter().map(|o| o.rows[0][j]).collect();
        let a1 = final_stats(&micro, j);
        rows.push((
            "microcircuit: angle W_2ᵀ vs B_1 start → end (°)".into(),
            format!("{:.1} ± {:.1} → {:.1} ± {:.1}", stats::mean(&a0), stats::sd(&a0), a1.0, a1.1),
        ));
        values.push(("microcircuit_angle_deg_start_mean".into(), stats::mean(&a0)));
        values.push(("microcircuit_angle_deg_end_mean".into(), a1.0));
        values.push(("microcircuit_angle_deg_end_sd".into(), a1.1));

        let o = micro[0];
        let trace = o.trace.as_ref().expect("microcircuit traces");
        let t = |values: &[Real]| -> Vec<(Real, Real)> {
            values.iter().enumerate().map(|(i, &v)| ((i + 1) as Real * TRACE_MS, v)).collect()
        };
        let plot = LinePlot {
            title: format!("Fig. 2B: output rate r_N,1 on test patterns, no target (seed {})", o.seed),
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
        let cfg = cfg.with_seed(o.seed);
        files.push(save_final(&cfg, o.weights.as_ref().expect("microcircuit weights"), &ctx.out_dir)?);
    }
    Ok(Report { experiment: "fig2".into(), rows, values, files })
}

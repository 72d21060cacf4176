//! Running the experiment whose settings the parent module defines.

use std::path::Path;

use apical_datasets::patterns::PatternStream;
use apical_numerics::{Element, Real, rng, stats};
use serde::{Deserialize, Serialize};

use super::Fig1Config;
use crate::engine::config::Precision;
use crate::engine::microcircuit::{Diverged, Microcircuit, Snapshot, State};
use crate::experiments::checkpoint::{check_length, load_resume, save_checkpoint};
use crate::experiments::config::{ExperimentConfig, RunConfig};
use crate::experiments::context::{Report, RunContext, fmt_sci};
use crate::experiments::error::SimError;
use crate::io::codec::encode;
use crate::io::record::Recorder;

/// What `checkpoint.bin` keeps besides the weights, so that a resumed run continues exactly.
#[derive(Debug, Clone, Serialize, Deserialize)]
struct ResumeState {
    /// Euler steps done.
    done: u64,
    /// The network's dynamic state, with its input and target.
    state: State,
    /// The noise generator.
    noise_rng: rng::Rng,
    /// The noise-free output error before learning.
    error_before: Real,
    /// The rows of the metrics table.
    rows: Vec<Vec<Real>>,
}

/// The network, progress and rows stored in `path`; only the duration and the checkpoint
/// interval may differ from the stored run.
fn resume_from<T: Element>(cfg: &RunConfig, path: &Path) -> Result<(Microcircuit<T>, ResumeState), SimError> {
    let same_run = |c: &RunConfig| {
        let mut c = c.clone();
        if let ExperimentConfig::Fig1(e) = &mut c.experiment {
            e.duration_ms = 0.0;
            e.checkpoint_ms = 0.0;
        }
        c
    };
    let may_change = "experiment.fig1.duration_ms and experiment.fig1.checkpoint_ms";
    let (weights, r, _): (_, ResumeState, _) = load_resume(cfg, path, same_run, may_change)?;
    if let ExperimentConfig::Fig1(e) = &cfg.experiment {
        let total = (e.duration_ms / cfg.dynamics.dt).round() as u64;
        check_length(r.done, total, "experiment.fig1.duration_ms / dynamics.dt (steps)", path)?;
    }
    let snapshot = Snapshot { weights: weights.cast(), state: r.state.clone(), noise_rng: r.noise_rng.clone() };
    let net = Microcircuit::restore(cfg, snapshot)
        .map_err(|m| SimError::Other(format!("--resume: {}: {m}", path.display())))?;
    Ok((net, r))
}

/// The mean of column `col` over rows whose time lies in [from, to) seconds.
fn window_mean(rec: &Recorder, col: &str, from: Real, to: Real) -> Real {
    let t = rec.column("time_s");
    let v: Vec<Real> =
        rec.column(col).into_iter().zip(t).filter(|(_, t)| *t >= from && *t < to).map(|(v, _)| v).collect();
    stats::mean(&v)
}

/// The columns of the metrics table.
const COLUMNS: [&str; 7] = ["time_s", "target_on", "apical_sq", "output_error", "mismatch", "r_out_1", "r_trgt_1"];

pub(crate) fn run(cfg: &RunConfig, e: &Fig1Config, ctx: &RunContext<'_>) -> Result<Report, SimError> {
    match cfg.plasticity.precision {
        Precision::F64 => run_in::<f64>(cfg, e, ctx),
        Precision::F32 => run_in::<f32>(cfg, e, ctx),
    }
}

/// The run with weights and traces stored in `T`.
fn run_in<T: Element>(cfg: &RunConfig, e: &Fig1Config, ctx: &RunContext<'_>) -> Result<Report, SimError> {
    let sizes = &cfg.network.sizes;
    let (n0, n_out) = (sizes[0], sizes[sizes.len() - 1]);
    let mut input = vec![0.0; n0];
    PatternStream::new(n0, e.inputs, rng::stream_seed(cfg.seed, rng::Stream::Inputs)).next_into(&mut input);
    let mut target_rates = vec![0.0; n_out];
    PatternStream::new(n_out, e.target_rates, rng::stream_seed(cfg.seed, rng::Stream::Teacher))
        .next_into(&mut target_rates);
    let phi = cfg.network.phi;
    let target: Vec<Real> = target_rates.iter().map(|&r| phi.inverse(r).expect("validated range")).collect();

    // The noise-free output error of the network's own prediction, before any learning.
    let free_error = |net: &Microcircuit<T>| {
        let mut probe = Microcircuit::with_weights(cfg, net.weights.clone());
        probe.set_sigma(0.0);
        probe.set_input(&input);
        probe.settle(1e-12, 10_000);
        stats::sq_distance(probe.output_rates(), &target_rates)
    };
    let checkpoint = ctx.file("checkpoint.bin");
    let mut rec = Recorder::new(&COLUMNS);
    let (mut net, error_before, done) = if ctx.resume {
        let (net, r) = resume_from(cfg, &checkpoint)?;
        for row in r.rows {
            rec.push(row);
        }
        (net, r.error_before, r.done)
    } else {
        let mut net = Microcircuit::new(cfg)?;
        let error_before = free_error(&net);
        if !error_before.is_finite() {
            return Err(SimError::Other("fig1 diverged before learning: output_error is not finite".into()));
        }
        net.set_input(&input);
        (net, error_before, 0)
    };

    let record_steps = net.steps_for(e.record_ms).max(1);
    let checkpoint_steps = net.steps_for(e.checkpoint_ms).max(1);
    let total = net.steps_for(e.duration_ms);
    let (on, off) = (net.steps_for(e.target_on_ms), net.steps_for(e.target_off_ms));
    ctx.progress.start("fig1", total.saturating_sub(done));
    for step in done..total {
        if step == on {
            net.set_target(Some(&target));
        } else if step == off {
            net.set_target(None);
        }
        net.step(true)?;
        if (step + 1) % record_steps == 0 {
            net.check_finite()?;
            let out = net.output_rates();
            let row = vec![
                net.time_ms() / 1000.0,
                Real::from(u8::from(net.state.target_on)),
                net.apical_sq_norm(),
                stats::sq_distance(out, &target_rates),
                net.interneuron_mismatch(),
                out[0],
                target_rates[0],
            ];
            if let Some(j) = row.iter().position(|x| !x.is_finite()) {
                let (step, time_ms) = (net.state.step, net.time_ms());
                return Err(Diverged { step, time_ms, population: COLUMNS[j].into() }.into());
            }
            rec.push(row);
            ctx.progress.advance(record_steps);
        }
        if (step + 1) % checkpoint_steps == 0 || step + 1 == total {
            net.check_finite()?;
            let Snapshot { weights, state, noise_rng } = net.snapshot();
            let resume = ResumeState { done: step + 1, state, noise_rng, error_before, rows: rec.rows().to_vec() };
            save_checkpoint(cfg, &weights, encode(&resume), &checkpoint)?;
            if step + 1 < total && ctx.progress.stop_after_checkpoint() {
                let at = format!("t = {} ms", net.time_ms());
                return Err(SimError::Stopped { experiment: "fig1".into(), at });
            }
        }
    }
    ctx.progress.finish();
    let error_after = free_error(&net);
    if !error_after.is_finite() {
        return Err(SimError::Other("fig1 diverged after learning: output_error is not finite".into()));
    }

    let csv = ctx.file("metrics.csv");
    rec.write_csv(&csv)?;
    let apical_png = ctx.file("apical.png");
    rec.plot(
        &apical_png,
        "Fig. 1: apical error (target on between the switches)",
        "time_s",
        &[("apical_sq", "‖v_A‖²"), ("target_on", "target on")],
        "‖v_A‖²",
        false,
    )?;
    let output_png = ctx.file("output.png");
    rec.plot(
        &output_png,
        "Fig. 1: output rate and its target",
        "time_s",
        &[("r_out_1", "r_N,1"), ("r_trgt_1", "target")],
        "rate",
        false,
    )?;
    let error_png = ctx.file("output_error.png");
    rec.plot(
        &error_png,
        "Fig. 1: output error ‖r_N − r_trgt‖²",
        "time_s",
        &[("output_error", "‖r_N − r_trgt‖²")],
        "squared error",
        true,
    )?;

    let s = |ms: Real| ms / 1000.0;
    let window = 100.0;
    let before = window_mean(&rec, "apical_sq", s(e.target_on_ms - window), s(e.target_on_ms));
    let onset = window_mean(&rec, "apical_sq", s(e.target_on_ms), s(e.target_on_ms + window));
    let late = window_mean(&rec, "apical_sq", s(e.target_off_ms - window), s(e.target_off_ms));
    let err_on = window_mean(&rec, "output_error", s(e.target_on_ms), s(e.target_on_ms + window));
    let err_late = window_mean(&rec, "output_error", s(e.target_off_ms - window), s(e.target_off_ms));
    let rows = vec![
        ("‖v_A‖² before the target (100 ms mean)".into(), fmt_sci(before)),
        ("‖v_A‖² after the target switches on".into(), fmt_sci(onset)),
        ("‖v_A‖² at the end of the target period".into(), fmt_sci(late)),
        ("output error after switch-on".into(), fmt_sci(err_on)),
        ("output error at the end of the target period".into(), fmt_sci(err_late)),
        (
            "noise-free output error without target, before → after".into(),
            format!("{} → {}", fmt_sci(error_before), fmt_sci(error_after)),
        ),
    ];
    let values = vec![
        ("apical_sq_before_target".into(), before),
        ("apical_sq_target_onset".into(), onset),
        ("apical_sq_target_end".into(), late),
        ("output_error_target_onset".into(), err_on),
        ("output_error_target_end".into(), err_late),
        ("output_error_no_target_before".into(), error_before),
        ("output_error_no_target_after".into(), error_after),
    ];
    let files = vec![csv, apical_png, output_png, error_png, checkpoint];
    Ok(Report { experiment: "fig1".into(), rows, values, files })
}

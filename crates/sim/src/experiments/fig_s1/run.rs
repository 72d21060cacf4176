//! Running the experiment whose settings the parent module defines.

use std::path::Path;

use apical_datasets::patterns::{PatternStream, test_set};
use apical_numerics::{Element, Real, rng};
use serde::{Deserialize, Serialize};

use super::FigS1Config;
use crate::engine::config::Precision;
use crate::engine::microcircuit::{Diverged, Microcircuit, Snapshot, State};
use crate::experiments::checkpoint::{check_length, check_schedule, load_resume, save_checkpoint};
use crate::experiments::config::{ExperimentConfig, RunConfig};
use crate::experiments::context::{Report, RunContext, fmt_sci};
use crate::experiments::error::SimError;
use crate::experiments::probe;
use crate::io::codec::encode;
use crate::io::record::Recorder;

/// What `checkpoint.bin` keeps besides the weights, so that a resumed run continues exactly.
#[derive(Debug, Clone, Serialize, Deserialize)]
struct ResumeState {
    /// Patterns done.
    done: u64,
    /// The network's dynamic state.
    state: State,
    /// The noise generator.
    noise_rng: rng::Rng,
    /// The input generator.
    inputs: PatternStream,
    /// The rows of the metrics table.
    rows: Vec<Vec<Real>>,
}

/// The columns of the metrics table.
const COLUMNS: [&str; 7] = ["time_s", "pattern", "apical_sq", "mismatch", "dist_pi", "dist_ip", "eta_factor"];

/// A resumed run: its network, input generator, patterns done and recorded rows.
type Resumed<T> = (Microcircuit<T>, PatternStream, u64, Vec<Vec<Real>>);

/// The network, inputs and rows stored in `path`; only the length and the checkpoint interval,
/// and schedule stages after the stored position, may differ from the stored run.
fn resume_from<T: Element>(cfg: &RunConfig, path: &Path) -> Result<Resumed<T>, SimError> {
    let same_run = |c: &RunConfig| {
        let mut c = c.clone();
        c.plasticity.schedule.clear();
        if let ExperimentConfig::FigS1(e) = &mut c.experiment {
            e.patterns = 0;
            e.checkpoint_every = 0;
        }
        c
    };
    let may_change = "experiment.fig-s1.patterns, experiment.fig-s1.checkpoint_every and later schedule stages";
    let (weights, r, stored): (_, ResumeState, _) = load_resume(cfg, path, same_run, may_change)?;
    check_schedule(&stored.plasticity.schedule, &cfg.plasticity.schedule, r.done, path)?;
    if let ExperimentConfig::FigS1(e) = &cfg.experiment {
        check_length(r.done, e.patterns, "experiment.fig-s1.patterns", path)?;
    }
    let snapshot = Snapshot { weights: weights.cast(), state: r.state, noise_rng: r.noise_rng };
    let net = Microcircuit::restore(cfg, snapshot)
        .map_err(|m| SimError::Other(format!("--resume: {}: {m}", path.display())))?;
    Ok((net, r.inputs, r.done, r.rows))
}

/// Saves the resume checkpoint after `done` patterns.
fn save<T: Element>(
    cfg: &RunConfig,
    net: &Microcircuit<T>,
    inputs: &PatternStream,
    done: u64,
    rec: &Recorder,
    path: &Path,
) -> Result<(), SimError> {
    let Snapshot { weights, state, noise_rng } = net.snapshot();
    let resume = ResumeState { done, state, noise_rng, inputs: inputs.clone(), rows: rec.rows().to_vec() };
    save_checkpoint(cfg, &weights, encode(&resume), path)
}

pub(crate) fn run(cfg: &RunConfig, e: &FigS1Config, ctx: &RunContext<'_>) -> Result<Report, SimError> {
    match cfg.plasticity.precision {
        Precision::F64 => run_in::<f64>(cfg, e, ctx),
        Precision::F32 => run_in::<f32>(cfg, e, ctx),
    }
}

/// The run with weights and traces stored in `T`.
fn run_in<T: Element>(cfg: &RunConfig, e: &FigS1Config, ctx: &RunContext<'_>) -> Result<Report, SimError> {
    let n0 = cfg.network.sizes[0];
    let checkpoint = ctx.file("checkpoint.bin");
    let probes = test_set(n0, e.inputs, e.probes, rng::stream_seed(cfg.seed, rng::Stream::TestInputs));
    let g = &cfg.network.conductances;
    let mut rec = Recorder::new(&COLUMNS);
    let record = |rec: &mut Recorder, net: &Microcircuit<T>, pattern: u64| {
        let m = probe(cfg, &net.weights, &probes);
        let (dist_pi, dist_ip) = net.weights.distance_from_self_predicting(g);
        let factor = cfg.plasticity.eta_factor(pattern.saturating_sub(1));
        let row = vec![net.time_ms() / 1000.0, pattern as Real, m.apical_sq, m.mismatch, dist_pi, dist_ip, factor];
        if let Some(j) = row.iter().position(|x| !x.is_finite()) {
            let d = Diverged { step: net.state.step, time_ms: net.time_ms(), population: COLUMNS[j].into() };
            return Err(SimError::Other(format!("fig-s1, pattern {pattern}: {d}")));
        }
        rec.push(row);
        Ok(())
    };
    let (mut net, mut inputs, done) = if ctx.resume {
        let (net, inputs, done, rows) = resume_from(cfg, &checkpoint)?;
        for row in rows {
            rec.push(row);
        }
        (net, inputs, done)
    } else {
        let net = Microcircuit::new(cfg)?;
        record(&mut rec, &net, 0)?;
        (net, PatternStream::new(n0, e.inputs, rng::stream_seed(cfg.seed, rng::Stream::Inputs)), 0)
    };
    let steps = net.steps_for(e.pattern_ms);
    let mut pattern = vec![0.0; n0];
    ctx.progress.start("fig-s1", e.patterns.saturating_sub(done));
    for p in done + 1..=e.patterns {
        net.weights.set_eta_factor(&cfg.plasticity, cfg.plasticity.eta_factor(p - 1));
        inputs.next_into(&mut pattern);
        net.set_input(&pattern);
        net.run_steps(steps, true).map_err(|d| SimError::Other(format!("fig-s1, pattern {p}: {d}")))?;
        if p % e.record_every == 0 || p == e.patterns {
            record(&mut rec, &net, p)?;
        }
        ctx.progress.advance(1);
        if p % e.checkpoint_every == 0 || p == e.patterns {
            save(cfg, &net, &inputs, p, &rec, &checkpoint)?;
            if p < e.patterns && ctx.progress.stop_after_checkpoint() {
                return Err(SimError::Stopped { experiment: "fig-s1".into(), at: format!("pattern {p}") });
            }
        }
    }
    ctx.progress.finish();

    let csv = ctx.file("metrics.csv");
    rec.write_csv(&csv)?;
    let plot_apical = ctx.file("apical.png");
    rec.plot(
        &plot_apical,
        "Fig. S1: apical potential (noise-free probes)",
        "time_s",
        &[("apical_sq", "‖v_A‖²")],
        "‖v_A‖²",
        true,
    )?;
    let plot_mismatch = ctx.file("mismatch.png");
    let mismatch = [("mismatch", "‖u_2 − u^I_1‖²")];
    rec.plot(
        &plot_mismatch,
        "Fig. S1: interneuron mismatch (noise-free probes)",
        "time_s",
        &mismatch,
        "squared mismatch",
        true,
    )?;
    let plot_lateral = ctx.file("lateral.png");
    let lateral = [("dist_pi", "‖W^PI + B‖"), ("dist_ip", "‖W^IP − (c/d) W‖")];
    rec.plot(
        &plot_lateral,
        "Fig. S1: distance of the lateral weights from spec §5",
        "time_s",
        &lateral,
        "Frobenius distance",
        true,
    )?;

    let first = &rec.rows()[0];
    let last = rec.rows().last().expect("recorded");
    let rows = vec![
        ("simulated time".into(), format!("{:.1} s ({} patterns)", net.time_ms() / 1000.0, e.patterns)),
        ("‖v_A‖² start → end".into(), format!("{} → {}", fmt_sci(first[2]), fmt_sci(last[2]))),
        ("‖v_A‖² reduction".into(), format!("{:.0}×", first[2] / last[2])),
        ("mismatch start → end".into(), format!("{} → {}", fmt_sci(first[3]), fmt_sci(last[3]))),
        ("mismatch reduction".into(), format!("{:.0}×", first[3] / last[3])),
        ("‖W^PI + B‖ start → end".into(), format!("{:.3} → {:.3}", first[4], last[4])),
        ("‖W^IP − (c/d)W‖ start → end".into(), format!("{:.3} → {:.3}", first[5], last[5])),
    ];
    let values = vec![
        ("simulated_time_s".into(), net.time_ms() / 1000.0),
        ("patterns".into(), e.patterns as Real),
        ("apical_sq_start".into(), first[2]),
        ("apical_sq_end".into(), last[2]),
        ("mismatch_start".into(), first[3]),
        ("mismatch_end".into(), last[3]),
        ("dist_pi_start".into(), first[4]),
        ("dist_pi_end".into(), last[4]),
        ("dist_ip_start".into(), first[5]),
        ("dist_ip_end".into(), last[5]),
    ];
    let files = vec![csv, plot_apical, plot_mismatch, plot_lateral, checkpoint];
    Ok(Report { experiment: "fig-s1".into(), rows, values, files })
}
